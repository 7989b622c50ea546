"""Forms of the pages that change ledger and customer records: customers and contacts, invoice drafts, credit
notes, refunds, payment reversal and moving an allocation. They check the shape of the input; the services
judge the rules (and name the field at fault, which `add_service_error` puts on the right form and line)."""

import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.billing.models import PaymentMethod
from partnerdesk.customers.models import ContactKind, CustomerStatus, Language
from partnerdesk.errors import DomainError

from .forms import DateInput, InvoiceChoiceField, add_domain_error, clean_amount_text

TIME_ZONES = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
              "Asia/Seoul", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC"]
# China's VAT rates (and zero): a person picks one; the service takes the fraction.
TAX_RATES = [("0", "0%"), ("0.01", "1%"), ("0.03", "3%"), ("0.06", "6%"), ("0.09", "9%"), ("0.13", "13%")]


def _zone_choices(current: str = ""):
    zones = TIME_ZONES if not current or current in TIME_ZONES else [current, *TIME_ZONES]
    return [(z, z) for z in zones]


def _reason_field(required: bool = True, label=None):
    return forms.CharField(label=label or _("Reason"), required=required, max_length=bounds.REASON_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Recorded in the audit log."))


class ZoneChoiceField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(label=_("Time zone"), choices=_zone_choices(), initial="Asia/Shanghai", **kwargs)


# --- customers and contacts ---------------------------------------------------------------------------------


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=bounds.NAME_LENGTH)
    tenant_id = forms.UUIDField(label=_("Tenant id"), help_text=_("The customer's tenant id at the operator (a GUID)."))
    primary_domain = forms.CharField(label=_("Primary domain"), required=False, max_length=253)
    payment_terms_days = forms.IntegerField(label=_("Payment terms (net days)"), min_value=0, max_value=365, initial=30)
    credit_limit = forms.CharField(label=_("Credit limit (CNY)"), max_length=32, initial="0.00")
    language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices, initial=Language.ZH_CN)
    time_zone = ZoneChoiceField()

    def __init__(self, *args, instance=None, **kwargs):
        if instance is not None:
            kwargs.setdefault("initial", {}).update(
                {f: getattr(instance, f) for f in ("name", "tenant_id", "primary_domain", "payment_terms_days",
                                                   "language", "time_zone", "status")})
            kwargs["initial"]["credit_limit"] = f"{instance.credit_limit:.2f}"
        super().__init__(*args, **kwargs)
        current = (self.initial or {}).get("time_zone", "")
        self.fields["time_zone"].choices = _zone_choices(current)

    def clean_credit_limit(self) -> str:
        return clean_amount_text(self.cleaned_data["credit_limit"], allow_zero=True)


class NewCustomerForm(CustomerForm):
    """A new customer and its primary billing contact."""

    contact_name = forms.CharField(label=_("Contact name"), required=False, max_length=bounds.NAME_LENGTH)
    contact_email = forms.EmailField(label=_("Contact email"), required=False, max_length=254)
    contact_phone = forms.CharField(label=_("Contact phone"), required=False, max_length=40)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("contact_name") and not cleaned.get("contact_email"):
            self.add_error("contact_email", _("Give the contact's email address."))
        return cleaned


class EditCustomerForm(CustomerForm):
    status = forms.ChoiceField(label=_("Status"), choices=CustomerStatus.choices)
    reason = _reason_field(required=False)


class DeactivateCustomerForm(forms.Form):
    reason = _reason_field(label=_("Why the customer is closed"))


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=bounds.NAME_LENGTH)
    email = forms.EmailField(label=_("Email"), max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    kind = forms.ChoiceField(label=_("Role"), choices=ContactKind.choices, initial=ContactKind.BILLING)
    is_primary = forms.BooleanField(label=_("Primary billing contact"), required=False,
                                    help_text=_("Collections emails go to the primary billing contact."))
    language = forms.ChoiceField(label=_("Preferred language"), choices=Language.choices)
    time_zone = ZoneChoiceField()
    reason = _reason_field(required=False)

    def __init__(self, *args, contact=None, customer=None, **kwargs):
        initial = kwargs.setdefault("initial", {})
        if contact is not None:
            initial.update({f: getattr(contact, f) for f in ("name", "email", "phone", "kind", "is_primary",
                                                             "language", "time_zone")})
        elif customer is not None:
            initial.setdefault("language", customer.language)
            initial.setdefault("time_zone", customer.time_zone)
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _zone_choices(initial.get("time_zone", ""))


# --- lines that a form adds and removes without JavaScript -------------------------------------------------


class LineRows:
    """A formset whose rows the user adds ("add_line" button) and removes ("remove_line" = row number) by
    submitting the form: the page comes back with the rows as typed, one more or one less, and no errors shown.
    On a real submit, rows left blank (none of `key_fields` filled in) are dropped, not refused."""

    def __init__(self, formset_class, request, *, prefix: str, initial: list[dict], key_fields, form_kwargs=None):
        self.changed = False
        form_kwargs = form_kwargs or {}
        fields = formset_class.form.base_fields
        data = request.POST if request.method == "POST" else None
        if data is not None and ("add_line" in data or "remove_line" in data):
            rows = self.rows_from(data, prefix, fields)
            if "add_line" in data:
                rows.append({})
            else:
                try:
                    del rows[int(data["remove_line"])]
                except (ValueError, IndexError):
                    pass
            self.changed = True
            self.formset = formset_class(initial=rows or [{}], prefix=prefix, form_kwargs=form_kwargs)
        elif data is not None:
            rows = [row for row in self.rows_from(data, prefix, fields) if any(str(row[k]).strip() for k in key_fields)]
            bound = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
            for i, row in enumerate(rows):
                bound.update({f"{prefix}-{i}-{name}": value for name, value in row.items()})
            self.formset = formset_class(bound, prefix=prefix, form_kwargs=form_kwargs)
        else:
            self.formset = formset_class(initial=initial or [{}], prefix=prefix, form_kwargs=form_kwargs)

    @staticmethod
    def rows_from(data, prefix: str, fields) -> list[dict]:
        try:
            total = max(0, min(int(data.get(f"{prefix}-TOTAL_FORMS", 0)), MAX_LINES))
        except ValueError:
            total = 0
        return [{name: data.get(f"{prefix}-{i}-{name}", "") for name in fields} for i in range(total)]

    def is_valid(self) -> bool:
        return not self.changed and self.formset.is_valid()

    @property
    def lines(self) -> list[dict]:
        return [form.cleaned_data for form in self.formset.forms if form.cleaned_data]


MAX_LINES = 100


class InvoiceLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300)
    quantity = forms.CharField(label=_("Quantity"), max_length=20, initial="1",
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}))
    unit_price = forms.CharField(label=_("Unit price (CNY)"), max_length=32,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))
    tax_rate = forms.ChoiceField(label=_("Tax rate"), choices=TAX_RATES, initial="0.06")
    subscription = forms.ModelChoiceField(label=_("Subscription"), queryset=None, required=False,
                                          empty_label=_("(none)"))

    def __init__(self, *args, subscriptions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].queryset = subscriptions

    def clean_quantity(self) -> str:
        text = self.cleaned_data["quantity"].strip()
        if bounds.quantity_text_problem(text):
            raise ValidationError(_("Enter a quantity such as 12 or 0.5."), code="invalid")
        if float(text) <= 0:
            raise ValidationError(_("The quantity must be greater than zero."), code="min_value")
        return text

    def clean_unit_price(self) -> str:
        raw = self.cleaned_data["unit_price"].strip()
        negative = raw.startswith("-")
        text = clean_amount_text(raw.removeprefix("-"), allow_zero=True)
        return f"-{text}" if negative else text


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if not any(form.errors for form in self.forms) and not any(form.cleaned_data for form in self.forms):
            raise ValidationError(_("An invoice needs at least one line."), code="no_lines")


