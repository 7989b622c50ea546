"""The operator's own targets on a service request, and how it did against them.

21Vianet answers A (critical, technical only) around the clock; B and C, and every billing or subscription
request, in business hours, 09:00-18:00 Beijing time on China's working days. The targets start when the request
is filed; the minutes come from EscalationSettings. The arithmetic is the desk's (support.business_time), so
holidays and make-up working days count the same way for the operator as for the partner's own agents.
"""

import datetime as dt

from django.utils import timezone

from partnerdesk.support.business_time import (
    AROUND_THE_CLOCK,
    OFFICE_HOURS,
    Schedule,
    add_business_time,
    business_time_between,
)

from .models import EscalationSettings, OperatorSeverity, ServiceRequest
from .settings import current_settings as settings_row  # the one reader of the settings row


def first_response_schedule(severity: str) -> Schedule:
    """A runs around the clock; B and C in business hours."""
    return AROUND_THE_CLOCK if severity == OperatorSeverity.CRITICAL else OFFICE_HOURS


def first_response_minutes(severity: str, row: EscalationSettings) -> int:
    return {OperatorSeverity.CRITICAL: row.first_response_a_minutes,
            OperatorSeverity.MODERATE: row.first_response_b_minutes}.get(severity, row.first_response_c_minutes)


def resolution_minutes(severity: str, row: EscalationSettings) -> int:
    # The operator publishes no resolution time: these are the partner's expectations, in business minutes.
    return row.resolution_c_minutes if severity == OperatorSeverity.MINIMAL else row.resolution_b_minutes


def set_targets(sr: ServiceRequest, filed_at: dt.datetime, row: EscalationSettings | None = None) -> None:
    """Fill first_response_due_at and resolution_due_at from the moment the request was filed (not saved)."""
    row = row or settings_row()
    sr.first_response_due_at = add_business_time(
        filed_at, dt.timedelta(minutes=first_response_minutes(sr.severity, row)), first_response_schedule(sr.severity))
    sr.resolution_due_at = add_business_time(
        filed_at, dt.timedelta(minutes=resolution_minutes(sr.severity, row)), OFFICE_HOURS)


def _measure(start, done_at, due_at, schedule: Schedule, target_minutes: int, now: dt.datetime) -> dict:
    taken = None
    if start is not None:
        taken = int(business_time_between(start, done_at or now, schedule).total_seconds() // 60)
    if due_at is None:
        met = None
    elif done_at is not None:
        met = done_at <= due_at
    else:
        met = False if now > due_at else None  # still running: missed only once the target has passed
    return {"target_minutes": target_minutes, "due_at": due_at, "at": done_at, "business_minutes": taken,
            "met": met}


def measured(sr: ServiceRequest, *, now: dt.datetime | None = None, row: EscalationSettings | None = None) -> dict:
    """The operator's first response and resolution on this request: the target, when it was due, when it came,
    the business minutes taken (so far, while it runs) and whether the target was met (None: not decided yet).
    For reports and the case page."""
    now = now or timezone.now()
    row = row or settings_row()
    return {
        "first_response": _measure(sr.filed_at, sr.first_response_at, sr.first_response_due_at,
                                   first_response_schedule(sr.severity), first_response_minutes(sr.severity, row), now),
        "resolution": _measure(sr.filed_at, sr.closed_at, sr.resolution_due_at, OFFICE_HOURS,
                               resolution_minutes(sr.severity, row), now),
    }
