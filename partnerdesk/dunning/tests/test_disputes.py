"""A disputed invoice and the customer's money: payments and credit on account are not applied to it unasked
while the dispute is open, and are once it is resolved."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.billing.models import InvoiceStatus
from partnerdesk.billing.services import customer_balance, record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.dunning.services import open_dispute, resolve_dispute

pytestmark = pytest.mark.django_db


def pay(customer, amount, **kw):
    return record_payment(customer=customer, amount=amount, received_on=dt.date(2026, 11, 20), method="bank_transfer",
                          actor=None, **kw).payment


def test_paying_the_rest_leaves_the_disputed_invoice_alone_until_the_dispute_is_resolved():
    customer = make_customer("Alpine Ski House 哈尔滨")
    contested = make_invoice(customer, "500.00", issue_date=dt.date(2026, 9, 1))  # the oldest: first in line
    accepted = make_invoice(customer, "300.00", issue_date=dt.date(2026, 10, 1))
    open_dispute(invoice=contested, reason="Seats billed after cancellation", actor=None)

    payment = pay(customer, "800.00")
    contested.refresh_from_db()
    accepted.refresh_from_db()
    payment.refresh_from_db()
    assert accepted.status == InvoiceStatus.PAID
    assert contested.status == InvoiceStatus.ISSUED and contested.balance == Decimal("500.00")
    assert payment.unallocated == Decimal("500.00")  # credit on account, not applied to what is contested
    assert customer_balance(customer) == 0  # the customer owes nothing net

    later = make_invoice(customer, "100.00", issue_date=dt.date(2026, 11, 1))  # credit applies to new invoices...
    later.refresh_from_db()
    contested.refresh_from_db()
    assert later.status == InvoiceStatus.PAID and contested.balance == Decimal("500.00")  # ...but still not this one

    resolve_dispute(contested.disputes.get(), resolution="Seats were in use: the invoice stands", actor=None)
    contested.refresh_from_db()
    payment.refresh_from_db()
    assert contested.status == InvoiceStatus.PARTIALLY_PAID and contested.balance == Decimal("100.00")
    assert payment.unallocated == 0


def test_a_payment_the_customer_allocates_to_the_disputed_invoice_is_applied_to_it():
    customer = make_customer("Coho Winery 烟台")
    contested = make_invoice(customer, "500.00", issue_date=dt.date(2026, 9, 1))
    open_dispute(invoice=contested, reason="Wrong price", actor=None)
    pay(customer, "200.00", allocations=[(contested, "200.00")])
    contested.refresh_from_db()
    assert contested.balance == Decimal("300.00")
