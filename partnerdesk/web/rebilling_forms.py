"""The forms of the re-billing pages: upload a reconciliation file (with its operator invoice), replace it with a
corrected one, map an unmatched key to a customer, a price rule, choose a period, issue drafts, adjust a draft.
They check the shape of the input; partnerdesk.rebilling (importer, matching, pricing, drafts) judges the rules."""

import datetime as dt
import hashlib
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.rebilling.models import MappingKey, PriceKind, Rounding

from .forms import DateInput, clean_amount_text

# Where a service's refusal names a field the form calls otherwise.
FIELD_OF = {"amount": "total", "key": None, "key_kind": None}
PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def add_service_error(form: forms.Form, exc) -> None:
    """Show a refusal of the re-billing services on the field it names (or above the form)."""
    field = FIELD_OF.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _bounded(form: forms.Form, cleaned: dict, max_length: int) -> dict:
    for name, value in cleaned.items():
        if isinstance(value, str):
            problem = bounds.text_problem(value, max_length)
            if problem:
                form.add_error(name, str(problem))
    return cleaned


def signed_amount(text: str) -> Decimal:
    """A CNY amount as typed, a credit with a minus sign ("-120.00", "-¥120", "¥1,234.50"); never zero."""
    raw = text.strip().replace(",", "").replace("，", "")
    negative = raw.startswith("-")
    value = Decimal(clean_amount_text(raw.removeprefix("-")))
    return -value if negative else value


def _reason(label=_("Reason"), required=True, help_text=_("Recorded in the audit log.")):
    return forms.CharField(label=label, required=required, max_length=bounds.REASON_LENGTH, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": 2}))


class UploadForm(forms.Form):
    """A reconciliation file and the operator invoice it belongs to, as finance reads it off the operator's portal.
    The kind (license-based or usage-based) is told by the file's header."""

    file = forms.FileField(label=_("Reconciliation file (CSV)"),
                           help_text=_("License-based or usage-based, as downloaded from the operator's portal."))
    number = forms.CharField(label=_("Operator invoice number"), max_length=40)
    billing_date = forms.DateField(label=_("Billing date"), widget=DateInput())
    period_start = forms.DateField(label=_("Billing period start"), widget=DateInput())
    period_end = forms.DateField(label=_("Billing period end"), widget=DateInput())
    total = forms.CharField(label=_("Invoice total (CNY)"), max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00",
                                                          "autocomplete": "off"}),
                            help_text=_("The file's total must match it (within finance's tolerance)."))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "upload-%s")
        super().__init__(*args, **kwargs)

    def clean_total(self) -> Decimal:
        return signed_amount(self.cleaned_data["total"])  # an operator invoice may be a credit

    def clean(self):
        cleaned = _bounded(self, super().clean(), bounds.NAME_LENGTH)
        for name in ("billing_date", "period_start", "period_end"):
            if cleaned.get(name) and not bounds.MIN_DATE <= cleaned[name] <= bounds.MAX_DATE:
                self.add_error(name, gettext("Enter a date between %(min)s and %(max)s.")
                               % {"min": bounds.MIN_DATE, "max": bounds.MAX_DATE})
        start, end = cleaned.get("period_start"), cleaned.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", gettext("The end date is before the start date."))
        return cleaned


