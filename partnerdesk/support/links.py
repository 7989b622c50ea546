"""Signed links in the desk's emails: the customer confirms or reopens a resolved case, and scores it,
without signing in. The link names the case and what it may do; it is good for LINK_DAYS."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

LINK_DAYS = 60
_SALT = "partnerdesk.support.answer"


def answer_token(case, message=None) -> str:
    """The token of the answer link of a case's resolution (confirm, reopen, score): it names the resolution
    it answers, so the link of an earlier resolution cannot confirm a later one."""
    message_id = message.pk if message is not None else case.resolution_message_id
    return signing.dumps({"case": case.pk, "message": message_id}, salt=_SALT, compress=False)


def read_token(token: str):
    """(case, resolution message id) a good, unexpired token names, or (None, None)."""
    from .models import Case

    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_DAYS * 86400)
        case = Case.objects.select_related("customer").get(pk=int(data["case"]))
        message_id = data.get("message")
        return case, (int(message_id) if message_id is not None else None)
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError, AttributeError, Case.DoesNotExist):
        return None, None


def case_for_token(token: str):
    """The case a good, unexpired token names, or None."""
    return read_token(token)[0]


def token_answers_current_resolution(case, message_id) -> bool:
    """True while the link's resolution is still the case's resolution (confirm and reopen act only then)."""
    return message_id is not None and case.resolution_message_id == message_id


def site_url() -> str:
    return ((getattr(settings, "NOTIFICATIONS", {}) or {}).get("SITE_URL") or "").rstrip("/")


def answer_url(case, message=None) -> str:
    """The full address of the answer page of a resolution, for an email."""
    return site_url() + reverse("support_answer", args=[answer_token(case, message)])
