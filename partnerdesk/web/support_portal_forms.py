"""The forms of the customers' side of the desk (portal and the signed answer page). They check the shape
of the input; support.services judges the rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.customers.models import Language
from partnerdesk.support.attachments import MAX_FILES
from partnerdesk.support.models import CaseType, Severity
from partnerdesk.support.publishing import TEXT_LENGTH

SCORE_CHOICES = [(str(n), str(n)) for n in range(1, 6)]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input; the list may be empty. Size and type are the service's to judge."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if len(files) > MAX_FILES:
            raise ValidationError(_("At most %(count)s files at a time."), params={"count": MAX_FILES})
        return [super(AttachmentsField, self).clean(item, initial) for item in files]


def _text(label, max_length=bounds.BODY_LENGTH, rows=6, **kwargs):
    return forms.CharField(label=label, max_length=max_length, strip=False,
                           widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


class InvoiceChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.number} · {obj.issue_date:%Y-%m-%d}"


class NewCaseForm(forms.Form):
    """A customer's new case: what it is about, how bad it is, which of its invoices, files."""

    type = forms.ChoiceField(label=_("What is it about?"), choices=CaseType.choices,
                             initial=CaseType.BILLING_QUESTION)
    severity = forms.ChoiceField(label=_("How urgent?"), choices=Severity.choices, initial=Severity.C,
                                 help_text=_("A (critical) is for technical problems only."))
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = _text(_("Describe the question or problem"), rows=8)
    invoices = InvoiceChoices(label=_("Invoices it concerns"), queryset=None, required=False,
                              widget=forms.SelectMultiple(attrs={"size": 5}))
    attachments = AttachmentsField(label=_("Attach files"))

    def __init__(self, *args, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].queryset = invoices

    def clean(self):
        data = super().clean()
        if data.get("severity") == Severity.A and data.get("type") != CaseType.TECHNICAL:
            self.add_error("severity", _("Severity A (critical) is for technical problems only."))
        return data


class ReplyForm(forms.Form):
    body = _text(_("Your message"))
    attachments = AttachmentsField(label=_("Attach files"))


class ReopenForm(forms.Form):
    body = _text(_("What is still not solved?"), rows=4)


class ScoreForm(forms.Form):
    score = forms.TypedChoiceField(label=_("How satisfied are you with our help? (1: not at all, 5: very)"),
                                   choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect)
    comment = _text(_("Comment (optional)"), max_length=bounds.REASON_LENGTH, rows=3, required=False)


TEXT_LABELS = {
    "hours": _("Support hours"),
    "channels": _("How to reach us"),
    "process": _("How we handle a case"),
}
SUFFIX = {Language.ZH_CN: "zh_cn", Language.ZH_TW: "zh_tw", Language.EN: "en"}


class SupportInformationForm(forms.Form):
    """The published support information, every text in each language, and why it changes."""

    def __init__(self, *args, initial_texts: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for language, suffix in SUFFIX.items():
            for name, label in TEXT_LABELS.items():
                self.fields[f"{name}_{suffix}"] = _text(label, max_length=TEXT_LENGTH, rows=4, required=False)
                self.initial[f"{name}_{suffix}"] = initial_texts[language][name]
        self.fields["reason"] = forms.CharField(label=_("Reason for the change"), required=False,
                                                max_length=bounds.REASON_LENGTH)

    def rows(self):
        """(label, [bound field per language]) for each text, in the order zh-CN, zh-TW, en."""
        return [(label, [self[f"{name}_{suffix}"] for suffix in SUFFIX.values()]) for name, label in TEXT_LABELS.items()]

    def texts(self, language: str) -> dict:
        suffix = SUFFIX[language]
        return {name: self.cleaned_data.get(f"{name}_{suffix}") or "" for name in TEXT_LABELS}
