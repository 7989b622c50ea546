"""The API channel against the operator simulator over real HTTP: the request is created once (also with 429,
500, a timeout and a 401 on the way, and after a crash), the poller records each operator note once (also when
polled twice, and with two pollers at once), sends our notes, and follows the status to the close."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from partnerdesk.escalations import services
from partnerdesk.escalations.models import OperatorNote, ServiceRequest
from partnerdesk.escalations.tasks import poll_service_requests
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services as support
from partnerdesk.support.models import CaseStatus

pytestmark = pytest.mark.django_db(transaction=True)  # the app commits; the operator call runs after commit


def later(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def escalate(case, agent, **kw):
    kw.setdefault("topic", "billing")
    kw.setdefault("severity", "moderate")
    return services.escalate(case, actor=agent, channel="api", title=kw.pop("title", "Invoice charged twice"),
                             description="The customer's invoice was charged twice; please refund one.", **kw)


def at_operator(operator) -> list[dict]:
    return operator.simulator.service_requests()


def warm(operator) -> None:
    """Have the gateway hold a token the simulator knows (the simulator forgets its tokens between tests), so the
    faults a test queues meet the calls it means and not a renewal."""
    from partnerdesk.gateway import get_gateway

    get_gateway().list_service_requests()


def wait_for_operator(operator, count: int) -> list[dict]:
    """The requests the operator holds, once `count` are there: an attempt the client gave up on (a timeout) goes
    on at the operator. Short real waits, counted: the suite's clock is frozen."""
    for _ in range(100):
        if len(at_operator(operator)) >= count and operator.simulator.wait_idle():
            break
        threading.Event().wait(0.05)
    return at_operator(operator)


def operator_notes(sr) -> list[str]:
    return list(OperatorNote.objects.filter(request=sr, from_operator=True).order_by("pk").values_list("text", flat=True))


def test_create_answer_poll_twice_note_and_close(case, agent, customer_a, operator, smtp_server):
    sr = escalate(case, agent)
    sr.refresh_from_db()
    [held] = at_operator(operator)
    assert sr.status == "open" and sr.reference == held["id"] and sr.filed_at is not None
    assert held["primaryContact"]["email"] == "escalations@northwind.example.cn"  # the partner, not the customer
    assert str(customer_a.tenant_id) in held["description"]
    create = operator.simulator.requests("POST", "/servicerequests")[0]
    assert create.headers["MS-RequestId"] == str(sr.client_request_id)
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_OPERATOR

    operator.simulator.answer_service_request(sr.reference, "We are checking the charges.")
    assert poll_service_requests(now=later(20)) == {"polled": 1}
    assert poll_service_requests(now=later(40)) == {"polled": 1}
    assert operator_notes(sr) == ["We are checking the charges."]
    sr.refresh_from_db()
    assert sr.first_response_at is not None and sr.last_polled_at is not None and not sr.claimed_by

    ours = services.add_our_note(sr, "The customer sent the bank statement.", agent)
    ours.refresh_from_db()
    assert ours.sent_at is not None
    assert at_operator(operator)[0]["notes"][-1]["text"] == "The customer sent the bank statement."
    poll_service_requests(now=later(60))
    assert operator_notes(sr) == ["We are checking the charges."]  # our own note is not the operator's

    operator.simulator.close_service_request(sr.reference, "Refunded the second charge. Closing.")
    poll_service_requests(now=later(80))
    sr.refresh_from_db()
    case.refresh_from_db()
    assert sr.status == "closed" and operator_notes(sr)[-1] == "Refunded the second charge. Closing."
    assert case.status == CaseStatus.OPEN and case.assignee == agent
    assert sr.next_poll_at is None  # a closed request is not read again
    assert poll_service_requests(now=later(120)) == {}
    send_pending()
    [mail] = smtp_server.wait_for(1)
    assert mail.subject.startswith("世纪互联已关闭") and sr.reference in mail.subject
    support.reply(case=case, body="21Vianet refunded the second charge.", actor=agent)
    sr.refresh_from_db()
    assert sr.customer_told_at is not None


def test_status_and_severity_as_integers_and_attention_needed(case, agent, operator, smtp_server):
    operator.simulator.integer_enums = True
    try:
        sr = escalate(case, agent)
        operator.simulator.answer_service_request(sr.reference if sr.reference else ServiceRequest.objects.get().reference,
                                                  "Please send the invoice PDF.", status="attention_needed")
        poll_service_requests(now=later(20))
    finally:
        operator.simulator.integer_enums = False
    sr.refresh_from_db()
    assert sr.status == "attention_needed"
    assert case.messages.filter(body__contains="needs our attention").exists()
    send_pending()
    [mail] = smtp_server.wait_for(1)
    assert "需要我们回复" in mail.subject


def test_creation_with_429_500_timeout_and_401_creates_once_and_loses_nothing(case, agent, operator):
    # Three failures in a row (the gateway's attempts): the last one, a timeout, reached the operator.
    warm(operator)
    operator.queue_faults([{"status": 429, "retry_after": 0}, {"status": 500}, {"delay": 2.5}],
                          methods=["POST"], path_contains="/servicerequests")
    sr = escalate(case, agent)
    sr.refresh_from_db()
    assert sr.status == "draft" and not sr.reference and sr.attempts == 1 and sr.last_error
    assert sr.next_poll_at is not None and not sr.claimed_by  # waits for the worker: not lost
    assert len(wait_for_operator(operator, 1)) == 1  # the timed-out attempt was made at the operator
    # The worker's attempt meets a 401 (the token is renewed once) and the same MS-RequestId finds the request.
    operator.queue_faults([{"status": 401}], methods=["POST"], path_contains="/servicerequests")
    assert poll_service_requests(now=later(10)) == {"sent": 1}
    sr.refresh_from_db()
    [held] = at_operator(operator)
    assert sr.status == "open" and sr.reference == held["id"] and sr.attempts == 0 and not sr.last_error
    ids = {r.headers["MS-RequestId"] for r in operator.simulator.requests("POST", "/servicerequests")}
    assert ids == {str(sr.client_request_id)}


