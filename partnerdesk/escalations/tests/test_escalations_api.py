"""The service-request API as an agent uses it, and what a customer's user gets (404, always)."""

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.escalations.models import ServiceRequest

pytestmark = pytest.mark.django_db

BODY = {"channel": "portal", "topic": "billing", "severity": "moderate", "title": "发票重复扣费",
        "description": "同一张发票扣款两次。", "language": "zh-TW"}


def test_an_agent_escalates_files_logs_and_reads_it_back(api_client, tokens, case, customer_a):
    agent = api_client.as_(tokens["billing_agent"])
    refused = agent.post(f"/cases/{case.pk}/service-requests", {**BODY, "severity": "critical"})
    assert refused.status_code == 422 and refused.json()["field"] == "severity"
    created = agent.post(f"/cases/{case.pk}/service-requests", BODY)
    assert created.status_code == 201, created.content
    sr = created.json()
    assert sr["status"] == "draft" and sr["contact_email"] == "escalations@northwind.example.cn"
    assert "escalations@northwind.example.cn" in sr["portal_text"] and str(customer_a.tenant_id) in sr["portal_text"]
    filed = agent.post(f"/service-requests/{sr['id']}/reference", {"reference": "2611240010000999"})
    assert filed.status_code == 200 and filed.json()["status"] == "open"
    answer = agent.post(f"/service-requests/{sr['id']}/answers", {"text": "已收到。", "author": "世纪互联"})
    assert answer.status_code == 201 and answer.json()["from_operator"] is True
    naive = agent.post(f"/service-requests/{sr['id']}/answers", {"text": "x", "written_at": "2026-11-24T09:00:00"})
    assert naive.status_code == 422 and naive.json()["field"] == "written_at"
    assert agent.post(f"/service-requests/{sr['id']}/notes", {"text": "请尽快处理。"}).status_code == 201
    detail = agent.get(f"/service-requests/{sr['id']}").json()
    assert [n["text"] for n in detail["notes"]] == ["已收到。", "请尽快处理。"]
    assert detail["measured"]["first_response"]["met"] is True
    listing = agent.get(f"/cases/{case.pk}/service-requests").json()
    assert [r["reference"] for r in listing] == ["2611240010000999"]


def test_customers_never_see_service_requests(api_client, tokens, case):
    agent = api_client.as_(tokens["billing_agent"])
    sr = agent.post(f"/cases/{case.pk}/service-requests", BODY).json()
    before = AuditEntry.objects.count()
    for who in ("customer_a", "customer_b"):
        client = api_client.as_(tokens[who])
        assert client.get(f"/cases/{case.pk}/service-requests").status_code == 404
        assert client.get(f"/service-requests/{sr['id']}").status_code == 404
        assert client.post(f"/cases/{case.pk}/service-requests", BODY).status_code == 404
        assert client.post(f"/service-requests/{sr['id']}/answers", {"text": "x"}).status_code == 404
    case_seen = api_client.as_(tokens["customer_a"]).get(f"/cases/{case.pk}").json()
    assert "Escalated to 21Vianet" not in str(case_seen["messages"])
    assert AuditEntry.objects.count() == before
    auditor = api_client.as_(tokens["auditor"])
    assert auditor.get(f"/service-requests/{sr['id']}").status_code == 200
    assert auditor.post(f"/service-requests/{sr['id']}/notes", {"text": "x"}).status_code == 403


def test_links_must_be_the_cases_customers_and_the_contact_must_be_set(api_client, tokens, case, customer_b,
                                                                       partner_contact):
    from partnerdesk.conftest import make_invoice

    agent = api_client.as_(tokens["billing_agent"])
    other = make_invoice(customer_b, "10.00")
    resp = agent.post(f"/cases/{case.pk}/service-requests", {**BODY, "invoice_ids": [other.pk]})
    assert resp.status_code == 422 and resp.json()["field"] == "invoice_ids[0]"
    partner_contact.contact_name = ""
    partner_contact.save()
    resp = agent.post(f"/cases/{case.pk}/service-requests", BODY)
    assert resp.status_code == 422 and resp.json()["field"] == "contact_email"
    assert not ServiceRequest.objects.exists()
