"""GET /support/reports: the desk's reports for a period of Beijing dates, as JSON or one part as CSV
("desk.reports")."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema

from partnerdesk.api_schemas import BusinessDate

from . import reports

router = Router(tags=["support reports"])

DEFAULT_DAYS = 30
Part = Literal["summary", "first_response", "resolution", "sla", "escalation", "operator", "satisfaction", "reopen"]


class DurationsOut(Schema):
    count: int
    median_seconds: int | None  # business time
    p90_seconds: int | None


class OperatorOut(DurationsOut):
    still_waiting: int  # cases waiting on the operator at the end of the period


class SlaRowOut(Schema):
    key: str  # the agent's or team's id, or the case type; "" for unassigned / no team
    name: str
    met: int
    missed: int
    total: int
    percent_met: Decimal | None


class SlaOut(Schema):
    all: SlaRowOut
    by_agent: list[SlaRowOut]
    by_team: list[SlaRowOut]
    by_type: list[SlaRowOut]


class RateOut(Schema):
    cases: int
    counted: int
    percent: Decimal | None


class SatisfactionOut(Schema):
    asked: int
    answered: int
    response_percent: Decimal | None
    average: Decimal | None
    distribution: dict[str, int]  # score ("1".."5") -> cases


class SupportReportOut(Schema):
    since: dt.date
    until: dt.date
    first_response: DurationsOut
    resolution: DurationsOut
    sla: SlaOut
    escalation: RateOut  # cases opened in the period / those that ever waited on the operator
    operator: OperatorOut
    satisfaction: SatisfactionOut
    reopen: RateOut  # cases opened and resolved in the period / those reopened at least once


def _durations(d: reports.Durations) -> dict:
    return {"count": d.count, "median_seconds": d.median_seconds, "p90_seconds": d.p90_seconds}


def _sla_row(row: reports.SlaRow) -> dict:
    return {"key": row.key, "name": str(row.label), "met": row.met, "missed": row.missed, "total": row.total,
            "percent_met": row.percent_met}


def _rate(rate: reports.Rate) -> dict:
    return {"cases": len(rate.cases), "counted": len(rate.counted), "percent": rate.percent}


def as_json(report: reports.SupportReport) -> dict:
    """The report as the API returns it."""
    return {
        "since": report.since, "until": report.until,
        "first_response": _durations(report.first_response), "resolution": _durations(report.resolution),
        "sla": {"all": _sla_row(report.sla_total), **{f"by_{by}": [_sla_row(r) for r in report.sla_rows(by)]
                                                      for by in ("agent", "team", "type")}},
        "escalation": _rate(report.escalation),
        "operator": {**_durations(report.operator), "still_waiting": report.operator.still_running},
        "satisfaction": {"asked": len(report.satisfaction.cases), "answered": len(report.satisfaction.counted),
                         "response_percent": report.satisfaction.percent, "average": report.average_score,
                         "distribution": {str(k): v for k, v in report.score_distribution.items()}},
        "reopen": _rate(report.reopen),
    }


@router.get("/support/reports", response=SupportReportOut,
            summary="The support desk's reports for a period (format=csv and part=... for one part as CSV)",
            openapi_extra={"responses": {200: {"description": "CSV (UTF-8)",
                                               "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def support_reports(request, since: BusinessDate | None = None, until: BusinessDate | None = None,
                    format: Literal["json", "csv"] = "json", part: Part = "summary"):
    """First response and resolution times (median, 90th percentile, business time), SLA targets met per
    agent, team and type, escalation rate and the operator's response time, satisfaction and reopen rate,
    for the Beijing dates since..until (default: the last 30 days)."""
    until = until or timezone.localdate(timezone=reports.BEIJING)
    since = since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    report = reports.support_report(request.user, since, until)
    if format == "csv":
        response = HttpResponse("\ufeff" + reports.report_csv(report, part), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="support-{part}-{since}-{until}.csv"'
        return response
    return as_json(report)
