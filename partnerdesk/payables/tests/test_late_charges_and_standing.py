"""Due dates, late charges and the account's standing, checked against figures worked out by hand.

Two operator invoices (the rules are in payables.standing's docstring):

- N: billed 2026-08-16, CNY 12,345.67, due 2026-09-15 (a Tuesday, a working day). 1.5% of it is 185.18505.
  1 month late: 185.19; 2 months: 370.3701 -> 370.37; 3 months: 555.55515 -> 555.56.
  At a legal maximum of 1.0%: 2 months: 246.9134 -> 246.91.
- H: billed 2026-09-01, CNY 100,000.00, due 2026-10-01, National Day: China's 2026 schedule has 1-7 October
  off (4 October a Sunday), so banks reopen and the payment is due on Thursday 8 October. 1.5%: 1,500.00.
"""

from decimal import Decimal

import pytest

from partnerdesk.payables import services, standing
from partnerdesk.payables.models import OperatorInvoice

from .conftest import day, operator_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice_n(calendar_2026):
    return operator_invoice("21V-202607-N", "2026-08-16", "12345.67")


@pytest.fixture
def invoice_h(calendar_2026):
    return operator_invoice("21V-202608-H", "2026-09-01", "100000.00")


def at(invoice, date):
    [p] = standing.positions(OperatorInvoice.objects.filter(pk=invoice.pk), day(date))
    return p


def pay(invoice, amount, paid_on, actor=None):
    return services.record_operator_payment(invoice, amount=amount, paid_on=day(paid_on), actor=actor).payment


@pytest.mark.parametrize("as_of, late, days_left, days_overdue, months, charge", [
    ("2026-09-14", False, 1, None, 0, "0.00"),
    ("2026-09-15", False, 0, None, 0, "0.00"),  # exactly on the due date: on time
    ("2026-09-16", True, None, 1, 1, "185.19"),  # 1 day late: a month started
    ("2026-10-15", True, None, 30, 1, "185.19"),  # 30 days late: still the first month (to 15 October)
    ("2026-10-16", True, None, 31, 2, "370.37"),  # 31 days late: the second month started
    ("2026-11-16", True, None, 62, 3, "555.56"),
])
def test_the_late_charge_of_an_unpaid_invoice_month_by_month(invoice_n, as_of, late, days_left, days_overdue, months,
                                                             charge):
    p = at(invoice_n, as_of)
    assert (p.due_date, p.pay_by, p.bank_holiday) == (day("2026-09-15"), day("2026-09-15"), False)
    assert (p.late, p.days_left, p.days_overdue, p.months_late) == (late, days_left, days_overdue, months)
    assert p.late_charge == Decimal(charge) and p.outstanding == Decimal("12345.67")
    assert p.status == "unpaid"


def test_a_lower_legal_maximum_lowers_every_charge(invoice_n, users):
    services.update_finance_settings(actor=users["finance"], late_charge_monthly_rate="0.01",
                                     reason="legal maximum 1% a month")
    assert at(invoice_n, "2026-09-16").late_charge == Decimal("123.46")  # 123.4567
    assert at(invoice_n, "2026-10-16").late_charge == Decimal("246.91")


def test_paid_late_the_charge_stops_at_the_day_it_was_paid_in_full(invoice_n, users):
    pay(invoice_n, "5000.00", "2026-09-30", users["finance"])
    # Part paid and late: the charge is on the invoice amount (the "of the invoice amount"), not what is left.
    p = at(invoice_n, "2026-10-01")
    assert (p.status, p.paid, p.outstanding, p.days_overdue) == ("partially_paid", Decimal("5000.00"),
                                                                  Decimal("7345.67"), 16)
    assert p.late_charge == Decimal("185.19")
    pay(invoice_n, "7345.67", "2026-10-20", users["finance"])
    for as_of in ("2026-10-20", "2026-11-24", "2027-03-01"):
        p = at(invoice_n, as_of)
        assert (p.status, p.late, p.paid_late, p.paid_in_full_on) == ("paid", False, True, day("2026-10-20"))
        assert (p.months_late, p.late_charge, p.outstanding) == (2, Decimal("370.37"), Decimal("0.00"))
    # Looking back before it was paid, the figures are those of that day.
    assert at(invoice_n, "2026-10-19").late_charge == Decimal("370.37")
    assert at(invoice_n, "2026-09-20").late_charge == Decimal("185.19")
    invoice_n.refresh_from_db()
    assert (invoice_n.status, invoice_n.paid_on, invoice_n.amount_paid) == ("paid", day("2026-10-20"),
                                                                            Decimal("12345.67"))


