"""Values every page may show."""

from django.utils.translation import get_language

from partnerdesk.notifications.rendering import sender_defaults

_EMAIL_LANGUAGE = {"zh-hans": "zh-CN", "zh-hant": "zh-TW"}


def billing_contact(request) -> dict:
    """How customers reach the partner's billing team: the same address and hours the emails give."""
    return {"billing_contact": sender_defaults(_EMAIL_LANGUAGE.get(get_language(), "en"))}
