"""Exposure, margin, leakage and cash flow on the small world of conftest.py, every figure against a sum done by
hand (the arithmetic is written next to each assertion)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerdesk.conftest import make_customer
from partnerdesk.errors import InvalidInput, NotFound
from partnerdesk.finance import reports
from partnerdesk.rebilling.models import PeriodInvoice, ReconFile, ReconLine

from .conftest import DAY

M = Decimal
OCTOBER = dt.date(2026, 10, 1)


def _rows(report):
    return {row.customer_name if not row.unmatched else "UNMATCHED": row for row in report.rows}


def test_exposure_per_customer_for_a_period(world):
    report = reports.exposure(OCTOBER)
    rows = _rows(report)
    assert list(rows) == ["Contoso 上海", "Fabrikam 北京", "Northwind 广州", "UNMATCHED"]

    a = rows["Contoso 上海"]
    assert a.charged == M("1469.00")  # 1130.00 + 113.00 (not on the invoice) + 226.00 (usage)
    assert a.billed == M("1641.60")  # 1243.00 + 248.60 + 50.00 + 100.00
    assert a.paid == M("820.80") and a.unpaid == M("820.80")
    assert a.margin == M("172.60")  # 1641.60 - 1469.00
    assert a.margin_percent == M("10.5")  # 172.60 / 1641.60 = 10.514 %
    assert a.exposure == M("734.50")  # 1469.00 x 820.80 / 1641.60
    assert (a.lines, a.invoices) == (3, 1)

    b = rows["Fabrikam 北京"]
    assert b.charged == M("678.00")  # 565.00 + 113.00 (the voided invoice's line still is a charge)
    assert b.billed == M("678.00")  # the void invoice does not count
    assert (b.paid, b.exposure, b.margin, b.margin_percent) == (M("678.00"), M("0.00"), M("0.00"), M("0.0"))

    c = rows["Northwind 广州"]
    assert (c.charged, c.billed, c.paid) == (M("339.00"), M("300.00"), M("77.77"))  # the credit note counts as paid
    assert c.margin == M("-39.00") and c.margin_percent == M("-13.0")
    assert c.exposure == M("251.12")  # 339.00 x 222.23 / 300.00 = 251.1199

    unmatched = rows["UNMATCHED"]
    assert unmatched.customer_id is None
    assert (unmatched.charged, unmatched.billed, unmatched.exposure) == (M("113.00"), M("0.00"), M("113.00"))

    total = report.total
    assert total.charged == M("2599.00")  # = G001 2260.00 + G002 339.00: every line of the period, once
    assert total.billed == M("2619.60") and total.paid == M("1576.57")  # 820.80 + 678.00 + 77.77
    assert total.margin == M("20.60") and total.margin_percent == M("0.8")  # 20.60 / 2619.60 = 0.786 %
    assert total.exposure == M("1098.62")  # 734.50 + 0 + 251.12 + 113.00: the rows' exposures added up
    op = report.operator
    assert (op.invoices, op.amount, op.paid, op.owed) == (2, M("2599.00"), M("1000.00"), M("1599.00"))


def test_exposure_of_one_customer_and_of_a_period_with_nothing_billed(world):
    only_c = reports.exposure(OCTOBER, customer_id=world["c"].pk)
    assert [r.customer_name for r in only_c.rows] == ["Northwind 广州"]
    assert only_c.total.exposure == M("251.12")
    september = reports.exposure(dt.date(2026, 9, 15))  # any day names its month
    assert september.period == dt.date(2026, 9, 1)
    [b] = september.rows
    assert (b.customer_name, b.charged, b.billed, b.exposure, b.margin_percent) == (
        "Fabrikam 北京", M("500.00"), M("0.00"), M("500.00"), None)  # nothing billed: the whole charge
    assert (september.operator.amount, september.operator.owed) == (M("500.00"), M("300.00"))
    empty = reports.exposure(dt.date(2026, 5, 1))
    assert empty.rows == [] and empty.total.exposure == 0 and empty.operator.invoices == 0
    with pytest.raises(NotFound):
        reports.exposure(OCTOBER, customer_id=999999)


def test_exposure_rules_at_the_edges():
    assert reports.exposure_of(M("100.00"), M("0.00"), M("0.00")) == M("100.00")
    assert reports.exposure_of(M("-50.00"), M("0.00"), M("0.00")) == M("0.00")  # an operator credit: nothing at risk
    assert reports.exposure_of(M("100.00"), M("300.00"), M("300.00")) == M("0.00")
    assert reports.exposure_of(M("100.00"), M("3.00"), M("1.00")) == M("66.67")  # 66.666... half-up


def test_margin_per_period(world):
    periods = reports.margin_by_period(dt.date(2026, 11, 1), months=3)
    assert [p.period for p in periods] == [dt.date(2026, 9, 1), OCTOBER, dt.date(2026, 11, 1)]
    sep, oct_, nov = periods
    assert (sep.charged, sep.billed, sep.margin, sep.margin_percent, sep.exposure) == (
        M("500.00"), M("0.00"), M("-500.00"), None, M("500.00"))
    assert (oct_.charged, oct_.billed, oct_.paid, oct_.margin, oct_.exposure) == (
        M("2599.00"), M("2619.60"), M("1576.57"), M("20.60"), M("1098.62"))
    assert (nov.charged, nov.billed, nov.exposure) == (M("226.00"), M("0.00"), M("226.00"))
    assert [p.operator.owed for p in periods] == [M("300.00"), M("1599.00"), M("226.00")]
    just_a = reports.margin_by_period(dt.date(2026, 10, 1), months=1, customer_id=world["a"].pk)
    assert (just_a[0].charged, just_a[0].billed, just_a[0].exposure) == (M("1469.00"), M("1641.60"), M("734.50"))
    with pytest.raises(InvalidInput):
        reports.margin_by_period(OCTOBER, months=0)


def test_leakage(world):
    report = reports.leakage(DAY)  # 30 days: the cut-off is 2026-10-17
    found = [(r.period.strftime("%Y-%m"), r.customer_name, r.reason, r.lines, r.amount) for r in report.not_rebilled]
    assert found == [
        ("2026-09", "Fabrikam 北京", "stale", 1, M("500.00")),  # G000 billed 2026-10-01, no September invoice
        ("2026-10", "Contoso 上海", "generated", 1, M("113.00")),  # A's October invoice left it out
        ("2026-10", "Fabrikam 北京", "void", 1, M("113.00")),  # only on the voided invoice
        ("2026-10", "", "unmatched", 1, M("113.00")),
    ]  # C's November line (G003 billed 2026-11-10) is not late yet, and the replaced file counts for nothing
    assert report.not_rebilled_totals == (4, M("839.00"))

    [unbacked] = report.unbacked  # the adjustment is not one; the void invoice's line has its charge anyway
    assert (unbacked.customer_name, unbacked.description, unbacked.amount, unbacked.invoice_number) == (
        "Contoso 上海", "Support fee", M("100.00"), world["inv_a"].number)
    assert report.unbacked_totals == (1, M("100.00"))

    unknown = {u.subscription_ref: u for u in report.unknown}
    assert set(unknown) == {"SUB-A2", "SUB-X9"}  # SUB-M1 is mapped, SUB-A1/B1 known, SUB-OLD's file replaced
    x9 = unknown["SUB-X9"]
    assert (x9.customer_name, x9.domain, x9.customer_id, x9.lines, x9.amount) == (
        "未知客户有限公司", "unknown.partner.onmschina.cn", None, 1, M("113.00"))
    assert unknown["SUB-A2"].customer_id == world["a"].pk
    assert report.unknown_totals == (2, M("226.00"))

    # With no days allowed, C's November line is late too.
    strict = reports.leakage(DAY, stale_days=0)
    assert ("2026-11", "Northwind 广州", "stale", 1, M("226.00")) in [
        (r.period.strftime("%Y-%m"), r.customer_name, r.reason, r.lines, r.amount) for r in strict.not_rebilled]
    assert strict.not_rebilled_totals == (5, M("1065.00"))


def test_leakage_closes_when_the_line_is_billed(world):
    """The generated-but-left-out line stops leaking once it is on an invoice line; a new generated period for B
    turns its September line from stale to generated."""
    line = ReconLine.objects.get(subscription_ref="SUB-A2")
    line.invoice_line = world["inv_a"].lines.order_by("id").last()  # (the support fee line: now backed too)
    line.save()
    PeriodInvoice.objects.create(invoice=world["inv_b0"], customer=world["b"], period=dt.date(2026, 9, 1))
    report = reports.leakage(DAY)
    reasons = {(r.period.month, r.customer_name): r.reason for r in report.not_rebilled}
    assert (10, "Contoso 上海") not in reasons and reasons[(9, "Fabrikam 北京")] == "generated"
    assert [u.description for u in report.unbacked] == ["Microsoft 365 E3"]  # INV-B0's hand-typed line now counts


def test_average_days_late(world):
    late = reports.average_days_late(DAY)
    assert late[world["c"].pk] == 12  # (10 + 25 + 0) / 3 = 11.67; the 40 days of 2025 are over a year old
    assert late[world["b"].pk] == 0  # paid early
    assert world["a"].pk not in late  # nothing paid in full: counts as 0


def test_cash_flow_weeks_and_shortfall(world):
    report = reports.cash_flow(DAY, weeks=12, opening_balance=M("1000.00"))
    assert [w.start for w in report.weeks][:3] == [DAY, dt.date(2026, 11, 23), dt.date(2026, 11, 30)]
    got = [(w.inflow, w.outflow, w.balance) for w in report.weeks]
    assert got == [
        (M("0.00"), M("300.00"), M("700.00")),  # G000 is overdue (effective 2026-11-02): out now
        (M("400.00"), M("0.00"), M("1100.00")),  # B's overdue INV-B0 (B pays on time): next week
        (M("222.23"), M("1260.00"), M("62.23")),  # C: due 11-20 + 12 days = 12-02; G001 due 12-01 (2260 - 1000)
        (M("0.00"), M("226.00"), M("-163.77")),  # G003 due 12-10
        (M("820.80"), M("0.00"), M("657.03")),  # A's INV-A due 12-15, no history
        (M("0.00"), M("0.00"), M("657.03")),
        (M("0.00"), M("0.00"), M("657.03")),  # G002 falls due on New Year's Day ...
        (M("0.00"), M("339.00"), M("318.03")),  # ... and is paid on the next working day, 2027-01-04
        *[(M("0.00"), M("0.00"), M("318.03"))] * 4,
    ]
    assert [w.index for w in report.weeks if w.shortfall] == [3]
    assert report.shortfall.start == dt.date(2026, 12, 7)
    assert (report.total_inflow, report.total_outflow) == (M("1443.03"), M("2125.00"))
    assert (report.later_inflow, report.later_outflow) == (M("0.00"), M("0.00"))
    c_item = next(i for i in report.items if i.reference == world["inv_c"].number)
    assert (c_item.expected_on, c_item.days_late, c_item.week) == (dt.date(2026, 12, 2), 12, 2)
    g002 = next(i for i in report.items if i.reference == "G002")
    assert (g002.due_date, g002.expected_on, g002.week) == (dt.date(2027, 1, 1), dt.date(2027, 1, 4), 7)
    assert not any(i.reference == "G-PAID" for i in report.items)  # paid: nothing goes out


def test_cash_flow_with_no_cash_at_hand_and_a_short_horizon(world):
    report = reports.cash_flow(DAY, weeks=6)
    assert report.shortfall.index == 0 and report.weeks[0].balance == M("-300.00")
    assert report.later_outflow == M("339.00")  # G002, 2027-01-04, is after the sixth week
    # 0 - 300 + 400 + (222.23 - 1260.00) - 226.00 + 820.80: the horizon ends before G002
    assert report.weeks[-1].balance == M("-342.97")


def test_bad_figures_are_refused():
    with pytest.raises(InvalidInput) as caught:
        reports.parse_period("2026-13")
    assert caught.value.field == "period"
    for bad in ("", "2026-1", "26-10", "1999-12", "abcd-ef", "2026-10-32", "2026-10-01-01", "+026-10"):
        with pytest.raises(InvalidInput):
            reports.parse_period(bad)
    assert reports.parse_period("2026-02") == dt.date(2026, 2, 1)
    assert reports.parse_period("2026-10-17") == dt.date(2026, 10, 1)  # a day names its month
    with pytest.raises(InvalidInput):
        reports.cash_flow(DAY, weeks=0)
    with pytest.raises(InvalidInput):
        reports.leakage(DAY, stale_days=-1)


def test_figures_take_the_same_queries_whatever_the_number_of_customers(world):
    """Set-based: one more customer with lines and an invoice adds rows, not queries."""

    def count(fn):
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx.captured_queries)

    calls = [lambda: reports.exposure(OCTOBER), lambda: reports.margin_by_period(OCTOBER),
             lambda: reports.leakage(DAY), lambda: reports.cash_flow(DAY)]
    for fn in calls:
        fn()  # (the working-day calendar is read once per process and year)
    before = [count(fn) for fn in calls]
    f1 = ReconFile.objects.get(filename="october.csv")
    for i in range(5):
        customer = make_customer(f"Tailspin {i}")
        ReconLine.objects.create(file=f1, row_number=100 + i, kind="license", customer=customer,
                                 subscription_ref=f"SUB-T{i}", charge_start=OCTOBER, charge_end=dt.date(2026, 10, 31),
                                 quantity=1, unit_price=10, charges=10, total=10)
    assert [count(fn) for fn in calls] == before
    assert max(before) <= 8
    assert len(reports.exposure(OCTOBER).rows) == 9
