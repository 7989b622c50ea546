"""The rule for every change made at the operator (issue 11): every input is checked before the call, so what a
user typed cannot fail the local write once the operator has acted; and if that write fails anyway, PartnerDesk
shows the operator's state afterwards and the audit log says what happened. Never a silent mismatch."""

import pytest
from django.db import DatabaseError, IntegrityError

from partnerdesk import bounds
from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.customers import services
from partnerdesk.customers.models import Subscription
from partnerdesk.customers.services import reactivate_subscription, suspend_subscription, sync_subscriptions
from partnerdesk.dunning.models import CollectionsAction, OperatorRequest
from partnerdesk.dunning.services import process_operator_requests
from partnerdesk.errors import InvalidInput

pytestmark = pytest.mark.django_db

REASON = "INV-2026-000007 is 21 days overdue"


@pytest.fixture
def sub(operator, customer_a):
    operator.add_subscription(customer_a, offerName="Microsoft 365 E3", quantity=25)
    (synced,) = sync_subscriptions(customer_a, actor=None)
    return synced


def fail_first_call(monkeypatch, owner, name, error):
    """Make owner.name raise `error` the first time it is called, and work after that."""
    real = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(name)
        if len(calls) == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


def patches(operator):
    return operator.simulator.requests("PATCH")


# What breaks the local write once the operator has accepted: the audit record, or the subscription's row.
WRITE_FAILURES = {
    "audit record": (services, "record"),
    "subscription row": (Subscription, "save"),
}


@pytest.mark.parametrize("failing", WRITE_FAILURES)
def test_a_suspension_whose_local_write_fails_shows_the_operators_state(sub, operator, users, monkeypatch, failing):
    owner, name = WRITE_FAILURES[failing]
    fail_first_call(monkeypatch, owner, name, DatabaseError("could not write: disk full"))
    with pytest.raises(DatabaseError) as err:
        suspend_subscription(sub, actor=users["collections"], reason_code="non_payment", reason=REASON)
    assert "PartnerDesk shows its state (suspended)" in " ".join(err.value.__notes__)

    assert operator.status(sub) == "suspended" and len(patches(operator)) == 1
    shown = Subscription.objects.get(pk=sub.pk)
    assert (shown.status, shown.suspension_reason) == ("suspended", "non_payment")
    assert shown.suspended_at is not None and shown.data_deletion_date is not None
    assert not AuditEntry.objects.filter(action="subscription.suspended").exists()
    entry = AuditEntry.objects.get(action="subscription.suspend_write_failed", object_id=str(sub.pk))
    assert (entry.actor_label, entry.reason) == ("collections1", REASON)
    assert (entry.before["status"], entry.after["status"]) == ("active", "suspended")
    assert "disk full" in entry.after["local_error"]


@pytest.mark.parametrize("failing", WRITE_FAILURES)
def test_a_reactivation_whose_local_write_fails_shows_the_operators_state(sub, operator, users, monkeypatch, failing):
    sub = suspend_subscription(sub, actor=users["collections"], reason_code="non_payment", reason=REASON)
    owner, name = WRITE_FAILURES[failing]
    fail_first_call(monkeypatch, owner, name, DatabaseError("could not write: disk full"))
    with pytest.raises(DatabaseError):
        reactivate_subscription(sub, actor=users["collections"], reason="Paid in full on 2026-11-20")

    assert operator.status(sub) == "active" and len(patches(operator)) == 2
    shown = Subscription.objects.get(pk=sub.pk)
    assert (shown.status, shown.suspension_reason, shown.suspended_at) == ("active", "", None)
    assert not AuditEntry.objects.filter(action="subscription.reactivated").exists()
    entry = AuditEntry.objects.get(action="subscription.reactivate_write_failed", object_id=str(sub.pk))
    assert (entry.before["status"], entry.after["status"]) == ("suspended", "active")
    assert entry.reason == "Paid in full on 2026-11-20" and "disk full" in entry.after["local_error"]


def test_an_operator_answer_that_cannot_be_stored_still_leaves_its_status_shown(sub, operator, users):
    # The operator's own data breaks the write (a negative quantity: the column refuses it), and reading the
    # subscription back gives the same: PartnerDesk still shows the operator's status, and says why.
    operator.simulator.update_subscription(str(sub.customer.tenant_id), sub.operator_id, quantity=-5)
    with pytest.raises(IntegrityError):
        suspend_subscription(sub, actor=users["admin"], reason_code="fraud", reason="stolen card")
    shown = Subscription.objects.get(pk=sub.pk)
    assert (shown.status, shown.suspension_reason, shown.quantity) == ("suspended", "fraud", 25)
    assert operator.status(sub) == "suspended"
    entry = AuditEntry.objects.get(action="subscription.suspend_write_failed")
    assert entry.after["status"] == "suspended" and "IntegrityError" in entry.after["local_error"]


