"""Translations of the services' refusal messages, which the services write in plain English.

The services raise DomainError with an English message. The web shows it in the reader's language, and the
API in the language the client asks for with Accept-Language (English if it asks for none): fixed messages
are looked up in the catalogue; the few that carry a value are matched by pattern and the value is put back
into the translated sentence. Anything unknown is shown as written.
"""

import re

from django.utils.translation import gettext, gettext_noop

FIXED = [
    gettext_noop("a customer with this tenant id already exists"),
    gettext_noop("payments or credit notes are applied to this invoice; issue a credit note instead"),
    gettext_noop("the invoice is already void"),
    gettext_noop("this idempotency key was already used for a different payment"),
    gettext_noop("a payment cannot be received in the future"),
    gettext_noop("a payment received more than a year ago cannot be recorded"),
    gettext_noop("a reason is required to reactivate a subscription"),
    gettext_noop("a reason is required to suspend a subscription"),
    gettext_noop("a token needs a name"),
    gettext_noop("payment terms must be a whole number of days"),
    gettext_noop("payment terms must be between 0 and 365 days"),
    gettext_noop("the amount is too large"),
    gettext_noop("the amount must be greater than zero"),
    gettext_noop("the company name is required"),
    gettext_noop("the contact name is required"),
    gettext_noop("the credit limit cannot be negative"),
    gettext_noop("the tenant id must be a GUID"),
    gettext_noop("the allocations add up to more than the payment"),
    # collections: disputes, promises to pay, exemptions, policies
    gettext_noop("a reason is required"),
    gettext_noop("this invoice already has an open dispute"),
    gettext_noop("the dispute is not open"),
    gettext_noop("a resolution is required"),
    gettext_noop("the promised date is in the past"),
    gettext_noop("a promise to pay can hold collections for a year at most"),
    gettext_noop("the invoice belongs to another customer"),
    gettext_noop("a reason is required to exempt a customer"),
    gettext_noop("a reason is required to change a policy"),
    gettext_noop("a policy needs at least one stage"),
    gettext_noop("two stages fall on the same day"),
    gettext_noop("a stage belongs to another policy"),
    gettext_noop("there must be a default policy: make another policy the default instead"),
    # emails
    gettext_noop("the customer has no billing contact with an email address; add one to the customer first"),
    # email templates
    gettext_noop("the subject is required"),
    gettext_noop("the body is required"),
    gettext_noop("the subject template is longer than 300 characters"),
    gettext_noop("the subject renders empty"),
    gettext_noop("the body renders empty"),
    # call tasks
    gettext_noop("say what the customer said"),
    gettext_noop("this call is already done"),
    # CSV import row errors
    gettext_noop("required column missing from the header"),
    gettext_noop("more values than columns"),
    gettext_noop("the file has no customer rows"),
    gettext_noop("the file must be UTF-8 CSV"),
    # invoices, payments, credit notes, refunds
    gettext_noop("a reason is required for a credit note"),
    gettext_noop("a reason is required for a refund"),
    gettext_noop("a reason is required to void an invoice"),
    gettext_noop("amounts must be given as a decimal string, not a float"),
    gettext_noop("an invoice needs at least one line"),
    gettext_noop("an invoice total must be greater than zero"),
    gettext_noop("quantity must be greater than zero"),
    gettext_noop("tax rate must be between 0 and 1"),
    gettext_noop("the due date cannot be before the issue date"),
    gettext_noop("the subscription belongs to another customer"),
    gettext_noop("no such invoice for this customer"),
    gettext_noop("no such subscription for this customer"),
    # users
    gettext_noop("a customer user belongs to exactly one customer; staff to none"),
    gettext_noop("this username is taken"),
    # collections
    gettext_noop("a collections run cannot be for a future day (use dry_run or the preview)"),
    gettext_noop("days must be between 1 and 60"),
    gettext_noop("no such policy"),
    gettext_noop("this customer is exempt from collections"),
    # emails
    gettext_noop("an email that is not for a customer needs an address"),
    gettext_noop("give the reason (the bounce message)"),
    gettext_noop("the context must be a mapping of names to values"),
    # the working-day calendar
    gettext_noop("each day is (date, kind, name)"),
    gettext_noop("not a date"),
    gettext_noop("status and confirmed disagree"),
    # reports
    gettext_noop("the end date is before the start date"),
    gettext_noop("the period must be between 1 and 3660 days"),
    # the API's own
    gettext_noop("You do not have permission to do this."),
    gettext_noop("Not found."),
    gettext_noop("Authentication required: a bearer token or a session."),
    gettext_noop("The request body is not valid JSON."),
    gettext_noop('give amounts as decimal strings such as "1280.00"'),
    gettext_noop('give quantities as decimal strings such as "12" or "0.5" (at most 6 decimal places)'),
    gettext_noop("The request body is too large."),
    gettext_noop("The request has too many parameters."),
    gettext_noop("The request was refused."),
    gettext_noop("CSRF check failed: send the CSRF token with a session, or use a bearer token."),
    # partnerdesk.bounds: what no path accepts
    gettext_noop("the text contains a NUL character"),
    gettext_noop("the text contains an invalid character"),
    gettext_noop("the number is too large"),
]

