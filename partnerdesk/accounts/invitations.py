"""Invitation links: Django's signed token generator, salted for invitations, valid for INVITATION_DAYS.

A link is single-use without any stored state: its hash covers the password (set when it is used), the last
sign-in, whether the user is active and when the invitation was sent (so sending it again retires the old link).
"""

import datetime as dt

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

INVITATION_DAYS = 7


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "partnerdesk.accounts.invitations.InvitationTokenGenerator"
    valid_for = dt.timedelta(days=INVITATION_DAYS)

    def _make_hash_value(self, user, timestamp):
        invited = "" if user.invited_at is None else f"{user.invited_at.timestamp():.6f}"  # to the microsecond
        return super()._make_hash_value(user, timestamp) + f"|{user.is_active}|{invited}"

    def _now(self):
        # UTC, not the process's local time (Django's default): a link's age must not depend on the TZ setting.
        return timezone.now().replace(tzinfo=None)

    def check_token(self, user, token):
        # Django's check uses PASSWORD_RESET_TIMEOUT; an invitation has its own lifetime.
        if not (user and token):
            return False
        try:
            ts = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if not any(constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
                   for secret in [self.secret, *self.secret_fallbacks]):
            return False
        return self._num_seconds(self._now()) - ts <= self.valid_for.total_seconds()


invitation_tokens = InvitationTokenGenerator()


def invitation_path(user) -> str:
    """The site-relative link that lets this user set a password (the invitation must have been sent)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("invitation_accept", args=[uidb64, invitation_tokens.make_token(user)])


def user_for_invitation(uidb64: str, token: str):
    """The invited user a link names if the link is still good (not used, not expired, user active), else None."""
    from .models import User

    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if user.invited_at is None or not user.is_active or not invitation_tokens.check_token(user, token):
        return None
    return user
