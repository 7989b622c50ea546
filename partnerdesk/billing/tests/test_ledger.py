"""The ledger: allocation, balances, idempotent payments, credit notes, refunds, statements."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, InvoiceStatus, Payment
from partnerdesk.billing.services import (
    customer_balance,
    issue_credit_note,
    record_payment,
    refund_payment,
    statement,
    void_invoice,
)
from partnerdesk.conftest import make_invoice
from partnerdesk.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def pay(customer, amount, **kw):
    kw.setdefault("received_on", dt.date(2026, 11, 1))
    kw.setdefault("method", "bank_transfer")
    return record_payment(customer=customer, amount=amount, actor=None, **kw)


def test_invoice_numbers_are_sequential_per_year(customer_a):
    a = make_invoice(customer_a, issue_date=dt.date(2026, 1, 5))
    b = make_invoice(customer_a, issue_date=dt.date(2026, 2, 5))
    c = make_invoice(customer_a, issue_date=dt.date(2027, 1, 5))
    assert [a.number, b.number, c.number] == ["INV-2026-000001", "INV-2026-000002", "INV-2027-000001"]
    assert a.due_date == dt.date(2026, 2, 4)  # net 30


def test_payment_applies_oldest_due_first_and_keeps_credit(customer_a):
    old = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    new = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    result = pay(customer_a, "1000.00")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, old.balance) == (InvoiceStatus.PAID, Decimal("0.00"))
    assert (new.status, new.balance) == (InvoiceStatus.PAID, Decimal("0.00"))
    assert result.payment.unallocated == Decimal("200.00")
    assert customer_balance(customer_a) == Decimal("-200.00")
    # Credit on account pays the next invoice as soon as it is issued.
    nxt = make_invoice(customer_a, "250.00", issue_date=dt.date(2026, 11, 2))
    nxt.refresh_from_db()
    assert (nxt.status, nxt.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("50.00"))
    assert customer_balance(customer_a) == Decimal("50.00")


def test_explicit_allocation_is_honoured(customer_a):
    old = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    new = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    pay(customer_a, "500.00", allocations=[(new, "500.00")])
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.balance == Decimal("300.00") and new.status == InvoiceStatus.PAID


def test_same_idempotency_key_records_one_payment(customer_a):
    make_invoice(customer_a, "300.00")
    first = pay(customer_a, "100.00", idempotency_key="bank-ref-42")
    again = pay(customer_a, "100.00", idempotency_key="bank-ref-42")
    assert first.created and not again.created
    assert again.payment.pk == first.payment.pk
    assert Payment.objects.count() == 1
    assert customer_balance(customer_a) == Decimal("200.00")
    assert AuditEntry.objects.filter(action="payment.recorded").count() == 1
    with pytest.raises(Conflict):
        pay(customer_a, "999.00", idempotency_key="bank-ref-42")


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.001", "abc", "NaN", 12.5])
def test_bad_amounts_are_refused_and_nothing_is_written(customer_a, amount):
    with pytest.raises(InvalidInput) as err:
        pay(customer_a, amount)
    assert err.value.field == "amount"
    assert Payment.objects.count() == 0 and not AuditEntry.objects.filter(action="payment.recorded").exists()


def test_unknown_currency_is_refused(customer_a):
    with pytest.raises(InvalidInput) as err:
        pay(customer_a, "10.00", currency="USD")
    assert err.value.field == "currency"


def test_credit_note_refund_and_void(customer_a):
    inv = make_invoice(customer_a, "1000.00")
    issue_credit_note(invoice=inv, amount="100.00", reason="Seat count was wrong", actor=None)
    inv.refresh_from_db()
    assert inv.balance == Decimal("900.00") and inv.status == InvoiceStatus.PARTIALLY_PAID
    p = pay(customer_a, "950.00").payment
    assert p.unallocated == Decimal("50.00")
    refund_payment(payment=p, amount="50.00", reason="Overpaid", actor=None)
    assert customer_balance(customer_a) == Decimal("0.00")
    with pytest.raises(InvalidInput):
        refund_payment(payment=p, amount="0.01", reason="again", actor=None)
    draft = make_invoice(customer_a, "10.00", issue=False)
    with pytest.raises(InvalidInput):
        void_invoice(draft, actor=None, reason=" ")
    void_invoice(draft, actor=None, reason="Created by mistake")
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.VOID and draft.balance == 0
    with pytest.raises(Conflict):
        void_invoice(inv, actor=None, reason="paid invoices cannot be voided")


def test_statement_for_a_past_date(customer_a):
    inv1 = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    pay(customer_a, "100.00", received_on=dt.date(2026, 8, 20))
    pay(customer_a, "700.00", received_on=dt.date(2026, 10, 15))
    st = statement(customer_a, as_of=dt.date(2026, 9, 30))
    assert [line.kind for line in st.lines] == ["invoice", "payment", "invoice"]
    assert st.balance == Decimal("700.00")
    assert [(i.invoice.pk, i.balance) for i in st.open_items][0] == (inv1.pk, Decimal("200.00"))
    assert st.open_items[0].days_overdue == (dt.date(2026, 9, 30) - inv1.due_date).days
    assert statement(customer_a, as_of=dt.date(2026, 10, 31)).balance == Decimal("0.00")


def test_a_statement_before_a_void_still_shows_the_invoice_as_owed(customer_a):
    import time_machine

    kept = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    mistaken = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    with time_machine.travel(dt.datetime(2026, 10, 10, 12, tzinfo=dt.UTC), tick=False):
        void_invoice(mistaken, actor=None, reason="Billed the wrong customer")
    mistaken.refresh_from_db()
    assert mistaken.voided_on == dt.date(2026, 10, 10)

    before = statement(customer_a, as_of=dt.date(2026, 9, 30))
    assert [line.reference for line in before.lines] == [kept.number, mistaken.number]
    assert before.balance == Decimal("800.00")
    assert [i.invoice.pk for i in before.open_items] == [kept.pk, mistaken.pk]
    after = statement(customer_a, as_of=dt.date(2026, 10, 10))
    assert [line.reference for line in after.lines] == [kept.number]
    assert after.balance == Decimal("300.00")


def test_every_ledger_change_is_audited(customer_a):
    inv = make_invoice(customer_a, "300.00")
    pay(customer_a, "300.00")
    actions = set(AuditEntry.objects.filter(customer=customer_a).values_list("action", flat=True))
    assert {"customer.created", "invoice.created", "invoice.issued", "payment.recorded", "payment.allocated"} <= actions
    entry = AuditEntry.objects.get(action="invoice.issued", object_id=str(inv.pk))
    assert entry.before["status"] == "draft" and entry.after["status"] == "issued"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_invoice_balance_check_constraint_holds(customer_a):
    from django.db import IntegrityError, transaction

    inv = make_invoice(customer_a, "300.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(balance=Decimal("1.00"))


def test_the_migration_dates_earlier_voids_from_the_audit_log(customer_a):
    import importlib

    import time_machine
    from django.apps import apps

    migration = importlib.import_module("partnerdesk.billing.migrations.0006_invoice_voided_on")
    invoice = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    # 17:30 UTC on 10 October is already 11 October in Shanghai, the partner's day.
    with time_machine.travel(dt.datetime(2026, 10, 10, 17, 30, tzinfo=dt.UTC), tick=False):
        void_invoice(invoice, actor=None, reason="Duplicate")
    Invoice.objects.filter(pk=invoice.pk).update(voided_on=None)  # as voided before the field existed
    migration.from_the_audit_log(apps, None)
    invoice.refresh_from_db()
    assert invoice.voided_on == dt.date(2026, 10, 11)


def test_a_payment_used_up_by_a_refund_and_an_allocation_is_accepted_to_the_fen(customer_a):
    # Found by the ledger property test: in floating point (SQLite's checks) 18.02 + 44.13 > 62.15.
    payment = pay(customer_a, "62.15").payment
    refund_payment(payment=payment, amount="44.13", reason="overpaid", actor=None)
    invoice = make_invoice(customer_a, "18.02")  # the credit left on account pays it at issue
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert (payment.allocated_amount, payment.refunded_amount, payment.unallocated) == (
        Decimal("18.02"), Decimal("44.13"), Decimal("0.00"))
    assert invoice.status == InvoiceStatus.PAID and customer_balance(customer_a) == 0
