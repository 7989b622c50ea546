"""Users (invitations, roles, teams, deactivation), personal API tokens and login throttling."""

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record, snapshot
from partnerdesk.bounds import REASON_LENGTH, clean_text
from partnerdesk.errors import Conflict, InvalidInput

from .invitations import INVITATION_DAYS, invitation_path
from .models import STAFF_ROLES, ApiToken, LoginFailure, Role, Team, User, UserStatus, hash_token

TOKEN_PREFIX = "pd_"


@transaction.atomic
def create_user(*, actor, username: str, password: str, role: str, customer=None, email: str = "",
                first_name: str = "", last_name: str = "", validate: bool = True) -> User:
    """Create a staff or customer user; the password must pass Django's validators."""
    if role not in Role.values:
        raise InvalidInput(_("role must be one of %(roles)s"), field="role", roles=", ".join(Role.values))
    if (role == Role.CUSTOMER) != (customer is not None):
        raise InvalidInput(_("a customer user belongs to exactly one customer; staff to none"), field="customer")
    if User.objects.filter(username=username).exists():
        raise InvalidInput(_("this username is taken"), field="username")
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
        raise InvalidInput(_("a token needs a name"), field="name")
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


# --- staff and portal users: invitations, roles, teams, deactivation ----------------------------------------

USER_FIELDS = ["username", "email", "role", "is_active", "customer", "contact"]


def _user_state(user: User) -> dict:
    """What a user's audit entries record before and after a change."""
    return {**snapshot(user, USER_FIELDS), "teams": sorted(user.teams.values_list("name", flat=True))}


def _clean_email(email) -> str:
    email = clean_text(email, field="email", max_length=254).strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("%(email)s is not an email address"), field="email", email=email or "“”")
    if len(email) > 150:  # it becomes the username
        raise InvalidInput(_("an email address of at most 150 characters"), field="email")
    return email


def _check_staff_role(role) -> str:
    if role not in STAFF_ROLES:
        raise InvalidInput(_("role must be one of %(roles)s"), field="role",
                           roles=", ".join(r.value for r in Role if r in STAFF_ROLES))
    return role


def _teams(team_ids) -> list[Team]:
    ids = sorted({int(pk) for pk in team_ids or []})
    teams = list(Team.objects.filter(pk__in=ids))
    if len(teams) != len(ids):
        raise InvalidInput(_("no such team"), field="teams")
    return teams


def _staff(user_ids) -> list[User]:
    ids = sorted({int(pk) for pk in user_ids or []})
    users = list(User.objects.filter(pk__in=ids).exclude(role=Role.CUSTOMER))
    if len(users) != len(ids):
        raise InvalidInput(_("only staff users can be members of a team"), field="members")
    return users


def _check_new_address(email: str) -> None:
    if User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
        raise Conflict(_("a user with the address %(email)s already exists"), field="email", email=email)


def _queue_invitation(user: User, *, actor, link_base: str, language: str) -> None:
    """Queue the invitation email (the one email path); the link inside is good for INVITATION_DAYS."""
    from partnerdesk.customers.models import DJANGO_LANGUAGE
    from partnerdesk.notifications.services import queue_email

    link = link_base.rstrip("/") + invitation_path(user)
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        role_name = str(Role(user.role).label)
    context = {"invitation_url": link, "invited_by": (actor.get_full_name() or actor.get_username()) if actor else "",
               "role_name": role_name, "expiry_date": (user.invited_at + dt.timedelta(days=INVITATION_DAYS)).date()}
    queue_email(customer=user.customer, to=user.email, language=language, actor=actor, context=context,
                template_key="accounts.portal_invitation" if user.customer_id else "accounts.invitation")


@transaction.atomic
def invite_staff_user(*, actor, email: str, role: str, team_ids=(), language: str = "zh-CN", name: str = "",
                      link_base: str, reason: str = "") -> User:
    """Create a staff user who signs in with this address once they have set a password through the emailed link."""
    email = _clean_email(email)
    _check_staff_role(role)
    name = clean_text(name, field="name", max_length=150).strip()
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH)
    teams = _teams(team_ids)
    _check_new_address(email)
    user = User(username=email.lower(), email=email, role=role, first_name=name, is_staff=(role == Role.ADMIN),
                invited_at=timezone.now(), invited_by=actor if actor is not None and actor.pk else None)
    user.set_unusable_password()
    user.save()
    user.teams.set(teams)
    record(actor=actor, action="user.invited", obj=user, after=_user_state(user), reason=reason)
    _queue_invitation(user, actor=actor, link_base=link_base, language=language)
    return user


@transaction.atomic
def invite_portal_user(*, actor, contact, link_base: str, reason: str = "") -> User:
    """Invite one of a customer's contacts to the customer portal: a customer user of that customer only."""
    email = _clean_email(contact.email)
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH)
    _check_new_address(email)
    user = User(username=email.lower(), email=email, role=Role.CUSTOMER, customer=contact.customer, contact=contact,
                first_name=contact.name[:150], invited_at=timezone.now(),
                invited_by=actor if actor is not None and actor.pk else None)
    user.set_unusable_password()
    user.save()
    record(actor=actor, action="user.invited", obj=user, customer=contact.customer, after=_user_state(user),
           reason=reason)
    _queue_invitation(user, actor=actor, link_base=link_base, language=contact.language)
    return user


