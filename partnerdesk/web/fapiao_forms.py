"""The forms of the fapiao pages: the list's filters, the actions on a fapiao (issued, delivered, red-letter
reversal), the results upload, and a customer's invoicing details. They check the shape of the input;
partnerdesk.fapiao.services judges the rules (the credit code's check character, the 20-digit number, the dates)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partnerdesk import bounds
from partnerdesk.fapiao.models import FapiaoType, RedLetterReason
from partnerdesk.fapiao.queries import filter_records
from partnerdesk.fapiao.services import STATUS_LABELS

from .filters import _customer_field, _customer_match, _date, _Filters
from .forms import DateInput

STATUS_CHOICES = list(STATUS_LABELS.items())


class FapiaoFilterForm(_Filters):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *STATUS_CHOICES])
    customer = _customer_field()
    number = forms.CharField(label=_("Number"), required=False, max_length=bounds.SEARCH_LENGTH,
                             widget=forms.TextInput(attrs={"type": "search",
                                                           "placeholder": _("Fapiao or invoice number")}))
    requested_from = _date(_("Requested from"))
    requested_to = _date(_("Requested to"))
    RANGES = [("requested_from", "requested_to")]

    def apply(self, records):
        """The records matching the valid filters (an invalid one filters nothing and shows its error)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        records = filter_records(records, status=data.get("status"), number=data.get("number"),
                                 since=data.get("requested_from"), until=data.get("requested_to"))
        if text := (data.get("customer") or "").strip():
            records = records.filter(_customer_match(text))
        return records


def _day(label):
    return forms.DateField(label=label, widget=DateInput())


def _number(label):
    return forms.CharField(label=label, max_length=40, widget=forms.TextInput(
        attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "26312000000000000001"}))


class RequestForm(forms.Form):
    invoice = forms.CharField(label=pgettext_lazy("the partner's bill, beside its fapiao", "Invoice number"), max_length=40,
                              widget=forms.TextInput(attrs={"placeholder": "INV-2026-000001"}))


class IssuedForm(forms.Form):
    number = _number(_("Fapiao number"))
    issued_on = _day(_("Issued on"))


class DeliveredForm(forms.Form):
    delivered_on = _day(_("Delivered on"))


class ReversalForm(forms.Form):
    reason = forms.ChoiceField(label=_("Red-letter reason"), choices=RedLetterReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=bounds.REASON_LENGTH)


class ReversalDoneForm(forms.Form):
    red_letter_number = _number(_("Red-letter fapiao number"))
    reversed_on = _day(_("Issued on"))


class ResultsUploadForm(forms.Form):
    file = forms.FileField(label=_("The tax platform's results (CSV)"))


class BuyerDetailsForm(forms.Form):
    fapiao_type = forms.ChoiceField(label=_("Fapiao type"), choices=FapiaoType.choices, widget=forms.RadioSelect)
    buyer_name = forms.CharField(label=_("Buyer's name"), max_length=200,
                                 help_text=_("The company's registered name, in full."))
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=40,
                                  help_text=_("18 characters (统一社会信用代码); its last character is checked."))
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    bank = forms.CharField(label=_("Bank"), max_length=200, required=False)
    bank_account = forms.CharField(label=_("Bank account"), max_length=60, required=False)
    email = forms.CharField(label=_("Email for the digital fapiao"), max_length=254, required=False)
    reason = forms.CharField(label=_("Reason for the change"), max_length=bounds.REASON_LENGTH, required=False)

    SPECIAL_HELP = _("A special VAT invoice (专用发票) also carries the address, phone, bank and account.")
