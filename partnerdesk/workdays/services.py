"""China's working-day calendar: whether a day is worked, business-day arithmetic, and loading a year.

A stored year (CalendarYear plus its CalendarDay rows) is what counts. A year with no row falls back to the
`holidays` package and is reported as provisional: for a year the State Council has not yet published, the
package knows only the fixed-date holidays and none of the make-up working days (调休).
"""

import csv
import datetime as dt
import io
import time
from dataclasses import dataclass
from functools import cache

import holidays
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record
from partnerdesk.errors import Conflict, InvalidInput, Refusal

from .models import CalendarDay, CalendarYear, DayKind, YearSource, YearStatus

MIN_YEAR, MAX_YEAR = 1950, 2100  # the years the holidays package covers
RECHECK_SECONDS = 60  # a change made by another process is seen here within this time
SHIFT_KINDS = ("calendar", "business")
MAKE_UP_NAME = "调休上班"

Day = tuple[dt.date, str, str]  # (date, kind, name)


class CalendarFileError(InvalidInput):
    """A calendar file that cannot be loaded, naming the row (the header is row 1) and the column."""

    def __init__(self, row: int, column: str, problem: Refusal):
        super().__init__(_("row %(row)s, column %(column)s: %(problem)s"), field=column, row=row, column=column,
                         problem=problem)
        self.row = row
        self.column = column

    def as_dict(self) -> dict:
        return {**super().as_dict(), "row": self.row}


# --- the holidays package -------------------------------------------------------------------------------


@cache
def _package_days(year: int) -> tuple[Day, ...]:
    cn = holidays.China(years=year, language="zh_CN")
    days = {d: (d, DayKind.HOLIDAY.value, name[:100]) for d, name in cn.items() if d.year == year}
    for d in cn.weekend_workdays:
        if d.year == year and d not in days:
            days[d] = (d, DayKind.WORKDAY.value, MAKE_UP_NAME)
    return tuple(sorted(days.values()))


def package_has_schedule(year: int) -> bool:
    """True if the holidays package has the State Council's schedule for the year, not only fixed dates."""
    return any(kind == DayKind.WORKDAY for _, kind, _ in _package_days(year))


# --- the per-process cache ------------------------------------------------------------------------------


@dataclass
class _CachedYear:
    kinds: dict[dt.date, str]  # the days that depart from the Monday-to-Friday week
    version: dt.datetime | None  # CalendarYear.updated_at; None while the year has no row
    checked: float


_cache: dict[int, _CachedYear] = {}
_clock = time.monotonic


def _overrides(year: int) -> dict[dt.date, str]:
    # Re-check the stored version at most every RECHECK_SECONDS; changes made here are forgotten at once.
    now = _clock()
    entry = _cache.get(year)
    if entry is not None and now - entry.checked < RECHECK_SECONDS:
        return entry.kinds
    version = CalendarYear.objects.filter(year=year).values_list("updated_at", flat=True).first()
    if entry is None or entry.version != version:
        if version is None:
            kinds = {d: kind for d, kind, _ in _package_days(year)}
        else:
            kinds = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "kind"))
        entry = _CachedYear(kinds, version, now)
        _cache[year] = entry
    entry.checked = now
    return entry.kinds


def clear_cache(year: int | None = None) -> None:
    """Forget the cached calendar of one year, or of all years."""
    if year is None:
        _cache.clear()
    else:
        _cache.pop(year, None)


# --- reading --------------------------------------------------------------------------------------------


def _as_date(day) -> dt.date:
    if isinstance(day, dt.datetime):
        return timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    return day


def is_working_day(day: dt.date) -> bool:
    """True if the day is worked in China: a listed day decides, otherwise Monday to Friday."""
    day = _as_date(day)
    kind = _overrides(day.year).get(day)
    if kind is None:
        return day.weekday() < 5
    return kind == DayKind.WORKDAY


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after start (before it if n < 0); start itself when n == 0."""
    day, step, remaining = _as_date(start), (1 if n > 0 else -1), abs(n)
    while remaining:
        day += dt.timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(a: dt.date, b: dt.date) -> int:
    """The working days after a up to and including b; negative when b is before a."""
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -working_days_between(b, a)
    count, day = 0, a
    while day < b:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


def shift(start: dt.date, n: int, kind: str) -> dt.date:
    """Move start by n "calendar" days or n "business" (working) days."""
    if kind == "calendar":
        return _as_date(start) + dt.timedelta(days=n)
    if kind == "business":
        return add_working_days(start, n)
    raise InvalidInput(_("kind must be one of %(choices)s"), field="kind", choices=", ".join(SHIFT_KINDS))


def calendar_days(year: int) -> list[Day]:
    """The listed days in effect for a year: the stored ones, or the holidays package's if none are stored."""
    _check_year(year)
    if CalendarYear.objects.filter(year=year).exists():
        return list(CalendarDay.objects.filter(date__year=year).values_list("date", "kind", "name"))
    return list(_package_days(year))


