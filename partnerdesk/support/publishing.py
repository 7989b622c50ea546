"""The published support information as readers get it (hours, channels, process and the response targets
of each severity, in their language), and an administrator's changes to it (audited).

The texts come from the SupportInformation row of the language, else the built-in defaults of
support.publication; the targets come from the SLA policies (support.sla.policy_for), so the page never
promises what the desk does not measure.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import npgettext

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.customers.models import DJANGO_LANGUAGE, Language
from partnerdesk.errors import InvalidInput

from .business_time import OFFICE_HOURS
from .models import CaseType, Severity, SupportInformation
from .publication import default_information
from .sla import policy_for

FIELDS = ("hours", "channels", "process")
TEXT_LENGTH = 4000
AUDITED = ["language", "hours", "channels", "process"]
# A working day of the office-hours schedule, in minutes (09:00-18:00: nine hours).
WORKING_DAY_MINUTES = (dt.datetime.combine(dt.date.min, OFFICE_HOURS.end)
                       - dt.datetime.combine(dt.date.min, OFFICE_HOURS.start)).seconds // 60
# The Django language of the site -> the customer-facing language code.
SITE_TO_LANGUAGE = {django: code for code, django in DJANGO_LANGUAGE.items()}


def reader_language() -> str:
    """The customer-facing language code (zh-CN, zh-TW, en) of the active translation."""
    active = (translation.get_language() or "").lower()
    if active in SITE_TO_LANGUAGE:
        return SITE_TO_LANGUAGE[active]
    if active.startswith("zh-hant") or active in ("zh-tw", "zh-hk", "zh-mo"):
        return Language.ZH_TW
    if active.startswith("zh"):
        return Language.ZH_CN
    return Language.EN if active.startswith("en") else Language.ZH_CN


@dataclass(frozen=True)
class ResponseTarget:
    """What the desk promises for one severity, as a reader reads it."""

    severity: str
    label: str
    first_response: str
    next_response: str
    resolution: str
    around_the_clock: bool


def duration_text(minutes: int, around_the_clock: bool) -> str:
    """A target's length in the active language: "2 hours", "4 working hours", "5 working days" (their own
    context: the same words elsewhere, a queue's time left, may read differently)."""
    if around_the_clock:
        if minutes % 60 == 0:
            hours = minutes // 60
            return npgettext("response target", "%(count)s hour", "%(count)s hours", hours) % {"count": hours}
        return npgettext("response target", "%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
    if minutes >= WORKING_DAY_MINUTES and minutes % WORKING_DAY_MINUTES == 0:
        days = minutes // WORKING_DAY_MINUTES
        return npgettext("response target", "%(count)s working day", "%(count)s working days", days) % {"count": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return npgettext("response target", "%(count)s working hour", "%(count)s working hours", hours) % {"count": hours}
    return npgettext("response target", "%(count)s working minute", "%(count)s working minutes", minutes) % {"count": minutes}


def response_targets(language: str) -> list[ResponseTarget]:
    """The targets of each severity (A: technical problems, around the clock) in a language."""
    out = []
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        for severity in Severity:
            policy = policy_for(severity.value, CaseType.TECHNICAL if severity == Severity.A else "")
            clock = policy.around_the_clock
            out.append(ResponseTarget(
                severity=severity.value, label=str(severity.label), around_the_clock=clock,
                first_response=duration_text(policy.first_response_minutes, clock),
                next_response=duration_text(policy.next_response_minutes, clock),
                resolution=duration_text(policy.resolution_minutes, clock)))
    return out


def published_information(language: str) -> dict:
    """Everything the support information page shows in a language: hours, channels, process, targets."""
    if language not in Language.values:
        language = Language.ZH_CN
    row = SupportInformation.objects.filter(language=language).first()
    if row is not None:
        texts = {"hours": row.hours, "channels": row.channels, "process": row.process}
    else:
        default = default_information(language)
        texts = {"hours": default["support_hours"], "channels": default["support_channels"],
                 "process": default["support_process"]}
    return {**texts, "language": language, "is_default": row is None, "updated_at": row.updated_at if row else None,
            "targets": response_targets(language)}


def _default_texts(language: str) -> dict:
    default = default_information(language)
    return {"hours": default["support_hours"], "channels": default["support_channels"],
            "process": default["support_process"]}


def _clean(name: str, value) -> str:
    text = bounds.clean_text(value, field=name, max_length=TEXT_LENGTH)
    return text.replace("\r\n", "\n").strip()


@transaction.atomic
def save_support_information(*, language: str, hours: str, channels: str, process: str, actor,
                             reason: str = "") -> SupportInformation | None:
    """Publish the support information of one language. All three texts blank: back to the built-in text.
    Returns the row (None when the language uses the built-in text)."""
    if language not in Language.values:
        raise InvalidInput(_("language must be one of %(choices)s"), field="language",
                           choices=", ".join(Language.values))
    texts = {"hours": _clean("hours", hours), "channels": _clean("channels", channels),
             "process": _clean("process", process)}
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    row = SupportInformation.objects.select_for_update().filter(language=language).first()
    if not any(texts.values()):
        if row is not None:
            before = snapshot(row, AUDITED)
            record(actor=actor, action="support_information.reset", obj=row, before=before, reason=reason)
            row.delete()
        return None
    for name in FIELDS:
        if not texts[name]:
            raise InvalidInput(_("write this text, or leave all three blank to publish the built-in text"),
                               field=name)
    if row is None:
        if texts == _default_texts(language):
            return None  # the built-in text, unchanged: it stays built-in (and follows its translations)
        row = SupportInformation(language=language)
        before = None
    else:
        before = snapshot(row, AUDITED)
        if all(getattr(row, name) == texts[name] for name in FIELDS):
            return row  # nothing changed: nothing to record
    for name in FIELDS:
        setattr(row, name, texts[name])
    row.updated_at = timezone.now()
    row.save()
    record(actor=actor, action="support_information.updated", obj=row, before=before,
           after=snapshot(row, AUDITED), reason=reason)
    return row
