"""The email routes of the REST API: who may read a customer's emails, retry, bounce and edit templates."""

import json

import pytest
from django.db import transaction

from partnerdesk.notifications import services
from partnerdesk.notifications.defaults import DEFAULTS
from partnerdesk.notifications.models import EmailStatus, OutboundEmail

pytestmark = pytest.mark.django_db

ROLES = ["admin", "billing_agent", "collections", "finance", "auditor", "customer_a", "customer_b"]
STAFF = {"admin", "billing_agent", "collections", "finance", "auditor"}
MANAGERS = {"admin", "billing_agent", "collections"}


def make_email(customer, status, **fields):
    with transaction.atomic():
        email = services.queue_email(customer=customer, template_key="collections.notice",
                                     context={"invoice_number": "INV-2026-000007"})
    OutboundEmail.objects.filter(pk=email.pk).update(status=status, **fields)
    email.refresh_from_db()
    return email


def put(client, token, path, data):
    return client.generic("PUT", "/api/v1" + path, json.dumps(data), content_type="application/json",
                          headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def emails(customer_a, customer_b):
    return {
        "sent": make_email(customer_a, EmailStatus.SENT, subject="逾期通知", body="正文", message_id="<1@x>"),
        "failed": make_email(customer_a, EmailStatus.FAILED, attempts=5, last_error="421 try later"),
        "other": make_email(customer_b, EmailStatus.SENT),
    }


@pytest.mark.parametrize("role", ROLES)
def test_reading_a_customers_emails_is_for_staff(api_client, tokens, customer_a, emails, role):
    client = api_client.as_(tokens[role])
    listing = client.get(f"/customers/{customer_a.pk}/emails")
    one = client.get(f"/emails/{emails['sent'].pk}")
    if role in STAFF:
        assert listing.status_code == 200 and one.status_code == 200
        assert {e["id"] for e in listing.json()["items"]} == {emails["sent"].pk, emails["failed"].pk}
        assert (one.json()["status"], one.json()["subject"], one.json()["to_address"]) == \
            ("sent", "逾期通知", customer_a.primary_contact.email)
    else:
        assert listing.status_code == 403 and one.status_code == 403


def test_unknown_ids_are_not_found(api_client, tokens, emails):
    client = api_client.as_(tokens["auditor"])
    assert client.get("/customers/999999/emails").status_code == 404
    assert client.get("/emails/999999").status_code == 404
    assert client.get("/customers/abc/emails").status_code == 422


def test_the_list_filters_by_status(api_client, tokens, customer_a, emails):
    body = api_client.as_(tokens["collections"]).get(f"/customers/{customer_a.pk}/emails", status="failed").json()
    assert [(e["id"], e["last_error"], e["attempts"]) for e in body["items"]] == [(emails["failed"].pk, "421 try later", 5)]
    bad = api_client.as_(tokens["collections"]).get(f"/customers/{customer_a.pk}/emails", status="lost")
    assert (bad.status_code, bad.json()["field"]) == (422, "status")


@pytest.mark.parametrize("role", ROLES)
def test_retry_is_for_email_managers(api_client, tokens, emails, role):
    response = api_client.as_(tokens[role]).post(f"/emails/{emails['failed'].pk}/retry", {"reason": "server fixed"})
    expected = 200 if role in MANAGERS else 404 if role == "customer_b" else 403
    assert response.status_code == expected
    emails["failed"].refresh_from_db()
    assert emails["failed"].status == ("queued" if expected == 200 else "failed")


@pytest.mark.parametrize("role", ROLES)
def test_bounce_is_for_email_managers(api_client, tokens, emails, role):
    response = api_client.as_(tokens[role]).post(f"/emails/{emails['sent'].pk}/bounce",
                                                 {"reason": "550 5.1.1 mailbox unavailable"})
    expected = 200 if role in MANAGERS else 404 if role == "customer_b" else 403
    assert response.status_code == expected
    if expected == 200:
        assert (response.json()["status"], response.json()["last_error"]) == ("bounced", "550 5.1.1 mailbox unavailable")


def test_retry_and_bounce_refuse_the_wrong_state(api_client, tokens, emails):
    client = api_client.as_(tokens["billing_agent"])
    assert client.post(f"/emails/{emails['sent'].pk}/retry").status_code == 409
    response = client.post(f"/emails/{emails['failed'].pk}/bounce", {"reason": "x"})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    response = client.post(f"/emails/{emails['sent'].pk}/bounce", {"reason": "  "})
    assert (response.status_code, response.json()["field"]) == (422, "reason")


@pytest.mark.parametrize("role", ROLES)
def test_templates_are_read_by_staff_and_changed_by_admins(client, api_client, tokens, role):
    django_client, client = client, api_client.as_(tokens[role])
    listing = client.get("/email-templates")
    one = client.get("/email-templates/collections.suspended/zh-TW")
    put_response = put(django_client, tokens[role], "/email-templates/collections.suspended/zh-TW",
                       {"subject": "服務已暫停：{{ invoice_number }}", "body": "{{ customer_name }} 您好：\n請付款。"})
    if role in STAFF:
        assert listing.status_code == 200 and len(listing.json()) == len(DEFAULTS) * 3
        assert one.status_code == 200 and one.json()["subject"] == "重要：您的訂閱因逾期未付已被暫停"
    else:
        assert listing.status_code == 403 and one.status_code == 403
    assert put_response.status_code == (200 if role == "admin" else 403)
    reset = client.delete("/email-templates/collections.suspended/zh-TW")
    assert reset.status_code == (200 if role == "admin" else 403)
    if role == "admin":
        assert put_response.json()["is_default"] is False and put_response.json()["updated_by"] == "admin1"
        assert reset.status_code == 200 and reset.json()["is_default"] is True


def test_a_broken_template_is_refused_with_the_field(client, api_client, tokens):
    path = "/email-templates/collections.reminder/en"
    response = put(client, tokens["admin"], path, {"subject": "Due {{ due_date }", "body": "Hello"})
    assert response.status_code == 422 and response.json()["field"] == "subject"
    response = put(client, tokens["admin"], path, {"subject": "Due {{ due_date }}", "body": "{% if %}"})
    assert response.status_code == 422 and response.json()["field"] == "body"
    client = api_client.as_(tokens["admin"])
    assert client.get("/email-templates/collections.nope/en").status_code == 404
    assert client.get("/email-templates/collections.reminder/fr").status_code == 404