# (pattern, msgid with %(name)s placeholders for the pattern's named groups)
PATTERNS = [
    (re.compile(r"^only an active subscription can be suspended; this one is (?P<status>\w+)$"),
     gettext_noop("Only an active subscription can be suspended; this one is %(status)s.")),
    (re.compile(r"^only a suspended subscription can be reactivated; this one is (?P<status>\w+)$"),
     gettext_noop("Only a suspended subscription can be reactivated; this one is %(status)s.")),
    # The operator's failures (partnerdesk.gateway): a sentence in the reader's language, the technical detail kept.
    (re.compile(r"^The operator is unavailable: (?P<detail>.+?) Try again later\.$"),
     gettext_noop("The operator cannot be reached just now; try again later. (%(detail)s)")),
    (re.compile(r"^The operator does not know (?P<detail>.+?)\.$"),
     gettext_noop("The operator does not know this customer or subscription. (%(detail)s)")),
    (re.compile(r"^The operator rejected (?P<detail>.+?)\.$"),
     gettext_noop("The operator rejected the request. (%(detail)s)")),
    (re.compile(r"^The operator refused our credentials (?P<detail>.+?)\.$"),
     gettext_noop("The operator refused PartnerDesk's credentials; check the Partner Center settings. (%(detail)s)")),
    (re.compile(r"^duplicate of row (?P<row>\d+)$"),
     gettext_noop("Duplicate of row %(row)s.")),
    (re.compile(r"^unknown column; expected (?P<columns>.+)$"),
     gettext_noop("Unknown column; expected: %(columns)s.")),
    (re.compile(r"^(?P<email>'.*') is not an email address$"),
     gettext_noop("%(email)s is not an email address.")),
    (re.compile(r"^unknown time zone (?P<zone>'.*')$"),
     gettext_noop("Unknown time zone %(zone)s.")),
    (re.compile(r"^(?P<field>language|status|method|role|reason code|kind|source) must be one of (?P<values>.+)$"),
     gettext_noop("Must be one of: %(values)s.")),
    (re.compile(r"^(?P<currency>\S+) amounts have at most (?P<places>\d+) decimal places$"),
     gettext_noop("%(currency)s amounts have at most %(places)s decimal places.")),
    (re.compile(r"^(?P<value>'.*') is not an amount(?: of money)?$"),
     gettext_noop("%(value)s is not an amount.")),
    (re.compile(r"^(?P<value>'.*') is not a number$"),
     gettext_noop("%(value)s is not a number.")),
    (re.compile(r"^(?P<value>'.*') is not a usable number$"),
     gettext_noop("%(value)s is not a usable number.")),
    (re.compile(r"^(?P<value>'.*') is not a date \(YYYY-MM-DD\)$"),
     gettext_noop("%(value)s is not a date (YYYY-MM-DD).")),
    (re.compile(r"^unknown currency (?P<currency>'.*'); (?:PartnerDesk bills in|supported:) (?P<currencies>.+)$"),
     gettext_noop("Unknown currency %(currency)s; PartnerDesk bills in %(currencies)s.")),
    (re.compile(r"^this customer is billed in (?P<currency>\S+)$"),
     gettext_noop("This customer is billed in %(currency)s.")),
    (re.compile(r"^invoice (?P<number>.+?) is (?P<status>\w+), only a draft can be issued$"),
     gettext_noop("Invoice %(number)s is %(status)s; only a draft can be issued.")),
    (re.compile(r"^invoice (?P<number>.+?) is (?P<status>\w+); only an open invoice can be credited$"),
     gettext_noop("Invoice %(number)s is %(status)s; only an open invoice can be credited.")),
    (re.compile(r"^invoice (?P<number>.+?) is (?P<status>\w+); only an open invoice can be disputed$"),
     gettext_noop("Invoice %(number)s is %(status)s; only an open invoice can be disputed.")),
    (re.compile(r"^invoice (?P<number>.+?) is (?P<status>\w+)$"),
     gettext_noop("Invoice %(number)s is %(status)s.")),
    (re.compile(r"^invoice (?P<number>.+?) has only (?P<amount>\S+) open$"),
     gettext_noop("Invoice %(number)s has only %(amount)s open.")),
    (re.compile(r"^only (?P<amount>\S+) of this payment is unallocated$"),
     gettext_noop("Only %(amount)s of this payment is unallocated.")),
    (re.compile(r"^subscription (?P<id>\S+) belongs to another customer here$"),
     gettext_noop("Subscription %(id)s belongs to another customer here.")),
    (re.compile(r"^only a sent email can bounce; this one is (?P<status>\w+)$"),
     gettext_noop("Only a sent email can bounce; this one is %(status)s.")),
    (re.compile(r"^(?:unknown email template|there is no email template) (?P<key>'.*')$"),
     gettext_noop("There is no email template %(key)s.")),
    (re.compile(r"^templates exist in (?P<languages>.+), not (?P<language>'.*')$"),
     gettext_noop("Templates exist in %(languages)s, not %(language)s.")),
    (re.compile(r"^unknown policy settings: (?P<names>.+)$"),
     gettext_noop("Unknown policy settings: %(names)s.")),
    (re.compile(r"^the promise is for more than is owed \((?P<owed>\S+)\)$"),
     gettext_noop("The promise is for more than is owed (%(owed)s).")),
    (re.compile(r"^another collections run is in progress \(held by (?P<holder>.*) since (?P<since>.*)\); nothing was done$"),
     gettext_noop("Another collections run is in progress (held by %(holder)s since %(since)s); nothing was done.")),
    (re.compile(r"^at most (?P<count>\d+) characters$"),
     gettext_noop("At most %(count)s characters.")),
    (re.compile(r"^the date must be between (?P<low>\S+) and (?P<high>\S+)$"),
     gettext_noop("The date must be between %(low)s and %(high)s.")),
    (re.compile(r"^the amount is too large \(at most (?P<max>\S+)\)$"),
     gettext_noop("The amount is too large (at most %(max)s).")),
    (re.compile(r"^the quantity is too large \(at most (?P<max>\S+)\)$"),
     gettext_noop("The quantity is too large (at most %(max)s).")),
    (re.compile(r"^the row cannot be read as CSV: (?P<detail>.+)$", re.S),
     gettext_noop("The row cannot be read as CSV: %(detail)s")),
    (re.compile(r"^not a readable CSV header: (?P<detail>.+)$", re.S),
     gettext_noop("The header cannot be read as CSV: %(detail)s")),
    (re.compile(r"^a report covers at most (?P<days>\d+) days$"),
     gettext_noop("A report covers at most %(days)s days.")),
    (re.compile(r"^the year must be between (?P<low>\d+) and (?P<high>\d+)$"),
     gettext_noop("The year must be between %(low)s and %(high)s.")),
    (re.compile(r"^a confirmed calendar for (?P<year>\d+) needs its holidays$"),
     gettext_noop("A confirmed calendar for %(year)s needs its holidays.")),
    (re.compile(r"^the holidays package has no State Council schedule for (?P<year>\d+) .*$", re.S),
     gettext_noop("There is no State Council schedule for %(year)s yet: load the published schedule from a file.")),
    (re.compile(r"^only a failed or bounced email can be retried; this one is (?P<status>\w+)$"),
     gettext_noop("Only a failed or bounced email can be sent again; this one is %(status)s.")),
    # email templates: Django's own explanation (in English) follows the sentence
    (re.compile(r"^the (?P<part>subject|body) template does not compile: (?P<detail>.+)$", re.S),
     gettext_noop("The template does not compile: %(detail)s")),
    (re.compile(r"^the (?P<part>subject|body) template cannot be rendered: (?P<detail>.+)$", re.S),
     gettext_noop("The template cannot be rendered: %(detail)s")),
    (re.compile(r"^the (?P<part>subject|body) template uses an unknown variable (?P<name>'.*')$"),
     gettext_noop("Unknown variable %(name)s: use one of the variables listed on this page.")),
    (re.compile(r"^the (?P<part>subject|body) template has a tag that is not closed properly$"),
     gettext_noop("A tag is not closed properly: check every pair of curly braces.")),
]


