"""What staff do with an alert: verdicts (confirm, dismiss), controls (prepayment, held orders), a suspension
by hand, and the report to 21Vianet through the escalation flow; each once, each audited."""

import datetime as dt

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.escalations.models import ServiceRequest
from partnerdesk.escalations.targets import settings_row
from partnerdesk.fraud import controls, services
from partnerdesk.fraud.alerts import record_hits
from partnerdesk.fraud.models import Alert, AlertAction, SignalRule
from partnerdesk.fraud.tests.conftest import AS_OF, spike
from partnerdesk.support.models import CaseMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(mining, fraud_team):
    customer, _subs = mining
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    return Alert.objects.select_related("customer", "case").get()


@pytest.fixture
def partner_contact(db):
    row = settings_row()
    row.contact_name, row.contact_email = "王芳", "escalations@northwind.example.cn"
    row.save()
    return row


def events(alert):
    return list(CaseMessage.objects.filter(case=alert.case, kind="event").order_by("id").values_list("body", flat=True))


def test_confirm_sets_the_verdict_and_the_time_acted_and_the_alert_keeps_updating(alert, users):
    agent = users["collections"]
    services.confirm(alert, actor=agent, reason="Card reported stolen by the bank")
    alert.refresh_from_db()
    assert (alert.status, alert.verdict) == ("confirmed", "fraud")
    acted = alert.acted_at
    assert acted is not None and alert.closed_at is None
    entry = AuditEntry.objects.get(action="fraud_alert.confirmed")
    assert (entry.actor, entry.reason, entry.before["status"], entry.after["status"]) == (
        agent, "Card reported stolen by the bank", "open", "confirmed")
    assert events(alert) == [f"Fraud alert #{alert.pk}: confirmed as fraud or misuse"]
    with pytest.raises(Conflict):
        services.confirm(alert, actor=agent, reason="again")
    # Confirmed is still the incident: the signal firing tomorrow updates it, no new alert.
    tomorrow = AS_OF + dt.timedelta(days=1)
    assert record_hits([spike(alert.customer, day=tomorrow)], as_of=tomorrow) == (0, 1)
    alert.refresh_from_db()
    assert alert.acted_at == acted  # the first time only


def test_dismiss_sets_the_verdict_closes_and_lifts_what_the_alert_set(alert, users):
    agent = users["finance"]
    services.require_prepayment(alert, actor=agent, reason="until the spike is explained")
    assert controls.risk_of(alert.customer).prepayment_required is True
    services.dismiss(alert, actor=agent, reason="A planned load test, confirmed by the customer's CTO")
    alert.refresh_from_db()
    assert (alert.status, alert.verdict, alert.closed_by) == ("dismissed", "false_alarm", agent)
    assert alert.acted_at is not None and alert.closed_at is not None
    assert controls.risk_of(alert.customer).prepayment_required is False
    action = AlertAction.objects.get()
    assert action.undone_at is not None and action.undo_reason.startswith("A planned load test")
    changes = AuditEntry.objects.filter(action="customer_risk.changed").order_by("id")
    assert [(e.after["prepayment_required"], e.actor) for e in changes] == [(True, agent), (False, agent)]
    assert events(alert) == [f"Fraud alert #{alert.pk}: prepayment required",
                             f"Fraud alert #{alert.pk}: prepayment no longer required",
                             f"Fraud alert #{alert.pk}: dismissed as a false alarm"]
    with pytest.raises(Conflict):  # closed: no more actions from it
        services.hold_orders(alert, actor=agent, reason="late")


def test_a_verdict_or_action_needs_a_reason(alert, users):
    for call in (services.confirm, services.dismiss, services.clear, services.mark_expected):
        with pytest.raises(InvalidInput) as refused:
            call(alert, actor=users["admin"], reason="  ")
        assert refused.value.field == "reason"
    with pytest.raises(InvalidInput) as refused:
        services.mark_expected(alert, actor=users["admin"], reason="ok", until=AS_OF - dt.timedelta(days=1))
    assert refused.value.field == "until"
    alert.refresh_from_db()
    assert alert.status == "open" and alert.acted_at is None


def test_controls_are_taken_once_and_one_set_by_hand_is_not_the_alerts_to_lift(alert, users):
    agent = users["collections"]
    services.hold_orders(alert, actor=agent, reason="new orders on hold while we check")
    with pytest.raises(Conflict):
        services.hold_orders(alert, actor=agent, reason="twice")
    assert AlertAction.objects.filter(kind="hold_orders").count() == 1
    # Prepayment was already required by hand before: the alert does not take it over.
    controls.set_controls(alert.customer, actor=agent, reason="credit check failed", prepayment_required=True)
    with pytest.raises(Conflict):
        services.require_prepayment(alert, actor=agent, reason="prepayment")
    services.clear(alert, actor=agent, reason="verified")
    risk = controls.risk_of(alert.customer)
    assert (risk.orders_held, risk.prepayment_required) == (False, True)


