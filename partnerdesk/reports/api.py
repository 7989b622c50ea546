"""Reports over the REST API: AR aging, DSO and collections activity, as JSON or CSV ("reports.view")."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema

from partnerdesk.accounts.permissions import require
from partnerdesk.api_schemas import BusinessDate

from . import services

router = Router(tags=["reports"])

Format = Literal["json", "csv"]


class AgingRowOut(Schema):
    customer_id: int | None
    customer_name: str
    current: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    overdue: Decimal
    total: Decimal


class AgingOut(Schema):
    as_of: dt.date
    currency: str
    rows: list[AgingRowOut]
    total: AgingRowOut


class DsoOut(Schema):
    as_of: dt.date
    period_days: int
    receivables: Decimal
    invoiced: Decimal
    dso: Decimal | None


class CollectionsDayOut(Schema):
    day: dt.date
    counts: dict[str, int]
    total: int


class ReportRunOut(Schema):
    id: int
    as_of: dt.date
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict


class CollectionsOut(Schema):
    since: dt.date
    until: dt.date
    days: list[CollectionsDayOut]
    totals: dict[str, int]
    runs: list[ReportRunOut]


def _csv_response(text: str, name: str) -> HttpResponse:
    # A byte-order mark, so Excel opens the Chinese customer names as UTF-8.
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _row(row: services.AgingRow) -> dict:
    return {"customer_id": row.customer_id, "customer_name": row.customer_name, **row.buckets(),
            "overdue": row.overdue, "total": row.total}


@router.get("/reports/aging", response=AgingOut, summary="Accounts receivable aging (format=csv for CSV)", openapi_extra={"responses": {200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def aging(request, as_of: BusinessDate | None = None, format: Format = "json"):
    """Open balances per customer by days past due (current, 1-30, 31-60, 61-90, over 90) and the total."""
    require(request.user, "reports.view")
    report = services.aging(as_of or timezone.localdate())
    if format == "csv":
        return _csv_response(services.aging_csv(report), f"aging-{report.as_of.isoformat()}.csv")
    return {"as_of": report.as_of, "currency": report.currency, "rows": [_row(r) for r in report.rows],
            "total": _row(report.total)}


@router.get("/reports/dso", response=DsoOut, summary="Days sales outstanding (format=csv for CSV)", openapi_extra={"responses": {200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def dso(request, as_of: BusinessDate | None = None, period_days: Annotated[int, Field(ge=1, le=3650)] = 90, format: Format = "json"):
    """DSO = open receivables on as_of / amount invoiced in the period_days ending on as_of × period_days.
    `dso` is null when nothing was invoiced in the period."""
    require(request.user, "reports.view")
    detail = services.dso_detail(as_of or timezone.localdate(), period_days=period_days)
    if format == "csv":
        return _csv_response(services.dso_csv(detail), f"dso-{detail.as_of.isoformat()}.csv")
    return detail


@router.get("/reports/collections", response=CollectionsOut,
            summary="Collections actions per day and the runs (format=csv, csv_part=runs for the runs)", openapi_extra={"responses": {200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def collections(request, since: BusinessDate | None = None, until: BusinessDate | None = None, format: Format = "json",
                csv_part: Literal["days", "runs"] = "days"):
    """Per day from `since` to `until` (default: the last 30 days): actions of each kind, and the runs."""
    require(request.user, "reports.view")
    until = until or timezone.localdate()
    since = since or until - dt.timedelta(days=29)
    report = services.collections_by_day(since, until)
    if format == "csv":
        if csv_part == "runs":
            return _csv_response(services.runs_csv(report), f"collections-runs-{since}-{until}.csv")
        return _csv_response(services.collections_csv(report), f"collections-{since}-{until}.csv")
    return {"since": report.since, "until": report.until, "totals": report.totals,
            "days": [{"day": d.day, "counts": d.counts, "total": d.total} for d in report.days],
            "runs": report.runs}
