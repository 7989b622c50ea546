"""Re-billing from the operator's reconciliation files (DOMAIN.md "Operator reconciliation files").

Finance downloads the license-based and usage-based files from the operator and uploads them here: each file
belongs to one operator invoice (payables.OperatorInvoice). Its lines are matched to customers and
subscriptions, priced by the partner's price rules and billed on draft customer invoices in billing; a line
billed once points at the invoice line that bills it and is never billed again.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import MoneyField


class FileKind(models.TextChoices):
    LICENSE = "license", _("License-based")
    USAGE = "usage", _("Usage-based")


class FileStatus(models.TextChoices):
    ACTIVE = "active", _("Imported")
    REPLACED = "replaced", _("Replaced by a corrected file")


class ReconFile(models.Model):
    """One imported reconciliation file. A file is imported whole or not at all."""

    operator_invoice = models.ForeignKey("payables.OperatorInvoice", on_delete=models.PROTECT, related_name="files")
    kind = models.CharField(_("kind"), max_length=8, choices=FileKind.choices)
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("content hash"), max_length=64, db_index=True)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    charges = MoneyField(_("charges"), default=0)  # Amount (license) or PretaxCharges (usage), summed
    tax = MoneyField(_("tax"), default=0)
    total = MoneyField(_("total"), default=0)  # TotalForCustomer or PostTaxTotal, summed
    status = models.CharField(_("status"), max_length=10, choices=FileStatus.choices, default=FileStatus.ACTIVE)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    replace_reason = models.TextField(_("reason for the replacement"), blank=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            # One current file of each kind per operator invoice; a corrected one replaces it explicitly.
            models.UniqueConstraint(fields=["operator_invoice", "kind"], condition=Q(status="active"),
                                    name="one_active_file_per_invoice_and_kind"),
            models.UniqueConstraint(fields=["sha256"], condition=Q(status="active"), name="one_active_file_per_content"),
        ]

    def __str__(self) -> str:
        return self.filename


class MatchMethod(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Partner Center subscription id")
    BILLING_SUBSCRIPTION = "billing_subscription", _("Billing subscription id (remembered)")
    CUSTOMER_ID = "customer_id", _("Customer id")
    DOMAIN = "domain", _("Domain name")
    MAPPING = "mapping", _("Mapped by an agent")


class ReconLine(models.Model):
    """One row of a reconciliation file, in the columns re-billing needs (the file itself is the full record).

    license: quantity = Quantity, unit_price = UnitPrice, charges = Amount, product = OfferID.
    usage: quantity = OverageQuantity, unit_price = ListPrice, charges = PretaxCharges, product = ResourceGUID
    (the meter), service = ServiceName.
    """

    # Narrow on purpose: a usage file has millions of rows. No foreign-key index on file: the composite below serves.
    # file, customer and subscription carry no database constraint (db_constraint=False): PostgreSQL checks a
    # foreign key with one query per line, which for a file of millions of lines costs more than writing them.
    # What that check guaranteed is kept once per distinct row instead: the importer and matching lock and verify
    # every customer and subscription they point lines at (matching.hold_references) in the same transaction, and a
    # file's lines are written only with the file. Deleting them goes through Django (on_delete), never raw SQL.
    file = models.ForeignKey(ReconFile, on_delete=models.CASCADE, related_name="lines", db_index=False,
                             db_constraint=False)
    row_number = models.PositiveIntegerField()  # the file's own row number (header = row 1)
    kind = models.CharField(max_length=8, choices=FileKind.choices)
    customer_ref = models.CharField(_("customer id"), max_length=64, blank=True)  # CustomerID (the tenant)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    customer_name = models.CharField(_("customer name"), max_length=200, blank=True)
    subscription_ref = models.CharField(max_length=64, blank=True)  # SyndicationPartnerSubscriptionNumber
    billing_subscription_ref = models.CharField(max_length=64, blank=True)  # SubscriptionID (billing platform's)
    product = models.CharField(_("offer or meter"), max_length=100, blank=True)
    product_name = models.CharField(_("offer or service"), max_length=200, blank=True)
    service = models.CharField(_("service"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=60, blank=True)
    charge_type = models.CharField(_("charge type"), max_length=60, blank=True)
    charge_start = models.DateField(_("charge start"))
    charge_end = models.DateField(_("charge end"))
    usage_date = models.DateField(_("usage date"), null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=20, decimal_places=6)
    unit_price = models.DecimalField(_("unit price"), max_digits=20, decimal_places=6)
    charges = MoneyField(_("charges"))
    tax = MoneyField(_("tax"), default=0)
    total = MoneyField(_("total"), default=0)
    # Matching: set on import (or later by an agent's mapping); both empty = unmatched, never billed.
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", db_index=False, db_constraint=False)
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", db_index=False, db_constraint=False)
    match_method = models.CharField(max_length=20, choices=MatchMethod.choices, blank=True)
    # The customer invoice line that bills it; set once, in the transaction that writes that line.
    invoice_line = models.ForeignKey("billing.InvoiceLine", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="recon_lines", db_index=False)

    class Meta:
        ordering = ["file", "row_number"]
        indexes = [
            models.Index(fields=["customer", "charge_start"], name="reconline_customer_period"),
            # Partial: a line is billed long after it is imported, so an import's millions of lines add nothing to it.
            models.Index(fields=["invoice_line"], name="reconline_invoice_line_billed",
                         condition=Q(invoice_line__isnull=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["file", "row_number"], name="one_line_per_file_row")]


class MappingKey(models.TextChoices):
    SUBSCRIPTION = "subscription", _("Partner Center subscription id")
    BILLING_SUBSCRIPTION = "billing_subscription", _("Billing subscription id")
    CUSTOMER_ID = "customer_id", _("Customer id")
    DOMAIN = "domain", _("Domain name")


class LineMapping(models.Model):
    """An agent's answer to an unmatched line, remembered for the next files: this key means this customer."""

    key_kind = models.CharField(_("matched by"), max_length=20, choices=MappingKey.choices)
    key = models.CharField(_("value"), max_length=253)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_kind", "key"], name="one_mapping_per_key")]


