"""Suspensions and reactivations the operator keeps refusing become one internal case each for the collections
team, against the operator simulator over real HTTP; from the case the request is retried or cancelled."""

import datetime as dt
import threading

import pytest
from django.db import connection

from partnerdesk.accounts.models import Team
from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import record_payment
from partnerdesk.dunning.engine import run_collections
from partnerdesk.dunning.models import OperatorRequest
from partnerdesk.dunning.services import GIVE_UP_AFTER, process_operator_requests
from partnerdesk.dunning.tests.test_cycle import account, at  # noqa: F401  (fixture)
from partnerdesk.escalations.models import StuckRequest
from partnerdesk.escalations.stuck import (
    cancel_stuck_request,
    open_cases_for_stuck_requests,
    retry_stuck_request,
)
from partnerdesk.escalations.targets import settings_row
from partnerdesk.support.models import Case

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def collections_team(users):
    """The collections team: its lead has an email address; the settings name it."""
    lead = users["collections"]
    lead.email = "collections.lead@partner.example.cn"
    lead.save(update_fields=["email"])
    team = Team.objects.create(name="Collections", lead=lead)
    team.members.add(lead)
    row = settings_row()
    row.collections_team = team
    row.save()
    return team


def _events(case) -> list[str]:
    return list(case.messages.filter(kind="event").order_by("id").values_list("body", flat=True))


def _arrived_for(server, address, count):
    """The messages delivered to `address`, once `count` have (a few seconds of real time at most)."""
    for _ in range(100):
        if len(server.to(address)) >= count:
            break
        with server.arrived:
            server.arrived.wait(0.05)
    return server.to(address)


def _refuse_until_given_up(operator, status=404):
    """The operator answers `status` to every change; the worker tries until collections gives up."""
    operator.queue_faults([{"status": status}] * 20, methods=["PATCH"])
    for hour in (10, 11, 12, 13):
        with at("2026-11-21", hour=hour):
            process_operator_requests()


def test_a_suspension_refused_for_longer_than_the_limit_opens_one_case(account, operator, collections_team):  # noqa: F811
    customer, invoice, subs = account
    operator.queue_faults([{"status": 500}] * 60, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    requests = list(OperatorRequest.objects.order_by("id"))
    assert len(requests) == 2 and {(r.status, r.attempts > 0) for r in requests} == {("pending", True)}
    with at("2026-11-21", hour=20):  # refused for 11 hours: the limit is 24
        assert open_cases_for_stuck_requests() == 0
    with at("2026-11-22", hour=10):
        process_operator_requests()  # still refused: a 5xx is retried, never given up
        assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"pending"}
        assert open_cases_for_stuck_requests() == 2
        assert open_cases_for_stuck_requests() == 0  # a second pass (or worker) opens nothing more
    assert StuckRequest.objects.count() == 2
    for req in requests:
        case = StuckRequest.objects.get(operator_request=req).case
        req.refresh_from_db()
        assert (case.channel, case.type, case.severity, case.team) == ("internal", "suspension_access", "C",
                                                                       collections_team)
        assert case.customer == customer and list(case.subscriptions.all()) == [req.subscription]
        assert str(req.subscription) in case.subject
        # The customer, the subscription and the operator's last answer, in the site's language (Chinese).
        assert customer.name in case.description and req.subscription.operator_id in case.description
        assert "运营方暂时无法访问" in case.description and "HTTP 500" in case.description
    assert AuditEntry.objects.filter(action="operator_request.case_opened").count() == 2


