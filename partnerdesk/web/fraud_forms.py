"""The forms of the fraud pages: the alerts' filters, an alert's actions (a reason where it undoes or judges), the
rules and settings, credit limits and budgets, the report's period. The rules are the services'; these only read
what was typed and show a refusal on the field it names."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.fraud.models import AlertStatus, LimitKind, SignalKind

from .forms import DateInput, clean_amount_text

REASON_ROWS = 2


def _storable(form: forms.Form) -> None:
    """Text that cannot be stored (a NUL, a lone surrogate) is refused on its field, never cut."""
    for name, value in list(form.cleaned_data.items()):
        if isinstance(value, str):
            problem = bounds.text_problem(value)
            if problem:
                form.add_error(name, str(problem))


def _in_range(day):
    if day is not None and not bounds.MIN_DATE <= day <= bounds.MAX_DATE:
        raise ValidationError(_("Enter a date between %(low)s and %(high)s.")
                              % {"low": bounds.MIN_DATE, "high": bounds.MAX_DATE})
    return day


def add_service_error(form: forms.Form, exc, *, fields: dict | None = None) -> None:
    """A refusal of the fraud services on the field it names (or above the form)."""
    field = (fields or {}).get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Open or confirmed")), ("all", _("Any status")), *AlertStatus.choices])
    signal = forms.ChoiceField(label=_("Signal"), required=False, choices=[("", _("Any signal")), *SignalKind.choices])
    customer = forms.IntegerField(required=False, min_value=1, max_value=bounds.MAX_ID, widget=forms.HiddenInput())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=bounds.REASON_LENGTH,
                             widget=forms.Textarea(attrs={"rows": REASON_ROWS}))

    def clean(self):
        cleaned = super().clean()
        _storable(self)
        return cleaned


class ExpectedForm(ReasonForm):
    until = forms.DateField(label=_("Expected until"), required=False, widget=DateInput(),
                            help_text=_("Left empty: for 90 days. Removing the pattern ends it earlier."))

    def clean_until(self):
        return _in_range(self.cleaned_data["until"])


class SuspendForm(ReasonForm):
    subscriptions = forms.MultipleChoiceField(
        label=_("Subscriptions"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every active subscription of the customer."))

    def __init__(self, *args, subscriptions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscriptions"].choices = [(str(s.pk), f"{s} · {s.operator_id}") for s in subscriptions]


class ReportForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=[("portal", _("Operator's portal")),
                                                              ("api", _("Partner Center API"))])
    # The operator takes fraud reports at B or C only (fraud.services refuses A).
    severity = forms.ChoiceField(label=_("Severity"), choices=[("moderate", _("B: moderate")),
                                                                ("minimal", _("C: minimal"))])
    title = forms.CharField(label=_("Title"), required=False, max_length=200,
                            help_text=_("Left empty: the alert's signal and customer."))
    description = forms.CharField(label=_("Description"), required=False, max_length=bounds.NOTE_LENGTH,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("Left empty: the alert's explanation."))

    def clean(self):
        cleaned = super().clean()
        _storable(self)
        return cleaned


ACTION_FORMS = {
    "confirm": ReasonForm, "dismiss": ReasonForm, "expected": ExpectedForm, "clear": ReasonForm,
    "suspend": SuspendForm, "prepayment": ReasonForm, "hold_orders": ReasonForm, "report": ReportForm,
}


class RuleForm(forms.Form):
    """A signal's thresholds, by default or for one customer. A number left empty: the built-in default."""

    signal = forms.ChoiceField(label=_("Signal"), choices=SignalKind.choices)
    customer = forms.IntegerField(label=_("Customer number"), required=False, min_value=1, max_value=bounds.MAX_ID,
                                  help_text=_("Left empty: the default for every customer without its own rule."))
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    min_score = forms.DecimalField(label=_("Minimum score"), required=False, min_value=0, max_digits=10,
                                   decimal_places=2)
    min_amount = forms.CharField(label=_("Minimum amount (CNY)"), required=False, max_length=24)
    window_days = forms.IntegerField(label=_("Window (days)"), required=False, min_value=1, max_value=365)
    auto_suspend = forms.BooleanField(label=_("Suspend automatically"), required=False)
    auto_prepayment = forms.BooleanField(label=_("Require prepayment automatically"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def clean_min_amount(self):
        text = self.cleaned_data["min_amount"].strip()
        return clean_amount_text(text, allow_zero=True) if text else None

    def clean(self):
        cleaned = super().clean()
        _storable(self)
        return cleaned


SWITCHES = ("enabled", "auto_suspend", "auto_prepayment")


def _switch(label):
    """Yes, no, or (left) as the default rule has it."""
    return forms.TypedChoiceField(label=label, required=False, empty_value=None, coerce=lambda v: v == "true",
                                  choices=[("", _("As the default rule")), ("true", _("Yes")), ("false", _("No"))])


class CustomerRuleForm(RuleForm):
    """A new rule, usually a customer's: a switch left alone keeps what the default rule says (not off)."""

    enabled = _switch(_("Enabled"))
    auto_suspend = _switch(_("Suspend automatically"))
    auto_prepayment = _switch(_("Require prepayment automatically"))


class SettingsForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team for fraud cases"), required=False, queryset=None,
                                  empty_label=_("No team"))
    new_customer_days = forms.IntegerField(label=_("A customer is new for (days)"), min_value=1, max_value=3650)
    baseline_days = forms.IntegerField(label=_("Baseline (days of history)"), min_value=14, max_value=365)
    auto_actions = forms.BooleanField(label=_("Act automatically where a signal's rule says so"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def __init__(self, *args, **kwargs):
        from partnerdesk.accounts.models import Team

        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")

    def clean(self):
        cleaned = super().clean()
        _storable(self)
        return cleaned


class LimitForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=LimitKind.choices)
    amount = forms.CharField(label=_("Amount (CNY)"), max_length=24)
    subscription = forms.ChoiceField(label=_("Subscription"), required=False,
                                     help_text=_("A monthly budget can be for one subscription's usage."))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH)

    def __init__(self, *args, subscriptions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.subscription_objects = {str(s.pk): s for s in subscriptions}
        self.fields["subscription"].choices = [("", _("The customer as a whole")),
                                               *[(str(s.pk), f"{s} · {s.operator_id}") for s in subscriptions]]

    def clean_amount(self):
        return clean_amount_text(self.cleaned_data["amount"])

    def clean_subscription(self):
        value = self.cleaned_data["subscription"]
        return self.subscription_objects.get(value) if value else None

    def clean(self):
        cleaned = super().clean()
        _storable(self)
        return cleaned


class FraudReportForm(forms.Form):
    """The report's period; its rules (the default, backwards, too long) are the API's (fraud.api.report_period),
    applied by the view."""

    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean_start(self):
        return _in_range(self.cleaned_data["start"])

    def clean_end(self):
        return _in_range(self.cleaned_data["end"])