def test_automatic_prepayment_follows_the_rule(mining, fraud_team):
    customer, _subs = mining
    SignalRule.objects.create(signal="new_region", auto_prepayment=True)
    assert record_hits([spike(customer, signal="new_region", subject="region:china-east-3")], as_of=AS_OF) == (1, 0)
    action = AlertAction.objects.get()
    assert (action.kind, action.automatic, action.actor) == ("require_prepayment", True, None)
    assert controls.risk_of(customer).prepayment_required is True
    assert Alert.objects.get().acted_at is None


def test_a_suspension_by_hand_goes_to_the_operator_once_per_subscription(alert, mining, operator, users):
    _customer, (azure, m365) = mining
    agent = users["collections"]
    done = services.suspend(alert, actor=agent, reason="Mining on a stolen card", subscriptions=[azure])
    assert [a.subscription for a in done] == [azure]
    azure.refresh_from_db()
    assert (azure.status, azure.suspension_reason, operator.status(azure)) == ("suspended", "fraud", "suspended")
    assert operator.status(m365) == "active"
    patches = len(operator.simulator.requests("PATCH"))
    with pytest.raises(Conflict):  # suspended already: nothing is sent
        services.suspend(alert, actor=agent, reason="again", subscriptions=[azure])
    assert len(operator.simulator.requests("PATCH")) == patches
    # The whole customer: what is still active, once.
    assert [a.subscription for a in services.suspend(alert, actor=agent, reason="all of it")] == [m365]
    with pytest.raises(Conflict):
        services.suspend(alert, actor=agent, reason="and again")
    alert.refresh_from_db()
    assert alert.acted_at is not None
    assert AuditEntry.objects.filter(action="subscription.suspended", actor=agent).count() == 2


def test_suspending_another_customers_subscription_is_refused(alert, operator, users):
    from partnerdesk.conftest import make_customer
    from partnerdesk.customers.services import sync_subscriptions

    other = make_customer("南京远航贸易有限公司")
    operator.add_subscription(other)
    theirs = sync_subscriptions(other, actor=None)
    with pytest.raises(InvalidInput) as refused:
        services.suspend(alert, actor=users["admin"], reason="x", subscriptions=theirs)
    assert refused.value.field == "subscription_ids[0]"
    assert operator.status(theirs[0]) == "active"


def test_report_to_operator_creates_one_service_request_through_the_escalation_flow(alert, partner_contact, users):
    agent = users["collections"]
    sr = services.report_to_operator(alert, actor=agent)
    assert (sr.case, sr.customer, sr.topic, sr.severity, sr.channel, sr.status) == (
        alert.case, alert.customer, "fraud", "moderate", "portal", "draft")
    assert alert.customer.name in sr.title and sr.description
    assert sr.contact_email == "escalations@northwind.example.cn"  # the partner, never the customer
    action = AlertAction.objects.get(kind="report")
    assert (action.service_request, action.actor) == (sr, agent)
    with pytest.raises(Conflict):
        services.report_to_operator(alert, actor=agent, channel="api")
    assert ServiceRequest.objects.count() == 1
    assert AuditEntry.objects.filter(action="service_request.created").count() == 1
    entry = AuditEntry.objects.get(action="fraud_alert.action_taken")
    assert entry.after["action"] == "report" and entry.after["service_request"] == sr.pk
    alert.case.refresh_from_db()
    assert alert.case.status == "waiting_operator"
    alert.refresh_from_db()
    assert alert.acted_at is not None


def test_report_to_operator_refuses_severity_a(alert, partner_contact, users):
    with pytest.raises(InvalidInput) as refused:
        services.report_to_operator(alert, actor=users["admin"], severity="A")
    assert refused.value.field == "severity"
    assert not ServiceRequest.objects.exists() and not AlertAction.objects.exists()


def test_clearing_one_alert_leaves_suspended_what_another_active_alert_holds(alert, mining, operator, users):
    customer, (azure, m365) = mining
    agent = users["collections"]
    services.suspend(alert, actor=agent, reason="Mining on a stolen card")
    assert record_hits([spike(customer, signal="new_region", subject="region:china-north-3")], as_of=AS_OF) == (1, 0)
    region = Alert.objects.get(signal="new_region")
    # The second alert wants them suspended too: already so, it claims them without asking the operator again.
    patches = len(operator.simulator.requests("PATCH"))
    assert {a.subscription for a in services.suspend(region, actor=agent, reason="new region too")} == {azure, m365}
    assert len(operator.simulator.requests("PATCH")) == patches
    services.clear(alert, actor=agent, reason="the spike was a migration")
    for sub in (azure, m365):
        sub.refresh_from_db()
        assert (sub.status, operator.status(sub)) == ("suspended", "suspended")  # the region alert still holds them
    assert any(f"left suspended for fraud alert #{region.pk}" in e for e in events(alert))
    services.clear(region, actor=agent, reason="the region is the customer's new office")
    for sub in (azure, m365):
        sub.refresh_from_db()
        assert (sub.status, operator.status(sub)) == ("active", "active")


def test_mark_expected_defaults_to_90_days(alert, users):
    pattern = services.mark_expected(alert, actor=users["finance"], reason="month-end rendering")
    assert pattern.until == AS_OF + dt.timedelta(days=90) and pattern.alert == alert