class PriceKind(models.TextChoices):
    PASS_THROUGH = "pass_through", _("Pass-through (the operator's price)")
    MARKUP = "markup", _("Markup (%)")
    DISCOUNT = "discount", _("Discount (%)")
    FIXED = "fixed", _("Fixed unit price")


class Rounding(models.TextChoices):
    HALF_UP = "half_up", _("Half up")
    HALF_EVEN = "half_even", _("Half to even")
    UP = "up", _("Up")
    DOWN = "down", _("Down")


class PriceRule(models.Model):
    """How the partner prices an operator line to its customer. The most specific rule wins: customer and offer or
    meter, then customer, then offer or meter, then the default (neither); with no rule, pass-through."""

    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    product = models.CharField(_("offer or meter"), max_length=100, blank=True)  # blank = every offer and meter
    kind = models.CharField(_("rule"), max_length=16, choices=PriceKind.choices, default=PriceKind.PASS_THROUGH)
    percent = models.DecimalField(_("percentage"), max_digits=7, decimal_places=4, null=True, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=20, decimal_places=6, null=True, blank=True)
    rounding = models.CharField(_("rounding"), max_length=10, choices=Rounding.choices, default=Rounding.HALF_UP)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "product"], name="one_price_rule_per_customer_product"),
            models.UniqueConstraint(fields=["product"], condition=Q(customer__isnull=True), name="one_default_price_rule_per_product"),
        ]


class PeriodInvoice(models.Model):
    """A customer invoice generated by re-billing for one billing period (a month, named by its first day)."""

    invoice = models.OneToOneField("billing.Invoice", on_delete=models.CASCADE, related_name="rebilling")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False)
    period = models.DateField(_("billing period"))  # the first day of the month
    generated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["period", "customer"], name="periodinvoice_period_customer")]


class Adjustment(models.Model):
    """A line finance added to a draft by hand: its own audited line, with the reason."""

    invoice_line = models.OneToOneField("billing.InvoiceLine", on_delete=models.CASCADE, related_name="adjustment")
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