@transaction.atomic
def resend_invitation(user: User, *, actor, link_base: str, language: str | None = None) -> User:
    """Send a fresh link to a user who has not accepted yet; the earlier link stops working."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status != UserStatus.INVITED:
        raise Conflict(_("%(username)s has already accepted the invitation or is deactivated"), username=user.username)
    user.invited_at = timezone.now()
    user.save(update_fields=["invited_at"])
    record(actor=actor, action="user.invitation_resent", obj=user, customer=user.customer, after=_user_state(user))
    if not language:  # the language of the first invitation, else the contact's
        from partnerdesk.notifications.models import OutboundEmail

        last = (OutboundEmail.objects.filter(to_address__iexact=user.email, template_key__startswith="accounts.")
                .order_by("-queued_at", "-id").values_list("language", flat=True).first())
        language = last or (user.contact.language if user.contact_id else "zh-CN")
    _queue_invitation(user, actor=actor, link_base=link_base, language=language)
    return user


@transaction.atomic
def accept_invitation(user: User, *, password: str) -> User:
    """The invitee sets a password (Django's validators apply); the link is spent by it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status != UserStatus.INVITED:
        raise Conflict(_("this invitation has already been used"))
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password")
    user.set_password(password)
    user.save(update_fields=["password"])
    record(actor=user, action="user.invitation_accepted", obj=user, customer=user.customer, after=_user_state(user))
    return user


def _check_an_admin_remains(user: User, *, losing_admin: bool) -> None:
    if losing_admin and user.role == Role.ADMIN and not User.objects.filter(
            role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists():
        raise Conflict(_("%(username)s is the last active administrator"), field="role", username=user.username)


@transaction.atomic
def change_user(user: User, *, actor, role: str | None = None, team_ids=None, reason: str = "") -> User:
    """Change a staff user's role and/or teams (a portal user keeps its role and has no teams)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH)
    before = _user_state(user)
    if user.role == Role.CUSTOMER and (role not in (None, Role.CUSTOMER) or team_ids):
        raise InvalidInput(_("a customer's portal user keeps its role and belongs to no team"), field="role")
    if role is not None and role != user.role:
        _check_staff_role(role)
        _check_an_admin_remains(user, losing_admin=True)
        user.role, user.is_staff = role, role == Role.ADMIN
        user.save(update_fields=["role", "is_staff"])
    if team_ids is not None and user.role != Role.CUSTOMER:
        user.teams.set(_teams(team_ids))
    after = _user_state(user)
    if after != before:
        record(actor=actor, action="user.changed", obj=user, customer=user.customer, before=before, after=after,
               reason=reason)
    return user


@transaction.atomic
def deactivate_user(user: User, *, actor, reason: str) -> User:
    """Sign a user out everywhere at once: its sessions end on their next request and its API tokens are revoked."""
    user = User.objects.select_for_update().get(pk=user.pk)
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("a reason is required"), field="reason")
    if actor is not None and actor.pk == user.pk:
        raise Conflict(_("you cannot deactivate yourself"))
    if not user.is_active:
        return user
    _check_an_admin_remains(user, losing_admin=True)
    before = _user_state(user)
    user.is_active = False
    user.session_epoch += 1
    user.save(update_fields=["is_active", "session_epoch"])
    now = timezone.now()
    revoked = list(user.api_tokens.filter(revoked_at__isnull=True).values_list("prefix", flat=True))
    user.api_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    record(actor=actor, action="user.deactivated", obj=user, customer=user.customer, before=before,
           after={**_user_state(user), "tokens_revoked": revoked}, reason=reason)
    return user


@transaction.atomic
def reactivate_user(user: User, *, actor, reason: str) -> User:
    """Let a deactivated user sign in again (with its password; its old sessions and tokens stay ended)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("a reason is required"), field="reason")
    if user.is_active:
        return user
    before = _user_state(user)
    user.is_active = True
    user.save(update_fields=["is_active"])
    record(actor=actor, action="user.reactivated", obj=user, customer=user.customer, before=before,
           after=_user_state(user), reason=reason)
    return user


# --- teams -------------------------------------------------------------------------------------------------


def _clean_team_name(name, *, exclude_pk=None) -> str:
    name = clean_text(name, field="name", max_length=100).strip()
    if not name:
        raise InvalidInput(_("a team needs a name"), field="name")
    if Team.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise Conflict(_("there is already a team called %(name)s"), field="name", name=name)
    return name


def _team_state(team: Team) -> dict:
    return {"name": team.name, "members": sorted(team.members.values_list("username", flat=True))}


@transaction.atomic
def create_team(*, actor, name: str, member_ids=(), reason: str = "") -> Team:
    """A new team, optionally with its first members (staff users only)."""
    name = _clean_team_name(name)
    members = _staff(member_ids)
    team = Team.objects.create(name=name)
    team.members.set(members)
    record(actor=actor, action="team.created", obj=team, after=_team_state(team),
           reason=clean_text(reason, field="reason", max_length=REASON_LENGTH))
    return team


@transaction.atomic
def change_team(team: Team, *, actor, name: str | None = None, add_ids=(), remove_ids=(), member_ids=None,
                reason: str = "") -> Team:
    """Rename a team and/or change its members: add and remove some, or give the whole list (member_ids)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    reason = clean_text(reason, field="reason", max_length=REASON_LENGTH)
    before = _team_state(team)
    if name is not None and name.strip() != team.name:
        team.name = _clean_team_name(name, exclude_pk=team.pk)
        team.save(update_fields=["name"])
    if member_ids is not None:
        team.members.set(_staff(member_ids))
    if add_ids:
        team.members.add(*_staff(add_ids))
    if remove_ids:
        team.members.remove(*User.objects.filter(pk__in=[int(pk) for pk in remove_ids]))
    after = _team_state(team)
    if after != before:
        record(actor=actor, action="team.changed", obj=team, before=before, after=after, reason=reason)
    return team