def test_a_crash_after_the_operator_created_it_is_sent_again_once(case, agent, operator):
    # The create happened at the operator but the answer was lost, and the worker died holding the claim.
    warm(operator)
    operator.queue_faults([{"status": 500, "apply": True}] * 3, methods=["POST"], path_contains="/servicerequests")
    sr = escalate(case, agent)
    ServiceRequest.objects.filter(pk=sr.pk).update(claimed_by="dead-worker", next_poll_at=later(5))
    assert poll_service_requests(now=later(1)) == {}  # the lease still runs
    assert poll_service_requests(now=later(6)) == {"sent": 1}
    sr.refresh_from_db()
    assert len(at_operator(operator)) == 1 and sr.reference == at_operator(operator)[0]["id"]


def test_the_poller_with_faults_records_the_note_once(case, agent, operator):
    sr = escalate(case, agent)
    sr.refresh_from_db()
    operator.simulator.answer_service_request(sr.reference, "Checking with billing.")
    operator.queue_faults([{"status": 500}] * 3, methods=["GET"], path_contains="/servicerequests")
    assert poll_service_requests(now=later(20)) == {"failed": 1}
    sr.refresh_from_db()
    assert operator_notes(sr) == [] and sr.attempts == 1 and "unavailable" in sr.last_error
    # A 429, a timeout and a 401 (the token renewed once, not counted as an attempt): the third attempt reads it.
    operator.queue_faults([{"status": 429, "retry_after": 0}, {"delay": 2.5}, {"status": 401}],
                          methods=["GET"], path_contains="/servicerequests")
    assert poll_service_requests(now=later(40)) == {"polled": 1}
    assert poll_service_requests(now=later(60)) == {"polled": 1}
    assert operator_notes(sr) == ["Checking with billing."]
    sr.refresh_from_db()
    assert sr.attempts == 0 and not sr.last_error


def test_our_note_waits_when_the_operator_is_down_and_goes_once(case, agent, operator):
    sr = escalate(case, agent)
    sr.refresh_from_db()
    operator.queue_faults([{"status": 503}] * 3, methods=["PATCH"], path_contains="/servicerequests")
    note = services.add_our_note(sr, "Any news?", agent)
    note.refresh_from_db()
    assert note.sent_at is None
    assert poll_service_requests(now=later(20)) == {"polled": 1}
    note.refresh_from_db()
    assert note.sent_at is not None
    poll_service_requests(now=later(40))
    assert [n["text"] for n in at_operator(operator)[0]["notes"]] == ["Any news?"]
    assert operator_notes(sr) == []


def test_two_pollers_at_once_record_each_note_once(case, agent, operator):
    requests = [escalate(case, agent, title=f"Request {i}") for i in range(4)]
    for sr in requests:
        sr.refresh_from_db()
        for n in range(3):
            operator.simulator.answer_service_request(sr.reference, f"{sr.title}: answer {n}")
    ServiceRequest.objects.update(next_poll_at=timezone.now())
    start = threading.Barrier(2)
    results, errors = [], []

    def poller():
        try:
            start.wait()
            results.append(poll_service_requests(now=later(1)))
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert sum(r.get("polled", 0) for r in results) == 4
    for sr in requests:
        assert operator_notes(sr) == [f"{sr.title}: answer {n}" for n in range(3)]


def test_an_answer_our_checks_would_refuse_is_kept_and_does_not_stop_the_poller(case, agent, customer_a, operator):
    """The operator's words are recorded whatever they hold (cut if too long): a check meant for an agent's input
    must not leave one request failing for ever and the others unread."""
    from partnerdesk import bounds

    first = escalate(case, agent, title="First")
    second_case = support.open_case(customer=customer_a, subject="另一张发票", description="?", actor=agent,
                                    channel="phone", assignee=agent)
    second = escalate(second_case, agent, title="Second")
    first.refresh_from_db()
    second.refresh_from_db()
    operator.simulator.answer_service_request(first.reference, "日志" * 6000)  # 12,000 characters
    operator.simulator.answer_service_request(second.reference, "We are checking.")
    assert poll_service_requests(now=later(20)) == {"polled": 2}
    [long] = operator_notes(first)
    assert len(long) == bounds.NOTE_LENGTH and long.endswith("…")
    assert operator_notes(second) == ["We are checking."]
    first.refresh_from_db()
    assert first.attempts == 0 and not first.claimed_by and first.first_response_at is not None


def test_an_agent_cannot_set_the_status_of_an_api_request(case, agent, operator):
    from partnerdesk.errors import Conflict

    sr = escalate(case, agent)
    sr.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        services.mark_closed(sr, agent)
    assert refused.value.field == "status"
    with pytest.raises(Conflict):
        services.log_operator_answer(sr, "Closed on the phone", actor=agent, status="closed")
    sr.refresh_from_db()
    assert sr.status == "open"
