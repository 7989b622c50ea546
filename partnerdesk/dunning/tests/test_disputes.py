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


def test_a_promise_to_pay_must_be_for_what_is_owed_and_within_a_year():
    import time_machine

    from partnerdesk.dunning.models import PromiseToPay
    from partnerdesk.dunning.services import add_promise
    from partnerdesk.errors import InvalidInput

    customer = make_customer("Fabrikam Residences 南宁")
    invoice = make_invoice(customer, "500.00", issue_date=dt.date(2026, 10, 1))
    make_invoice(customer, "300.00", issue_date=dt.date(2026, 10, 15))
    with time_machine.travel(dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC), tick=False):
        for kwargs, field in [({"amount": "800.01"}, "amount"),  # more than the customer owes
                              ({"amount": "500.01", "invoice": invoice}, "amount"),  # more than the invoice's balance
                              ({"amount": "100.00", "promised_date": dt.date(2027, 11, 26)}, "promised_date")]:
            with pytest.raises(InvalidInput) as refused:
                add_promise(customer=customer, actor=None, **{"promised_date": dt.date(2026, 12, 15), **kwargs})
            assert refused.value.field == field
        assert not PromiseToPay.objects.exists()
        add_promise(customer=customer, amount="800.00", promised_date=dt.date(2027, 11, 24), actor=None)  # all, in a year
        assert PromiseToPay.objects.count() == 1