def _status_label(value: str) -> str:
    """A status code ("partially_paid") as its label in the active language ("Partially paid")."""
    from partnerdesk.billing.models import InvoiceStatus
    from partnerdesk.customers.models import SubscriptionStatus
    from partnerdesk.notifications.models import EmailStatus

    for choices in (InvoiceStatus, SubscriptionStatus, EmailStatus):
        if value in choices.values:
            return str(choices(value).label).lower()  # mid-sentence; Chinese has no case
    return value


def _as_sentence(text: str) -> str:
    """The services write lowercase fragments ("a reason is required"); people read sentences."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] in ".!?。！？)）":
        return text
    return text + ("。" if "\u4e00" <= text[-1] <= "\u9fff" else ".")


def translate_service_message(message: str) -> str:
    """The service's message in the active language, when the catalogue knows it, as a sentence."""
    if message in FIXED:
        return _as_sentence(gettext(message))
    return _by_pattern(message, PATTERNS)


def _by_pattern(text: str, patterns) -> str:
    """The text translated by the first pattern that matches it, its values put back; else the text as it is."""
    for pattern, msgid in patterns:
        match = pattern.match(text or "")
        if match:
            values = match.groupdict()
            if "status" in values:
                values["status"] = _status_label(values["status"])
            return gettext(msgid) % values
    return text


