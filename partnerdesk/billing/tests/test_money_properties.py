"""Property tests: however payments, invoices, credit notes and refunds interleave, the ledger adds up."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from partnerdesk.billing.models import Allocation, CreditNote, Invoice, InvoiceStatus, Payment, Refund
from partnerdesk.billing.money import MoneyField, to_money
from partnerdesk.billing.services import (
    customer_balance,
    issue_credit_note,
    record_payment,
    refund_payment,
    statement,
)
from partnerdesk.conftest import make_customer, make_invoice

cents = st.integers(min_value=1, max_value=5_000_00).map(lambda c: Decimal(c).scaleb(-2))
operation = st.one_of(
    st.tuples(st.just("invoice"), cents),
    st.tuples(st.just("payment"), cents),
    st.tuples(st.just("payment_to_newest"), cents),
    st.tuples(st.just("credit"), st.integers(1, 100)),  # percent of the newest open invoice's balance
    st.tuples(st.just("refund"), st.integers(1, 100)),  # percent of the largest unallocated credit
)


class LedgerProperties(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(operation, min_size=1, max_size=12))
    def test_ledger_never_drifts(self, ops):
        customer = make_customer()
        day = timezone.localdate() - dt.timedelta(days=60)  # (12 operations, 3 days apart: up to today)
        for kind, value in ops:
            day += dt.timedelta(days=3)
            if kind == "invoice":
                make_invoice(customer, str(value), issue_date=day)
            elif kind == "payment":
                record_payment(customer=customer, amount=value, received_on=day, method="alipay", actor=None)
            elif kind == "payment_to_newest":
                newest = Invoice.objects.filter(customer=customer, status__in=["issued", "partially_paid"]).order_by("-id").first()
                if newest is None:
                    continue
                part = min(value, newest.balance)
                record_payment(customer=customer, amount=value, received_on=day, method="wechat_pay", actor=None,
                               allocations=[(newest, part)])
            elif kind == "credit":
                newest = Invoice.objects.filter(customer=customer, status__in=["issued", "partially_paid"]).order_by("-id").first()
                amount = to_money(newest.balance * value / 100) if newest else Decimal(0)
                if amount > 0:
                    issue_credit_note(invoice=newest, amount=amount, reason="adjustment", actor=None, issued_on=day)
            elif kind == "refund":
                payments = [p for p in Payment.objects.filter(customer=customer) if p.unallocated > 0]
                if payments:
                    p = max(payments, key=lambda p: p.unallocated)
                    amount = to_money(p.unallocated * value / 100)
                    if amount > 0:
                        refund_payment(payment=p, amount=amount, reason="refund", actor=None, refunded_on=day)
        self.assert_ledger_adds_up(customer, day)

    def assert_ledger_adds_up(self, customer, day):
        def total(qs, field="amount"):
            return sum((getattr(o, field) for o in qs), Decimal("0.00"))

        for payment in Payment.objects.filter(customer=customer):
            allocated = total(payment.allocations.all())
            # allocations always sum to the payment: applied + refunded + credit on account = amount
            assert allocated == payment.allocated_amount
            assert allocated + payment.refunded_amount + payment.unallocated == payment.amount
            assert payment.unallocated >= 0
        open_credit = total(Payment.objects.filter(customer=customer), "unallocated")
        for invoice in Invoice.objects.filter(customer=customer):
            applied = total(invoice.allocations.all())
            assert invoice.amount_paid == applied
            assert invoice.balance == invoice.total - applied >= 0
            expected = InvoiceStatus.PAID if invoice.balance == 0 else (
                InvoiceStatus.ISSUED if applied == 0 else InvoiceStatus.PARTIALLY_PAID)
            assert invoice.status == expected
            # oldest-due-first: credit is never left on account while an invoice is open
            if invoice.balance > 0:
                assert open_credit == 0
        invoiced = total(Invoice.objects.filter(customer=customer), "total")
        paid = total(Payment.objects.filter(customer=customer))
        credited = total(CreditNote.objects.filter(customer=customer))
        refunded = total(Refund.objects.filter(customer=customer))
        expected_balance = invoiced - paid - credited + refunded
        assert customer_balance(customer) == expected_balance
        assert statement(customer, as_of=day).balance == expected_balance
        # no float anywhere: every stored amount is a Decimal with exactly two places
        for model, fields in [(Invoice, ["total", "balance", "amount_paid"]), (Payment, ["amount", "allocated_amount"]),
                              (Allocation, ["amount"])]:
            for row in model.objects.values(*fields):
                for value in row.values():
                    assert isinstance(value, Decimal) and value.as_tuple().exponent == -2


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_never_becomes_money(value):
    with pytest.raises(TypeError):
        to_money(value)
    with pytest.raises(TypeError):
        MoneyField(name="amount").get_prep_value(value)


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False))
def test_money_is_quantized_to_the_minor_unit(value):
    money = to_money(value)
    assert money.as_tuple().exponent == -2
    assert abs(money - value) <= Decimal("0.005")
