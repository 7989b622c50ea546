"""The payables API: finance records an operator invoice, sets its due date, pays it; every staff role reads the
figures and the standing; customers are refused."""

import json

import pytest

from partnerdesk.payables.models import OperatorPayment

from .conftest import operator_invoice

pytestmark = pytest.mark.django_db

INVOICE = {"number": "21V-202608-H", "billing_date": "2026-09-01", "period_start": "2026-08-01",
           "period_end": "2026-08-31", "amount": "100000.00"}


def put(client, token, path, body):
    return client.generic("PUT", "/api/v1" + path, json.dumps(body), content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})


def test_finance_records_pays_and_everyone_on_staff_reads(api_client, tokens, calendar_2026):
    finance = api_client.as_(tokens["finance"])
    created = finance.post("/payables/invoices", INVOICE)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["due_date"], body["pay_by"], body["due_date_set"]) == ("2026-10-01", "2026-10-08", False)
    assert (body["amount"], body["status"], body["payments"]) == ("100000.00", "unpaid", [])
    assert finance.post("/payables/invoices", INVOICE).status_code == 200  # the same invoice again: nothing new
    conflict = finance.post("/payables/invoices", {**INVOICE, "amount": "99999.00"})
    assert (conflict.status_code, conflict.json()["field"]) == (409, "number")
    pk = body["id"]

    # As of 2 November, unpaid: 32 days past the due date, two months started.
    figures = api_client.as_(tokens["auditor"]).get(f"/payables/invoices/{pk}", as_of="2026-11-02").json()
    assert (figures["late"], figures["days_overdue"], figures["months_late"], figures["late_charge"]) == (
        True, 32, 2, "3000.00")
    standing = api_client.as_(tokens["billing_agent"]).get("/payables/standing", as_of="2026-11-02").json()
    assert (standing["status"], standing["restricted"], standing["overdue"]) == ("delinquent", True, "100000.00")
    assert [i["number"] for i in standing["late"]] == ["21V-202608-H"] and standing["late_charges"] == "3000.00"

    # Paid on 8 October (the next working day after the National Day holiday), sent twice with one key.
    payment = {"amount": "100000.00", "paid_on": "2026-10-08", "reference": "CMB-20261008-7"}
    first = finance.post(f"/payables/invoices/{pk}/payments", payment, headers={"Idempotency-Key": "pay-h-1"})
    again = finance.post(f"/payables/invoices/{pk}/payments", payment, headers={"Idempotency-Key": "pay-h-1"})
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert first.json()["invoice"]["status"] == "paid" and first.json()["recorded_by"] == "finance1"
    assert OperatorPayment.objects.count() == 1
    detail = api_client.as_(tokens["collections"]).get(f"/payables/invoices/{pk}").json()
    assert (detail["status"], detail["paid_on"], detail["late_charge"]) == ("paid", "2026-10-08", "0.00")
    assert [p["reference"] for p in detail["payments"]] == ["CMB-20261008-7"]
    assert api_client.as_(tokens["auditor"]).get("/payables/standing").json()["status"] == "current"
    over = finance.post(f"/payables/invoices/{pk}/payments", {"amount": "1.00", "paid_on": "2026-11-01"})
    assert over.status_code == 409


def test_the_due_date_is_set_and_reset_through_patch(api_client, tokens, calendar_2026):
    invoice = operator_invoice("21V-202610-0001", "2026-11-01", "8000.00")
    finance = api_client.as_(tokens["finance"])
    set_ = finance.patch(f"/payables/invoices/{invoice.pk}", {"due_date": "2026-12-20", "reason": "agreed"})
    assert set_.status_code == 200 and (set_.json()["due_date"], set_.json()["due_date_set"]) == ("2026-12-20", True)
    # 20 December 2026 is a Sunday: pay by Monday the 21st.
    assert set_.json()["pay_by"] == "2026-12-21"
    notes = finance.patch(f"/payables/invoices/{invoice.pk}", {"notes": "disputed line on Azure"})
    assert notes.json()["due_date"] == "2026-12-20"  # a field left out does not change
    reset = finance.patch(f"/payables/invoices/{invoice.pk}", {"due_date": None})
    assert (reset.json()["due_date"], reset.json()["due_date_set"]) == ("2026-12-01", False)
    refused = finance.patch(f"/payables/invoices/{invoice.pk}", {"billing_date": None})
    assert (refused.status_code, refused.json()["field"]) == (422, "billing_date")
    early = finance.patch(f"/payables/invoices/{invoice.pk}", {"due_date": "2026-10-01"})
    assert (early.status_code, early.json()["field"]) == (422, "due_date")
    listed = api_client.as_(tokens["auditor"]).get("/payables/invoices", status="open").json()
    assert listed["count"] == 1 and listed["items"][0]["notes"] == "disputed line on Azure"
    assert api_client.as_(tokens["auditor"]).get("/payables/invoices", status="late").json()["count"] == 0
    assert api_client.as_(tokens["auditor"]).get("/payables/invoices", status="nope").status_code == 422


def test_settings_refuse_more_than_the_contracts_rate(client, api_client, tokens):
    refused = put(client, tokens["finance"], "/payables/settings", {"late_charge_monthly_rate": "0.02"})
    assert (refused.status_code, refused.json()["field"]) == (422, "late_charge_monthly_rate")
    assert "1.5%" in refused.json()["detail"]
    saved = put(client, tokens["finance"], "/payables/settings",
                {"late_charge_monthly_rate": "0.01", "warn_days_before_due": 10, "reason": "legal maximum"})
    assert saved.status_code == 200
    read = api_client.as_(tokens["auditor"]).get("/payables/settings").json()
    assert (read["late_charge_monthly_rate"], read["warn_days_before_due"], read["updated_by"]) == (
        "0.0100", 10, "finance1")
    assert put(client, tokens["billing_agent"], "/payables/settings", {"warn_days_before_due": 3}).status_code == 403


def test_customers_never_see_the_partners_payables(api_client, tokens):
    invoice = operator_invoice("21V-202610-0001", "2026-11-01", "8000.00")
    for path in ("/payables/invoices", f"/payables/invoices/{invoice.pk}", "/payables/standing", "/payables/settings"):
        response = api_client.as_(tokens["customer_a"]).get(path)
        assert response.status_code == 403 and "21V-" not in response.content.decode()
    assert api_client.as_(tokens["finance"]).get("/payables/invoices/999999").status_code == 404
