"""Finance's figures over the REST API ("finance.view", all staff): exposure and margin per period and customer,
leakage, and the cash flow ahead, each as JSON or CSV (?format=csv). The definitions are partnerdesk.finance.reports'."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema

from partnerdesk.accounts.permissions import require
from partnerdesk.api_schemas import BusinessDate, Id

from . import reports

router = Router(tags=["finance"])

Format = Literal["json", "csv"]
Period = Annotated[str, Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$", description="A month, YYYY-MM (a day names its month)",
                              examples=["2026-10"])]
CSV_DOC = {"responses": {200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}}


def _csv_response(text: str, name: str) -> HttpResponse:
    # A byte-order mark, so Excel opens the Chinese customer names as UTF-8.
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class ExposureRowOut(Schema):
    customer_id: int | None
    customer_name: str
    unmatched: bool = Field(description="the operator's lines matched to no customer")
    operator_charged: Decimal
    billed: Decimal
    paid: Decimal
    unpaid: Decimal
    margin: Decimal
    margin_percent: Decimal | None
    exposure: Decimal
    operator_lines: int
    invoices: int


class OperatorSideOut(Schema):
    invoices: int
    amount: Decimal
    paid: Decimal
    owed: Decimal


class ExposureOut(Schema):
    period: str
    currency: str
    customer_id: int | None
    rows: list[ExposureRowOut]
    total: ExposureRowOut
    operator: OperatorSideOut = Field(description="the operator invoices of the period: what the partner paid and owes")


class PeriodOut(Schema):
    period: str
    operator_charged: Decimal
    billed: Decimal
    paid: Decimal
    margin: Decimal
    margin_percent: Decimal | None
    exposure: Decimal
    operator: OperatorSideOut


class MarginOut(Schema):
    period: str = Field(description="the last period")
    currency: str
    periods: list[PeriodOut]


class NotRebilledOut(Schema):
    period: str
    customer_id: int | None
    customer_name: str
    reason: str
    lines: int
    amount: Decimal


class UnbackedOut(Schema):
    period: str
    customer_id: int
    customer_name: str
    invoice_id: int
    invoice_number: str
    invoice_status: str
    line_id: int
    description: str
    amount: Decimal


class UnknownOut(Schema):
    subscription_ref: str
    customer_name: str
    domain: str
    customer_id: int | None
    first_period: str
    last_period: str
    lines: int
    amount: Decimal


class LeakTotalOut(Schema):
    count: int
    amount: Decimal


class LeakageOut(Schema):
    as_of: dt.date
    stale_days: int
    currency: str
    not_rebilled: list[NotRebilledOut]
    unbacked: list[UnbackedOut]
    unknown_subscriptions: list[UnknownOut]
    totals: dict[str, LeakTotalOut]


class CashWeekOut(Schema):
    week: int
    start: dt.date
    end: dt.date
    inflow: Decimal
    outflow: Decimal
    net: Decimal
    balance: Decimal
    shortfall: bool


class CashItemOut(Schema):
    direction: Literal["in", "out"]
    invoice: str
    customer_id: int | None
    customer_name: str
    due_date: dt.date
    expected_on: dt.date
    days_late: int
    amount: Decimal
    week: int | None = Field(description="1 = the first week; null = after the last week")


class CashFlowOut(Schema):
    as_of: dt.date
    currency: str
    opening_balance: Decimal
    weeks: list[CashWeekOut]
    shortfall_week: dt.date | None = Field(description="the start of the first week whose running balance is below zero")
    later_inflow: Decimal
    later_outflow: Decimal
    items: list[CashItemOut]


def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _row(r: reports.ExposureRow) -> dict:
    return {"customer_id": r.customer_id, "customer_name": r.customer_name, "unmatched": r.unmatched,
            "operator_charged": r.charged, "billed": r.billed, "paid": r.paid, "unpaid": r.unpaid, "margin": r.margin,
            "margin_percent": r.margin_percent, "exposure": r.exposure, "operator_lines": r.lines,
            "invoices": r.invoices}


def _operator(o: reports.OperatorSide) -> dict:
    return {"invoices": o.invoices, "amount": o.amount, "paid": o.paid, "owed": o.owed}


def _period(period: str | None) -> dt.date:
    return reports.parse_period(period) if period else reports.latest_period(timezone.localdate())


@router.get("/finance/exposure", response=ExposureOut, openapi_extra=CSV_DOC,
            summary="Operator charged, billed, paid, margin and exposure per customer for a month (format=csv)")
def exposure(request, period: Period | None = None, customer: Id | None = None, format: Format = "json"):
    """Per customer for the period (default: the latest billing period of an operator invoice): what the operator
    charged (its lines, tax included), what the partner billed on issued re-billing invoices, what the customer
    paid, margin and exposure = charged x unpaid / billed (the whole charge when nothing is billed), the total,
    and the period's operator invoices with what the partner paid and still owes the operator."""
    require(request.user, "finance.view")
    report = reports.exposure(_period(period), customer_id=customer)
    if format == "csv":
        return _csv_response(reports.exposure_csv(report), f"exposure-{_month(report.period)}.csv")
    return {"period": _month(report.period), "currency": report.currency, "customer_id": report.customer_id,
            "rows": [_row(r) for r in report.rows], "total": _row(report.total), "operator": _operator(report.operator)}