InvoiceLineFormSet = forms.formset_factory(InvoiceLineForm, formset=BaseLineFormSet, extra=0, max_num=MAX_LINES,
                                           validate_max=True)


class InvoiceHeaderForm(forms.Form):
    issue_date = forms.DateField(label=_("Issue date"), required=False, widget=DateInput(),
                                 help_text=_("Empty: the day it is issued."))
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput(),
                               help_text=_("Empty: the issue date plus the customer's payment terms."))
    notes = forms.CharField(label=_("Notes"), required=False, max_length=bounds.NOTE_LENGTH,
                            widget=forms.Textarea(attrs={"rows": 2}))
    reason = _reason_field(required=False)


class VoidInvoiceForm(forms.Form):
    reason = _reason_field(label=_("Why the invoice is void"))


class CreditLineForm(forms.Form):
    description = forms.CharField(label=_("Description"), max_length=300)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}))

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])


class BaseCreditLineFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if not any(form.errors for form in self.forms) and not any(form.cleaned_data for form in self.forms):
            raise ValidationError(_("A credit note needs at least one line."), code="no_lines")


CreditLineFormSet = forms.formset_factory(CreditLineForm, formset=BaseCreditLineFormSet, extra=0, max_num=MAX_LINES,
                                          validate_max=True)


class CreditNoteForm(forms.Form):
    reason = _reason_field(label=_("Why the customer is credited"))


# --- payments -----------------------------------------------------------------------------------------------


class RefundForm(forms.Form):
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    method = forms.ChoiceField(label=_("Paid back by"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), required=False, max_length=bounds.REFERENCE_LENGTH)
    reason = _reason_field()
    # A fresh key per rendered form: the same form sent twice is refused by the balance left, not paid twice.
    form_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("form_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])


class ReversePaymentForm(forms.Form):
    reason = _reason_field(label=_("Why the payment is reversed"))
    confirm = forms.BooleanField(label=_("Take this payment off every invoice it paid"), required=True)


class MoveAllocationForm(forms.Form):
    from_invoice = InvoiceChoiceField(label=_("From invoice"), queryset=None, empty_label=None)
    to_invoice = InvoiceChoiceField(label=_("To invoice"), queryset=None, empty_label=None)
    amount = forms.CharField(label=_("Amount (CNY)"), required=False, max_length=32,
                             help_text=_("Empty: all that the payment applied to the first invoice."))
    reason = _reason_field()

    def __init__(self, *args, sources, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from_invoice"].queryset = sources
        self.fields["to_invoice"].queryset = targets

    def clean_amount(self) -> str:
        text = self.cleaned_data["amount"].strip()
        return clean_amount_text(text) if text else ""


# --- a service's refusal, on the field (and line) it names -------------------------------------------------

_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
_FIELD_ALIASES = {"subscription_id": "subscription", "to_invoice_id": "to_invoice", "from_invoice_id": "from_invoice"}


def add_service_error(form: forms.Form, exc: DomainError, lines=None) -> None:
    """Show a service's refusal where it belongs: a line's field ("lines[2].quantity"), a form field, or above."""
    match = _LINE_FIELD.match(exc.field or "")
    if match and lines is not None:
        index, name = int(match.group(1)), _FIELD_ALIASES.get(match.group(2), match.group(2))
        if index < len(lines.forms):
            line = lines.forms[index]
            line.add_error(name if name in line.fields else None, exc.message)
            return
    if exc.field in _FIELD_ALIASES and _FIELD_ALIASES[exc.field] in form.fields:
        form.add_error(_FIELD_ALIASES[exc.field], exc.message)
        return
    add_domain_error(form, exc)
