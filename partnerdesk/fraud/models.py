"""Fraud and misuse monitoring (issue 16): signals, alerts and what was done about them, credit limits and budgets.

A signal (SignalKind) is computed per customer (and per subscription, meter or region where it is narrower) after
each reconciliation import and daily (fraud.detection); each one that trips becomes a Hit (fraud.hits) and opens,
or updates, an Alert: one per incident (customer, signal, subject) while it is open or confirmed. Actions taken
from an alert (AlertAction) are kept so that none is done twice and clearing the alert can undo them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import MoneyField


class SignalKind(models.TextChoices):
    SPEND_SPIKE = "spend_spike", _("Usage or spend spike")
    USAGE_BEFORE_PAYMENT = "usage_before_payment", _("Usage before the first payment")
    NEW_CUSTOMER_HIGH_SPEND = "new_customer_high_spend", _("New customer with high spend")
    OVER_LIMIT = "over_limit", _("Spend past the credit limit or budget")
    UNPAID_GROWTH = "unpaid_growth", _("Growing unpaid balance with growing usage")
    SUBSCRIPTION_BURST = "subscription_burst", _("Many subscriptions or seats added in a short time")
    NEW_REGION = "new_region", _("Usage in a region or meter never used before")


class FraudSettings(models.Model):
    """The monitoring's settings (one row, pk=1): which team gets the cases, what counts as new, the baseline."""

    team = models.ForeignKey("accounts.Team", verbose_name=_("team for fraud cases"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    new_customer_days = models.PositiveIntegerField(_("a customer is new for (days)"), default=60)
    baseline_days = models.PositiveIntegerField(_("baseline (days of history)"), default=56)
    auto_actions = models.BooleanField(_("act automatically where a signal's rule says so"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)


class SignalRule(models.Model):
    """The thresholds of one signal: by default (no customer) or for one customer (which then wins).

    A signal trips only when its score reaches min_score and its amount reaches min_amount (a CNY floor, so tiny
    customers do not alert). auto_suspend: the policy says to suspend the customer's subscriptions automatically
    (reason fraud) when this signal opens an alert; otherwise an agent decides."""

    signal = models.CharField(_("signal"), max_length=32, choices=SignalKind.choices)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    enabled = models.BooleanField(_("enabled"), default=True)
    min_score = models.DecimalField(_("minimum score"), max_digits=10, decimal_places=2, null=True, blank=True)
    min_amount = MoneyField(_("minimum amount (CNY)"), null=True, blank=True)
    window_days = models.PositiveIntegerField(_("window (days)"), null=True, blank=True)
    auto_suspend = models.BooleanField(_("suspend automatically"), default=False)
    auto_prepayment = models.BooleanField(_("require prepayment automatically"), default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["signal", "customer"], name="one_signal_rule_per_customer"),
            models.UniqueConstraint(fields=["signal"], condition=Q(customer__isnull=True),
                                    name="one_default_signal_rule"),
        ]


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")  # firing, not yet judged
    CONFIRMED = "confirmed", _("Confirmed")  # fraud or misuse confirmed; actions stay until cleared
    DISMISSED = "dismissed", _("Dismissed")  # a false alarm
    EXPECTED = "expected", _("Expected")  # a known cause: the same pattern no longer alerts (ExpectedPattern)
    CLEARED = "cleared", _("Cleared")  # closed: what it suspended was reactivated, with a reason


ACTIVE_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.CONFIRMED)


class Verdict(models.TextChoices):
    NONE = "", _("Not judged")
    FRAUD = "fraud", _("Fraud or misuse")
    FALSE_ALARM = "false_alarm", _("False alarm")


class Alert(models.Model):
    """One incident: a signal that tripped for a customer (and subject), until it is judged and closed."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="fraud_alerts")
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    signal = models.CharField(_("signal"), max_length=32, choices=SignalKind.choices)
    subject = models.CharField(_("about"), max_length=200, blank=True)  # meter, region, subscription; "" = customer
    status = models.CharField(_("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    verdict = models.CharField(_("verdict"), max_length=12, choices=Verdict.choices, blank=True, default="")
    score = models.DecimalField(_("score"), max_digits=12, decimal_places=2)
    amount = MoneyField(_("money at risk"), default=0)
    figures = models.JSONField(_("figures"), default=dict, blank=True)  # what the explanation names
    series = models.JSONField(default=list, blank=True)  # [[ISO date, value], ...] for the chart
    tripped = models.CharField(max_length=10, blank=True)  # ISO date of the point that tripped it
    first_seen_on = models.DateField(_("first seen"))
    last_seen_on = models.DateField(_("last seen"))
    times_seen = models.PositiveIntegerField(_("days seen"), default=1)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    acted_at = models.DateTimeField(_("first acted on"), null=True, blank=True)  # first action or verdict
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    close_reason = models.TextField(_("reason"), blank=True)
    case = models.ForeignKey("support.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "signal"], name="fraudalert_status_signal"),
                   models.Index(fields=["customer", "status"], name="fraudalert_customer_status")]
        constraints = [
            models.UniqueConstraint(fields=["customer", "signal", "subject"],
                                    condition=Q(status__in=["open", "confirmed"]), name="one_active_alert_per_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.get_signal_display()} · {self.customer_id}"


class ActionKind(models.TextChoices):
    REQUIRE_PREPAYMENT = "require_prepayment", _("Require prepayment")
    HOLD_ORDERS = "hold_orders", _("Hold new orders")
    SUSPEND = "suspend", _("Suspend subscription (fraud)")
    REPORT = "report", _("Report to 21Vianet")


class AlertAction(models.Model):
    """An action taken from an alert: once (per subscription for a suspension); undone when the alert is cleared."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=24, choices=ActionKind.choices)
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    automatic = models.BooleanField(_("automatic"), default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    done_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_reason = models.TextField(blank=True)
    service_request = models.ForeignKey("escalations.ServiceRequest", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["done_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "kind"], condition=Q(subscription__isnull=True),
                                    name="one_customer_action_per_alert"),
            models.UniqueConstraint(fields=["alert", "kind", "subscription"],
                                    condition=Q(subscription__isnull=False), name="one_subscription_action_per_alert"),
        ]


class ExpectedPattern(models.Model):
    """A known cause: while it holds, the signal (for this subject, or any if blank) no longer alerts the customer."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    signal = models.CharField(_("signal"), max_length=32, choices=SignalKind.choices)
    subject = models.CharField(_("about"), max_length=200, blank=True)
    until = models.DateField(_("until"), null=True, blank=True)  # None: until removed
    reason = models.TextField(_("reason"))
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)


class CustomerRisk(models.Model):
    """The controls in force on a customer: prepayment required, new orders held (each with why and since when)."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="risk")
    prepayment_required = models.BooleanField(_("prepayment required"), default=False)
    orders_held = models.BooleanField(_("new orders held"), default=False)
    reason = models.TextField(_("reason"), blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)


class LimitKind(models.TextChoices):
    CREDIT_LIMIT = "credit_limit", _("Credit limit")  # unpaid balance plus usage not yet invoiced
    BUDGET = "budget", _("Monthly budget")  # spend in the calendar month


class CreditLimit(models.Model):
    """A customer's credit limit or monthly budget (for the customer, or one subscription's usage)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="credit_limits")
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=LimitKind.choices)
    amount = MoneyField(_("limit"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind"], condition=Q(subscription__isnull=True),
                                    name="one_customer_limit_per_kind"),
            models.UniqueConstraint(fields=["customer", "kind", "subscription"],
                                    condition=Q(subscription__isnull=False), name="one_subscription_limit_per_kind"),
        ]


class LimitWarning(models.Model):
    """A warning sent at 80% or 100% of a limit: once per level and period (the month), to the customer and agent."""

    limit = models.ForeignKey(CreditLimit, on_delete=models.CASCADE, related_name="warnings")
    level = models.PositiveSmallIntegerField(_("level (%)"))  # 80 or 100
    period = models.DateField(_("period"))  # the first day of the month
    used = MoneyField(_("used"), default=0)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["limit", "level", "period"], name="one_warning_per_level_period")]


class DetectionRun(models.Model):
    """One computation of the signals: when, why (daily or after an import) and what came of it."""

    day = models.DateField(_("as of"))
    trigger = models.CharField(max_length=20)  # "daily", "import", "manual"
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    customers = models.PositiveIntegerField(default=0)
    hits = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
