"""GET /escalations/reports: escalations to the operator and disputes for a period of Beijing dates, as JSON or
one part as CSV ("desk.reports")."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from partnerdesk.api_schemas import BusinessDate, Id

from . import reports

router = Router(tags=["escalation reports"])

DEFAULT_DAYS = 30
Part = Literal["summary", "requests", "disputes"]


class TopicOut(Schema):
    topic: str
    severity: str  # critical (A), moderate (B), minimal (C)
    count: int


class TimingsOut(Schema):
    count: int
    median_seconds: int | None  # business time on the operator's terms
    p90_seconds: int | None
    met: int
    missed: int
    percent_met: Decimal | None


class RequestsOut(Schema):
    filed: int
    prepared_not_filed: int
    open: int  # of those filed in the period, where they stand now
    attention_needed: int
    closed: int
    by_topic: list[TopicOut]
    first_response: TimingsOut
    resolution: TimingsOut


class OutcomeOut(Schema):
    outcome: str  # upheld, partly_upheld, rejected, withdrawn ("" for a dispute resolved without one)
    count: int
    disputed: Decimal  # CNY
    upheld: Decimal
    credited: Decimal


class TimeToResolveOut(Schema):
    count: int
    median_seconds: int | None  # business time (09:00-18:00 on working days)
    p90_seconds: int | None


class DisputesOut(Schema):
    opened: int
    opened_still_open: int
    opened_amount: Decimal  # CNY
    resolved: OutcomeOut
    by_outcome: list[OutcomeOut]
    time_to_resolve: TimeToResolveOut


class EscalationReportOut(Schema):
    since: dt.date
    until: dt.date
    team_id: int | None
    currency: str
    requests: RequestsOut
    disputes: DisputesOut


def _timings(t: reports.Timings) -> dict:
    return {"count": t.count, "median_seconds": t.median_seconds, "p90_seconds": t.p90_seconds, "met": t.met,
            "missed": t.missed, "percent_met": t.percent_met}


def _outcome(row: reports.OutcomeRow) -> dict:
    return {"outcome": row.outcome, "count": row.count, "disputed": row.disputed, "upheld": row.upheld,
            "credited": row.credited}


def as_json(report: reports.EscalationReport) -> dict:
    """The report as the API returns it."""
    t = report.time_to_resolve
    return {
        "since": report.since, "until": report.until, "team_id": report.team.pk if report.team else None,
        "currency": "CNY",
        "requests": {"filed": report.filed, "prepared_not_filed": report.drafts, **report.statuses,
                     "by_topic": [{"topic": r.topic, "severity": r.severity, "count": r.count} for r in report.by_topic],
                     "first_response": _timings(report.first_response), "resolution": _timings(report.resolution)},
        "disputes": {"opened": report.disputes_opened, "opened_still_open": report.disputes_still_open,
                     "opened_amount": report.disputed_opened_amount, "resolved": _outcome(report.resolved),
                     "by_outcome": [_outcome(r) for r in report.outcomes],
                     "time_to_resolve": {"count": t.count, "median_seconds": t.median_seconds,
                                         "p90_seconds": t.p90_seconds}},
    }


@router.get("/escalations/reports", response=EscalationReportOut,
            summary="Escalations to the operator and disputes for a period (format=csv and part=... for CSV)",
            openapi_extra={"responses": {200: {"description": "CSV (UTF-8)",
                                               "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def escalation_reports(request, since: BusinessDate | None = None, until: BusinessDate | None = None,
                       team_id: Id | None = None, format: Literal["json", "csv"] = "json", part: Part = "summary"):
    """Service requests by topic and severity, the operator's first response and resolution times against its
    targets, disputes opened and resolved (upheld in full or in part, rejected, withdrawn) with their amounts and
    time to resolve, for the Beijing dates since..until (default: the last 30 days), optionally for one team."""
    until = until or timezone.localdate(timezone=reports.BEIJING)
    since = since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    report = reports.escalation_report(request.user, since, until, team_id=team_id)
    if format == "csv":
        response = HttpResponse("\ufeff" + reports.report_csv(report, part), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="escalations-{part}-{since}-{until}.csv"'
        return response
    return as_json(report)
