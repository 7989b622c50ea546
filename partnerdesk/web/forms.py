"""The web forms. They check the shape of the input (translated messages); the services judge the rules."""

import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.services import login_throttled, record_login_failure
from partnerdesk.billing.models import PaymentMethod
from partnerdesk.customers.models import CustomerStatus, SuspensionReason
from partnerdesk.errors import DomainError

from .service_messages import translate_service_message


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal on the field it names (or above the form if the form has no such field)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, translate_service_message(exc.message))


def client_ip(request) -> str:
    """The address the request came from (REMOTE_ADDR: the only value a client cannot forge)."""
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


class LoginForm(AuthenticationForm):
    """Django's sign-in form, refusing to even try a password once the username or address is throttled."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("Too many failed sign-in attempts. Please wait a few minutes and try again."),
    }

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        ip = client_ip(self.request)
        if login_throttled(username, ip):
            raise ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            return super().clean()
        except ValidationError:
            record_login_failure(username, ip)
            raise


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        widget=forms.TextInput(attrs={"placeholder": _("Name, tenant id, domain or contact email"),
                                                      "type": "search"}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *CustomerStatus.choices])


class RecordPaymentForm(forms.Form):
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00",
                                                           "autocomplete": "off"}))
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), required=False, max_length=120,
                                help_text=_("Bank transaction number, Alipay or WeChat Pay order number."))
    # A fresh key per rendered form: submitting the same form twice records one payment.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, today=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("received_on", today or timezone.localdate())
        kwargs["initial"].setdefault("method", PaymentMethod.BANK_TRANSFER)
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> str:
        raw = self.cleaned_data["amount"].strip().replace(",", "").replace("，", "").removeprefix("¥").strip()
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise ValidationError(_("Enter an amount such as 1234.50."), code="invalid")
        if value <= 0:
            raise ValidationError(_("The amount must be greater than zero."), code="min_value")
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError(_("CNY amounts have at most 2 decimal places."), code="max_decimal_places")
        return raw  # the service parses it again, as a decimal string


class SuspendForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Reason code"), choices=SuspensionReason.choices)
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Recorded in the audit log."))


class ReactivateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Recorded in the audit log."))


class StatementForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=DateInput())


class ImportCustomersForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, with a header row."))

    MAX_BYTES = 5 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The file is too large (at most 5 MB)."), code="too_large")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."),
                                  code="encoding")


class AuditFilterForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), required=False, queryset=None,
                                      empty_label=_("All customers"))
    action = forms.CharField(label=_("Action"), required=False, max_length=80,
                             widget=forms.TextInput(attrs={"placeholder": "payment."}))
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", gettext("The end date is before the start date."))
        return cleaned


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=_("Token name"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. reconciliation script")}))