class ReplaceForm(forms.Form):
    """A corrected file for the same operator invoice: it replaces the file, only with a reason."""

    file = forms.FileField(label=_("Corrected file (CSV)"))
    reason = _reason(label=_("Reason for the replacement"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "replace-%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        return _bounded(self, super().clean(), bounds.REASON_LENGTH)


def group_slug(key_kind: str, key: str) -> str:
    """A short stable id for an unmatched group's form elements (the key itself may hold any character)."""
    return hashlib.sha1(f"{key_kind}\x00{key}".encode()).hexdigest()[:10]


class MapForm(forms.Form):
    """Map the lines of one unmatched key to a customer (and optionally one of its subscriptions)."""

    key_kind = forms.ChoiceField(choices=MappingKey.choices, widget=forms.HiddenInput)
    key = forms.CharField(max_length=253, widget=forms.HiddenInput)
    customer = forms.CharField(label=_("Customer"), max_length=bounds.SEARCH_LENGTH,
                               widget=forms.TextInput(attrs={"placeholder": _("Name, tenant id or number")}))
    subscription = forms.CharField(label=_("Subscription (optional)"), required=False, max_length=200,
                                   widget=forms.TextInput(attrs={"placeholder": _("Subscription id or name")}),
                                   help_text=_("One of the customer's subscriptions: its Partner Center id or name."))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH,
                             help_text=_("Recorded in the audit log."))

    def __init__(self, *args, key_kind: str = "", key: str = "", **kwargs):
        slug = group_slug(key_kind, key) if key_kind else "x"
        kwargs.setdefault("auto_id", f"map-{slug}-%s")
        kwargs.setdefault("initial", {}).update(key_kind=key_kind, key=key)
        super().__init__(*args, **kwargs)

    def clean(self):
        return _bounded(self, super().clean(), bounds.REASON_LENGTH)


class PriceRuleForm(forms.Form):
    """A price rule: for one customer or every customer, for one offer or meter or every one."""

    customer = forms.CharField(label=_("Customer"), required=False, max_length=bounds.SEARCH_LENGTH,
                               widget=forms.TextInput(attrs={"placeholder": _("Name, tenant id or number")}),
                               help_text=_("Leave empty for every customer (the default rule)."))
    product = forms.CharField(label=_("Offer or meter"), required=False, max_length=100,
                              help_text=_("The offer id (license-based) or the meter's resource id (usage-based); "
                                          "leave empty for every offer and meter."))
    kind = forms.ChoiceField(label=_("Rule"), choices=PriceKind.choices, initial=PriceKind.PASS_THROUGH)
    percent = forms.DecimalField(label=_("Percentage"), required=False, min_value=Decimal("0"),
                                 max_value=Decimal("999"), max_digits=7, decimal_places=4,
                                 help_text=_("For a markup or a discount, in percent: 10 for ten percent."))
    unit_price = forms.DecimalField(label=_("Unit price (CNY)"), required=False, min_value=Decimal("0"),
                                    max_digits=20, decimal_places=6, help_text=_("For a fixed unit price."))
    rounding = forms.ChoiceField(label=_("Rounding to the fen"), choices=Rounding.choices, initial=Rounding.HALF_UP)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, editing: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "rule-%s")
        super().__init__(*args, **kwargs)
        if editing:  # a rule is the rule of its customer and offer: to move it, delete it and add another
            for name in ("customer", "product"):
                self.fields[name].disabled = True
                self.fields[name].help_text = ""

    def clean(self):
        return _bounded(self, super().clean(), bounds.NAME_LENGTH)


class DeleteRuleForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, delete this rule"))


def parse_period(text) -> dt.date | None:
    """The first day of the month a "YYYY-MM" text names (inside the business dates), or None."""
    found = PERIOD.match(str(text or "").strip())
    if not found:
        return None
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12:
        return None
    day = dt.date(year, month, 1)
    return day if bounds.MIN_DATE <= day <= bounds.MAX_DATE else None


class PeriodField(forms.CharField):
    """A billing period as a month ("2026-11"), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        period = parse_period(value)
        if period is None:
            raise ValidationError(gettext("Enter a month such as 2026-11."), code="invalid")
        return period


class PeriodForm(forms.Form):
    period = PeriodField(label=_("Billing period (month)"), max_length=7)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "period-%s")
        super().__init__(*args, **kwargs)


class IssueForm(forms.Form):
    """Issue the selected drafts of a period, or all of them."""

    SELECTED, ALL = "selected", "all"
    period = PeriodField(max_length=7, widget=forms.HiddenInput)
    invoices = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=())
    action = forms.ChoiceField(choices=[(SELECTED, SELECTED), (ALL, ALL)])

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # The ids are checked against the period's drafts by the view; here only their shape.
        ids = [bounds.parse_id(v) for v in (data.getlist("invoices") if data is not None else [])]
        self.fields["invoices"].choices = [(i, i) for i in ids if i is not None]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == self.SELECTED and not cleaned.get("invoices"):
            raise ValidationError(gettext("Select the drafts to issue, or issue all."), code="none_selected")
        return cleaned


class AdjustmentForm(forms.Form):
    """A line finance adds to a draft by hand: a charge, or a credit (negative), with its reason."""

    description = forms.CharField(label=_("Description"), max_length=300)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=32,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00",
                                                           "autocomplete": "off"}),
                             help_text=_("Negative for a credit, such as -120.00."))
    reason = _reason()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "adjust-%s")
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> Decimal:
        return signed_amount(self.cleaned_data["amount"])

    def clean(self):
        return _bounded(self, super().clean(), bounds.REASON_LENGTH)