def test_a_404_is_given_up_after_three_attempts_and_opens_one_case(account, operator, collections_team):  # noqa: F811
    customer, invoice, subs = account
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    assert {(r.status, r.attempts) for r in OperatorRequest.objects.all()} == {("pending", 1)}
    assert not StuckRequest.objects.exists()
    _refuse_until_given_up(operator)
    for req in OperatorRequest.objects.all():
        assert (req.status, req.attempts) == ("failed", GIVE_UP_AFTER)
        assert "HTTP 404" in req.last_error and "does not know" in req.last_error
    patches = len(operator.simulator.requests("PATCH"))
    with at("2026-11-22", hour=10):
        assert process_operator_requests() == {"done": 0, "skipped": 0, "retry": 0}  # no further attempts
    assert len(operator.simulator.requests("PATCH")) == patches
    assert AuditEntry.objects.filter(action="operator_request.given_up").count() == 2
    # Opened at once, when each was given up (the signal), not at the next scheduled pass.
    assert StuckRequest.objects.count() == Case.objects.filter(channel="internal").count() == 2
    with at("2026-11-23"):
        assert open_cases_for_stuck_requests() == 0
    case = StuckRequest.objects.first().case
    assert "运营方找不到该客户或订阅" in case.description and "HTTP 404" in case.description


def test_a_timeout_or_a_rate_limit_is_never_given_up(account, operator):  # noqa: F811
    operator.queue_faults([{"status": 408}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    _refuse_until_given_up(operator, status=408)
    assert {r.status for r in OperatorRequest.objects.all()} == {"pending"}
    assert all(r.attempts > GIVE_UP_AFTER for r in OperatorRequest.objects.all())


def test_retry_from_the_case_carries_it_out_once_the_operator_accepts(account, operator, users):  # noqa: F811
    customer, invoice, subs = account
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    _refuse_until_given_up(operator)
    stuck = StuckRequest.objects.select_related("operator_request__subscription").first()
    operator.simulator.clear_faults()  # fixed at the operator
    with at("2026-11-22", hour=10):
        retry_stuck_request(stuck, actor=users["collections"])
    stuck.refresh_from_db()
    req = stuck.operator_request
    req.refresh_from_db()
    assert req.status == "done" and operator.status(req.subscription) == "suspended"
    assert stuck.outcome == "done" and stuck.ended_at is not None
    events = _events(stuck.case)
    assert events == ["Tried again at the operator by collections1.",
                      "The operator accepted it: the subscription is suspended."]
    assert AuditEntry.objects.filter(action="stuck_request.retried", actor=users["collections"]).count() == 1
    # It has ended: neither tried nor cancelled again.
    from partnerdesk.errors import Conflict

    with pytest.raises(Conflict):
        retry_stuck_request(stuck, actor=users["collections"])


def test_cancel_from_the_case_ends_it_audited(account, operator, users):  # noqa: F811
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    _refuse_until_given_up(operator)
    stuck = StuckRequest.objects.first()
    from partnerdesk.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        cancel_stuck_request(stuck, actor=users["collections"], reason="  ")
    assert refused.value.field == "reason"
    cancel_stuck_request(stuck, actor=users["collections"], reason="subscription moved to another partner")
    stuck.refresh_from_db()
    assert stuck.outcome == "cancelled" and stuck.operator_request.status == "cancelled"
    assert _events(stuck.case) == ["Cancelled by collections1: subscription moved to another partner"]
    entry = AuditEntry.objects.get(action="operator_request.cancelled")
    assert entry.actor == users["collections"] and entry.reason == "subscription moved to another partner"
    assert AuditEntry.objects.filter(action="stuck_request.cancelled").count() == 1
    operator.simulator.clear_faults()
    with at("2026-11-22", hour=10):
        process_operator_requests()
    stuck.operator_request.refresh_from_db()
    assert stuck.operator_request.status == "cancelled"  # never tried again


def test_a_reactivation_that_cannot_go_through_is_urgent_and_emails_the_team_once(account, operator, smtp_server,  # noqa: F811
                                                                                 collections_team):
    customer, invoice, subs = account
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))  # suspended at the operator
    assert {operator.status(s) for s in subs} == {"suspended"}
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21", hour=10):
        record_payment(customer=customer, amount="1280.00", received_on=dt.date(2026, 11, 21), method="bank_transfer",
                       actor=None)  # paid in full: reactivations queued, the first attempt refused
    assert set(OperatorRequest.objects.filter(action="reactivate").values_list("status", flat=True)) == {"pending"}
    _refuse_until_given_up(operator)
    stuck = list(StuckRequest.objects.select_related("case"))
    assert len(stuck) == 2
    for item in stuck:
        assert item.case.severity == "B" and item.case.team == collections_team
        assert "Urgent" in item.case.subject or "紧急" in item.case.subject
    lead = collections_team.lead.email
    received = _arrived_for(smtp_server, lead, 2)
    assert len(received) == 2  # one per subscription
    assert all("紧急" in m.subject for m in received)
    assert sorted(str(s) for s in subs) == sorted(str(s) for s in subs for m in received if str(s) in m.subject)
    with at("2026-11-23"):
        assert open_cases_for_stuck_requests() == 0
    assert len(smtp_server.to(lead)) == 2  # once