@pytest.mark.parametrize("as_of, late, days_left, days_overdue, charge", [
    ("2026-10-01", False, 7, None, "0.00"),  # the due date, a holiday: pay by the next working day
    ("2026-10-08", False, 0, None, "0.00"),  # the next working day: still on time
    ("2026-10-09", True, None, 8, "1500.00"),  # late: the days and the months count from the due date
    ("2026-11-01", True, None, 31, "1500.00"),  # exactly one calendar month after the due date
    ("2026-11-02", True, None, 32, "3000.00"),
])
def test_a_due_date_on_a_holiday_is_paid_on_the_next_working_day(invoice_h, as_of, late, days_left, days_overdue,
                                                                 charge):
    p = at(invoice_h, as_of)
    assert (p.due_date, p.pay_by, p.bank_holiday) == (day("2026-10-01"), day("2026-10-08"), True)
    assert (p.late, p.days_left, p.days_overdue, p.late_charge) == (late, days_left, days_overdue, Decimal(charge))


def test_paid_on_the_next_working_day_is_on_time(invoice_h):
    pay(invoice_h, "100000.00", "2026-10-08")
    p = at(invoice_h, "2026-11-24")
    assert (p.status, p.paid_late, p.late_charge) == ("paid", False, Decimal("0.00"))


@pytest.mark.parametrize("billing_date, due, pay_by", [
    ("2026-09-10", "2026-10-10", "2026-10-10"),  # a Saturday worked to make up for National Day (调休)
    ("2026-10-15", "2026-11-14", "2026-11-16"),  # a plain Saturday: the Monday after
    ("2026-01-18", "2026-02-17", "2026-02-24"),  # Spring Festival (15-23 February off): Tuesday 24 February
    ("2026-08-27", "2026-09-26", "2026-09-28"),  # the Saturday after Mid-Autumn (25 Sep): Monday 28 September
])
def test_pay_by_dates_follow_chinas_calendar(calendar_2026, billing_date, due, pay_by):
    invoice = operator_invoice(f"21V-{billing_date}", billing_date, "1000.00")
    assert invoice.due_date == day(due)  # net 30
    assert standing.pay_by_date(invoice.due_date) == day(pay_by)


def test_months_are_calendar_months_clamped_at_a_months_end():
    due = day("2026-01-31")
    assert [standing.months_late(due, day(d)) for d in
            ("2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01", "2026-03-31", "2026-04-01")] == [0, 1, 1, 2, 2, 3]
    assert standing.add_months(day("2026-01-31"), 1) == day("2026-02-28")
    assert standing.months_late(day("2026-12-15"), day("2027-01-16")) == 2


def test_the_standing_day_by_day(invoice_n, invoice_h, users):
    """N part paid on 30 September and paid off on 20 October; H paid on 2 November. Delinquent after 30 days."""
    pay(invoice_n, "5000.00", "2026-09-30")
    pay(invoice_n, "7345.67", "2026-10-20")
    pay(invoice_h, "100000.00", "2026-11-02")
    expected = {
        # as of: (status, late invoices with days overdue, overdue, late charges, outstanding)
        "2026-09-15": ("current", [], "0.00", "0.00", "112345.67"),
        "2026-09-16": ("late", [("21V-202607-N", 1)], "12345.67", "185.19", "112345.67"),
        "2026-10-15": ("late", [("21V-202607-N", 30), ("21V-202608-H", 14)], "107345.67", "1685.19", "107345.67"),
        "2026-10-16": ("delinquent", [("21V-202607-N", 31), ("21V-202608-H", 15)], "107345.67", "1870.37",
                       "107345.67"),
        "2026-10-20": ("late", [("21V-202608-H", 19)], "100000.00", "1500.00", "100000.00"),
        "2026-11-01": ("delinquent", [("21V-202608-H", 31)], "100000.00", "1500.00", "100000.00"),
        "2026-11-02": ("current", [], "0.00", "0.00", "0.00"),
    }
    for as_of, (status, late, overdue, charges, outstanding) in expected.items():
        st = standing.account_standing(day(as_of))
        got = (st.status, [(p.invoice.number, p.days_overdue) for p in st.late], st.overdue, st.late_charges,
               st.outstanding)
        assert got == (status, late, Decimal(overdue), Decimal(charges), Decimal(outstanding)), as_of
        assert st.restricted == (status == "delinquent")
    assert standing.account_standing(day("2026-09-15")).next_due.invoice == invoice_n
    assert standing.account_standing(day("2026-09-16")).next_due.invoice == invoice_h
    # Finance may set another threshold: delinquent only past 45 days, so 16 October is merely late.
    services.update_finance_settings(actor=users["finance"], delinquent_after_days=45)
    assert standing.account_standing(day("2026-10-16")).status == "late"
