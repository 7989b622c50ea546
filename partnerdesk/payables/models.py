"""The partner's payables to the operator (21Vianet): its monthly invoices to the partner, net 30, what the partner
paid against them, the late charge that applies, and the partner account's standing.

The partner pays the operator whether or not its customers pay (DOMAIN.md item 2): finance watches these due
dates before anything else.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import DEFAULT_CURRENCY, MoneyField

NET_DAYS = 30  # operator invoices are due 30 days after their billing date unless finance sets another date
LATE_CHARGE_MONTHLY_RATE = Decimal("0.015")  # 1.5% of the invoice amount per month or part of a month


class OperatorInvoiceStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")


class OperatorInvoice(models.Model):
    """One invoice from the operator to the partner: what the reconciliation files of its billing period add up to."""

    number = models.CharField(_("operator invoice number"), max_length=40, unique=True)
    billing_date = models.DateField(_("billing date"))
    period_start = models.DateField(_("billing period start"))
    period_end = models.DateField(_("billing period end"))
    amount = MoneyField(_("amount"))  # the invoice total the files are checked against
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    # billing date + NET_DAYS unless finance set it (due_date_set); stored so that reports filter on it.
    due_date = models.DateField(_("due date"))
    due_date_set = models.BooleanField(_("due date set by finance"), default=False)
    amount_paid = MoneyField(_("paid"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=OperatorInvoiceStatus.choices,
                              default=OperatorInvoiceStatus.UNPAID)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-billing_date", "-id"]
        indexes = [models.Index(fields=["status", "due_date"])]
        constraints = [
            models.CheckConstraint(name="operator_invoice_period_order", condition=Q(period_end__gte=models.F("period_start"))),
            models.CheckConstraint(name="operator_invoice_paid_not_negative", condition=Q(amount_paid__gte=0)),
        ]

    def __str__(self) -> str:
        return self.number


class OperatorPayment(models.Model):
    """A payment the partner made to the operator against one of its invoices."""

    operator_invoice = models.ForeignKey(OperatorInvoice, on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField(_("amount"))
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["paid_on", "id"]
        constraints = [models.CheckConstraint(name="operator_payment_positive", condition=Q(amount__gt=0))]


class FinanceSettings(models.Model):
    """One row: the figures finance sets for payables and for checking the operator's files."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    # The contract's rate, or a lower legal maximum that finance sets; never above the contract's.
    late_charge_monthly_rate = models.DecimalField(_("late charge per month"), max_digits=6, decimal_places=4,
                                                   default=LATE_CHARGE_MONTHLY_RATE)
    warn_days_before_due = models.PositiveSmallIntegerField(_("warn finance this many days before a due date"), default=5)
    # Past due by more than this many days: the operator treats the partner account as delinquent.
    delinquent_after_days = models.PositiveSmallIntegerField(_("delinquent after (days past due)"), default=30)
    # How far a reconciliation file's sum may be from its operator invoice's total.
    reconciliation_tolerance = MoneyField(_("reconciliation tolerance"), default=Decimal("0.00"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)


class DueDateWarning(models.Model):
    """Finance was warned that an operator invoice falls due on ``due_date``: once per invoice and due date."""

    operator_invoice = models.ForeignKey(OperatorInvoice, on_delete=models.CASCADE, related_name="warnings")
    due_date = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["operator_invoice", "due_date"], name="one_warning_per_due_date")]