UNSTORABLE_REASONS = {
    "lone surrogate": "x\ud800y",
    "NUL": "paid\x00late",
    "3000 characters": "x" * 3000,
}


@pytest.mark.parametrize("reason", UNSTORABLE_REASONS.values(), ids=UNSTORABLE_REASONS.keys())
def test_a_suspension_with_an_unstorable_reason_is_refused_before_the_operator_is_called(sub, operator, users, reason):
    before = len(operator.simulator.requests())
    with pytest.raises(InvalidInput) as err:
        suspend_subscription(sub, actor=users["collections"], reason_code="non_payment", reason=reason)
    assert err.value.field == "reason"
    assert len(operator.simulator.requests()) == before  # the operator was not asked anything
    assert operator.status(sub) == "active" and Subscription.objects.get(pk=sub.pk).status == "active"
    assert not AuditEntry.objects.filter(action__startswith="subscription.suspend").exists()


@pytest.mark.parametrize("reason", UNSTORABLE_REASONS.values(), ids=UNSTORABLE_REASONS.keys())
def test_a_reactivation_with_an_unstorable_reason_is_refused_before_the_operator_is_called(sub, operator, users, reason):
    sub = suspend_subscription(sub, actor=users["collections"], reason_code="non_payment", reason=REASON)
    before = len(operator.simulator.requests())
    with pytest.raises(InvalidInput) as err:
        reactivate_subscription(sub, actor=users["collections"], reason=reason)
    assert err.value.field == "reason"
    assert len(operator.simulator.requests()) == before
    assert operator.status(sub) == "suspended" and Subscription.objects.get(pk=sub.pk).status == "suspended"


def test_a_reason_of_the_longest_length_allowed_is_accepted(sub, operator, users):
    reason = "x" * bounds.REASON_LENGTH
    sub = suspend_subscription(sub, actor=users["collections"], reason_code="non_payment", reason=reason)
    assert sub.status == "suspended"
    assert AuditEntry.objects.get(action="subscription.suspended").reason == reason


def test_an_actor_the_audit_log_cannot_name_is_refused_before_the_operator_is_called(sub, operator):
    before = len(operator.simulator.requests())
    with pytest.raises(TypeError):
        suspend_subscription(sub, actor="collections1", reason_code="non_payment", reason=REASON)
    assert len(operator.simulator.requests()) == before


# --- the background path: queued operator requests ---------------------------------------------------------


@pytest.fixture
def queued(operator, customer_a):
    """Two subscriptions of a customer with an overdue invoice, each with a suspension queued."""
    operator.add_subscription(customer_a, offerName="Microsoft 365 E3", quantity=25)
    operator.add_subscription(customer_a, offerName="Exchange Online (Plan 1)", quantity=5)
    subs = sync_subscriptions(customer_a, actor=None)
    invoice = make_invoice(customer_a, "1280.00")
    for sub in subs:
        OperatorRequest.objects.create(subscription=sub, customer=customer_a, action=OperatorRequest.SUSPEND,
                                       cause=f"test:{invoice.number}:{sub.pk}",
                                       reason=f"Non-payment: invoice {invoice.number} unpaid 24 days after its due date")
    return subs


def test_a_queued_suspension_whose_local_write_fails_is_done_once(queued, operator, monkeypatch):
    fail_first_call(monkeypatch, services, "record", DatabaseError("could not write: disk full"))
    assert process_operator_requests() == {"done": 2, "skipped": 0, "retry": 0}

    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"done"}
    for sub in queued:
        assert operator.status(sub) == "suspended"
        assert Subscription.objects.get(pk=sub.pk).status == "suspended"
    assert len(patches(operator)) == 2  # one change per subscription at the operator
    assert AuditEntry.objects.filter(action="subscription.suspend_write_failed").count() == 1
    assert AuditEntry.objects.filter(action="subscription.suspended").count() == 1
    assert CollectionsAction.objects.filter(kind="suspended").count() == 2


def test_a_queued_suspension_that_cannot_be_recorded_at_all_is_finished_later_without_a_second_change(
        queued, operator, monkeypatch):
    import datetime as dt

    # The database refuses every write of the service for now: the operator has suspended the first subscription,
    # PartnerDesk cannot say so yet. The worker stops as after a crash; its requests stay claimed, not lost.
    def broken(*args, **kwargs):
        raise DatabaseError("could not write: disk full")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(DatabaseError):
        process_operator_requests()
    monkeypatch.undo()
    assert OperatorRequest.objects.filter(status="in_progress").count() == 2
    assert len(patches(operator)) == 1

    # Once their claims are stale a worker takes them up again: the operator already shows the first suspended,
    # so the gateway sends no second change for it, and PartnerDesk records both.
    OperatorRequest.objects.filter(status="in_progress").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    process_operator_requests()
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"done"}
    assert len(patches(operator)) == 2
    for sub in queued:
        assert Subscription.objects.get(pk=sub.pk).status == "suspended" == operator.status(sub)
