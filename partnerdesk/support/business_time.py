"""SLA arithmetic: business time on China's working-day calendar, with pauses.

A schedule either counts every second (severity A: around the clock) or only its opening hours
(09:00-18:00 Asia/Shanghai by default) on the days `workdays` says are worked, so public holidays do not
count and make-up working days (调休) do. Inputs must be timezone-aware; deadlines come back in UTC. Every
loop steps a day at a time, never a minute, and gives up after MAX_DAYS.
"""

import datetime as dt
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from partnerdesk.workdays.services import is_working_day

MAX_DAYS = 3660  # about ten years: no SLA target reaches that far; beyond it something is wrong
ZERO = dt.timedelta(0)
UTC = dt.UTC

Span = tuple[dt.datetime, dt.datetime]


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Schedule:
    """When an SLA clock runs: around the clock, or opening hours on working days in a zone."""

    around_the_clock: bool
    start: dt.time = dt.time(9)
    end: dt.time = dt.time(18)
    zone: str = "Asia/Shanghai"

    def __post_init__(self):
        if not self.around_the_clock and not self.start < self.end:
            raise ValueError("a schedule's opening time must be before its closing time")
        try:
            _zone(self.zone)  # an unknown zone fails here, not in the middle of a deadline
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.zone!r}")


AROUND_THE_CLOCK = Schedule(around_the_clock=True)
OFFICE_HOURS = Schedule(around_the_clock=False)


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return moment


def _hours(day: dt.date, schedule: Schedule) -> Span | None:
    """The opening and closing moments of a day, or None when the day is not worked."""
    if not is_working_day(day):
        return None
    tz = _zone(schedule.zone)
    return dt.datetime.combine(day, schedule.start, tz), dt.datetime.combine(day, schedule.end, tz)


def add_business_time(start: dt.datetime, duration: dt.timedelta, schedule: Schedule) -> dt.datetime:
    """The moment (UTC) when `duration` of business time has run from `start`: the deadline."""
    _aware(start, "start")
    if duration < ZERO:
        raise ValueError("duration must not be negative")
    if schedule.around_the_clock:
        return (start + duration).astimezone(UTC)
    moment = start.astimezone(_zone(schedule.zone))
    left, day = duration, moment.date()
    for _ in range(MAX_DAYS):
        hours = _hours(day, schedule)
        if hours is not None:
            opens, closes = hours
            moment = max(moment, opens)  # a start outside hours begins at the next opening
            if moment < closes:
                if left <= closes - moment:
                    return (moment + left).astimezone(UTC)
                left -= closes - moment
        day += dt.timedelta(days=1)
    raise ValueError(f"no deadline within {MAX_DAYS} days of {start.isoformat()}")


def business_time_between(a: dt.datetime, b: dt.datetime, schedule: Schedule) -> dt.timedelta:
    """The business time that runs from a to b; zero when b is not after a."""
    _aware(a, "a")
    _aware(b, "b")
    if b <= a:
        return ZERO
    if schedule.around_the_clock:
        return b - a
    tz = _zone(schedule.zone)
    a, b = a.astimezone(tz), b.astimezone(tz)
    first, last = a.date(), b.date()
    if (last - first).days > MAX_DAYS:
        raise ValueError(f"spans longer than {MAX_DAYS} days are not counted")
    total, day = ZERO, first
    while day <= last:
        hours = _hours(day, schedule)
        if hours is not None:
            opens, closes = max(hours[0], a), min(hours[1], b)
            if opens < closes:
                total += closes - opens
        day += dt.timedelta(days=1)
    return total


def _merged(spans) -> list[list]:
    """Spans sorted by start with overlaps joined; an end of None (still open) swallows what follows."""
    out: list[list] = []
    for start, end in sorted(spans, key=lambda span: span[0]):
        _aware(start, "a span's start")
        if end is not None:
            _aware(end, "a span's end")
            if end <= start:
                continue
        if out and (out[-1][1] is None or start <= out[-1][1]):
            if out[-1][1] is not None and (end is None or end > out[-1][1]):
                out[-1][1] = end
            continue
        out.append([start, end])
    return out


def business_time_in_spans(spans: list[Span], schedule: Schedule) -> dt.timedelta:
    """The business time inside the spans (start, end) when the clock ran; overlaps count once."""
    if any(end is None for _, end in spans):
        raise ValueError("every running span needs an end")
    return sum((business_time_between(start, end, schedule) for start, end in _merged(spans)), ZERO)


def deadline_after_pauses(started_at: dt.datetime, target: dt.timedelta, pauses, schedule: Schedule
                          ) -> dt.datetime | None:
    """The deadline (UTC) of a target whose clock stood still during the pauses (start, end or None).

    A pause still open (end None) means no deadline while paused: None. But a target already breached
    before that pause began keeps the deadline it missed.
    """
    _aware(started_at, "started_at")
    moment, left = started_at, target
    for pause_start, pause_end in _merged(pauses):
        if pause_end is not None and pause_end <= moment:
            continue
        if pause_start > moment:
            deadline = add_business_time(moment, left, schedule)
            if deadline <= pause_start:
                return deadline
            left -= business_time_between(moment, pause_start, schedule)
        if pause_end is None:
            return None
        moment = pause_end
    return add_business_time(moment, left, schedule)


def remaining(deadline: dt.datetime, now: dt.datetime, schedule: Schedule) -> dt.timedelta:
    """Business time left until the deadline; negative (the time since) once it is breached."""
    _aware(deadline, "deadline")
    _aware(now, "now")
    if now <= deadline:
        return business_time_between(now, deadline, schedule)
    return -business_time_between(deadline, now, schedule)
