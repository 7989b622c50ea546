"""Fapiao (China's VAT invoices) records. Fapiao are issued in the tax authority's platform, not here; the partner
tracks, per customer, the buyer's invoicing details and, per customer invoice, its fapiao requests and records
(DOMAIN.md "China VAT invoices (fapiao)").
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partnerdesk.billing.money import MoneyField


class FapiaoType(models.TextChoices):
    GENERAL = "general", _("General VAT invoice (普通发票)")
    SPECIAL = "special", _("Special VAT invoice (专用发票)")


class BuyerDetails(models.Model):
    """What the buyer's fapiao must carry. A special VAT invoice also carries address, phone, bank and account."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="fapiao_details")
    fapiao_type = models.CharField(_("fapiao type"), max_length=8, choices=FapiaoType.choices, default=FapiaoType.GENERAL)
    buyer_name = models.CharField(_("buyer's name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    bank = models.CharField(_("bank"), max_length=200, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=60, blank=True)
    email = models.EmailField(_("email for the digital fapiao"), blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)


class FapiaoStatus(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("fapiao status", "Requested")  # not the "Requested" column header
    ISSUED = "issued", _("Issued")
    DELIVERED = "delivered", _("Delivered")
    REVERSAL_REQUESTED = "reversal_requested", _("Red-letter reversal requested")
    REVERSED = "reversed", _("Red-letter reversed")


class RedLetterReason(models.TextChoices):
    # The tax platform's four reasons for a red-letter (红字) invoice.
    ISSUING_ERROR = "issuing_error", _("开票有误 (issuing error)")
    SALES_RETURN = "sales_return", _("销货退回 (sales return)")
    SERVICE_TERMINATED = "service_terminated", _("服务终止 (service terminated)")
    SALES_DISCOUNT = "sales_discount", _("销售折让 (sales discount)")


class FapiaoRecord(models.Model):
    """One fapiao for (part of) a customer invoice: requested here, issued in the tax platform, delivered to the
    buyer; reversed by a red-letter fapiao when a credit note takes back what it invoiced."""

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="fapiao_records")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False)
    fapiao_type = models.CharField(_("fapiao type"), max_length=8, choices=FapiaoType.choices)
    status = models.CharField(_("status"), max_length=20, choices=FapiaoStatus.choices, default=FapiaoStatus.REQUESTED)
    amount = MoneyField(_("amount"))  # before tax
    tax = MoneyField(_("tax"), default=0)
    # The buyer's details as they were sent to the tax platform (the customer may change them later).
    buyer_name = models.CharField(_("buyer's name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18)
    buyer_extra = models.JSONField(default=dict, blank=True)  # address, phone, bank, account (special only)
    number = models.CharField(_("fapiao number"), max_length=20, null=True, blank=True)  # 20 digits once issued
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    # Red-letter reversal: asked for when a credit note is issued on an invoice with an issued fapiao.
    credit_note = models.ForeignKey("billing.CreditNote", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="fapiao_reversals")
    reversal_reason = models.CharField(_("red-letter reason"), max_length=20, choices=RedLetterReason.choices, blank=True)
    reversal_requested_at = models.DateTimeField(null=True, blank=True)
    red_letter_number = models.CharField(_("red-letter fapiao number"), max_length=20, null=True, blank=True)
    reversed_on = models.DateField(_("reversed on"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["invoice", "status"], name="fapiao_invoice_status")]
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=Q(number__isnull=False), name="fapiao_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number or f"fapiao request #{self.pk}"
