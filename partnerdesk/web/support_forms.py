"""The forms of the agents' support desk. They check the shape of the input; support.services judges the rules."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.models import Team
from partnerdesk.support.models import TOKEN_PREFIX, CaseStatus, CaseType, Channel, Severity
from partnerdesk.support.services import SETTABLE

from .filters import _Filters, staff_users

NOBODY = "none"
ANY = [("", _("Any"))]
SETTABLE_CHOICES = [(s.value, s.label) for s in SETTABLE]
# Channels an agent logs a case from (the others come in by themselves).
AGENT_CHANNELS = [(c.value, c.label) for c in (Channel.PHONE, Channel.CHAT, Channel.EMAIL, Channel.INTERNAL)]
_SPLIT = re.compile(r"[\s,;，；、]+")


def split_list(text: str) -> list[str]:
    """'a, b;c' -> ['a', 'b', 'c'] (commas, semicolons, spaces; Chinese punctuation too)."""
    return [part for part in _SPLIT.split(text or "") if part]


class _Prefixed(forms.Form):
    """A form whose element ids carry its name: several forms share the case page."""

    ID_PREFIX = "f"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.ID_PREFIX}-%s")
        super().__init__(*args, **kwargs)


def staff_choices(empty_label) -> list:
    return [("", empty_label), (NOBODY, _("Nobody")),
            *[(str(u.pk), u.get_full_name() or u.get_username()) for u in staff_users()]]


def team_choices(empty_label) -> list:
    return [("", empty_label), (NOBODY, _("No team")), *[(str(t.pk), t.name) for t in Team.objects.all()]]


def chosen_user(value):
    """The staff user of a choice ('' or NOBODY: nobody)."""
    return None if value in ("", NOBODY) else staff_users().get(pk=int(value))


def chosen_team(value):
    return None if value in ("", NOBODY) else Team.objects.get(pk=int(value))


class QueueFilterForm(_Filters):
    """The queue's filters: status, type, severity, team, tag, customer."""

    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + list(CaseStatus.choices))
    type = forms.ChoiceField(label=_("Type"), required=False, choices=ANY + list(CaseType.choices))
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=ANY + list(Severity.choices))
    team = forms.ChoiceField(label=_("Team"), required=False)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    customer = forms.CharField(label=_("Customer"), required=False, max_length=bounds.SEARCH_LENGTH,
                               widget=forms.TextInput(attrs={"placeholder": _("Name or tenant id"), "type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = team_choices(_("Any"))


class BulkCasesForm(_Prefixed):
    """Bulk actions on the cases selected in a queue: all or none."""

    ID_PREFIX = "bulk"

    ASSIGN, STATUS = "assign", "status"
    action = forms.ChoiceField(label=_("Action"), choices=[(ASSIGN, _("Assign")), (STATUS, _("Set status"))])
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", "—"), *SETTABLE_CHOICES])
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = staff_choices("—")
        self.fields["team"].choices = team_choices("—")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == self.STATUS and not cleaned.get("status"):
            self.add_error("status", gettext("Choose the status."))
        if cleaned.get("action") == self.ASSIGN and not (cleaned.get("assignee") or cleaned.get("team")):
            self.add_error("assignee", gettext("Choose an assignee or a team."))
        return cleaned


class ComposeForm(_Prefixed):
    """The composer: a public reply, an internal note or the resolution; the status after sending."""

    ID_PREFIX = "compose"

    REPLY, NOTE, RESOLVE = "reply", "note", "resolve"
    action = forms.ChoiceField(choices=[(REPLY, _("Reply")), (NOTE, _("Internal note")), (RESOLVE, _("Resolve"))])
    body = forms.CharField(label=_("Message"), max_length=bounds.BODY_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 8}))
    status = forms.ChoiceField(label=_("Status after sending"), required=False, choices=SETTABLE_CHOICES)


class DetailsForm(_Prefixed):
    """What the case is about: subject, type, severity, tags, CC and its links to the ledger."""

    ID_PREFIX = "details"

    subject = forms.CharField(label=_("Subject"), max_length=300)
    type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000,
                           help_text=_("Separated by commas."))
    cc = forms.CharField(label=_("CC"), required=False, max_length=5000, help_text=_("Email addresses, separated by commas."))
    invoices = forms.ModelMultipleChoiceField(label=_("Invoices"), required=False, queryset=None,
                                              widget=forms.SelectMultiple(attrs={"size": 4}))
    payments = forms.ModelMultipleChoiceField(label=_("Payments"), required=False, queryset=None,
                                              widget=forms.SelectMultiple(attrs={"size": 4}))
    subscriptions = forms.ModelMultipleChoiceField(label=_("Subscriptions"), required=False, queryset=None,
                                                   widget=forms.SelectMultiple(attrs={"size": 4}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def __init__(self, *args, customer, **kwargs):
        from partnerdesk.billing.models import Invoice, Payment
        from partnerdesk.customers.models import Subscription

        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = Invoice.objects.filter(customer=customer).order_by("-issue_date", "-id")
        self.fields["payments"].queryset = Payment.objects.filter(customer=customer).order_by("-received_on", "-id")
        self.fields["subscriptions"].queryset = Subscription.objects.filter(customer=customer)
        self.fields["invoices"].label_from_instance = lambda i: i.number or f"#{i.pk}"
        self.fields["payments"].label_from_instance = lambda p: f"{p.received_on:%Y-%m-%d} {p.amount} {p.reference}"

    def clean_tags(self) -> list[str]:
        return split_list(self.cleaned_data["tags"])

    def clean_cc(self) -> list[str]:
        return split_list(self.cleaned_data["cc"])


class AssignForm(_Prefixed):
    ID_PREFIX = "assign"
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = staff_choices(_("Nobody"))[1:]
        self.fields["team"].choices = team_choices(_("No team"))[1:]


class StatusForm(_Prefixed):
    ID_PREFIX = "status"
    status = forms.ChoiceField(label=_("Status"), choices=SETTABLE_CHOICES)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)


class MergeForm(_Prefixed):
    ID_PREFIX = "merge"
    target = forms.CharField(label=_("Merge into case"), max_length=30,
                             widget=forms.TextInput(attrs={"placeholder": "PD-123"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def clean_target(self) -> int:
        return _case_number(self.cleaned_data["target"])


class CloseForm(_Prefixed):
    ID_PREFIX = "close"
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)


class NewCaseForm(forms.Form):
    """A case an agent logs: a phone call, a chat, or an internal case."""

    customer = forms.CharField(label=_("Customer"), max_length=bounds.SEARCH_LENGTH,
                               help_text=_("Name, tenant id or number of the customer."))
    requester_email = forms.EmailField(label=_("Requester email"), required=False,
                                       help_text=_("A contact of the customer is recognised by the address."))
    requester_name = forms.CharField(label=_("Requester name"), required=False, max_length=bounds.NAME_LENGTH)
    channel = forms.ChoiceField(label=_("Channel"), choices=AGENT_CHANNELS, initial=Channel.PHONE)
    type = forms.ChoiceField(label=_("Type"), choices=CaseType.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.C)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(label=_("Description"), max_length=bounds.BODY_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    invoices = forms.CharField(label=_("Invoice numbers"), required=False, max_length=1000,
                               help_text=_("Separated by commas."))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=1000, help_text=_("Separated by commas."))
    assign_to_me = forms.BooleanField(label=_("Assign to me"), required=False, initial=True)

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str):
                problem = bounds.text_problem(value, bounds.BODY_LENGTH)
                if problem:
                    self.add_error(name, problem)
        return cleaned


def _case_number(text: str) -> int:
    text = text.strip().lstrip("#").upper().removeprefix(TOKEN_PREFIX)
    number = bounds.parse_id(text)
    if number is None:
        raise ValidationError(gettext("Enter a case number such as PD-123."))
    return number


class FileToCustomerForm(forms.Form):
    customer = forms.CharField(label=_("Customer"), max_length=bounds.SEARCH_LENGTH,
                               widget=forms.TextInput(attrs={"placeholder": _("Name or tenant id")}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)


class FileToCaseForm(forms.Form):
    case = forms.CharField(label=_("Case"), max_length=30, widget=forms.TextInput(attrs={"placeholder": "PD-123"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def clean_case(self) -> int:
        return _case_number(self.cleaned_data["case"])


class DiscardMailForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=bounds.REASON_LENGTH)
