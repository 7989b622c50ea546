"""The desk's own settings, changed by an administrator: limits and windows, SLA targets and canned replies
(the published support information: support.publishing). Each change is audited in its transaction."""

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.customers.models import Language
from partnerdesk.errors import Conflict, InvalidInput

from . import sla
from .models import CannedReply, CaseType, DeskSettings, Severity, SlaPolicy
from .services import desk_settings

# name: (lowest, highest) a setting may take.
SETTING_RANGES = {
    "reopen_window_days": (0, 365),
    "auto_close_days": (1, 365),
    "max_cases_per_sender_hour": (1, 1000),
    "max_message_bytes": (1024, 100 * 1024 * 1024),
    "max_attachment_bytes": (1024, 100 * 1024 * 1024),
    "breach_warning_minutes": (0, 7 * 24 * 60),
    "thread_window_days": (0, 365),
}
SETTING_FIELDS = [*SETTING_RANGES, "allowed_attachment_types"]
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,29}/[a-z0-9][a-z0-9!#$&^_.+-]{0,67}$")  # 100 characters at most
MAX_TYPES = 100
MAX_TARGET_MINUTES = 60 * 24 * 60  # 60 days: a target past that is a typo, and every queue row would walk it
POLICY_FIELDS = ["severity", "type", "first_response_minutes", "next_response_minutes", "resolution_minutes",
                 "around_the_clock"]
CANNED_FIELDS = ["title", "language", "body", "is_active"]


def _reason(reason: str) -> str:
    return bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH)


@transaction.atomic
def update_settings(*, actor, reason: str = "", **values) -> DeskSettings:
    """Change the desk's limits and windows; only the settings given change."""
    row = desk_settings()
    row = DeskSettings.objects.select_for_update().get(pk=row.pk)
    before = snapshot(row, SETTING_FIELDS)
    for name, value in values.items():
        if value is None:
            continue
        if name == "allowed_attachment_types":
            row.allowed_attachment_types = _media_types(value)
            continue
        if name not in SETTING_RANGES:
            raise InvalidInput(_("%(name)s is not a setting of the desk"), field=name, name=name)
        low, high = SETTING_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(_("give a whole number from %(low)s to %(high)s"), field=name, low=low, high=high)
        setattr(row, name, value)
    if row.max_attachment_bytes > row.max_message_bytes:
        raise InvalidInput(_("an attachment cannot be larger than the largest message accepted"),
                           field="max_attachment_bytes")
    row.save()
    record(actor=actor, action="support.settings_changed", obj=row, before=before,
           after=snapshot(row, SETTING_FIELDS), reason=_reason(reason))
    return row


def _media_types(values) -> list[str]:
    out = []
    for i, value in enumerate(values or []):
        kind = str(value).strip().lower()
        if not MEDIA_TYPE.match(kind):
            raise InvalidInput(_("%(value)s is not a media type such as application/pdf"),
                               field=f"allowed_attachment_types[{i}]", value=repr(str(value)[:80]))
        if kind not in out:
            out.append(kind)
    if len(out) > MAX_TYPES:
        raise InvalidInput(_("at most %(count)s types"), field="allowed_attachment_types", count=MAX_TYPES)
    return out


# --- SLA targets ------------------------------------------------------------------------------------------


