"""Signed links in the desk's emails: the customer confirms or reopens a resolved case, and scores it,
without signing in. The link names the case and what it may do; it is good for LINK_DAYS."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

LINK_DAYS = 60
_SALT = "partnerdesk.support.answer"


def answer_token(case) -> str:
    """The token of a case's answer link (confirm, reopen, score)."""
    return signing.dumps({"case": case.pk}, salt=_SALT, compress=False)


def case_for_token(token: str):
    """The case a good, unexpired token names, or None."""
    from .models import Case

    try:
        data = signing.loads(token, salt=_SALT, max_age=LINK_DAYS * 86400)
        return Case.objects.select_related("customer").get(pk=int(data["case"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, OverflowError, Case.DoesNotExist):
        return None


def site_url() -> str:
    return ((getattr(settings, "NOTIFICATIONS", {}) or {}).get("SITE_URL") or "").rstrip("/")


def answer_url(case) -> str:
    """The full address of the case's answer page, for an email."""
    return site_url() + reverse("support_answer", args=[answer_token(case)])
