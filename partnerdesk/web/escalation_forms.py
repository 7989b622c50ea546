"""The forms of the escalation panel on a case: escalate to 21Vianet, record the portal's reference number, log
the operator's answer, add our note, mark the request closed. They check the shape of the input;
partnerdesk.escalations.services judges the rules (severity A for technical topics only, a reference once)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.customers.models import Language
from partnerdesk.escalations import services
from partnerdesk.escalations.models import OperatorSeverity, RequestChannel, ServiceRequestStatus, Topic
from partnerdesk.support.models import CaseType, Direction, MessageKind

# What a case's type suggests as the operator's support topic (the agent may choose another).
TOPIC_OF_CASE_TYPE = {CaseType.TECHNICAL: Topic.TECHNICAL, CaseType.FRAUD_MISUSE: Topic.FRAUD,
                      CaseType.SUSPENSION_ACCESS: Topic.SUBSCRIPTION}
# Where a service's refusal names a field the form calls otherwise.
FIELD_OF = {"invoice_ids": "invoices", "subscription_ids": "subscriptions"}
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _text(label, max_length=bounds.NOTE_LENGTH, rows=4, required=True):
    return forms.CharField(label=label, max_length=max_length, required=required, strip=True,
                           widget=forms.Textarea(attrs={"rows": rows}))


class _EscalationForm(forms.Form):
    """Element ids carry the form's name and the request's id: the panel holds a form of each kind per request."""

    NAME = "esc"

    def __init__(self, *args, sr_id=None, **kwargs):
        kwargs.setdefault("auto_id", f"{self.NAME}{'-' + str(sr_id) if sr_id else ''}-%s")
        super().__init__(*args, **kwargs)


class EscalateForm(_EscalationForm):
    """Escalate the case: a service request on the customer's behalf, through the portal or the API."""

    NAME = "escalate"
    channel = forms.ChoiceField(label=_("Channel"), choices=RequestChannel.choices)
    topic = forms.ChoiceField(label=_("Support topic"), choices=Topic.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=OperatorSeverity.choices,
                                 help_text=_("A (critical) is for technical topics only: 21Vianet takes billing and "
                                             "subscription requests at B at most."))
    title = forms.CharField(label=_("Title"), max_length=services.TITLE_LENGTH)
    description = _text(_("Description"), rows=6)
    invoices = forms.ModelMultipleChoiceField(label=_("Invoices"), queryset=None, required=False,
                                              widget=forms.CheckboxSelectMultiple)
    subscriptions = forms.ModelMultipleChoiceField(label=_("Subscriptions"), queryset=None, required=False,
                                                   widget=forms.CheckboxSelectMultiple)
    language = forms.ChoiceField(label=_("Language of the request text"), choices=Language.choices,
                                 initial=Language.ZH_CN)

    def __init__(self, *args, case, default_channel=RequestChannel.PORTAL, **kwargs):
        invoices, subscriptions = case.invoices.all(), case.subscriptions.all()
        kwargs.setdefault("initial", {
            "channel": default_channel, "topic": TOPIC_OF_CASE_TYPE.get(case.type, Topic.BILLING),
            "severity": OperatorSeverity.MODERATE, "title": case.subject, "description": customers_question(case),
            "invoices": list(invoices), "subscriptions": list(subscriptions), "language": Language.ZH_CN})
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices
        self.fields["invoices"].label_from_instance = lambda i: i.number or str(i)
        self.fields["subscriptions"].queryset = subscriptions


# The request's contact is the partner, never the customer: the customer's addresses and phone numbers in its
# own words are left out of the description offered (the agent may still write what the operator needs).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)(?:\+?\d[\d\s()-]{6,}\d)(?!\w)")


def customers_question(case) -> str:
    """The customer's own words: the case's description, else its first message from the customer; without the
    customer's email addresses and phone numbers."""
    text = case.description
    if not text.strip():
        first = (case.messages.filter(kind=MessageKind.PUBLIC, direction=Direction.INBOUND)
                 .order_by("created_at", "id").first())
        text = first.display_body if first is not None else ""
    return _PHONE.sub("[…]", _EMAIL.sub("[…]", text))


class ReferenceForm(_EscalationForm):
    """The number the operator's portal gave the request."""

    NAME = "reference"
    reference = forms.CharField(label=_("The operator's reference number"), max_length=services.REFERENCE_LENGTH)


class AnswerForm(_EscalationForm):
    """An answer the operator gave (in its portal, by phone, by mail), and its new status if it changed it."""

    NAME = "answer"
    NO_CHANGE = ""
    text = _text(_("The operator's answer"))
    author = forms.CharField(label=_("Written by (optional)"), max_length=bounds.NAME_LENGTH, required=False)
    written_at = forms.DateTimeField(label=_("When (leave empty for now)"), required=False,
                                     input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                format=DATETIME_LOCAL))
    status = forms.ChoiceField(label=_("The request's status now"), required=False, choices=[
        (NO_CHANGE, _("Unchanged")),
        *[(s.value, s.label) for s in (ServiceRequestStatus.OPEN, ServiceRequestStatus.ATTENTION_NEEDED,
                                       ServiceRequestStatus.CLOSED)]])


class NoteForm(_EscalationForm):
    """Our note to the operator (the API sends it; on a portal request the agent wrote it there)."""

    NAME = "note"
    text = _text(_("Our note to the operator"), rows=3)


class CloseForm(_EscalationForm):
    """The operator closed the request (nothing to fill in)."""

    NAME = "close"


def add_service_error(form: forms.Form, exc) -> None:
    """A service's refusal on the form's field it names ("invoice_ids[0]" is the invoices), else above the form."""
    field = FIELD_OF.get((exc.field or "").split("[")[0], (exc.field or "").split("[")[0])
    form.add_error(field if field in form.fields else None, exc.message)
