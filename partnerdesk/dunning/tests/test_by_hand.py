"""Suspensions and reactivations asked for by hand go through the queue of operator requests: done at once when
the operator answers, else queued, shown as pending, retried with backoff, and completed once it recovers. Against
the operator simulator over HTTP, its faults injected."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.services import suspend_subscription, sync_subscriptions
from partnerdesk.dunning.models import OperatorRequest
from partnerdesk.dunning.services import process_operator_requests, suspend_by_hand
from partnerdesk.dunning.tests.test_cycle import at
from partnerdesk.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db(transaction=True)
DOWN = [{"status": 503}] * 3  # one gateway call fails: it tries three times (the tests' PARTNER_CENTER)


def signed_in(user, language="en"):
    c = Client(headers={"Accept-Language": language})
    c.force_login(user)
    return c


@pytest.fixture
def jincheng(operator):
    """A customer with one subscription suspended for non-payment and one active."""
    with at("2026-11-20"):
        customer = make_customer("成都锦城软件有限公司", contact={"name": "陈静", "email": "ap@jincheng.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=10)
        operator.add_subscription(customer, offerName="Exchange Online (Plan 1)", quantity=5)
        first, second = sorted(sync_subscriptions(customer, actor=None), key=lambda s: s.offer_name)
        second = suspend_subscription(second, actor=None, reason_code="non_payment", reason="Invoices overdue")
    return customer, first, second  # first: Exchange (active); second: Microsoft 365 E3 (suspended)


def test_a_reactivation_by_hand_during_an_outage_is_queued_and_completes_once_the_operator_recovers(
        jincheng, operator, users, smtp_server):
    customer, _active, sub = jincheng
    agent = users["billing_agent"]
    page_url = reverse("customer_detail", args=[customer.pk])
    operator.queue_faults(DOWN, methods=["PATCH"])
    with at("2026-11-24", hour=10):
        response = signed_in(agent).post(reverse("subscription_reactivate", args=[customer.pk, sub.pk]),
                                         {"reason": "Paid by bank transfer"}, follow=True)
    text = response.content.decode()
    assert response.status_code == 200 and response.redirect_chain[-1][0] == page_url
    # Plain words, not the transport's text; the subscription shows as pending.
    assert "The operator cannot be reached just now" in text and "is queued and will be retried" in text
    assert "Reactivation pending" in text
    req = OperatorRequest.objects.get()
    assert (req.action, req.status, req.attempts, req.requested_by, req.reason) == (
        "reactivate", "pending", 1, agent, "Paid by bank transfer")
    assert req.cause.startswith(f"manual:{agent.pk}:") and "503" in req.last_error
    sub.refresh_from_db()
    assert sub.status == "suspended" and operator.status(sub) == "suspended"
    queued = AuditEntry.objects.get(action="operator_request.queued")
    assert queued.actor == agent and queued.reason == "Paid by bank transfer"

    # Listed with the failing requests, by hand, and retried with backoff: not before its time.
    listing = signed_in(users["collections"]).get(reverse("operator_requests"), {"cause": "manual"}).content.decode()
    assert f'data-request="{req.pk}"' in listing and "Try again now" in listing
    with at("2026-11-24", hour=10):
        assert process_operator_requests() == {"done": 0, "skipped": 0, "retry": 0}

    operator.simulator.clear_faults()  # the operator recovers
    with at("2026-11-24", hour=11):
        assert process_operator_requests()["done"] == 1
    req.refresh_from_db()
    sub.refresh_from_db()
    assert req.status == "done" and sub.status == "active" and operator.status(sub) == "active"
    # The audit names the agent who asked, though the worker carried it out.
    done = AuditEntry.objects.get(action="subscription.reactivated")
    assert done.actor == agent and done.reason == "Paid by bank transfer"
    assert "Reactivation pending" not in signed_in(agent).get(page_url).content.decode()


def test_a_suspension_by_hand_is_done_at_once_when_the_operator_answers(jincheng, operator, users):
    customer, sub, _suspended = jincheng
    with at("2026-11-24", hour=10):
        response = signed_in(users["collections"], "zh-hans").post(
            reverse("subscription_suspend", args=[customer.pk, sub.pk]),
            {"reason_code": "fraud", "reason": "Card fraud reported"}, follow=True)
    text = response.content.decode()
    assert "已在运营商处暂停" in text and "2027-01-23" in text  # the data-deletion day, 60 days on
    sub.refresh_from_db()
    assert (sub.status, sub.suspension_reason, operator.status(sub)) == ("suspended", "fraud", "suspended")
    req = OperatorRequest.objects.get()
    assert (req.status, req.reason_code, req.told_at is not None) == ("done", "fraud", True)
    assert AuditEntry.objects.get(action="subscription.suspended", object_id=str(sub.pk)).actor == users["collections"]


def test_every_input_is_checked_before_anything_is_queued_or_sent(jincheng, operator, users):
    customer, active, suspended = jincheng
    patches = len(operator.simulator.requests("PATCH"))
    with pytest.raises(InvalidInput):
        suspend_by_hand(active, actor=users["admin"], reason_code="because", reason="x")
    with pytest.raises(InvalidInput):
        suspend_by_hand(active, actor=users["admin"], reason_code="fraud", reason="  ")
    with pytest.raises(Conflict):
        suspend_by_hand(suspended, actor=users["admin"], reason_code="fraud", reason="again")
    assert not OperatorRequest.objects.exists()
    assert len(operator.simulator.requests("PATCH")) == patches


def test_a_suspension_by_hand_waits_out_an_outage_and_a_payment_does_not_cancel_it(jincheng, operator, users,
                                                                                      api_client, tokens):
    customer, sub, _suspended = jincheng
    with at("2026-11-21"):
        invoice = make_invoice(customer, "500.00", issue_date=dt.date(2026, 10, 1))
    operator.queue_faults(DOWN, methods=["PATCH"])
    with at("2026-11-24", hour=10):
        answer = api_client.as_(tokens["collections"]).post(f"/subscriptions/{sub.pk}/suspend",
                                                           {"reason_code": "misuse", "reason": "Spam sent"})
    assert answer.status_code == 202
    body = answer.json()
    assert (body["action"], body["status"], body["reason_code"], body["attempts"]) == ("suspend", "pending", "misuse", 1)
    assert api_client.as_(tokens["collections"]).get(f"/collections/operator-requests/{body['id']}").json()["id"] == body["id"]
    # A second one while it waits is refused, not queued twice.
    again = api_client.as_(tokens["collections"]).post(f"/subscriptions/{sub.pk}/suspend",
                                                       {"reason_code": "misuse", "reason": "Spam sent"})
    assert again.status_code == 409
    # The customer pays everything: collections would drop its own queued suspensions, not this one.
    with at("2026-11-24", hour=10):
        record_payment(customer=customer, amount=invoice.balance, actor=None, method="bank_transfer",
                       received_on=dt.date(2026, 11, 24))
    assert OperatorRequest.objects.get(pk=body["id"]).status == "pending"
    operator.simulator.clear_faults()
    with at("2026-11-24", hour=11):
        process_operator_requests()
    sub.refresh_from_db()
    assert (sub.status, sub.suspension_reason) == ("suspended", "misuse")
    assert OperatorRequest.objects.get(pk=body["id"]).status == "done"


def test_the_api_answers_200_with_the_subscription_when_the_operator_answers(jincheng, operator, api_client, tokens):
    customer, _active, suspended = jincheng
    answer = api_client.as_(tokens["billing_agent"]).post(f"/subscriptions/{suspended.pk}/reactivate",
                                                         {"reason": "Customer paid"})
    assert answer.status_code == 200 and answer.json()["status"] == "active"
    assert api_client.as_(tokens["customer_a"]).post(f"/subscriptions/{suspended.pk}/suspend",
                                                    {"reason_code": "fraud", "reason": "x"}).status_code == 404
