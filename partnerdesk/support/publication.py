"""The partner's published support information (the see-also page "customer support"): hours, channels,
process and response targets, per language; shown in the portal and in every acknowledgement."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import DJANGO_LANGUAGE

DEFAULT_HOURS = _("Billing support: 09:00-18:00 Beijing time on China's working days (make-up working days "
                  "included). Critical technical problems (severity A): around the clock.")
DEFAULT_CHANNELS = _("Email %(email)s (a reply to any of our emails reaches your case), the customer portal, "
                     "or phone during support hours.")
DEFAULT_PROCESS = _("Every question becomes a case with a number such as [#PD-123]. We acknowledge it at once, "
                    "answer within the response target of its severity, and close it only once you have our "
                    "answer. What we cannot resolve ourselves we report to 21Vianet on your behalf and keep "
                    "you informed.")


def default_information(language: str) -> dict:
    """The built-in support information in a language, until an administrator writes the partner's own."""
    conf = getattr(settings, "NOTIFICATIONS", {}) or {}
    email = conf.get("SUPPORT_EMAIL") or settings.DEFAULT_FROM_EMAIL
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        return {"support_hours": str(DEFAULT_HOURS), "support_channels": str(DEFAULT_CHANNELS) % {"email": email},
                "support_process": str(DEFAULT_PROCESS)}
