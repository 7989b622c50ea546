"""Must show: an automatic suspension for fraud goes through the operator simulator once, is audited, opens one
case; clearing the alert reactivates with a reason; a second computation the same day changes nothing.

Real parts: the operator simulator over HTTP, committed transactions (the operator is called outside ours)."""

import pytest
from django.db import connections

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import Subscription
from partnerdesk.fraud import services
from partnerdesk.fraud.alerts import record_hits
from partnerdesk.fraud.models import Alert, AlertAction, FraudSettings, SignalRule
from partnerdesk.fraud.tests.conftest import AS_OF, spike
from partnerdesk.support.models import Case

pytestmark = pytest.mark.django_db(transaction=True)


def patches(operator):
    return len(operator.simulator.requests("PATCH"))


def state(operator):
    """Everything a computation could change."""
    return {"alerts": list(Alert.objects.values_list("id", "status", "times_seen", "last_seen_on", "updated_at")),
            "cases": Case.objects.count(), "audit": AuditEntry.objects.count(), "patches": patches(operator),
            "actions": list(AlertAction.objects.values_list("id", "kind", "subscription_id", "undone_at")),
            "subscriptions": list(Subscription.objects.values_list("id", "status", "suspension_reason"))}


def test_an_automatic_suspension_goes_through_the_operator_once_and_clearing_reactivates(
        mining, operator, fraud_team, users):
    customer, subs = mining
    SignalRule.objects.create(signal="spend_spike", auto_suspend=True)  # the policy: suspend on a spike
    hits = [spike(customer)]
    in_transaction = []
    ours = connections["default"]  # this thread's connection (the simulator answers from another thread)
    real_patch = operator.simulator.patch_subscription

    def patch(*args, **kwargs):  # the simulator runs in this process: see whether our side holds a transaction
        in_transaction.append(ours.in_atomic_block)
        return real_patch(*args, **kwargs)

    operator.simulator.patch_subscription = patch
    try:
        assert record_hits(hits, as_of=AS_OF) == (1, 0)
    finally:
        operator.simulator.patch_subscription = real_patch

    alert = Alert.objects.get()
    # Through the operator: each subscription suspended once, with the reason fraud, outside any transaction.
    assert patches(operator) == 2 and in_transaction == [False, False]
    for sub in subs:
        sub.refresh_from_db()
        assert (operator.status(sub), sub.status, sub.suspension_reason) == ("suspended", "suspended", "fraud")
    # One case, a fraud case for the team, not acknowledged to anyone.
    case = Case.objects.get()
    assert (alert.case, case.type, case.channel, case.team, case.customer) == (
        case, "fraud_misuse", "internal", fraud_team, customer)
    assert set(case.subscriptions.all()) == set(subs)
    # Audited: the alert opened, each suspension (at the operator and as the alert's action), by the system.
    reason = f"automatic action on fraud alert #{alert.pk}"
    suspended = AuditEntry.objects.filter(action="subscription.suspended").order_by("object_id")
    assert [(e.object_id, e.reason, e.actor_label) for e in suspended] == [
        (str(s.pk), reason, "system") for s in sorted(subs, key=lambda s: s.pk)]
    assert AuditEntry.objects.filter(action="fraud_alert.opened", object_id=str(alert.pk)).count() == 1
    taken = AuditEntry.objects.filter(action="fraud_alert.action_taken")
    assert sorted(e.after["subscription"] for e in taken) == sorted(s.pk for s in subs)
    assert all(e.after["automatic"] and e.after["action"] == "suspend" for e in taken)
    actions = AlertAction.objects.filter(alert=alert)
    assert actions.count() == 2 and all(a.automatic and a.kind == "suspend" for a in actions)
    assert alert.acted_at is None  # nobody has acted on it yet: the automatic policy did

    # A second computation the same day: nothing changes (no case, no operator call, no audit, same counts).
    before = state(operator)
    assert record_hits(hits, as_of=AS_OF) == (0, 0)
    assert state(operator) == before

    # Clearing reactivates at the operator, with the reason, and lifts the alert.
    agent = users["collections"]
    why = "客户已电话核实，用量为新上线的渲染任务"
    services.clear(alert, actor=agent, reason=why)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_by, alert.close_reason) == ("cleared", agent, why)
    assert alert.closed_at is not None and alert.acted_at is not None
    for sub in subs:
        sub.refresh_from_db()
        assert (operator.status(sub), sub.status, sub.suspension_reason) == ("active", "active", "")
    reactivated = AuditEntry.objects.filter(action="subscription.reactivated")
    assert sorted((e.object_id, e.reason, e.actor) for e in reactivated) == sorted(
        (str(s.pk), why, agent) for s in subs)
    assert AuditEntry.objects.get(action="fraud_alert.cleared").reason == why
    assert AuditEntry.objects.filter(action="fraud_alert.action_undone").count() == 2
    assert all(a.undone_at and a.undo_reason == why for a in AlertAction.objects.all())
    assert patches(operator) == 4

    # ... and computing again that day neither reopens the incident nor suspends again.
    before = state(operator)
    assert record_hits(hits, as_of=AS_OF) == (0, 0)
    assert state(operator) == before
    assert all(operator.status(s) == "active" for s in subs)

    # Nor the next days, though the spike's window slid (a new tripped day): the incident cools down after the
    # close, so the automatic suspension does not run again.
    import datetime as dt

    for days in (1, 2):
        day = AS_OF + dt.timedelta(days=days)
        assert record_hits([spike(customer, day=day, tripped=str(day))], as_of=day) == (0, 0)
    assert state(operator) == before
    assert all(operator.status(s) == "active" for s in subs)


def test_without_automatic_actions_in_the_settings_nothing_is_suspended(mining, operator, fraud_team):
    customer, subs = mining
    SignalRule.objects.create(signal="spend_spike", auto_suspend=True)
    FraudSettings.objects.filter(pk=1).update(auto_actions=False)
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    assert patches(operator) == 0 and not AlertAction.objects.exists()
    assert all(operator.status(s) == "active" for s in subs)
    assert Case.objects.count() == 1


def test_an_operator_outage_leaves_the_suspension_to_the_next_computation(mining, operator, fraud_team):
    """The automatic suspension fails at the operator: the failure is audited, nothing is recorded as done, and
    the next day's computation suspends (once)."""
    import datetime as dt

    customer, subs = mining
    SignalRule.objects.create(signal="spend_spike", auto_suspend=True)
    operator.queue_faults([{"status": 503}] * 6, methods=["PATCH"])  # both subscriptions' three attempts
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    assert not AlertAction.objects.exists()
    assert AuditEntry.objects.filter(action="fraud_alert.action_failed").count() == 2
    assert all(operator.status(s) == "active" for s in subs)

    operator.simulator.clear_faults()
    tomorrow = AS_OF + dt.timedelta(days=1)
    assert record_hits([spike(customer, day=tomorrow)], as_of=tomorrow) == (0, 1)
    assert AlertAction.objects.count() == 2
    assert all(operator.status(s) == "suspended" for s in subs)
    assert Alert.objects.get().times_seen == 2 and Case.objects.count() == 1
