"""The web forms. They check the shape of the input (translated messages); the services judge the rules."""

import re
import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.services import login_throttled, record_login_failure
from partnerdesk.billing.models import PaymentMethod
from partnerdesk.customers.models import SuspensionReason
from partnerdesk.dunning.models import CollectionsPolicy, PolicyStage
from partnerdesk.errors import DomainError
from partnerdesk.notifications.catalogue import TEMPLATES


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    """Show a service's refusal on the field it names (or above the form if the form has no such field)."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def client_ip(request) -> str:
    """The address the request came from, for the per-address sign-in throttle.

    REMOTE_ADDR is the only value a client cannot forge, but behind a reverse proxy it is the proxy's, and one
    address for everyone would let a few failures lock everyone out. With PARTNERDESK_TRUSTED_PROXIES=N, the
    address is the one the outermost of the N proxies saw: the Nth entry from the right of X-Forwarded-For
    (entries further left are the client's own claims).
    """
    if request is None:
        return "unknown"
    hops = settings.TRUSTED_PROXIES
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:64]
    return request.META.get("REMOTE_ADDR") or "unknown"


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


def clean_amount_text(text: str, *, allow_zero: bool = False) -> str:
    """A CNY amount as typed ("¥1,234.50", "1234.5"): checked, and returned as a decimal string for the service."""
    raw = text.strip().replace(",", "").replace("，", "").removeprefix("¥").strip()
    # ASCII digits only: Decimal() would also take "1e400" (and then fail to quantize it), "1_000" or "١٢٣".
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", raw):
        raise ValidationError(_("Enter an amount such as 1234.50."), code="invalid")
    value = Decimal(raw)
    if abs(value) > bounds.MAX_AMOUNT:
        raise ValidationError(_("The amount is too large (at most %(max)s).") % {"max": bounds.MAX_AMOUNT}, code="max_value")
    if allow_zero and value < 0:
        raise ValidationError(_("The amount cannot be negative."), code="min_value")
    if not allow_zero and value <= 0:
        raise ValidationError(_("The amount must be greater than zero."), code="min_value")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("CNY amounts have at most 2 decimal places."), code="max_decimal_places")
    return raw  # the service parses it again, as a decimal string


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


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
    # Offered only when the customer already has a payment with this reference (see web.views.billing).
    record_anyway = forms.BooleanField(label=_("It is a different payment: record it anyway"), required=False)

    def __init__(self, *args, today=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("received_on", today or timezone.localdate())
        kwargs["initial"].setdefault("method", PaymentMethod.BANK_TRANSFER)
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])


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
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. payment")}))
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
    # A fresh key per rendered form: the page that shows a new token's value answers a POST, and reloading it
    # must not create a second token.
    form_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("form_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


# --- collections ------------------------------------------------------------------------------------------


class InvoiceChoiceField(forms.ModelChoiceField):
    """An invoice shown by number, due date and open balance."""

    def label_from_instance(self, obj):
        from .templatetags.desk import money

        due = obj.due_date.isoformat() if obj.due_date else "—"
        return gettext("%(number)s · due %(due)s · %(balance)s open") % {
            "number": obj.number or f"#{obj.pk}", "due": due, "balance": money(obj.balance, obj.currency)}


class DisputeForm(forms.Form):
    invoice = InvoiceChoiceField(label=_("Invoice"), queryset=None, empty_label=None)
    amount = forms.CharField(label=_("Disputed amount (CNY)"), max_length=32, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00",
                                                           "autocomplete": "off"}),
                             help_text=_("Leave empty to dispute the whole open balance. Collections leaves the "
                                         "disputed amount alone while the dispute is open and goes on for the rest."))
    reason = forms.CharField(label=_("What the customer disputes"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, invoices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = invoices

    def clean_amount(self) -> str | None:
        text = self.cleaned_data["amount"]
        return clean_amount_text(text) if text.strip() else None


class ResolveDisputeForm(forms.Form):
    resolution = forms.CharField(label=_("Resolution"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                                 help_text=_("Collections resumes for the invoice from the stage it had reached."))


class CallDoneForm(forms.Form):
    note = forms.CharField(label=_("What the customer said"), max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Recorded with the call and in the audit log."))


class PromiseForm(forms.Form):
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00",
                                                           "autocomplete": "off"}))
    promised_date = forms.DateField(label=_("Promised by"), widget=DateInput(),
                                    help_text=_("Collections holds the covered invoices until this day."))
    invoice = InvoiceChoiceField(label=_("Invoice"), queryset=None, required=False,
                                 empty_label=_("Open invoices, oldest due first, up to the amount"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, invoices, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoice"].queryset = invoices
        self.today = today or timezone.localdate()

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])

    def clean_promised_date(self):
        value = self.cleaned_data["promised_date"]
        if value < self.today:
            raise ValidationError(_("The promised date is in the past."), code="past")
        return value


class CollectionsProfileForm(forms.Form):
    DEFAULT, OWN, EXEMPT = "default", "policy", "exempt"
    mode = forms.ChoiceField(label=_("Collections for this customer"), widget=forms.RadioSelect,
                             choices=[(DEFAULT, _("The default policy")), (OWN, _("A policy of its own")),
                                      (EXEMPT, _("Exempt from collections"))])
    policy = forms.ModelChoiceField(label=_("Policy"), queryset=None, required=False, empty_label=_("Choose a policy"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Required for an exemption. Recorded in the audit log."))

    def __init__(self, *args, policies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = policies

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("mode")
        if mode == self.OWN and not cleaned.get("policy"):
            self.add_error("policy", gettext("Choose the policy."))
        if mode == self.EXEMPT and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", gettext("Give the reason for the exemption."))
        return cleaned


class PreviewForm(forms.Form):
    days = forms.IntegerField(label=_("Days ahead"), min_value=1, max_value=60, initial=7)


class ReportDateForm(forms.Form):
    as_of = forms.DateField(label=_("As of"), required=False, widget=DateInput())


class ReportRangeForm(forms.Form):
    MAX_DAYS = 366
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", gettext("The end date is before the start date."))
        elif since and until and (until - since).days + 1 > self.MAX_DAYS:
            self.add_error("since", gettext("A report covers at most %(days)d days.") % {"days": self.MAX_DAYS})
        return cleaned


# --- collections policies (admin) ----------------------------------------------------------------------------


def parse_day_list(text: str, *, low: int, high: int) -> list[int]:
    """ "45, 55" -> [45, 55]: whole numbers between low and high, sorted, each once."""
    days = set()
    for part in text.replace("，", ",").replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValidationError(_("Enter whole numbers of days separated by commas, such as 45, 55."), code="invalid")
        if not low <= value <= high:
            raise ValidationError(_("Each day must be between %(low)d and %(high)d.") % {"low": low, "high": high},
                                  code="range")
        days.add(value)
    return sorted(days)


def show_default_names(form, names) -> None:
    """The names PartnerDesk gave the default policy ("Standard", "First notice") are edited in the reader's
    language; saved unchanged, they stay the default's (still shown to each reader in their own language)."""
    from partnerdesk.service_messages import translate_system_text

    for name in names:
        stored = getattr(form.instance, name, "") if form.instance.pk else ""
        if stored and translate_system_text(stored) != stored:
            form.initial[name] = translate_system_text(stored)


def kept_default_name(form, name: str) -> str:
    """The cleaned value of a field shown by show_default_names: the stored default if left as shown."""
    from partnerdesk.service_messages import translate_system_text

    value = form.cleaned_data[name]
    stored = getattr(form.instance, name, "") if form.instance.pk else ""
    return stored if stored and value == translate_system_text(stored) else value


class PolicyForm(forms.ModelForm):
    min_overdue_amount = forms.CharField(label=_("Minimum overdue amount (CNY)"), max_length=32,
                                         help_text=_("Below this overdue balance nothing happens after the due date. 0 = no minimum."))
    deletion_warning_days = forms.CharField(
        label=_("Data-deletion warnings (days after suspension)"), required=False, max_length=100,
        help_text=_("The operator deletes a suspended subscription's data 60 days after suspension. E.g. 45, 55."))
    reason = forms.CharField(label=_("Reason for the change"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Recorded in the audit log. Customers are asked to acknowledge the new version."))

    class Meta:
        model = CollectionsPolicy
        fields = ["name", "description", "is_default", "min_overdue_amount", "grace_days", "invoice_scope",
                  "deletion_warning_days", "wait_for_fapiao"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["deletion_warning_days"] = ", ".join(str(d) for d in self.instance.deletion_warning_days or [])
            self.initial["min_overdue_amount"] = f"{self.instance.min_overdue_amount:.2f}"
        self.fields["grace_days"].help_text = _("Added to every stage after the due date.")
        self.fields["wait_for_fapiao"].help_text = _("An invoice is not dunned until its fapiao was delivered; its "
                                                     "stages then count from the delivery if that is later.")
        show_default_names(self, ["name", "description"])

    def clean_name(self):
        return kept_default_name(self, "name")

    def clean_description(self):
        return kept_default_name(self, "description")

    def clean_min_overdue_amount(self):
        return Decimal(clean_amount_text(self.cleaned_data["min_overdue_amount"], allow_zero=True))

    def _get_validation_exclusions(self):
        # "One default policy" holds after saving: making this one the default takes the role from the other.
        return {*super()._get_validation_exclusions(), "is_default"}

    def clean_grace_days(self):
        value = self.cleaned_data["grace_days"]
        if value is not None and value > 60:
            raise ValidationError(_("At most 60 days."), code="max_value")
        return value

    def clean_deletion_warning_days(self):
        from partnerdesk.customers.models import DATA_DELETION_DAYS

        return parse_day_list(self.cleaned_data.get("deletion_warning_days") or "", low=1, high=DATA_DELETION_DAYS - 1)

    def clean_is_default(self):
        value = self.cleaned_data["is_default"]
        if self.instance.pk and self.instance.is_default and not value:
            raise ValidationError(_("There must be a default policy: make another policy the default instead."),
                                  code="default_required")
        return value


def stage_template_choices() -> list[tuple[str, str]]:
    from partnerdesk.notifications.defaults import DEFAULTS

    keys = ["collections.reminder", "collections.notice"]
    keys += sorted(k for k in DEFAULTS if k.startswith("collections.") and k not in keys
                   and k not in {"collections.suspended", "collections.reactivated", "collections.deletion_warning"})
    return [(k, f"{TEMPLATES[k][0]} ({k})" if k in TEMPLATES else k) for k in keys]


class StageForm(forms.ModelForm):
    MIN_OFFSET, MAX_OFFSET = -60, 365

    # The model default as initial value, so an untouched empty row counts as unchanged.
    template_key = forms.ChoiceField(label=_("Email template"), choices=stage_template_choices,
                                     initial=PolicyStage._meta.get_field("template_key").default)

    class Meta:
        model = PolicyStage
        fields = ["name", "offset_days", "day_kind", "send_notice", "template_key", "call_task", "suspend",
                  "suspend_scope", "cancel"]
        widgets = {"offset_days": forms.NumberInput(attrs={"step": 1})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offset_days"].help_text = _("Negative: before the due date.")
        for field in self.fields.values():  # the stage table shows the labels once, in its header
            field.widget.attrs.setdefault("aria-label", field.label)
        current = self.initial.get("template_key") or getattr(self.instance, "template_key", "")
        choices = list(self.fields["template_key"].choices)
        if current and current not in dict(choices):
            self.fields["template_key"].choices = [*choices, (current, current)]
        show_default_names(self, ["name"])

    def clean_name(self):
        return kept_default_name(self, "name")

    def clean_offset_days(self):
        value = self.cleaned_data["offset_days"]
        if value is not None and not self.MIN_OFFSET <= value <= self.MAX_OFFSET:
            raise ValidationError(_("Between %(low)d and %(high)d days.") % {"low": self.MIN_OFFSET, "high": self.MAX_OFFSET},
                                  code="range")
        return value

    def clean(self):
        cleaned = super().clean()
        offset = cleaned.get("offset_days")
        if offset is not None and offset < 1:
            if cleaned.get("suspend"):
                self.add_error("suspend", gettext("Subscriptions can only be suspended after the due date."))
            if cleaned.get("cancel"):
                self.add_error("cancel", gettext("Cancellation can only be flagged after the due date."))
            if cleaned.get("call_task") and offset < 0:
                self.add_error("call_task", gettext("A collections call is only made once the invoice is due."))
        if not any(cleaned.get(f) for f in ("send_notice", "call_task", "suspend", "cancel")):
            self.add_error(None, gettext("A stage must do something: send a notice, flag a call, suspend or flag cancellation."))
        return cleaned


class BaseStageFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms if not self._should_delete_form(form)):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
                and (f.instance.pk or f.has_changed())]
        if not kept:
            raise ValidationError(gettext("A policy needs at least one stage."), code="no_stages")
        by_offset = {}
        for form in kept:
            offset = form.cleaned_data["offset_days"]
            if offset in by_offset:
                form.add_error("offset_days", gettext("Another stage already falls on this day."))
            by_offset[offset] = form
        if len({f.cleaned_data["day_kind"] for f in kept}) > 1:
            self._check_order([by_offset[o] for o in sorted(by_offset)])

    def _check_order(self, ordered):
        """With business and calendar days mixed, a later stage must never fall before an earlier one."""
        import datetime as dt

        from partnerdesk.dunning.policies import stage_date

        grace = getattr(self, "grace_days", 0) or 0
        stages = [PolicyStage(offset_days=f.cleaned_data["offset_days"], day_kind=f.cleaned_data["day_kind"]) for f in ordered]
        start = timezone.localdate()
        for n in range(0, 366):
            due = start + dt.timedelta(days=n)
            dates = [stage_date(due, s, grace) for s in stages]
            for i in range(1, len(dates)):
                if dates[i] < dates[i - 1]:
                    ordered[i].add_error("offset_days", gettext(
                        "Counted this way, this stage would fall before “%(earlier)s” for an invoice due on %(date)s. "
                        "Count both in the same kind of days, or move them further apart.")
                        % {"earlier": ordered[i - 1].cleaned_data["name"], "date": due.isoformat()})
                    return


def stage_formset_class():
    return forms.inlineformset_factory(CollectionsPolicy, PolicyStage, form=StageForm, formset=BaseStageFormSet,
                                       extra=1, can_delete=True, max_num=20, validate_max=True)


class EmailTemplateForm(forms.Form):
    """An administrator's version of an email template; the notifications service checks it renders."""

    subject = forms.CharField(label=_("Subject"), max_length=300,
                              widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off"}))
    # Not stripped: line breaks and indentation of a plain-text email matter.
    body = forms.CharField(label=_("Body"), strip=False,
                           widget=forms.Textarea(attrs={"rows": 22, "class": "mono", "spellcheck": "false"}))
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500,
                             help_text=_("Recorded in the audit log with the old and new text."))

    def clean_body(self):
        body = self.cleaned_data["body"]
        if not body.strip():
            raise ValidationError(self.fields["body"].error_messages["required"], code="required")
        return body


class ResetTemplateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)
