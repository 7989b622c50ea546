from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .money import DEFAULT_CURRENCY, MoneyField


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


class Invoice(models.Model):
    """An invoice from the partner to one of its customers. ``balance`` is kept equal to total - paid."""

    # Few indexes: the collections run moves tens of thousands of invoices a stage on each day.
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="invoices", db_index=False)
    number = models.CharField(_("number"), max_length=20, null=True, blank=True)  # unique: see Meta
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(_("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    subtotal = MoneyField(_("subtotal"), default=0)
    tax_total = MoneyField(_("tax"), default=0)
    total = MoneyField(_("total"), default=0)
    amount_paid = MoneyField(_("paid"), default=0)
    balance = MoneyField(_("balance"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    void_reason = models.TextField(_("void reason"), blank=True)
    # The partner's local day the invoice was voided: a statement for an earlier day still shows it as owed.
    voided_on = models.DateField(_("voided on"), null=True, blank=True)
    # The last collections stage (PolicyStage.position) acted on for this invoice; 0 = none yet.
    collections_stage = models.PositiveSmallIntegerField(_("collections stage"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["customer", "status", "due_date"]),
            # The collections run reads open invoices by the stage they reached and their due date.
            models.Index(fields=["collections_stage", "due_date"], condition=Q(status__in=["issued", "partially_paid"]),
                         name="invoice_collections_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="invoice_number_unique"),
            models.CheckConstraint(
                name="invoice_balance_is_total_less_paid",
                # A tolerance far below one fen: SQLite evaluates this check in floating point.
                condition=Q(status="void", balance=0)
                | Q(balance__gte=models.F("total") - models.F("amount_paid") - Decimal("0.001"),
                    balance__lte=models.F("total") - models.F("amount_paid") + Decimal("0.001")),
            ),
            models.CheckConstraint(name="invoice_paid_not_negative", condition=Q(amount_paid__gte=0)),
        ]

    def __str__(self) -> str:
        return self.number or f"draft #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    subscription = models.ForeignKey(
        "customers.Subscription", null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    unit_price = MoneyField(_("unit price"))
    amount = MoneyField(_("amount"))
    tax_rate = models.DecimalField(_("tax rate"), max_digits=6, decimal_places=4, default=0)
    tax = MoneyField(_("tax"), default=0)

    class Meta:
        ordering = ["id"]


class InvoiceSequence(models.Model):
    """The last invoice number used in a year; numbers are sequential per year with no gaps."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class CreditNoteSequence(models.Model):
    """The last credit-note number used in a year (CN-YYYY-NNNNNN), kept like InvoiceSequence."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    ALIPAY = "alipay", _("Alipay")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    OTHER = "other", _("Other")


class Payment(models.Model):
    """Money received from a customer. What is not allocated to invoices is credit on account."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    received_on = models.DateField(_("received on"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    allocated_amount = MoneyField(_("allocated"), default=0)
    refunded_amount = MoneyField(_("refunded"), default=0)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(name="payment_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="payment_not_over_applied",
                # A tolerance far below one fen: SQLite adds in floating point (18.02 + 44.13 > 62.15 there).
                condition=Q(amount__gte=models.F("allocated_amount") + models.F("refunded_amount") - Decimal("0.001")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} {self.received_on} {self.reference}".strip()

    @property
    def unallocated(self):
        return self.amount - self.allocated_amount - self.refunded_amount


class CreditNote(models.Model):
    """A reduction of an invoice's amount (a correction or goodwill), applied to that invoice."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(_("number"), max_length=20, unique=True)
    amount = MoneyField(_("amount"))
    issued_on = models.DateField(_("issued on"))
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-id"]
        constraints = [models.CheckConstraint(name="credit_note_amount_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return self.number


class Allocation(models.Model):
    """Part of a payment or a credit note applied to an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    credit_note = models.ForeignKey(CreditNote, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    amount = MoneyField(_("amount"))
    allocated_on = models.DateField(_("date"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["allocated_on", "id"]
        constraints = [
            models.CheckConstraint(name="allocation_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="allocation_has_one_source",
                condition=(Q(payment__isnull=False, credit_note__isnull=True) | Q(payment__isnull=True, credit_note__isnull=False)),
            ),
        ]


class Refund(models.Model):
    """Money paid back to the customer out of a payment's unallocated credit."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField(_("amount"))
    refunded_on = models.DateField(_("refunded on"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-refunded_on", "-id"]
        constraints = [models.CheckConstraint(name="refund_amount_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return f"refund {self.amount} of payment {self.payment_id}"
