import datetime as dt

from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from partnerdesk.accounts.permissions import require
from partnerdesk.api_schemas import BusinessDate, Code, Reason, Text, Year
from partnerdesk.errors import InvalidInput

from . import services
from .models import YearSource, YearStatus

router = Router(tags=["calendar"])


class DayIn(Schema):
    date: dt.date
    kind: Code
    name: Text(100) = ""


class CalendarDayOut(Schema):
    date: dt.date
    kind: str
    name: str


class YearIn(Schema):
    status: Code | None = None  # "provisional" or "confirmed"; or send `confirmed`
    confirmed: bool | None = None
    note: Reason = ""
    days: list[DayIn] = Field(..., max_length=366)


class LoadIn(Schema):
    confirm: bool = False


class YearOut(Schema):
    year: int
    status: str
    source: str
    is_confirmed: bool
    holidays: int
    workdays: int
    note: str
    updated_at: dt.datetime | None
    days: list[CalendarDayOut]


class WorkingDayOut(Schema):
    date: dt.date
    is_working_day: bool
    kind: str  # holiday, workday (make-up), weekend or weekday
    name: str
    year_status: str


def _year_out(year: int) -> dict:
    days = [{"date": d, "kind": k, "name": n} for d, k, n in services.calendar_days(year)]
    return {**services.year_status(year), "days": days}


def _confirmed(payload: YearIn) -> bool:
    if payload.status is not None and payload.status not in YearStatus.values:
        raise InvalidInput(_("status must be one of %(choices)s"), field="status", choices=", ".join(YearStatus.values))
    by_status = None if payload.status is None else payload.status == YearStatus.CONFIRMED
    if by_status is not None and payload.confirmed is not None and by_status != payload.confirmed:
        raise InvalidInput(_("status and confirmed disagree"), field="confirmed")
    return bool(by_status if by_status is not None else payload.confirmed)


@router.get("/calendar/working-day", response=WorkingDayOut, summary="Is this date a working day in China?")
def working_day(request, date: BusinessDate):
    require(request.user, "calendar.view")
    return services.describe_day(date)


@router.get("/calendar/{year}", response=YearOut, summary="A year's calendar: its status and listed days")
def get_year(request, year: Year):
    require(request.user, "calendar.view")
    return _year_out(year)


@router.put("/calendar/{year}", response=YearOut, summary="Replace a year's calendar (all or nothing)")
def put_year(request, year: Year, payload: YearIn):
    require(request.user, "calendar.manage")
    days = [(d.date, d.kind, d.name) for d in payload.days]
    services.set_year(year, days, actor=request.user, confirmed=_confirmed(payload), source=YearSource.MANUAL,
                      note=payload.note)
    return _year_out(year)


@router.post("/calendar/{year}/load-from-package", response=YearOut,
             summary="Load a year from the holidays package (confirm only if it has the published schedule)")
def load_from_package(request, year: Year, payload: LoadIn | None = None):
    require(request.user, "calendar.manage")
    services.load_year_from_package(year, actor=request.user, confirm=bool(payload and payload.confirm))
    return _year_out(year)

