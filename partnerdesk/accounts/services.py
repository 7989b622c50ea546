"""Users, personal API tokens and login throttling."""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from partnerdesk.audit.services import record
from partnerdesk.errors import InvalidInput

from .models import ApiToken, LoginFailure, Role, User, hash_token

TOKEN_PREFIX = "pd_"


@transaction.atomic
def create_user(*, actor, username: str, password: str, role: str, customer=None, email: str = "",
                first_name: str = "", last_name: str = "", validate: bool = True) -> User:
    """Create a staff or customer user; the password must pass Django's validators."""
    if role not in Role.values:
        raise InvalidInput(f"role must be one of {', '.join(Role.values)}", field="role")
    if (role == Role.CUSTOMER) != (customer is not None):
        raise InvalidInput("a customer user belongs to exactly one customer; staff to none", field="customer")
    if User.objects.filter(username=username).exists():
        raise InvalidInput("this username is taken", field="username")
    user = User(username=username, email=email, role=role, customer=customer, first_name=first_name,
                last_name=last_name, is_superuser=False, is_staff=(role == Role.ADMIN))
    if validate:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages), field="password")
    user.set_password(password)
    user.save()
    record(actor=actor, action="user.created", obj=user, customer=customer,
           after={"username": username, "role": role, "customer": customer.pk if customer else None})
    return user


@transaction.atomic
def create_api_token(*, user: User, name: str, actor) -> tuple[ApiToken, str]:
    """Create a personal API token; the raw value is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("a token needs a name", field="name")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], token_hash=hash_token(raw))
    record(actor=actor, action="api_token.created", obj=token, customer=user.customer, after={"name": token.name, "prefix": token.prefix})
    return token, raw


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor, reason: str = "") -> ApiToken:
    """Revoke a token; it stops working at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor=actor, action="api_token.revoked", obj=token, customer=token.user.customer,
               after={"name": token.name, "prefix": token.prefix}, reason=reason)
    return token


def user_for_token(raw: str) -> User | None:
    """The active user a raw API token belongs to, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # coarse, to spare a write per request
    return token.user


# --- login throttling -------------------------------------------------------------------------------------


def _window_start():
    return timezone.now() - dt.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS)


def login_throttled(username: str, ip_address: str) -> bool:
    """True if too many recent failures for this username or this address."""
    recent = LoginFailure.objects.filter(at__gte=_window_start())
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    return (recent.filter(username=username.lower()).count() >= limit
            or recent.filter(ip_address=ip_address).count() >= limit * 4)


def record_login_failure(username: str, ip_address: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip_address=ip_address[:64])


def clear_login_failures(username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()
