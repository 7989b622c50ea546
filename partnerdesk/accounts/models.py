import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    BILLING_AGENT = "billing_agent", _("Billing agent")
    COLLECTIONS = "collections", _("Collections")
    FINANCE = "finance", _("Finance")
    AUDITOR = "auditor", _("Auditor (read-only)")
    CUSTOMER = "customer", _("Customer user")


STAFF_ROLES = frozenset(r for r in Role if r != Role.CUSTOMER)


class User(AbstractUser):
    """A partner staff member (one role) or a customer portal user (bound to exactly one customer)."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.BILLING_AGENT)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="portal_users",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="customer_user_has_exactly_one_customer",
                condition=(Q(role="customer", customer__isnull=False) | (~Q(role="customer") & Q(customer__isnull=True))),
            )
        ]

    @property
    def is_partner_staff(self) -> bool:
        return self.is_active and self.role in STAFF_ROLES

    @property
    def is_customer_user(self) -> bool:
        return self.role == Role.CUSTOMER


def hash_token(raw: str) -> str:
    """Tokens are stored only as their SHA-256 digest: high-entropy secrets need no slow hash."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token. The raw value is shown once at creation; only its hash is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class LoginFailure(models.Model):
    """One failed sign-in; recent rows throttle further attempts for that username or address."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
