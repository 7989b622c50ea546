"""Operator failures (500s, timeouts) during suspension: nothing is lost, staff can see it, and the
suspension completes once the operator recovers."""

import datetime as dt

import pytest

from partnerdesk.dunning.engine import run_collections
from partnerdesk.dunning.models import OperatorRequest
from partnerdesk.dunning.services import process_operator_requests
from partnerdesk.dunning.tests.test_cycle import account, at  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_suspension_survives_an_operator_outage(account, operator, smtp_server, api_client, tokens):  # noqa: F811
    customer, invoice, subs = account
    # Every PATCH fails for a while: 500s, then a response slower than the gateway's timeout.
    operator.queue_faults([{"status": 500}, {"status": 503}, {"delay": 2.5}] * 3, methods=["PATCH"])
    with at("2026-11-21"):
        result = run_collections(dt.date(2026, 11, 21))
    assert result.counts["operator_requests"] == 2
    requests = list(OperatorRequest.objects.order_by("id"))
    assert {r.status for r in requests} == {"pending"}
    assert all(r.attempts >= 1 and r.last_error for r in requests)
    for sub in subs:
        sub.refresh_from_db()
        # Shown suspended only once the operator confirms (a timed-out PATCH may still have landed there).
        assert sub.status == "active" and sub.suspended_at is None

    # Staff see the failure through the API.
    failed = api_client.as_(tokens["collections"]).get("/collections/operator-requests", status="pending").json()["items"]
    assert len(failed) == 2 and all(item["last_error"] for item in failed)

    # Before the retry is due nothing is tried again.
    with at("2026-11-21", hour=9):
        assert process_operator_requests() == {"done": 0, "skipped": 0, "retry": 0}

    for hour in (10, 11, 12, 13, 14, 15, 16):  # the worker keeps retrying with backoff until it works
        with at("2026-11-21", hour=hour):
            process_operator_requests()
        if not OperatorRequest.objects.exclude(status="done").exists():
            break
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"done"}
    for sub in subs:
        sub.refresh_from_db()
        assert sub.status == "suspended" and operator.status(sub) == "suspended"
    # The customer is told of each suspension once, whatever the number of attempts: both in one email if they
    # succeeded together, else each as it succeeded (one still failing does not hold up the other's email).
    from partnerdesk.notifications.models import OutboundEmail

    emails = OutboundEmail.objects.filter(template_key="collections.suspended")
    smtp_server.wait_for(emails.count())
    suspended = [m for m in smtp_server.messages if "暂停" in m.subject]
    assert len(suspended) == emails.count() >= 1
    named = sorted(name for e in emails for name in e.context["subscriptions"])
    assert named == sorted(str(sub) for sub in subs)


def test_a_long_outage_keeps_retrying_every_hour(account, operator, smtp_server):  # noqa: F811
    customer, invoice, subs = account
    operator.queue_faults([{"status": 503}] * 4, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    # Two days and more of failures: far past the point where doubling the backoff would overflow.
    OperatorRequest.objects.update(status="pending", attempts=500, next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    operator.queue_faults([{"status": 503}] * 50, methods=["PATCH"])
    with at("2026-11-22", hour=9):
        assert process_operator_requests()["retry"] >= 1  # (the worker stops at the first failure: the operator is down)
    retried = OperatorRequest.objects.filter(attempts=501)
    assert retried.exists()
    for request in retried:
        assert request.status == "pending" and "503" in request.last_error
        assert request.next_attempt_at == dt.datetime(2026, 11, 22, 2, tzinfo=dt.UTC)  # an hour later, not never
    operator.simulator.clear_faults()  # the operator is back
    with at("2026-11-22", hour=11):
        process_operator_requests()
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"done"}


def test_staff_try_the_failing_requests_again_once_the_operator_is_back(account, operator, smtp_server, api_client,  # noqa: F811
                                                                       tokens):
    from partnerdesk.audit.models import AuditEntry

    customer, invoice, subs = account
    operator.queue_faults([{"status": 503}] * 6, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    assert {(r.status, r.attempts) for r in OperatorRequest.objects.all()} == {("pending", 1)}
    operator.simulator.clear_faults()  # the operator is back
    with at("2026-11-21"):  # the same moment: the next attempt is half a minute or more away
        refused = api_client.as_(tokens["billing_agent"]).post("/collections/operator-requests/retry")
        assert refused.status_code == 403
        answer = api_client.as_(tokens["collections"]).post("/collections/operator-requests/retry")
    assert answer.status_code == 200 and answer.json() == {"retried": 2}
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"done"}
    for sub in subs:
        assert operator.status(sub) == "suspended"
    assert AuditEntry.objects.filter(action="operator_request.retried", customer=customer).count() == 2
    smtp_server.wait_for(1)
    assert len([m for m in smtp_server.messages if "暂停" in m.subject]) == 1
    # Nothing left to try again.
    assert api_client.as_(tokens["collections"]).post("/collections/operator-requests/retry").json() == {"retried": 0}