@router.get("/finance/margin", response=MarginOut, openapi_extra=CSV_DOC,
            summary="Totals per period: operator charged, billed, paid, margin, exposure (format=csv)")
def margin(request, period: Period | None = None, months: Annotated[int, Field(ge=1, le=reports.MAX_MONTHS)] = 12,
           customer: Id | None = None, format: Format = "json"):
    """The `months` periods ending with `period` (default: the latest billing period), oldest first."""
    require(request.user, "finance.view")
    end = _period(period)
    periods = reports.margin_by_period(end, months=months, customer_id=customer)
    if format == "csv":
        return _csv_response(reports.margin_csv(periods), f"margin-{_month(end)}.csv")
    return {"period": _month(end), "currency": "CNY", "periods": [
        {"period": _month(p.period), "operator_charged": p.charged, "billed": p.billed, "paid": p.paid,
         "margin": p.margin, "margin_percent": p.margin_percent, "exposure": p.exposure,
         "operator": _operator(p.operator)} for p in periods]}


@router.get("/finance/leakage", response=LeakageOut, openapi_extra=CSV_DOC,
            summary="Charges never re-billed, lines with no operator charge, unknown subscriptions (format=csv, part=...)")
def leakage(request, as_of: BusinessDate | None = None,
            stale_days: Annotated[int, Field(ge=0, le=3650)] = reports.DEFAULT_STALE_DAYS, format: Format = "json",
            part: Literal["not_rebilled", "unbacked", "unknown_subscriptions"] = "not_rebilled"):
    """Operator charges never re-billed (grouped by period, customer and reason: generated, stale, void,
    unmatched), re-billed invoice lines with no operator charge behind them, and Partner Center subscription
    numbers PartnerDesk does not know. As CSV, `part` names the list."""
    require(request.user, "finance.view")
    report = reports.leakage(as_of or timezone.localdate(), stale_days=stale_days)
    if format == "csv":
        return _csv_response(reports.leakage_csv(report, part), f"leakage-{part}-{report.as_of.isoformat()}.csv")
    totals = {"not_rebilled": report.not_rebilled_totals, "unbacked": report.unbacked_totals,
              "unknown_subscriptions": report.unknown_totals}
    return {
        "as_of": report.as_of, "stale_days": report.stale_days, "currency": report.currency,
        "not_rebilled": [{"period": _month(r.period), "customer_id": r.customer_id, "customer_name": r.customer_name,
                          "reason": r.reason, "lines": r.lines, "amount": r.amount} for r in report.not_rebilled],
        "unbacked": [{"period": _month(r.period), "customer_id": r.customer_id, "customer_name": r.customer_name,
                      "invoice_id": r.invoice_id, "invoice_number": r.invoice_number, "invoice_status": r.invoice_status,
                      "line_id": r.line_id, "description": r.description, "amount": r.amount} for r in report.unbacked],
        "unknown_subscriptions": [
            {"subscription_ref": r.subscription_ref, "customer_name": r.customer_name, "domain": r.domain,
             "customer_id": r.customer_id, "first_period": _month(r.first_period), "last_period": _month(r.last_period),
             "lines": r.lines, "amount": r.amount} for r in report.unknown],
        "totals": {key: {"count": n, "amount": amount} for key, (n, amount) in totals.items()},
    }


@router.get("/finance/cash-flow", response=CashFlowOut, openapi_extra=CSV_DOC,
            summary="Operator due dates against expected collections, per week (format=csv, part=weeks|items)")
def cash_flow(request, weeks: Annotated[int, Field(ge=1, le=reports.MAX_WEEKS)] = reports.DEFAULT_WEEKS,
              as_of: BusinessDate | None = None, opening_balance: Annotated[Decimal, Field(max_digits=16, decimal_places=2)] = Decimal("0.00"),
              format: Format = "json", part: Literal["weeks", "items"] = "weeks"):
    """Week by week from `as_of` (default: today): the operator invoices falling due (effective due date: the next
    working day when it falls on a holiday; overdue ones now), the customer invoices expected in (due date + the
    customer's own average days late; overdue ones next week), and the running balance from `opening_balance`,
    with the first week it goes below zero."""
    require(request.user, "finance.view")
    report = reports.cash_flow(as_of or timezone.localdate(), weeks=weeks, opening_balance=opening_balance)
    if format == "csv":
        return _csv_response(reports.cash_flow_csv(report, part), f"cash-flow-{part}-{report.as_of.isoformat()}.csv")
    shortfall = report.shortfall
    return {
        "as_of": report.as_of, "currency": report.currency, "opening_balance": report.opening_balance,
        "weeks": [{"week": w.index + 1, "start": w.start, "end": w.end, "inflow": w.inflow, "outflow": w.outflow,
                   "net": w.net, "balance": w.balance, "shortfall": w.shortfall} for w in report.weeks],
        "shortfall_week": shortfall.start if shortfall else None,
        "later_inflow": report.later_inflow, "later_outflow": report.later_outflow,
        "items": [{"direction": i.direction, "invoice": i.reference, "customer_id": i.customer_id,
                   "customer_name": i.customer_name, "due_date": i.due_date, "expected_on": i.expected_on,
                   "days_late": i.days_late, "amount": i.amount, "week": None if i.week is None else i.week + 1}
                  for i in report.items],
    }
