"""What a stranger or a customer's user must not be able to make the desk do: mail anyone they like, or close
a case with the link of an earlier answer."""

import pytest
from django.test import Client

from partnerdesk.support import services
from partnerdesk.support.links import answer_token
from partnerdesk.support.models import Case, CaseStatus

pytestmark = pytest.mark.django_db


def test_a_customer_user_cannot_have_the_desk_mail_other_addresses(api_client, tokens, users, customer_a):
    alice = users["customer_a"]
    alice.email = "alice@contoso.example.cn"
    alice.save(update_fields=["email"])
    customer_api = api_client.as_(tokens["customer_a"])
    base = {"customer_id": customer_a.pk, "subject": "发票", "description": "请核实"}

    stranger = customer_api.post("/cases", {**base, "cc": ["victim@elsewhere.example"]})
    assert stranger.status_code == 422 and stranger.json()["field"] == "cc"
    other = customer_api.post("/cases", {**base, "requester_email": "victim@elsewhere.example"})
    assert other.status_code == 422 and other.json()["field"] == "requester_email"
    assert not Case.objects.exists()
    contact = customer_a.contacts.first()
    ok = customer_api.post("/cases", {**base, "cc": [contact.email]})
    assert ok.status_code == 201, ok.content
    case = Case.objects.get()
    assert case.requester_email == alice.email and case.cc == [contact.email.lower()]


def test_the_link_of_an_earlier_answer_cannot_close_the_case(users, customer_a):
    agent = users["billing_agent"]
    case = services.open_case(customer=customer_a, subject="账单", description="问题", actor=agent, channel="phone",
                              requester_contact=customer_a.contacts.first(), acknowledge=False)
    services.resolve(case=case, body="第一次答复", actor=agent)
    case.refresh_from_db()
    first_link = f"/support/answer/{answer_token(case)}/"
    services.customer_message(case=case, body="还没解决", channel="email")
    services.resolve(case=case, body="第二次答复", actor=agent)
    case.refresh_from_db()
    second_link = f"/support/answer/{answer_token(case)}/"
    assert first_link != second_link

    Client().post(first_link, {"action": "confirm"})
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED  # the second answer has not been confirmed by anyone
    Client().post(second_link, {"action": "confirm"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
