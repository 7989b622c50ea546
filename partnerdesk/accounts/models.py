import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.crypto import salted_hmac
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
    # A portal user is invited for one of its customer's contacts.
    contact = models.ForeignKey(
        "customers.BillingContact", verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="portal_users",
    )
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    invited_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Raised on deactivation: every session signed in before it stays signed out, even after a reactivation.
    session_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(Upper("email"), name="user_email_upper")]  # email in: a portal user wrote
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

    @property
    def status(self) -> str:
        """'deactivated', 'invited' (has not set a password yet) or 'active'."""
        if not self.is_active:
            return UserStatus.DEACTIVATED
        if self.invited_at is not None and not self.has_usable_password():
            return UserStatus.INVITED
        return UserStatus.ACTIVE

    def get_status_display(self) -> str:
        return UserStatus(self.status).label

    def _get_session_auth_hash(self, secret=None):
        # Epoch 0 keeps Django's own hash, so sessions signed in before this field existed stay valid.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac("partnerdesk.accounts.User.session", f"{self.password}:{self.session_epoch}",
                           secret=secret, algorithm="sha256").hexdigest()


class UserStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INVITED = "invited", _("Invited")
    DEACTIVATED = "deactivated", _("Deactivated")


class Team(models.Model):
    """A group of staff users (billing, collections, a region...): cases are routed to a team or an agent."""

    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(User, verbose_name=_("members"), related_name="teams", blank=True)
    # Told of SLA warnings and breaches on the team's cases, with the assignee.
    lead = models.ForeignKey(User, verbose_name=_("team lead"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="teams_led")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(Lower("name"), name="team_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


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
