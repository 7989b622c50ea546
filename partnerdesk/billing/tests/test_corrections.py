"""Corrections to the ledger: editing a draft, credit notes with lines, reversing a payment, moving an allocation."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import CreditNote, InvoiceStatus
from partnerdesk.billing.services import (
    CreditLineInput,
    LineInput,
    balances,
    customer_balance,
    issue_credit_note,
    issue_invoice,
    move_allocation,
    record_payment,
    refund_payment,
    reverse_payment,
    statement,
    update_draft,
)
from partnerdesk.conftest import make_invoice
from partnerdesk.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def pay(customer, amount, **kw):
    kw.setdefault("received_on", dt.date(2026, 11, 1))
    kw.setdefault("method", "bank_transfer")
    return record_payment(customer=customer, amount=amount, actor=None, **kw).payment


# --- drafts --------------------------------------------------------------------------------------------------


def test_a_draft_s_lines_and_dates_are_replaced_and_audited(customer_a):
    draft = make_invoice(customer_a, "100.00", issue=False)
    update_draft(draft, actor=None, reason="seat count corrected", due_date=dt.date(2026, 12, 31), notes="Nov",
                 lines=[LineInput("Microsoft 365 E3", Decimal("12"), Decimal("38.00"), Decimal("0.06")),
                        LineInput("Azure", Decimal("1"), Decimal("500.00"))])
    draft.refresh_from_db()
    assert [line.description for line in draft.lines.all()] == ["Microsoft 365 E3", "Azure"]
    assert (draft.subtotal, draft.tax_total, draft.total, draft.balance) == (
        Decimal("956.00"), Decimal("27.36"), Decimal("983.36"), Decimal("983.36"))
    assert draft.status == InvoiceStatus.DRAFT and draft.due_date == dt.date(2026, 12, 31) and draft.notes == "Nov"
    entry = AuditEntry.objects.get(action="invoice.draft_updated")
    assert entry.before["total"] == "100.00" and entry.after["total"] == "983.36"
    assert len(entry.after["lines"]) == 2 and entry.reason == "seat count corrected"


def test_only_a_draft_can_be_edited_and_a_bad_line_changes_nothing(customer_a):
    issued = make_invoice(customer_a, "100.00")
    with pytest.raises(Conflict):
        update_draft(issued, actor=None, lines=[LineInput("x", Decimal("1"), Decimal("1.00"))])
    draft = make_invoice(customer_a, "100.00", issue=False)
    with pytest.raises(InvalidInput) as exc:
        update_draft(draft, actor=None, lines=[LineInput("ok", Decimal("1"), Decimal("5.00")),
                                               LineInput("bad", Decimal("0"), Decimal("5.00"))])
    assert exc.value.field == "lines[1].quantity"
    draft.refresh_from_db()
    assert draft.total == Decimal("100.00") and draft.lines.count() == 1


# --- credit notes with lines ---------------------------------------------------------------------------------


def test_a_credit_note_with_lines_credits_their_sum(customer_a):
    invoice = make_invoice(customer_a, "1000.00")
    note = issue_credit_note(invoice=invoice, reason="seats billed twice", actor=None,
                             lines=[CreditLineInput("2 seats E3, November", "76.00"),
                                    CreditLineInput("Goodwill", "24.00")])
    assert note.amount == Decimal("100.00")
    assert [(line.description, line.amount) for line in note.lines.all()] == [
        ("2 seats E3, November", Decimal("76.00")), ("Goodwill", Decimal("24.00"))]
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("900.00")
    assert AuditEntry.objects.get(action="credit_note.issued").after["lines"][1]["amount"] == "24.00"


def test_an_amount_alone_is_one_line_and_lines_must_match_a_given_amount(customer_a):
    invoice = make_invoice(customer_a, "1000.00")
    note = issue_credit_note(invoice=invoice, amount="50.00", reason="goodwill", actor=None)
    assert [(line.description, line.amount) for line in note.lines.all()] == [("goodwill", Decimal("50.00"))]
    with pytest.raises(InvalidInput) as exc:
        issue_credit_note(invoice=invoice, amount="60.00", reason="x", actor=None,
                          lines=[CreditLineInput("a", "50.00")])
    assert exc.value.field == "amount"
    with pytest.raises(InvalidInput):
        issue_credit_note(invoice=invoice, reason="x", actor=None, lines=[CreditLineInput("a", "5000.00")])
    assert CreditNote.objects.count() == 1


# --- reversing a payment -------------------------------------------------------------------------------------


def test_reversing_a_payment_undoes_its_allocations_and_reopens_the_invoices(customer_a):
    old = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    new = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    assert customer_balance(customer_a) == Decimal("800.00")
    payment = pay(customer_a, "900.00", reference="WX-1")  # 300 + 500 applied, 100 credit on account
    assert customer_balance(customer_a) == Decimal("-100.00")

    reverse_payment(payment, reason="recorded twice", actor=None)

    payment.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert payment.reversed_on is not None and payment.reversal_reason == "recorded twice"
    assert payment.allocated_amount == 0 and payment.unallocated == 0 and not payment.allocations.exists()
    assert (old.status, old.balance, new.status, new.balance) == (
        InvoiceStatus.ISSUED, Decimal("300.00"), InvoiceStatus.ISSUED, Decimal("500.00"))
    assert customer_balance(customer_a) == Decimal("800.00")  # the balance is back, no credit left
    assert balances(customer_a)[1] == Decimal("800.00")  # and overdue again
    entry = AuditEntry.objects.get(action="payment.reversed")
    assert entry.reason == "recorded twice"
    assert {u["invoice"] for u in entry.after["allocations_undone"]} == {old.number, new.number}
    assert AuditEntry.objects.filter(action="invoice.reopened").count() == 2
    # The statement keeps the payment and shows its reversal.
    kinds = [line.kind for line in statement(customer_a).lines]
    assert "payment" in kinds and "payment_reversal" in kinds
    assert statement(customer_a).balance == Decimal("800.00")


def test_a_reversed_payment_is_not_credit_for_the_next_invoice_and_cannot_be_reversed_twice(customer_a):
    payment = pay(customer_a, "200.00")  # nothing owed: all credit on account
    reverse_payment(payment, reason="wrong customer", actor=None)
    invoice = make_invoice(customer_a, "150.00")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("150.00")
    with pytest.raises(Conflict):
        reverse_payment(payment, reason="again", actor=None)
    with pytest.raises(Conflict):
        refund_payment(payment=payment, amount="10.00", reason="x", actor=None)
    with pytest.raises(InvalidInput) as exc:
        reverse_payment(pay(customer_a, "5.00"), reason=" ", actor=None)
    assert exc.value.field == "reason"


def test_a_refunded_payment_cannot_be_reversed(customer_a):
    payment = pay(customer_a, "200.00")
    refund_payment(payment=payment, amount="50.00", reason="overpaid", actor=None)
    with pytest.raises(Conflict):
        reverse_payment(payment, reason="x", actor=None)


def test_reversal_keeps_credit_notes_on_the_invoice(customer_a):
    invoice = make_invoice(customer_a, "1000.00")
    issue_credit_note(invoice=invoice, amount="100.00", reason="goodwill", actor=None)
    payment = pay(customer_a, "900.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    reverse_payment(payment, reason="bounced", actor=None)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        InvoiceStatus.PARTIALLY_PAID, Decimal("100.00"), Decimal("900.00"))


# --- moving an allocation ------------------------------------------------------------------------------------


def test_moving_an_allocation_to_another_invoice(customer_a):
    first = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    second = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 9, 1))
    payment = pay(customer_a, "300.00")  # applied to the first, oldest due
    move_allocation(payment, from_invoice=first, to_invoice=second, amount="200.00", reason="customer paid INV 2",
                    actor=None)
    first.refresh_from_db()
    second.refresh_from_db()
    payment.refresh_from_db()
    assert (first.balance, first.status) == (Decimal("200.00"), InvoiceStatus.PARTIALLY_PAID)
    assert (second.balance, second.status) == (Decimal("300.00"), InvoiceStatus.PARTIALLY_PAID)
    assert payment.allocated_amount == Decimal("300.00")
    assert sorted(payment.allocations.values_list("amount", flat=True)) == [Decimal("100.00"), Decimal("200.00")]
    assert customer_balance(customer_a) == Decimal("500.00")
    entry = AuditEntry.objects.get(action="payment.allocation_moved")
    assert entry.after == {"from_invoice": first.number, "to_invoice": second.number, "amount": "200.00"}
    # All that is left, by default.
    move_allocation(payment, from_invoice=first, to_invoice=second, reason="all of it", actor=None)
    first.refresh_from_db()
    assert first.balance == Decimal("300.00") and first.status == InvoiceStatus.ISSUED


def test_moving_refuses_what_does_not_fit(customer_a, customer_b):
    first = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    second = make_invoice(customer_a, "100.00", issue_date=dt.date(2026, 9, 1))
    elsewhere = make_invoice(customer_b, "100.00")
    payment = pay(customer_a, "300.00")
    for kwargs, field in [({"to_invoice": second, "amount": "150.00"}, "amount"),
                          ({"to_invoice": second, "amount": "400.00"}, "amount"),
                          ({"to_invoice": elsewhere}, "to_invoice_id"),
                          ({"to_invoice": first}, "to_invoice_id")]:
        with pytest.raises(InvalidInput) as exc:
            move_allocation(payment, from_invoice=first, actor=None, reason="x", **kwargs)
        assert exc.value.field == field, kwargs
    with pytest.raises(InvalidInput) as exc:
        move_allocation(payment, from_invoice=second, to_invoice=first, actor=None, reason="x")
    assert exc.value.field == "from_invoice_id"
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAID


def test_reverse_and_move_through_the_api(api_client, tokens, customer_a):
    first = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 8, 1))
    second = make_invoice(customer_a, "300.00", issue_date=dt.date(2026, 9, 1))
    payment = pay(customer_a, "300.00")
    finance = api_client.as_(tokens["finance"])
    resp = finance.post(f"/payments/{payment.pk}/allocations/move",
                        {"from_invoice_id": first.pk, "to_invoice_id": second.pk, "reason": "paid INV 2"})
    assert resp.status_code == 200, resp.content
    assert [a["invoice_number"] for a in resp.json()["allocations"]] == [second.number]
    resp = finance.post(f"/payments/{payment.pk}/reverse", {"reason": "bounced"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["reversed_on"] and body["allocations"] == [] and body["unallocated"] == "0.00"
    resp = finance.post(f"/payments/{payment.pk}/reverse", {"reason": "again"})
    assert resp.status_code == 409


def test_issue_after_draft_edit_through_the_api(api_client, tokens, customer_a):
    draft = make_invoice(customer_a, "80.00", issue=False)
    from django.test import Client

    c = Client()  # (the api_client fixture has no PUT)
    resp = c.generic("PUT", f"/api/v1/invoices/{draft.pk}", '{"lines": [{"description": "Azure", "unit_price": "120.00"}]}',
                     content_type="application/json", headers={"Authorization": f"Bearer {tokens['billing_agent']}"})
    assert resp.status_code == 200, resp.content
    assert resp.json()["total"] == "120.00"
    issue_invoice(draft, actor=None)
    resp = c.generic("PUT", f"/api/v1/invoices/{draft.pk}", '{"lines": [{"description": "Azure", "unit_price": "1.00"}]}',
                     content_type="application/json", headers={"Authorization": f"Bearer {tokens['billing_agent']}"})
    assert resp.status_code == 409


# --- what collections does after a reversal ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_reversed_payment_cancels_the_reactivation_it_queued(customer_a, operator):
    """The payment cleared the overdue balance and queued a reactivation the operator could not carry out yet;
    reversed, the customer is overdue again and the subscription stays suspended."""
    from partnerdesk.customers.models import Subscription
    from partnerdesk.dunning.models import OperatorRequest

    resource = operator.add_subscription(customer_a, offerName="Microsoft 365 E3", status="suspended")
    sub = Subscription.objects.create(customer=customer_a, operator_id=resource["id"], offer_name="Microsoft 365 E3",
                                      status="suspended", suspension_reason="non_payment")
    make_invoice(customer_a, "1280.00", issue_date=dt.date(2026, 8, 1))  # due 2026-08-31: overdue
    operator.queue_faults([{"status": 503}] * 10, methods=["PATCH"])  # the operator is down
    payment = pay(customer_a, "1280.00")
    request = OperatorRequest.objects.get(subscription=sub, action=OperatorRequest.REACTIVATE)
    assert request.status == "pending"

    reverse_payment(payment, reason="the transfer bounced", actor=None)

    request.refresh_from_db()
    assert request.status == "cancelled" and "overdue again" in request.last_error
    operator.simulator.clear_faults()
    sub.refresh_from_db()
    assert sub.status == "suspended" and operator.status(sub) == "suspended"
    assert balances(customer_a)[1] == Decimal("1280.00")