@transaction.atomic
def replace_sla_policies(*, policies: list[dict], actor, reason: str = "") -> list[SlaPolicy]:
    """Replace the SLA targets with these rows (one per severity, optionally per type). A severity without a
    row keeps 21Vianet's defaults. New targets apply to clocks started from now on."""
    rows, seen = [], set()
    for i, item in enumerate(policies):
        severity, case_type = item.get("severity"), item.get("type") or ""
        if severity not in Severity.values:
            raise InvalidInput(_("%(value)s is not one of the choices"), field=f"policies[{i}].severity",
                               value=repr(severity))
        if case_type and case_type not in CaseType.values:
            raise InvalidInput(_("%(value)s is not one of the choices"), field=f"policies[{i}].type",
                               value=repr(case_type))
        if severity == Severity.A and case_type not in ("", CaseType.TECHNICAL):
            raise InvalidInput(_("severity A (critical) is for technical problems only"), field=f"policies[{i}].type")
        if (severity, case_type) in seen:
            raise InvalidInput(_("severity %(severity)s has two rows for the same type"), field=f"policies[{i}].type",
                               severity=severity)
        seen.add((severity, case_type))
        minutes = {}
        for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_MINUTES:
                raise InvalidInput(_("give a whole number from %(low)s to %(high)s"), field=f"policies[{i}].{name}",
                                   low=1, high=MAX_TARGET_MINUTES)
            minutes[name] = value
        rows.append(SlaPolicy(severity=severity, type=case_type, around_the_clock=bool(item.get("around_the_clock")),
                              **minutes))
    before = [snapshot(p, POLICY_FIELDS) for p in SlaPolicy.objects.all()]
    SlaPolicy.objects.all().delete()
    SlaPolicy.objects.bulk_create(rows)
    sla.forget_policies()  # bulk_create sends no signal: email in's cache of the policies must hear of it
    saved = list(SlaPolicy.objects.all())
    settings_row = desk_settings()  # the audit entry needs an object: the desk's settings stand for the desk
    record(actor=actor, action="support.sla_policies_changed", obj=settings_row, before={"policies": before},
           after={"policies": [snapshot(p, POLICY_FIELDS) for p in saved]}, reason=_reason(reason))
    return saved


# --- canned replies ---------------------------------------------------------------------------------------


def _canned_values(title, language, body) -> tuple[str, str, str]:
    title = bounds.clean_text(title, field="title", max_length=120).strip()
    if not title:
        raise InvalidInput(_("a title is required"), field="title")
    if language not in Language.values:
        raise InvalidInput(_("%(value)s is not one of the choices"), field="language", value=repr(language))
    body = bounds.clean_text(body, field="body", max_length=bounds.NOTE_LENGTH)
    if not body.strip():
        raise InvalidInput(_("write a message"), field="body")
    return title, language, body


def _save_canned(reply: CannedReply) -> None:
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:
        raise Conflict(_("a canned reply with this title already exists in this language"), field="title",
                       code="duplicate")


@transaction.atomic
def create_canned_reply(*, title: str, language: str, body: str, actor, is_active: bool = True,
                        reason: str = "") -> CannedReply:
    """A new canned reply in one language."""
    title, language, body = _canned_values(title, language, body)
    reply = CannedReply(title=title, language=language, body=body, is_active=is_active, updated_at=timezone.now())
    _save_canned(reply)
    record(actor=actor, action="support.canned_reply_created", obj=reply, after=snapshot(reply, CANNED_FIELDS),
           reason=_reason(reason))
    return reply


@transaction.atomic
def update_canned_reply(reply: CannedReply, *, title: str, language: str, body: str, actor, is_active: bool = True,
                        reason: str = "") -> CannedReply:
    """Replace a canned reply's title, language, text and whether agents may use it."""
    reply = CannedReply.objects.select_for_update().get(pk=reply.pk)
    before = snapshot(reply, CANNED_FIELDS)
    reply.title, reply.language, reply.body = _canned_values(title, language, body)
    reply.is_active, reply.updated_at = is_active, timezone.now()
    _save_canned(reply)
    record(actor=actor, action="support.canned_reply_changed", obj=reply, before=before,
           after=snapshot(reply, CANNED_FIELDS), reason=_reason(reason))
    return reply


@transaction.atomic
def delete_canned_reply(reply: CannedReply, *, actor, reason: str = "") -> None:
    """Remove a canned reply (cases that used it keep their text)."""
    record(actor=actor, action="support.canned_reply_deleted", obj=reply, before=snapshot(reply, CANNED_FIELDS),
           reason=_reason(reason))
    reply.delete()
