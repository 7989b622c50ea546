"""What a review of the new back-office pages found: each a test that failed before its fix."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerdesk.billing.models import CreditNote, Refund
from partnerdesk.billing.services import record_payment

from .factories import client_for, make_invoice


@pytest.mark.parametrize("amount", ["1e400", "9" * 27, "1_000", "١٢٣", "１２３"])
def test_an_absurd_amount_on_a_page_is_a_form_error_not_a_500(people, acme, amount):
    invoice = make_invoice(acme, "1000.00")
    resp = client_for(people["finance"]).post(reverse("credit_note_new", args=[invoice.pk]), {
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000",
        "lines-0-description": "x", "lines-0-amount": amount, "reason": "x"})
    assert resp.status_code == 200
    assert not CreditNote.objects.exists()


def test_a_refund_form_sent_twice_refunds_once(people, acme):
    credit = record_payment(customer=acme, amount="500.00", received_on=dt.date(2026, 11, 21), method="bank_transfer",
                            actor=None).payment
    finance = client_for(people["finance"])
    form = {"amount": "100.00", "method": "bank_transfer", "reason": "overpaid", "form_key": "refund-1"}
    assert finance.post(reverse("payment_refund", args=[credit.pk]), form).status_code == 302
    assert finance.post(reverse("payment_refund", args=[credit.pk]), form).status_code == 302
    assert Refund.objects.count() == 1
    credit.refresh_from_db()
    assert credit.refunded_amount == Decimal("100.00")


def test_a_non_ascii_digit_in_a_posted_id_is_not_a_500(people, acme):
    collections = client_for(people["collections"])
    assert collections.post(reverse("operator_requests_retry"), {"request": "²"}).status_code == 302
    assert collections.post(reverse("calls_complete", args=[acme.pk]), {"call": "²"}).status_code == 404


def test_a_customer_user_gets_404_disputing_its_own_draft(api_client, tokens, customer_a):
    from partnerdesk.conftest import make_invoice as make

    draft = make(customer_a, "10.00", issue=False)
    resp = api_client.as_(tokens["customer_a"]).post(f"/invoices/{draft.pk}/disputes", {"reason": "x"})
    assert resp.status_code == 404


def test_the_customer_page_heading_shows_suspended_and_overdue_not_active(people, acme, invoices):
    from partnerdesk.customers.models import Subscription

    Subscription.objects.create(customer=acme, operator_id="sub-heading-1", offer_name="Microsoft 365 E3", quantity=1,
                                unit_price=Decimal("100.00"), status="suspended")
    page = client_for(people["billing_agent"]).get(reverse("customer_detail", args=[acme.pk]))
    heading = page.content.decode().split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert "Suspended" in heading and "Overdue" in heading and "Active" not in heading