# The API's schema checks (pydantic), by error type: what to say in the reader's language instead of pydantic's
# English. A "value_error" carries one of our own messages, translated as above.
VALIDATION = {
    "missing": gettext_noop("This field is required."),
    "int_parsing": gettext_noop("Enter a whole number."),
    "int_type": gettext_noop("Enter a whole number."),
    "int_from_float": gettext_noop("Enter a whole number."),
    "decimal_parsing": gettext_noop("Enter an amount such as \"1280.00\"."),
    "decimal_type": gettext_noop("Enter an amount such as \"1280.00\"."),
    "date_parsing": gettext_noop("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": gettext_noop("Enter a date as YYYY-MM-DD."),
    "date_type": gettext_noop("Enter a date as YYYY-MM-DD."),
    "datetime_parsing": gettext_noop("Enter a date and time (ISO 8601)."),
    "datetime_type": gettext_noop("Enter a date and time (ISO 8601)."),
    "string_type": gettext_noop("Enter text."),
    "string_too_long": gettext_noop("This is too long."),
    "string_too_short": gettext_noop("This is too short."),
    "bool_parsing": gettext_noop("Enter true or false."),
    "bool_type": gettext_noop("Enter true or false."),
    "list_type": gettext_noop("Enter a list."),
    "dict_type": gettext_noop("Enter an object."),
    "model_type": gettext_noop("Enter an object."),
    "uuid_parsing": gettext_noop("Enter a GUID."),
    "uuid_type": gettext_noop("Enter a GUID."),
    "greater_than": gettext_noop("Enter a larger number."),
    "greater_than_equal": gettext_noop("Enter a larger number."),
    "less_than": gettext_noop("Enter a smaller number."),
    "less_than_equal": gettext_noop("Enter a smaller number."),
    "string_pattern_mismatch": gettext_noop("This is not in the documented format."),
    "too_long": gettext_noop("This list is too long."),
    "too_short": gettext_noop("This list is too short."),
}


def translate_validation_error(error_type: str, message: str) -> str:
    """A schema check's message in the active language, when its type is known; else as pydantic wrote it."""
    if error_type in ("value_error", "invalid_text", "int_out_of_range"):  # (the last two: api_guard's)
        return translate_service_message(message.removeprefix("Value error, "))
    if error_type in VALIDATION:
        return gettext(VALIDATION[error_type])
    return message


# --- what PartnerDesk writes into the records it keeps --------------------------------------------------------
# An audit entry's reason, the reason of a suspension or reactivation, why an operator request stopped: written
# in English when the record is made, shown in the reader's language. (What staff and customers type is shown
# as they typed it.)
SYSTEM_FIXED = [
    gettext_noop("revoked by its owner in the web UI"),
    gettext_noop("retried from the customer page"),
    gettext_noop("tried again now"),
    gettext_noop("Overdue balance paid in full"),
    gettext_noop("nothing overdue any more"),
    gettext_noop("already suspended for another overdue invoice"),
    gettext_noop("the customer has no billing contact with an email address"),  # notifications.sending.NO_RECIPIENT
    gettext_noop("the sending worker stopped"),
    # The default collections policy's name, description and stage names (dunning.policies); once an admin
    # renames them, they show as typed.
    gettext_noop("Standard"),
    gettext_noop("Reminder 3 days before the due date; notices 1, 7 and 14 days after; "
                 "subscriptions suspended 21 days after the due date."),
    gettext_noop("Reminder"),
    gettext_noop("First notice"),
    gettext_noop("Second notice"),
    gettext_noop("Final notice"),
    gettext_noop("Suspension"),
    gettext_noop("Data deletion warning"),  # the preview's name for that step (dunning.engine)
]
SYSTEM_PATTERNS = [
    (re.compile(r"^Non-payment: invoice (?P<number>\S+) unpaid (?P<days>\d+) days after its due date$"),
     gettext_noop("Non-payment: invoice %(number)s unpaid %(days)s days after its due date")),
    (re.compile(r"^collections run for (?P<day>\d{4}-\d\d-\d\d)$"),
     gettext_noop("collections run for %(day)s")),
    (re.compile(r"^CSV import from (?P<file>.+)$"),
     gettext_noop("CSV import from %(file)s")),
    (re.compile(r"^copied from (?P<policy>.+)$"),
     gettext_noop("copied from %(policy)s")),
    (re.compile(r"^subscription is (?P<status>\w+)$"),
     gettext_noop("the subscription is %(status)s")),
    (re.compile(r"^the operator reports the subscription as (?P<status>\w+)$"),
     gettext_noop("the operator reports the subscription as %(status)s")),
    (re.compile(r"^invoice (?P<number>\S+) is (?P<status>\w+): no call needed$"),
     gettext_noop("invoice %(number)s is %(status)s: no call needed")),
    (re.compile(r"^call about (?P<invoice>\S+)$"), gettext_noop("call about %(invoice)s")),
    (re.compile(r"^suspend (?P<subscription>.+)$"), gettext_noop("suspend %(subscription)s")),
    (re.compile(r"^reactivate (?P<subscription>.+)$"), gettext_noop("reactivate %(subscription)s")),
    (re.compile(r"^not needed: (?P<cause>.+)$"),
     gettext_noop("no longer needed (%(cause)s)")),
]


def translate_system_text(text: str) -> str:
    """A text PartnerDesk wrote into a record, in the active language; any other text as it is."""
    if text in SYSTEM_FIXED:
        return gettext(text)
    translated = _by_pattern(text, SYSTEM_PATTERNS)
    # A service's refusal kept as a request's or an email's last error reads as the service would say it.
    return translated if translated != text else translate_service_message(text)


def translate_system_name(text: str) -> str:
    """A name PartnerDesk gave a record ("collections run for 2026-11-24"), in the active language. Only the
    patterns: a customer or an invoice may well be called "Standard"."""
    return _by_pattern(text, SYSTEM_PATTERNS)
