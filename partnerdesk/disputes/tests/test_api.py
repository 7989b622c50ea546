"""The dispute cases API: a customer's user opens one on its own invoices only, within their open balances; an
agent adds an amount, upholds, rejects."""

import pytest

from partnerdesk.conftest import make_invoice
from partnerdesk.dunning.models import Dispute

pytestmark = pytest.mark.django_db


def test_a_customer_opens_a_dispute_case_on_its_own_invoice(api_client, tokens, customer_a, customer_b):
    mine, theirs = make_invoice(customer_a, "1000.00"), make_invoice(customer_b, "1000.00")
    alice = api_client.as_(tokens["customer_a"])
    body = {"invoices": [{"invoice_id": theirs.pk, "amount": "300.00"}], "reason": "seat count"}
    assert alice.post("/dispute-cases", body).status_code == 404
    body["invoices"][0] = {"invoice_id": mine.pk, "amount": "1000.01"}
    refused = alice.post("/dispute-cases", body)
    assert refused.status_code == 422 and refused.json()["field"] == "amount"
    assert not Dispute.objects.exists()

    body["invoices"][0]["amount"] = "300.00"
    opened = alice.post("/dispute-cases", body)
    assert opened.status_code == 201, opened.content
    out = opened.json()
    assert out["disputes"][0]["amount"] == "300.00" and out["disputes"][0]["still_counts"] == "700.00"
    assert api_client.as_(tokens["customer_b"]).get(f"/cases/{out['case_id']}/disputes").status_code == 404


def test_an_agent_adds_an_amount_and_finance_upholds(api_client, tokens, customer_a, users):
    invoice = make_invoice(customer_a, "1000.00")
    case = api_client.as_(tokens["billing_agent"]).post("/dispute-cases", {
        "customer_id": customer_a.pk, "invoices": [{"invoice_id": invoice.pk, "amount": "100.00"}],
        "reason": "called about seats", "requester_contact_id": customer_a.contacts.get().pk}).json()
    path = f"/cases/{case['case_id']}/disputes"
    changed = api_client.as_(tokens["billing_agent"]).post(path, {"invoice_id": invoice.pk, "amount": "250.00"})
    assert changed.status_code == 201 and changed.json()["disputes"][0]["amount"] == "250.00"
    assert api_client.as_(tokens["billing_agent"]).post(path + "/uphold", {"amount": "250.00"}).status_code == 403
    upheld = api_client.as_(tokens["finance"]).post(path + "/uphold", {"amount": "250.00", "message": "Agreed."})
    assert upheld.status_code == 200, upheld.content
    dispute = upheld.json()["disputes"][0]
    assert dispute["outcome"] == "upheld" and dispute["credit_note_number"].startswith("CN-")
    assert dispute["still_counts"] == "750.00"  # decided: the whole balance left counts again
    again = api_client.as_(tokens["finance"]).post(path + "/reject", {})
    assert again.status_code == 409 and again.json()["field"] == "dispute_id"
