"""The forms of dispute cases: the customer's "dispute this invoice" in the portal, and the agent's dispute panel
on a case (add an invoice and amount, uphold, reject). They check the shape of the input; partnerdesk.disputes
judges the rules (at most the open balance, at most what is disputed)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds

from .support_portal_forms import AttachmentsField


def _amount(label, **kwargs):
    return forms.DecimalField(label=label, max_digits=14, decimal_places=2, min_value=0, **kwargs)


def _text(label, rows=4, required=True):
    return forms.CharField(label=label, max_length=bounds.REASON_LENGTH, required=required,
                           widget=forms.Textarea(attrs={"rows": rows}))


class PortalDisputeForm(forms.Form):
    """A customer disputes an amount of one of its invoices (by default its whole open balance)."""

    amount = _amount(_("Amount disputed"), help_text=_("At most the invoice's open balance."))
    reason = _text(_("Why is this amount wrong?"), rows=6)
    attachments = AttachmentsField(label=_("Attach files"))


class AddDisputeForm(forms.Form):
    """An agent disputes an amount of one of the customer's open invoices in the case."""

    prefix = "dispute-add"
    invoice = forms.ModelChoiceField(label=_("Invoice"), queryset=None)
    amount = _amount(_("Amount disputed"))
    reason = _text(_("Reason"), rows=2, required=False)

    def __init__(self, *args, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = invoices
        self.fields["invoice"].label_from_instance = lambda i: f"{i.number} · {i.balance}"


class UpholdForm(forms.Form):
    """Uphold a dispute, in full or in part: the amount is credited."""

    prefix = "dispute-uphold"
    dispute = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=bounds.MAX_ID)
    amount = _amount(_("Amount upheld (credited)"))
    message = _text(_("Your words to the customer (optional)"), rows=3, required=False)
    refund = forms.IntegerField(required=False, min_value=1, max_value=bounds.MAX_ID, widget=forms.HiddenInput)


class RejectForm(forms.Form):
    """Reject the case's open disputes: collections resume on the date."""

    prefix = "dispute-reject"
    resume_on = forms.DateField(label=_("Collections resume on"), widget=forms.DateInput(attrs={"type": "date"}))
    message = _text(_("Your words to the customer (optional)"), rows=3, required=False)
