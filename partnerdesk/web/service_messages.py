"""Translations of the services' refusal messages, which the services write in plain English.

The services raise DomainError with an English message (the API returns it as is). The web shows it in the
reader's language: fixed messages are looked up in the catalogue; the few that carry a value are matched by
pattern and the value is put back into the translated sentence. Anything unknown is shown as written.
"""

import re

from django.utils.translation import gettext, gettext_noop

FIXED = [
    gettext_noop("a customer with this tenant id already exists"),
    gettext_noop("payments or credit notes are applied to this invoice; issue a credit note instead"),
    gettext_noop("the invoice is already void"),
    gettext_noop("this idempotency key was already used for a different payment"),
    gettext_noop("a payment cannot be received in the future"),
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
]

# (pattern, msgid with %(name)s placeholders for the pattern's named groups)
PATTERNS = [
    (re.compile(r"^only an active subscription can be suspended; this one is (?P<status>\w+)$"),
     gettext_noop("Only an active subscription can be suspended; this one is %(status)s.")),
    (re.compile(r"^only a suspended subscription can be reactivated; this one is (?P<status>\w+)$"),
     gettext_noop("Only a suspended subscription can be reactivated; this one is %(status)s.")),
    (re.compile(r"^duplicate of row (?P<row>\d+)$"),
     gettext_noop("Duplicate of row %(row)s.")),
    (re.compile(r"^unknown column; expected (?P<columns>.+)$"),
     gettext_noop("Unknown column; expected: %(columns)s.")),
    (re.compile(r"^(?P<email>'.*') is not an email address$"),
     gettext_noop("%(email)s is not an email address.")),
    (re.compile(r"^unknown time zone (?P<zone>'.*')$"),
     gettext_noop("Unknown time zone %(zone)s.")),
    (re.compile(r"^(?P<field>language|status|method|role|reason code) must be one of (?P<values>.+)$"),
     gettext_noop("Must be one of: %(values)s.")),
    (re.compile(r"^CNY amounts have at most 2 decimal places$"),
     gettext_noop("CNY amounts have at most 2 decimal places.")),
    (re.compile(r"^(?P<value>'.*') is not an amount$"),
     gettext_noop("%(value)s is not an amount.")),
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


def translate_service_message(message: str) -> str:
    """The service's message in the active language, when the catalogue knows it."""
    if message in FIXED:
        return gettext(message)
    for pattern, msgid in PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(msgid) % match.groupdict()
    return message
