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
OVERDUE_LABEL = _("Overdue")  # an invoice's display status, computed from its due date and balance


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

    def is_overdue(self, today=None) -> bool:
        """Open, past its due date (in the active time zone) and still owing: shown as overdue, never stored."""
        return (self.is_open and self.balance > 0 and self.due_date is not None
                and self.due_date < (today or timezone.localdate()))

    @property
    def display_status(self) -> str:
        """The status a reader needs: "overdue" for an open invoice past due, else the stored status."""
        return "overdue" if self.is_overdue() else self.status

    @property
    def display_status_label(self) -> str:
        return str(OVERDUE_LABEL) if self.is_overdue() else self.get_status_display()


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
    # A payment recorded twice or against the wrong customer is reversed, never deleted: it stays on the
    # statement with its reversal, and nothing of it is applied or counts as credit any more.
    reversed_on = models.DateField(_("reversed on"), null=True, blank=True)
    reversal_reason = models.TextField(_("reversal reason"), blank=True)

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
    def is_reversed(self) -> bool:
        return self.reversed_on is not None

    @property
    def unallocated(self):
        if self.reversed_on is not None:
            return self.amount - self.amount  # (a zero of the column's precision)
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


class CreditNoteLine(models.Model):
    """What a credit note credits, line by line; the lines add up to the credit note's amount."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(_("description"), max_length=300)
    amount = MoneyField(_("amount"))

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(name="credit_note_line_amount_positive", condition=Q(amount__gt=0))]

    def __str__(self) -> str:
        return self.description


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


# The customer-facing languages, and the suffix of each language's column in PaymentInstructions.
INSTRUCTION_LANGUAGES = {"zh-CN": "zh_cn", "zh-TW": "zh_tw", "en": "en"}
# Texts kept once per language (a bank's name reads differently in each); numbers and accounts are kept once.
INSTRUCTION_TEXTS = ("legal_name", "bank_name", "bank_account_name", "bank_branch", "wechat_pay", "notes")
INSTRUCTION_CODES = ("bank_account_number", "alipay_account")


class PaymentInstructions(models.Model):
    """How customers pay the partner, printed on every invoice and statement; one row (id 1), edited by an admin.

    A blank text falls back to the other languages, then to the environment (settings.PAYMENT_INSTRUCTIONS).
    Public details only: what a customer needs to send money, never a credential.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    legal_name_zh_cn = models.CharField(_("legal name (Simplified Chinese)"), max_length=200, blank=True)
    legal_name_zh_tw = models.CharField(_("legal name (Traditional Chinese)"), max_length=200, blank=True)
    legal_name_en = models.CharField(_("legal name (English)"), max_length=200, blank=True)
    bank_name_zh_cn = models.CharField(_("bank (Simplified Chinese)"), max_length=200, blank=True)
    bank_name_zh_tw = models.CharField(_("bank (Traditional Chinese)"), max_length=200, blank=True)
    bank_name_en = models.CharField(_("bank (English)"), max_length=200, blank=True)
    bank_account_name_zh_cn = models.CharField(_("account name (Simplified Chinese)"), max_length=200, blank=True)
    bank_account_name_zh_tw = models.CharField(_("account name (Traditional Chinese)"), max_length=200, blank=True)
    bank_account_name_en = models.CharField(_("account name (English)"), max_length=200, blank=True)
    bank_branch_zh_cn = models.CharField(_("branch (Simplified Chinese)"), max_length=200, blank=True)
    bank_branch_zh_tw = models.CharField(_("branch (Traditional Chinese)"), max_length=200, blank=True)
    bank_branch_en = models.CharField(_("branch (English)"), max_length=200, blank=True)
    wechat_pay_zh_cn = models.CharField(_("WeChat Pay (Simplified Chinese)"), max_length=200, blank=True)
    wechat_pay_zh_tw = models.CharField(_("WeChat Pay (Traditional Chinese)"), max_length=200, blank=True)
    wechat_pay_en = models.CharField(_("WeChat Pay (English)"), max_length=200, blank=True)
    notes_zh_cn = models.TextField(_("notes (Simplified Chinese)"), blank=True)
    notes_zh_tw = models.TextField(_("notes (Traditional Chinese)"), blank=True)
    notes_en = models.TextField(_("notes (English)"), blank=True)
    bank_account_number = models.CharField(_("account number"), max_length=60, blank=True)
    alipay_account = models.CharField(_("Alipay account"), max_length=120, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(name="payment_instructions_single_row", condition=Q(id=1))]

    def __str__(self) -> str:
        return "payment instructions"

    @classmethod
    def editable_fields(cls) -> list[str]:
        """The names an admin edits: each text in each language, then the account numbers."""
        return [f"{text}_{suffix}" for text in INSTRUCTION_TEXTS for suffix in INSTRUCTION_LANGUAGES.values()] + list(
            INSTRUCTION_CODES)
