"""Subscriptions mirrored from the operator: sync, suspend and reactivate through the gateway, over HTTP."""

import datetime as dt

import pytest
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import Subscription
from partnerdesk.customers.services import reactivate_subscription, suspend_subscription, sync_subscriptions
from partnerdesk.errors import Conflict, InvalidInput, OperatorFailure

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(operator, customer_a, users):
    operator.add_subscription(customer_a, offerName="Microsoft 365 E3", quantity=25, termDuration="P1Y")
    operator.add_subscription(customer_a, offerName="Azure plan", billingType="usage", termDuration="P1M")
    subs = sync_subscriptions(customer_a, actor=users["billing_agent"])
    return {s.offer_name: s for s in subs}


def test_sync_mirrors_the_operator(synced, operator, customer_a, users):
    e3 = synced["Microsoft 365 E3"]
    assert (e3.status, e3.quantity, e3.term_duration, e3.billing_type) == ("active", 25, "P1Y", "license")
    assert synced["Azure plan"].billing_type == "usage"
    assert AuditEntry.objects.filter(action="subscription.synced", customer=customer_a).count() == 2
    # A second sync with nothing changed writes nothing new.
    sync_subscriptions(customer_a, actor=users["billing_agent"])
    assert AuditEntry.objects.filter(action="subscription.synced", customer=customer_a).count() == 2


def test_suspend_then_reactivate_changes_the_operator(synced, operator, users):
    sub = synced["Microsoft 365 E3"]
    agent = users["collections"]
    sub = suspend_subscription(sub, actor=agent, reason_code="non_payment", reason="INV-2026-000007 is 21 days overdue")
    assert operator.status(sub) == "suspended"
    assert sub.status == "suspended" and sub.suspension_reason == "non_payment"
    assert sub.data_deletion_date == timezone.localdate() + dt.timedelta(days=60)
    entry = AuditEntry.objects.get(action="subscription.suspended", object_id=str(sub.pk))
    assert (entry.actor_label, entry.before["status"], entry.after["status"]) == ("collections1", "active", "suspended")
    assert entry.reason == "INV-2026-000007 is 21 days overdue"

    sub = reactivate_subscription(sub, actor=agent, reason="Paid in full on 2026-11-20")
    assert operator.status(sub) == "active"
    assert sub.status == "active" and sub.suspended_at is None and sub.data_deletion_date is None
    assert AuditEntry.objects.filter(action="subscription.reactivated", object_id=str(sub.pk)).exists()


def test_a_reason_is_required(synced, users):
    with pytest.raises(InvalidInput) as err:
        suspend_subscription(synced["Microsoft 365 E3"], actor=users["admin"], reason_code="non_payment", reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput) as err:
        suspend_subscription(synced["Microsoft 365 E3"], actor=users["admin"], reason_code="bored", reason="x")
    assert err.value.field == "reason_code"


def test_operator_down_leaves_the_subscription_unchanged(synced, operator, users):
    sub = synced["Microsoft 365 E3"]
    operator.queue_faults([{"status": 503}] * 5)
    with pytest.raises(OperatorFailure):
        suspend_subscription(sub, actor=users["admin"], reason_code="fraud", reason="stolen card")
    sub.refresh_from_db()
    assert sub.status == "active" and operator.status(sub) == "active"
    assert not AuditEntry.objects.filter(action="subscription.suspended").exists()


def test_operator_conflict_is_a_clear_error(synced, operator, users):
    sub = synced["Microsoft 365 E3"]
    operator.queue_faults([{"status": 412}], methods=["PATCH"])
    with pytest.raises(Conflict) as err:
        suspend_subscription(sub, actor=users["admin"], reason_code="fraud", reason="stolen card")
    assert err.value.status == 409
    assert Subscription.objects.get(pk=sub.pk).status == "active"