def describe_day(day: dt.date) -> dict:
    """One day as a person would ask about it: worked or not, why, and how sure the year's calendar is."""
    listed = {d: (kind, name) for d, kind, name in calendar_days(day.year)}
    kind, name = listed.get(day, ("weekday" if day.weekday() < 5 else "weekend", ""))
    return {"date": day, "is_working_day": is_working_day(day), "kind": kind, "name": name,
            "year_status": year_status(day.year)["status"]}


def _counts(year: int) -> dict[str, int]:
    rows = CalendarDay.objects.filter(date__year=year).values("kind").annotate(n=Count("id"))
    by_kind = {r["kind"]: r["n"] for r in rows}
    return {"holidays": by_kind.get(DayKind.HOLIDAY, 0), "workdays": by_kind.get(DayKind.WORKDAY, 0)}


def year_status(year: int) -> dict:
    """How far a year's calendar can be trusted: status, source, counts and a note."""
    _check_year(year)
    row = CalendarYear.objects.filter(year=year).first()
    if row is not None:
        return {"year": year, "status": row.status, "source": row.source, **_counts(year),
                "is_confirmed": row.is_confirmed, "note": row.note, "updated_at": row.updated_at}
    days = _package_days(year)
    if package_has_schedule(year):
        note = f"Not loaded here: the holidays package's schedule for {year} is in use until an admin confirms it."
    else:
        note = (f"No State Council schedule for {year} is known: only fixed-date holidays, no make-up working "
                "days. Load the published schedule when it appears (usually in November).")
    return {"year": year, "status": YearStatus.PROVISIONAL.value, "source": YearSource.PACKAGE.value,
            "holidays": sum(k == DayKind.HOLIDAY for _, k, _ in days),
            "workdays": sum(k == DayKind.WORKDAY for _, k, _ in days),
            "is_confirmed": False, "note": note, "updated_at": None}


# --- validation and files -------------------------------------------------------------------------------


def _check_year(year) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(_("the year must be between %(low)s and %(high)s"), field="year", low=MIN_YEAR, high=MAX_YEAR)


def _day_problem(year: int, day: dt.date, kind: str, seen: set) -> tuple[str, Refusal] | None:
    """What is wrong with one listed day, as (column, refusal), or None."""
    if day.year != year:
        return "date", Refusal(_("%(day)s is not in %(year)s"), day=str(day), year=year)
    if kind not in DayKind.values:
        return "kind", Refusal(_("kind must be one of %(choices)s, not %(kind)s"), choices=", ".join(DayKind.values),
                               kind=repr(kind))
    if kind == DayKind.WORKDAY and day.weekday() < 5:
        return "kind", Refusal(_("%(day)s is a %(weekday)s; a make-up working day falls on a Saturday or Sunday"),
                               day=str(day), weekday=WEEKDAYS[day.weekday()])
    if day in seen:
        return "date", Refusal(_("%(day)s is listed more than once"), day=str(day))
    return None


def _clean_days(year: int, days) -> list[Day]:
    clean, seen = [], set()
    for i, item in enumerate(days):
        try:
            day, kind, name = item
        except (TypeError, ValueError):
            raise InvalidInput(_("each day is (date, kind, name)"), field=f"days[{i}]")
        if isinstance(day, str):
            try:
                day = dt.date.fromisoformat(day.strip())
            except ValueError:
                raise InvalidInput(_("%(value)s is not a date (YYYY-MM-DD)"), field=f"days[{i}].date", value=repr(day))
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise InvalidInput(_("not a date"), field=f"days[{i}].date")
        kind = str(kind or "").strip().lower()
        problem = _day_problem(year, day, kind, seen)
        if problem:
            raise InvalidInput(problem[1], field=f"days[{i}].{problem[0]}")
        seen.add(day)
        clean.append((day, kind, str(name or "").strip()[:100]))
    return sorted(clean)


