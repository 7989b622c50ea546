"""What PartnerDesk keeps in its records in English, shown in the reader's language; and the API's schema checks.

A refusal is written where it is raised, as a lazy translation (partnerdesk.errors): nothing here translates
those after the fact. What is left is for texts PartnerDesk wrote into a record (an audit reason, why an
operator request stopped) and pydantic's own messages.
"""

import re
from functools import cache

from django.utils import translation
from django.utils.translation import gettext, gettext_noop


def _status_label(value: str) -> str:
    """A status code ("partially_paid") as its label in the active language ("Partially paid")."""
    from partnerdesk.billing.models import InvoiceStatus
    from partnerdesk.customers.models import SubscriptionStatus
    from partnerdesk.notifications.models import EmailStatus

    for choices in (InvoiceStatus, SubscriptionStatus, EmailStatus):
        if value in choices.values:
            return str(choices(value).label).lower()  # mid-sentence; Chinese has no case
    return value


def _by_pattern(text: str, patterns) -> str:
    """The text translated by the first pattern that matches it, its values put back; else the text as it is."""
    for pattern, msgid in patterns:
        match = pattern.match(text or "")
        if match:
            values = match.groupdict()
            if "status" in values:
                values["status"] = _status_label(values["status"])
            if "stored" in values:  # a text kept from another record (an email's bounce reason)
                values["stored"] = translate_system_text(values["stored"])
            return gettext(msgid) % values
    return text


