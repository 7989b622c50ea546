"""Dispute cases on the web: a customer disputes part of an invoice from the portal and follows the case in its
Support list; an agent works the dispute panel on the case page (add an amount, uphold with a credit note,
reject with the date collections resume)."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from partnerdesk.conftest import make_invoice
from partnerdesk.disputes import services
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.support import services as support
from partnerdesk.support.models import Case, CaseType, Channel


def signed_in(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_portal_user_disputes_300_of_a_1000_invoice_and_sees_the_case_in_support(customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    client = signed_in(users["customer_a"])
    page = client.get(reverse("portal_invoice_detail", args=[invoice.pk])).content.decode()
    assert reverse("portal_invoice_dispute", args=[invoice.pk]) in page  # "Dispute this invoice"
    form = client.get(reverse("portal_invoice_dispute", args=[invoice.pk]))
    assert form.status_code == 200 and 'value="1000.00"' in form.content.decode()  # the open balance by default

    response = client.post(reverse("portal_invoice_dispute", args=[invoice.pk]), {
        "amount": "300.00", "reason": "5 seats removed in October",
        "attachments": SimpleUploadedFile("seats.pdf", b"%PDF-1.4 seats")})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("portal_support_case", args=[case.pk])
    assert case.type == CaseType.INVOICE_DISPUTE and case.channel == Channel.PORTAL
    assert list(case.invoices.all()) == [invoice] and case.attachments.get().filename == "seats.pdf"
    dispute = Dispute.objects.get()
    assert (dispute.case, dispute.status, dispute.amount) == (case, HoldStatus.OPEN, Decimal("300.00"))
    assert case.token in client.get(reverse("portal_support")).content.decode()
    # The invoice page now says it is disputed, and offers no second dispute.
    page = client.get(reverse("portal_invoice_detail", args=[invoice.pk])).content.decode()
    assert case.token in page and reverse("portal_invoice_dispute", args=[invoice.pk]) not in page


@pytest.mark.django_db
def test_more_than_the_open_balance_is_refused_naming_the_amount(customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    response = signed_in(users["customer_a"]).post(reverse("portal_invoice_dispute", args=[invoice.pk]),
                                                   {"amount": "1000.01", "reason": "all wrong"})
    assert response.status_code == 400
    assert response.context["form"].errors["amount"] == ["Invoice INV-2026-000001 has only 1000.00 open."]
    assert not Case.objects.exists() and not Dispute.objects.exists()


@pytest.mark.django_db
def test_another_customers_invoice_is_not_found(customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    client = signed_in(users["customer_b"])
    assert client.get(reverse("portal_invoice_dispute", args=[invoice.pk])).status_code == 404
    assert client.post(reverse("portal_invoice_dispute", args=[invoice.pk]),
                       {"amount": "10.00", "reason": "x"}).status_code == 404
    assert not Dispute.objects.exists()


@pytest.mark.django_db
def test_the_agent_works_the_dispute_panel(customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    case = support.open_case(customer=customer_a, subject="Seats", description="Why 25 seats?",
                             actor=users["customer_a"])
    agent, finance = signed_in(users["billing_agent"]), signed_in(users["finance"])
    page = agent.get(reverse("support_case", args=[case.pk])).content.decode()
    assert 'id="disputes"' in page and 'id="dispute-add-form"' in page

    agent.post(reverse("support_dispute_add", args=[case.pk]), {
        "dispute-add-invoice": invoice.pk, "dispute-add-amount": "300.00", "dispute-add-reason": "seat count"})
    dispute = Dispute.objects.get()
    assert dispute.amount == Decimal("300.00") and dispute.case == case
    page = agent.get(reverse("support_case", args=[case.pk])).content.decode()
    assert "¥300.00" in page and "¥700.00" in page  # disputed, and what still counts for collections
    assert "uphold-form" not in page  # a billing agent cannot issue credit notes

    # Too much: refused with the service's words, nothing changes.
    response = finance.post(reverse("support_dispute_uphold", args=[case.pk]), {
        "dispute-uphold-dispute": dispute.pk, "dispute-uphold-amount": "300.01"}, follow=True)
    assert "Only 300.00 is disputed." in response.content.decode()
    finance.post(reverse("support_dispute_uphold", args=[case.pk]), {
        "dispute-uphold-dispute": dispute.pk, "dispute-uphold-amount": "300.00",
        "dispute-uphold-message": "Sorry about that."})
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.outcome == DisputeOutcome.UPHELD and invoice.balance == Decimal("700.00")
    case.refresh_from_db()
    assert case.status == "resolved" and "Sorry about that." in case.resolution_message.body


@pytest.mark.django_db
def test_the_agent_rejects_from_the_panel_with_a_resume_date(customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    case = services.open_dispute_case(customer=customer_a, actor=users["customer_a"], amounts=[(invoice, "1000.00")],
                                      reason="never ordered", channel=Channel.PORTAL)
    agent = signed_in(users["collections"])
    assert 'id="dispute-reject-form"' in agent.get(reverse("support_case", args=[case.pk])).content.decode()
    agent.post(reverse("support_dispute_reject", args=[case.pk]), {
        "dispute-reject-resume_on": "2026-12-21", "dispute-reject-message": ""})
    dispute = Dispute.objects.get()
    assert dispute.outcome == DisputeOutcome.REJECTED and str(dispute.resume_on) == "2026-12-21"
    case.refresh_from_db()
    assert "2026年12月21日" in case.resolution_message.body  # the case's language: Chinese
