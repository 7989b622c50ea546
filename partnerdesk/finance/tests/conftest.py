"""A small world for finance's figures, built directly with the ORM (other areas' services fill these tables in
real life), every figure of which the tests check against sums done by hand.

Customers A (Contoso 上海), B (Fabrikam 北京), C (Northwind 广州, late-paying history). The day is 2026-11-16.

Operator invoices (to the partner):
  G000  period 2026-09  billed 2026-10-01  500.00  paid 200.00  due 2026-10-31 (a Saturday: effective 2026-11-02)
  G001  period 2026-10  billed 2026-11-01  2260.00 paid 1000.00 due 2026-12-01            (license file F1)
  G002  period 2026-10  billed 2026-11-01  339.00  paid 0       due 2027-01-01 (New Year: effective 2027-01-04) (usage F2)
  G003  period 2026-11  billed 2026-11-10  226.00  paid 0       due 2026-12-10            (license file F3)
Reconciliation lines (a label for each, then customer, subscription number, total with tax):
  F9 (G000): 8  B  SUB-B1   500.00  on no invoice, no 2026-09 invoice for B, billed > 30 days ago: stale
  F1 (G001): 1  A  SUB-A1  1130.00  billed on INV-A line 1
             2  B  SUB-B1   565.00  billed on INV-B
             3  C  SUB-M1   339.00  billed on INV-C (SUB-M1 is known through an agent's mapping only)
             4  -  SUB-X9   113.00  unmatched (未知客户有限公司, unknown.partner.onmschina.cn)
             5  A  SUB-A2   113.00  matched by domain, on no invoice though A's 2026-10 invoice exists: generated
  F2 (G002): 6  A  (usage)  226.00  billed on INV-A line 2
             7  B  (usage)  113.00  billed on B's voided invoice: void
  F3 (G003): 10 C  SUB-M1   226.00  on no invoice, billed 6 days ago: not leaked yet
  F0 (G001, replaced by F1): 99 A SUB-OLD 9999.00: never counted
Customer invoices re-billed for 2026-10 (PeriodInvoice):
  INV-A 1641.60 = 1243.00 (line 1) + 248.60 (line 6) + 50.00 (adjustment) + 100.00 (no operator charge)
        due 2026-12-15, paid 820.80 on 2026-11-12
  INV-B 678.00 (line 2), due 2026-12-05, paid in full on 2026-11-10 (early)
  B's void invoice 113.00 (line 7)
  INV-C 300.00 (line 3), due 2026-11-20, credit note 77.77
Other invoices: B's INV-B0 400.00 due 2026-10-01, open (overdue); C's history, paid in full: due 2026-03-01 paid
2026-03-11 (10 days late), due 2026-06-01 paid 2026-06-26 (25), due 2026-09-01 paid 2026-08-28 (early: 0), and
due 2025-10-01 paid 2025-11-10 (40 days late, but more than 365 days before the day: left out); a draft of A.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from partnerdesk.billing.models import Invoice
from partnerdesk.billing.services import (
    LineInput,
    create_invoice,
    issue_credit_note,
    record_payment,
    void_invoice,
)
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.models import Subscription
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling.models import Adjustment, LineMapping, PeriodInvoice, ReconFile, ReconLine

DAY = dt.date(2026, 11, 16)
D = dt.date.fromisoformat


def _operator_invoice(number, billed, period, amount, paid, due, status):
    start = D(period + "-01")
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return OperatorInvoice.objects.create(number=number, billing_date=D(billed), period_start=start, period_end=end,
                                          amount=Decimal(amount), amount_paid=Decimal(paid), due_date=D(due),
                                          due_date_set=True, status=status)


def _file(invoice, kind, name, status="active"):
    return ReconFile.objects.create(operator_invoice=invoice, kind=kind, filename=name, sha256=name.ljust(64, "0"),
                                    status=status)


def _line(file, row, total, *, customer=None, sub="", name="", domain="", invoice_line=None):
    total = Decimal(total)
    charges = (total / Decimal("1.13")).quantize(Decimal("0.01"))
    return ReconLine.objects.create(
        file=file, row_number=row, kind=file.kind, subscription_ref=sub, customer=customer,
        customer_name=name or (customer.name if customer else ""), domain=domain, charge_start=file.operator_invoice.period_start,
        charge_end=file.operator_invoice.period_end, quantity=Decimal(1), unit_price=charges, charges=charges,
        tax=total - charges, total=total, match_method="subscription" if customer else "", invoice_line=invoice_line)


def _invoice(customer, lines, *, issue="2026-11-05", due):
    return create_invoice(customer=customer, actor=None, issue=True, issue_date=D(issue), due_date=D(due),
                          notify_customer=False,
                          lines=[LineInput(description=d, quantity=Decimal(1), unit_price=Decimal(p),
                                           tax_rate=Decimal(t)) for d, p, t in lines])


def _paid_late(customer, amount, due, paid_on):
    invoice = make_invoice(customer, amount, issue_date=D(due) - dt.timedelta(days=30), due_date=D(due))
    with time_machine.travel(dt.datetime.combine(D(paid_on), dt.time(12)), tick=False):
        record_payment(customer=customer, amount=amount, received_on=D(paid_on), method="bank_transfer", actor=None,
                       allocations=[(invoice, amount)])
    return invoice


@pytest.fixture
def world(db):
    a = make_customer("Contoso 上海", primary_domain="contoso.partner.onmschina.cn")
    b = make_customer("Fabrikam 北京", primary_domain="fabrikam.partner.onmschina.cn")
    c = make_customer("Northwind 广州", primary_domain="northwind.partner.onmschina.cn")
    Subscription.objects.create(customer=a, operator_id="SUB-A1", offer_name="Microsoft 365 E3")
    Subscription.objects.create(customer=b, operator_id="SUB-B1", offer_name="Microsoft 365 Business Basic")
    LineMapping.objects.create(key_kind="subscription", key="SUB-M1", customer=c)

    # C's history first: the payments' dates are in the past.
    for amount, due, paid_on in [("100.00", "2025-10-01", "2025-11-10"), ("200.00", "2026-03-01", "2026-03-11"),
                                 ("300.00", "2026-06-01", "2026-06-26"), ("400.00", "2026-09-01", "2026-08-28")]:
        _paid_late(c, amount, due, paid_on)

    g000 = _operator_invoice("G000", "2026-10-01", "2026-09", "500.00", "200.00", "2026-10-31", "partially_paid")
    g001 = _operator_invoice("G001", "2026-11-01", "2026-10", "2260.00", "1000.00", "2026-12-01", "partially_paid")
    g002 = _operator_invoice("G002", "2026-11-01", "2026-10", "339.00", "0", "2027-01-01", "unpaid")
    g003 = _operator_invoice("G003", "2026-11-10", "2026-11", "226.00", "0", "2026-12-10", "unpaid")
    _operator_invoice("G-PAID", "2026-08-01", "2026-07", "700.00", "700.00", "2026-08-31", "paid")

    inv_a = _invoice(a, [("Microsoft 365 E3", "1100.00", "0.13"), ("Azure usage", "220.00", "0.13"),
                         ("Onboarding (adjustment)", "50.00", "0"), ("Support fee", "100.00", "0")], due="2026-12-15")
    inv_b = _invoice(b, [("Microsoft 365 Business Basic", "600.00", "0.13")], due="2026-12-05")
    void_b = _invoice(b, [("Azure usage", "100.00", "0.13")], due="2026-12-05")
    inv_c = _invoice(c, [("Microsoft 365 E5", "300.00", "0")], due="2026-11-20")
    for invoice in (inv_a, inv_b, void_b, inv_c):
        PeriodInvoice.objects.create(invoice=invoice, customer=invoice.customer, period=D("2026-10-01"))
    la1, la2, la3, _la4 = inv_a.lines.order_by("id")
    Adjustment.objects.create(invoice_line=la3, reason="onboarding agreed in the contract")

    f9 = _file(g000, "license", "september.csv")
    f0 = _file(g001, "license", "october-first.csv", status="replaced")
    f1 = _file(g001, "license", "october.csv")
    f2 = _file(g002, "usage", "october-usage.csv")
    f3 = _file(g003, "license", "november.csv")
    _line(f9, 2, "500.00", customer=b, sub="SUB-B1")
    _line(f0, 2, "9999.00", customer=a, sub="SUB-OLD")
    _line(f1, 2, "1130.00", customer=a, sub="SUB-A1", invoice_line=la1)
    _line(f1, 3, "565.00", customer=b, sub="SUB-B1", invoice_line=inv_b.lines.get())
    _line(f1, 4, "339.00", customer=c, sub="SUB-M1", invoice_line=inv_c.lines.get())
    _line(f1, 5, "113.00", sub="SUB-X9", name="未知客户有限公司", domain="unknown.partner.onmschina.cn")
    _line(f1, 6, "113.00", customer=a, sub="SUB-A2", domain="contoso.partner.onmschina.cn")
    _line(f2, 2, "226.00", customer=a, invoice_line=la2)
    _line(f2, 3, "113.00", customer=b, invoice_line=void_b.lines.get())
    _line(f3, 2, "226.00", customer=c, sub="SUB-M1")

    void_invoice(void_b, actor=None, reason="issued twice")
    with time_machine.travel(dt.datetime(2026, 11, 12, 12), tick=False):
        record_payment(customer=a, amount="820.80", received_on=D("2026-11-12"), method="alipay", actor=None,
                       allocations=[(inv_a, "820.80")])
        record_payment(customer=b, amount="678.00", received_on=D("2026-11-10"), method="alipay", actor=None,
                       allocations=[(inv_b, "678.00")])
        issue_credit_note(invoice=inv_c, amount="77.77", reason="two seats removed", actor=None,
                          issued_on=D("2026-11-12"))
    inv_b0 = make_invoice(b, "400.00", issue_date=D("2026-09-01"), due_date=D("2026-10-01"))
    make_invoice(a, "80.00", issue=False)
    return {"a": a, "b": b, "c": c, "inv_a": inv_a, "inv_b": inv_b, "inv_c": inv_c, "void_b": void_b,
            "inv_b0": inv_b0, "invoices": Invoice.objects}