def test_two_workers_at_once_open_one_case_per_request(account, operator):  # noqa: F811
    customer, invoice, subs = account
    for i in range(20):
        OperatorRequest.objects.create(subscription=subs[i % 2], customer=customer, action="suspend", cause=f"t:{i}",
                                       reason="test", status="failed", attempts=3, last_error="HTTP 404")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(open_cases_for_stuck_requests())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == 20
    assert StuckRequest.objects.count() == 20 == Case.objects.filter(channel="internal").count()


def test_the_case_page_shows_the_request_in_the_readers_language_and_retries_it(account, operator, users, client):  # noqa: F811
    from django.urls import reverse

    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    _refuse_until_given_up(operator)
    stuck = StuckRequest.objects.select_related("operator_request").first()
    client.force_login(users["collections"])
    page = client.get(reverse("support_case", args=[stuck.case_id]), headers={"Accept-Language": "zh-hans"})
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="stuck-request"' in text
    assert "运营方找不到该客户或订阅" in text and "已放弃" in text  # the last answer and the status, in Chinese
    operator.simulator.clear_faults()
    answer = client.post(reverse("support_stuck_retry", args=[stuck.pk]))
    assert answer.status_code == 302
    stuck.refresh_from_db()
    assert stuck.outcome == "done" and stuck.operator_request.status == "done"
    page = client.get(reverse("support_case", args=[stuck.case_id]), headers={"Accept-Language": "zh-hans"})
    assert "运营方已接受" in page.content.decode()  # the event, in the reader's language
    # An auditor reads the case but may not act on the request.
    client.force_login(users["auditor"])
    assert client.post(reverse("support_stuck_cancel", args=[stuck.pk]), {"reason": "x"}).status_code == 403



def test_an_outage_in_between_does_not_count_toward_giving_up(account, operator):  # noqa: F811
    """Only refusals in a row that will never succeed give a request up: an outage's 5xx between them starts the
    count again (after an outage, one 404 does not give a request up at once)."""
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    with at("2026-11-21"):
        run_collections(dt.date(2026, 11, 21))
    assert {(r.status, r.refusals) for r in OperatorRequest.objects.all()} == {("pending", 1)}
    operator.simulator.clear_faults()
    operator.queue_faults([{"status": 500}] * 60, methods=["PATCH"])
    with at("2026-11-21", hour=10):
        process_operator_requests()
    assert {(r.status, r.refusals) for r in OperatorRequest.objects.all()} == {("pending", 0)}
    operator.simulator.clear_faults()
    operator.queue_faults([{"status": 404}] * 20, methods=["PATCH"])
    for hour in (11, 12):
        with at("2026-11-21", hour=hour):
            process_operator_requests()
    assert {(r.status, r.refusals) for r in OperatorRequest.objects.all()} == {("pending", GIVE_UP_AFTER - 1)}
    with at("2026-11-21", hour=13):
        process_operator_requests()
    assert {r.status for r in OperatorRequest.objects.all()} == {"failed"}