def parse_calendar_csv(text: str, year: int) -> list[Day]:
    """Read a year's days from CSV text with columns date,kind,name; a bad row raises CalendarFileError."""
    _check_year(year)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader, [])]
    for column in ("date", "kind"):
        if column not in header:
            raise CalendarFileError(1, column, Refusal(_("required column missing from the header (date,kind,name)")))
    unknown = [h for h in header if h not in ("date", "kind", "name")]
    if unknown:
        raise CalendarFileError(1, unknown[0], Refusal(_("unknown column; expected %(columns)s"), columns="date, kind, name"))
    days, seen = [], set()
    for values in reader:
        row_no = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            raise CalendarFileError(row_no, header[-1], Refusal(_("more values than columns")))
        row = dict(zip(header, (v.strip() for v in values), strict=False))
        try:
            day = dt.date.fromisoformat(row.get("date", ""))
        except ValueError:
            raise CalendarFileError(row_no, "date", Refusal(_("%(value)s is not a date (YYYY-MM-DD)"),
                                                            value=repr(row.get("date", ""))))
        kind = row.get("kind", "").lower()
        problem = _day_problem(year, day, kind, seen)
        if problem:
            raise CalendarFileError(row_no, *problem)
        seen.add(day)
        days.append((day, kind, row.get("name", "")[:100]))
    if not days:
        raise CalendarFileError(2, "date", Refusal(_("the file lists no days")))
    return days


# --- changing a year ------------------------------------------------------------------------------------


def _summary(row: CalendarYear) -> dict:
    return {"status": row.status, "source": row.source, **_counts(row.year)}


def _replace_year(year: int, days: list[Day], *, actor, status: str, source: str, note: str, action: str) -> CalendarYear:
    with transaction.atomic():
        row = CalendarYear.objects.select_for_update().filter(year=year).first()
        before = _summary(row) if row is not None else None
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create([CalendarDay(date=d, kind=k, name=n) for d, k, n in days])
        row = row or CalendarYear(year=year)
        row.status, row.source, row.note = status, source, note
        row.updated_at = timezone.now()
        row.updated_by = actor if actor is not None and actor.pk else None
        row.save()
        record(actor=actor, action=action, obj=row, before=before, after=_summary(row), reason=note)
        transaction.on_commit(lambda: clear_cache(year))
    clear_cache(year)
    return row


def set_year(year: int, days: list[Day], *, actor, confirmed: bool, source: str = YearSource.MANUAL,
             note: str = "") -> CalendarYear:
    """Replace a year's listed days, all or nothing; confirmed means it matches the published schedule."""
    _check_year(year)
    if source not in YearSource.values:
        raise InvalidInput(_("source must be one of %(choices)s"), field="source", choices=", ".join(YearSource.values))
    clean = _clean_days(year, days)
    if confirmed and not any(kind == DayKind.HOLIDAY for _, kind, _ in clean):
        raise InvalidInput(_("a confirmed calendar for %(year)s needs its holidays"), field="days", year=year)
    status = YearStatus.CONFIRMED if confirmed else YearStatus.PROVISIONAL
    return _replace_year(year, clean, actor=actor, status=status, source=source, note=(note or "").strip(),
                         action="calendar.year_set")


def load_year_from_package(year: int, *, actor, confirm: bool = False) -> CalendarYear:
    """Store the holidays package's holidays and make-up working days for a year; confirmed only if asked."""
    _check_year(year)
    known = package_has_schedule(year)
    if confirm and not known:
        raise Conflict(_("the holidays package has no State Council schedule for %(year)s (fixed-date holidays "
                         "only); load the published schedule from a file instead"), field="confirm", year=year)
    note = f"holidays {holidays.__version__}" + ("" if known else ": fixed-date holidays only, no make-up days")
    status = YearStatus.CONFIRMED if confirm else YearStatus.PROVISIONAL
    return _replace_year(year, list(_package_days(year)), actor=actor, status=status, source=YearSource.PACKAGE,
                         note=note, action="calendar.year_loaded")