# The API's schema checks (pydantic), by error type: what to say in the reader's language instead of pydantic's
# English. (Our own checks raise a Refusal, which the API renders: partnerdesk.api._validation_message.)
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
    # The support desk: why a case closed, the built-in canned replies, a line in a case's history.
    gettext_noop("confirmed by the customer"),
    gettext_noop("no reply from the customer"),
    gettext_noop("built-in canned replies"),
    gettext_noop("the bounce message has no text"),
    gettext_noop("This email had no threading headers or case number; it was matched by its sender and subject."),
    # A stuck operator request's case (escalations.stuck).
    gettext_noop("The request ended without the operator's change (cancelled or no longer needed)."),
    # Escalations to 21Vianet (escalations.services): why a case changed.
    gettext_noop("escalated to the operator"),
    # A fraud alert's steps in its case's history (fraud.services): "Fraud alert #N: ..." below.
    gettext_noop("confirmed as fraud or misuse"),
    gettext_noop("dismissed as a false alarm"),
    gettext_noop("marked as expected"),
    gettext_noop("alert cleared"),
    gettext_noop("prepayment required"),
    gettext_noop("prepayment no longer required"),
    gettext_noop("new orders held"),
    gettext_noop("new orders no longer held"),
    gettext_noop("reported to 21Vianet"),
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
    # The support desk (support.services, support.mail.filing): a case's history and why it reopened.
    (re.compile(r"^the resolution to (?P<address>.+) bounced$"),
     gettext_noop("the resolution to %(address)s bounced")),
    (re.compile(r"^Merged into (?P<case>\S+)\.$"), gettext_noop("Merged into %(case)s.")),
    (re.compile(r"^(?P<case>\S+) was merged into this case\.$"), gettext_noop("%(case)s was merged into this case.")),
    (re.compile(r"^The customer wrote again after this case ended: (?P<case>\S+) follows it\.$"),
     gettext_noop("The customer wrote again after this case ended: %(case)s follows it.")),
    (re.compile(r"^The email to (?P<address>\S*) bounced: (?P<stored>.*)$", re.S),
     gettext_noop("The email to %(address)s bounced: %(stored)s")),
    (re.compile(r"^This email came from (?P<address>\S+), who is not the requester, on the CC or a contact of "
                r"(?P<customer>.+): check before answering\.$", re.S),
     gettext_noop("This email came from %(address)s, who is not the requester, on the CC or a contact of "
                  "%(customer)s: check before answering.")),
    # A stuck operator request's case (escalations.stuck).
    (re.compile(r"^Tried again at the operator by (?P<user>\S+)\.$"),
     gettext_noop("Tried again at the operator by %(user)s.")),
    (re.compile(r"^Cancelled by (?P<user>\S+): (?P<reason>.*)$", re.S), gettext_noop("Cancelled by %(user)s: %(reason)s")),
    (re.compile(r"^The operator accepted it: the subscription is (?P<status>\w+)\.$"),
     gettext_noop("The operator accepted it: the subscription is %(status)s.")),
    (re.compile(r"^The operator refused it again and it was given up: (?P<stored>.*)$", re.S),
     gettext_noop("The operator refused it again and it was given up: %(stored)s")),
    # Escalations to 21Vianet (escalations.services, escalations.tasks): a case's history.
    (re.compile(r"^escalated to the operator \((?P<channel>\w+)\)$"),
     gettext_noop("escalated to the operator (%(channel)s)")),
    (re.compile(r"^Escalated to 21Vianet, severity (?P<severity>[ABC]), sent through the Partner Center API: "
                r"(?P<title>.+)$", re.S),
     gettext_noop("Escalated to 21Vianet, severity %(severity)s, sent through the Partner Center API: %(title)s")),
    (re.compile(r"^Escalated to 21Vianet, severity (?P<severity>[ABC]), to be filed in the operator's portal: "
                r"(?P<title>.+)$", re.S),
     gettext_noop("Escalated to 21Vianet, severity %(severity)s, to be filed in the operator's portal: %(title)s")),
    (re.compile(r"^Filed in 21Vianet's portal as (?P<reference>.+)\.$"),
     gettext_noop("Filed in 21Vianet's portal as %(reference)s.")),
    (re.compile(r"^21Vianet received the request as (?P<reference>.+)\.$"),
     gettext_noop("21Vianet received the request as %(reference)s.")),
    (re.compile(r"^21Vianet answered on (?P<request>\S+) \((?P<author>[^)\n]*)\):\n(?P<text>.*)$", re.S),
     gettext_noop("21Vianet answered on %(request)s (%(author)s):\n%(text)s")),
    (re.compile(r"^21Vianet answered on (?P<request>\S+):\n(?P<text>.*)$", re.S),
     gettext_noop("21Vianet answered on %(request)s:\n%(text)s")),
    (re.compile(r"^Our note to 21Vianet on (?P<request>\S+):\n(?P<text>.*)$", re.S),
     gettext_noop("Our note to 21Vianet on %(request)s:\n%(text)s")),
    (re.compile(r"^21Vianet needs our attention on (?P<request>\S+): read its notes and answer\.$"),
     gettext_noop("21Vianet needs our attention on %(request)s: read its notes and answer.")),
    (re.compile(r"^21Vianet closed (?P<request>\S+)$"), gettext_noop("21Vianet closed %(request)s")),
    (re.compile(r"^21Vianet closed (?P<request>\S+)\. Task: tell the customer the outcome in a reply\.$"),
     gettext_noop("21Vianet closed %(request)s. Task: tell the customer the outcome in a reply.")),
    (re.compile(r"^21Vianet refused (?P<request>\S+): (?P<stored>.*)$", re.S),
     gettext_noop("21Vianet refused %(request)s: %(stored)s")),
    (re.compile(r"^21Vianet has not answered (?P<request>\S+) by its target \((?P<deadline>[^)]+)\): follow it up\.$"),
     gettext_noop("21Vianet has not answered %(request)s by its target (%(deadline)s): follow it up.")),
    (re.compile(r"^21Vianet has not closed (?P<request>\S+) by its target \((?P<deadline>[^)]+)\): follow it up\.$"),
     gettext_noop("21Vianet has not closed %(request)s by its target (%(deadline)s): follow it up.")),
    (re.compile(r"^Attachments not added to the case \(the original email, kept with the message, still holds "
                r"them\): (?P<files>.+)$", re.S),
     gettext_noop("Attachments not added to the case (the original email, kept with the message, still holds "
                  "them): %(files)s")),
    # Fraud alerts (fraud.services): a step in the alert's case, and the reason of an automatic action.
    (re.compile(r"^Fraud alert #(?P<alert>\d+): (?P<stored>.+)$", re.S), gettext_noop("Fraud alert #%(alert)s: %(stored)s")),
    (re.compile(r"^subscription (?P<subscription>.+) suspended \(fraud\)$"),
     gettext_noop("subscription %(subscription)s suspended (fraud)")),
    (re.compile(r"^subscription (?P<subscription>.+) left suspended for fraud alert #(?P<alert>\d+)$"),
     gettext_noop("subscription %(subscription)s left suspended for fraud alert #%(alert)s")),
    (re.compile(r"^subscription (?P<subscription>.+) reactivated$"),
     gettext_noop("subscription %(subscription)s reactivated")),
    (re.compile(r"^automatic action on fraud alert #(?P<alert>\d+)$"),
     gettext_noop("automatic action on fraud alert #%(alert)s")),
]


@cache
def _kept_refusals() -> list:
    """Refusals a record keeps as `str(exc)`, in English (an operator request's last error): read back by
    their own msgid, whose placeholders become the pattern's groups."""
    from partnerdesk.gateway.failures import OPERATOR_FAILURES

    patterns = []
    with translation.override(None):  # (the msgids themselves)
        msgids = [str(text) for text in OPERATOR_FAILURES.values()]
    for msgid in msgids:
        parts = re.split(r"%\((\w+)\)s", msgid)  # literal, name, literal, name, ..., literal
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+)" for i, p in enumerate(parts))
        patterns.append((re.compile(f"^{regex}$", re.S), msgid))
    return patterns


def translate_system_text(text: str) -> str:
    """A text PartnerDesk wrote into a record, in the active language; any other text as it is."""
    if text in SYSTEM_FIXED:
        return gettext(text)
    return _by_pattern(text, SYSTEM_PATTERNS + _kept_refusals())


def translate_system_name(text: str) -> str:
    """A name PartnerDesk gave a record ("collections run for 2026-11-24"), in the active language. Only the
    patterns: a customer or an invoice may well be called "Standard"."""
    return _by_pattern(text, SYSTEM_PATTERNS)
