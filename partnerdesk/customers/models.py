import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import DEFAULT_CURRENCY, MoneyField

from .sorting import NAME_SORT_LENGTH, name_sort_key

# Under 21Vianet a subscription not reactivated within 60 days of suspension has all its data deleted.
DATA_DELETION_DAYS = 60


class Language(models.TextChoices):
    ZH_CN = "zh-CN", "简体中文"
    ZH_TW = "zh-TW", "繁體中文"
    EN = "en", "English"


# Customer-facing language codes and the Django language each one selects.
DJANGO_LANGUAGE = {Language.ZH_CN: "zh-hans", Language.ZH_TW: "zh-hant", Language.EN: "en"}


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class Customer(models.Model):
    """A company (tenant) that buys subscriptions through the partner."""

    name = models.CharField(_("company name"), max_length=200, db_index=True)
    tenant_id = models.UUIDField(_("tenant id"), unique=True, default=uuid.uuid4)
    primary_domain = models.CharField(_("primary domain"), max_length=253, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (net days)"), default=30)
    credit_limit = MoneyField(_("credit limit"), default=0)
    currency = models.CharField(_("currency"), max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(_("status"), max_length=20, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)
    language = models.CharField(_("preferred language"), max_length=5, choices=Language.choices, default=Language.ZH_CN)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    created_at = models.DateTimeField(default=timezone.now)
    # The staff member responsible for the customer (the customer list filters and bulk-assigns it).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="owned_customers")
    # The name's pinyin sort key (see sorting.py), kept by save() so the list sorts in the database.
    name_sort = models.CharField(max_length=NAME_SORT_LENGTH, db_index=True, editable=False, default="")

    class Meta:
        ordering = ["name_sort", "name", "id"]
        # Email in matches an unknown sender's domain to its customer (case-insensitive: iexact is UPPER = UPPER).
        indexes = [models.Index(Upper("primary_domain"), name="customer_domain_upper")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "name" in update_fields:  # (an owner's change alone need not re-key the name)
            self.name_sort = name_sort_key(self.name)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "name_sort"}
        super().save(*args, **kwargs)

    @property
    def primary_contact(self):
        """The primary billing contact (or, lacking one, the first billing contact, then any contact)."""
        contacts = list(self.contacts.all())
        billing = [c for c in contacts if c.kind == ContactKind.BILLING]
        return next((c for c in contacts if c.is_primary), (billing or contacts or [None])[0])


class ContactKind(models.TextChoices):
    BILLING = "billing", _("Billing")
    TECHNICAL = "technical", _("Technical")


class BillingContact(models.Model):
    """A person at the customer: billing or technical. Exactly one billing contact of a customer that has any is
    its primary billing contact (the one collections emails go to first)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    kind = models.CharField(_("role"), max_length=12, choices=ContactKind.choices, default=ContactKind.BILLING)
    language = models.CharField(_("preferred language"), max_length=5, choices=Language.choices, default=Language.ZH_CN)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # Set by customers.services (the first billing contact, or the one made primary); never two per customer.
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(Upper("email"), name="contact_email_upper")]  # email in: who wrote
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(is_primary=True),
                                    name="one_primary_contact_per_customer"),
            models.CheckConstraint(name="primary_contact_is_billing",
                                   condition=models.Q(is_primary=False) | models.Q(kind="billing")),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class SubscriptionStatus(models.TextChoices):
    """The operator's subscription states (Partner Center's values)."""

    NONE = "none", _("None")
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending")
    SUSPENDED = "suspended", _("Suspended")
    DELETED = "deleted", _("Deleted")
    EXPIRED = "expired", _("Expired")
    DISABLED = "disabled", _("Disabled")


class SuspensionReason(models.TextChoices):
    """Why the partner suspended a subscription (the operator's own list is kept in operator_reasons)."""

    NON_PAYMENT = "non_payment", _("Non-payment")
    FRAUD = "fraud", _("Fraud")
    MISUSE = "misuse", _("Misuse")
    CUSTOMER_REQUEST = "customer_request", _("Customer request")
    OTHER = "other", _("Other")


class BillingType(models.TextChoices):
    NONE = "none", _("None")
    LICENSE = "license", _("License")
    USAGE = "usage", _("Usage")


class Subscription(models.Model):
    """A subscription as the operator holds it, mirrored locally."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    operator_id = models.CharField(_("operator subscription id"), max_length=64, unique=True)
    offer_id = models.CharField(_("offer id"), max_length=100, blank=True)
    offer_name = models.CharField(_("offer"), max_length=200, blank=True)
    friendly_name = models.CharField(_("name"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = MoneyField(_("unit price"), default=0)
    billing_type = models.CharField(_("billing type"), max_length=10, choices=BillingType.choices, default=BillingType.LICENSE)
    billing_cycle = models.CharField(_("billing cycle"), max_length=20, default="monthly")
    term_duration = models.CharField(_("term"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    operator_reasons = models.JSONField(_("operator suspension reasons"), default=list, blank=True)
    suspension_reason = models.CharField(
        _("suspension reason"), max_length=20, choices=SuspensionReason.choices, blank=True
    )
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    commitment_end_date = models.DateField(_("commitment ends"), null=True, blank=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    etag = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)  # (fraud: a burst of new ones)

    class Meta:
        ordering = ["customer_id", "offer_name", "id"]
        indexes = [models.Index(fields=["customer", "status"])]

    def __str__(self) -> str:
        return self.friendly_name or self.offer_name or self.operator_id

    @property
    def data_deletion_date(self) -> dt.date | None:
        """The day the operator deletes the data if the subscription is still suspended (21Vianet: +60 days)."""
        if self.status != SubscriptionStatus.SUSPENDED or self.suspended_at is None:
            return None
        # The operator counts in Beijing time.
        local = timezone.localtime(self.suspended_at, ZoneInfo("Asia/Shanghai")).date()
        return local + dt.timedelta(days=DATA_DELETION_DAYS)

    def days_until_deletion(self, today: dt.date | None = None) -> int | None:
        deletion = self.data_deletion_date
        if deletion is None:
            return None
        return (deletion - (today or timezone.localdate())).days
