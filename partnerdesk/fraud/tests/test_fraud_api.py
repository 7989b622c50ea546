"""The fraud API: alerts with their evidence, the actions (through fraud.services), rules and settings, credit
limits and budgets. Permissions: staff read alerts, collections/finance/admin act, admin sets rules; a customer's
user reads only its own limits."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import translation

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import Subscription
from partnerdesk.escalations.models import ServiceRequest
from partnerdesk.fraud.alerts import record_hits
from partnerdesk.fraud.explain import explain
from partnerdesk.fraud.models import Alert, AlertAction, CreditLimit, CustomerRisk, FraudSettings, SignalRule
from partnerdesk.fraud.rules import rule_for
from partnerdesk.fraud.tests.conftest import AS_OF, spike
from partnerdesk.rebilling.models import FileKind
from partnerdesk.rebilling.tests.recon_factory import line, recon_file

FIGURES = {"day": "2026-11-23", "spend": "18560.00", "above": "18250.00", "expected": "310.00", "baseline_days": 56,
           "score": "9.40", "min_score": "5", "min_amount": "500.00"}


@pytest.fixture
def spiked(customer_a):
    """An open spend-spike alert of customer A's, with its case (as detection records it)."""
    assert record_hits([spike(customer_a, figures=FIGURES)], as_of=AS_OF) == (1, 0)
    return Alert.objects.get()


def test_the_list_filters_by_status_signal_and_customer(spiked, customer_a, customer_b, api_client, tokens):
    record_hits([spike(customer_b, signal="new_region", subject="region:china north 3")], as_of=AS_OF)
    api = api_client.as_(tokens["billing_agent"])
    body = api.get("/fraud/alerts").json()
    assert body["count"] == 2
    assert {a["signal"] for a in api.get("/fraud/alerts", signal="new_region").json()["items"]} == {"new_region"}
    mine = api.get("/fraud/alerts", customer_id=customer_a.pk).json()["items"]
    assert [(a["id"], a["customer_name"], a["amount"], a["case_id"]) for a in mine] == [
        (spiked.pk, "Contoso 上海", "18250.00", spiked.case_id)]
    assert api.get("/fraud/alerts", status="dismissed").json()["count"] == 0
    refused = api.get("/fraud/alerts", status="bogus")
    assert refused.status_code == 422 and refused.json()["field"] == "status"
    for who in ("customer_a", "customer_b"):
        assert api_client.as_(tokens[who]).get("/fraud/alerts").status_code == 403
        assert api_client.as_(tokens[who]).get(f"/fraud/alerts/{spiked.pk}").status_code == 403


def test_one_alert_explains_itself_in_the_clients_language_with_its_figures_and_series(spiked, client, tokens):
    def get(language):
        return client.get(f"/api/v1/fraud/alerts/{spiked.pk}", headers={"Authorization": f"Bearer {tokens['auditor']}",
                                                                        "Accept-Language": language}).json()

    body = get("en")
    with translation.override("en"):
        assert body["explanation"] == explain("spend_spike", FIGURES)
    assert "¥18,560.00" in body["explanation"] and "¥18,250.00" in body["explanation"]
    assert body["figures"]["spend"] == "18560.00"
    assert body["series"][-1] == ["2026-11-23", "18560.00"] and body["tripped"] == "2026-11-23"
    assert body["case_id"] == spiked.case_id and body["actions"] == []
    assert "fraud_alert.opened" in [h["action"] for h in body["history"]]
    with translation.override("zh-hans"):
        chinese = explain("spend_spike", FIGURES)
    assert get("zh-CN")["explanation"] == chinese
    assert get("zh-CN")["explanation"] != body["explanation"] or chinese == body["explanation"]
    assert client.get("/api/v1/fraud/alerts/999999", headers={"Authorization": f"Bearer {tokens['auditor']}"}
                      ).status_code == 404


def test_judging_and_controls_through_the_api(spiked, customer_a, api_client, tokens, users):
    auditor, collections = api_client.as_(tokens["auditor"]), api_client.as_(tokens["collections"])
    assert auditor.post(f"/fraud/alerts/{spiked.pk}/confirm", {"reason": "stolen card"}).status_code == 403
    refused = collections.post(f"/fraud/alerts/{spiked.pk}/prepayment", {"reason": ""})
    assert refused.status_code == 422 and refused.json()["field"] == "reason"

    resp = collections.post(f"/fraud/alerts/{spiked.pk}/prepayment", {"reason": "card chargeback"})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["controls"]["prepayment_required"] is True
    assert [(a["kind"], a["actor"], a["reason"]) for a in body["actions"]] == [
        ("require_prepayment", "collections1", "card chargeback")]
    assert CustomerRisk.objects.get(customer=customer_a).prepayment_required
    # Never twice.
    again = collections.post(f"/fraud/alerts/{spiked.pk}/prepayment", {"reason": "again"})
    assert again.status_code in (200, 409) and AlertAction.objects.filter(kind="require_prepayment").count() == 1

    held = collections.post(f"/fraud/alerts/{spiked.pk}/hold-orders", {"reason": "until the card clears"}).json()
    assert held["controls"]["orders_held"] is True

    confirmed = collections.post(f"/fraud/alerts/{spiked.pk}/confirm", {"reason": "the bank confirmed"}).json()
    assert (confirmed["status"], confirmed["verdict"]) == ("confirmed", "fraud") and confirmed["acted_at"]
    assert AuditEntry.objects.filter(action="fraud_alert.confirmed", actor=users["collections"]).count() == 1

    # Clearing lifts the controls the alert set, with the reason; a reason is required.
    assert collections.post(f"/fraud/alerts/{spiked.pk}/clear", {}).status_code == 422
    cleared = collections.post(f"/fraud/alerts/{spiked.pk}/clear", {"reason": "paid by bank transfer"}).json()
    assert cleared["status"] == "cleared"
    assert cleared["controls"] == {"prepayment_required": False, "orders_held": False,
                                   "reason": cleared["controls"]["reason"]}
    assert all(a["undone_at"] and a["undo_reason"] == "paid by bank transfer" for a in cleared["actions"])
    # A cleared alert takes no more action.
    assert collections.post(f"/fraud/alerts/{spiked.pk}/hold-orders", {"reason": "x"}).status_code == 409


def test_dismiss_and_expected(customer_a, api_client, tokens):
    record_hits([spike(customer_a), spike(customer_a, signal="new_region", subject="region:china east 2")], as_of=AS_OF)
    first, second = Alert.objects.order_by("id")
    finance = api_client.as_(tokens["finance"])
    dismissed = finance.post(f"/fraud/alerts/{first.pk}/dismiss", {"reason": "month-end batch job"}).json()
    assert (dismissed["status"], dismissed["verdict"], dismissed["close_reason"]) == (
        "dismissed", "false_alarm", "month-end batch job")
    bad = finance.post(f"/fraud/alerts/{second.pk}/expected", {"reason": "new datacentre", "until": "1999-01-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "until"
    expected = finance.post(f"/fraud/alerts/{second.pk}/expected", {"reason": "new datacentre", "until": "2027-03-31"})
    assert expected.status_code == 200 and expected.json()["status"] == "expected"
    # The same pattern no longer alerts.
    assert record_hits([spike(customer_a, signal="new_region", subject="region:china east 2")], as_of=AS_OF) == (0, 0)


def test_report_to_the_operator_once(spiked, api_client, tokens):
    from partnerdesk.escalations.targets import settings_row

    row = settings_row()
    row.contact_name, row.contact_email = "王芳", "escalations@northwind.example.cn"
    row.save()
    admin = api_client.as_(tokens["admin"])
    bad = admin.post(f"/fraud/alerts/{spiked.pk}/report", {"severity": "urgent"})
    assert bad.status_code == 422 and bad.json()["field"] == "severity"
    body = admin.post(f"/fraud/alerts/{spiked.pk}/report", {"channel": "portal", "severity": "moderate"}).json()
    sr = ServiceRequest.objects.get()
    assert sr.case_id == spiked.case_id and sr.topic == "fraud"
    assert [(a["kind"], a["service_request_id"]) for a in body["actions"]] == [("report", sr.pk)]
    assert admin.post(f"/fraud/alerts/{spiked.pk}/report", {}).status_code == 409
    assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_suspend_through_the_operator_and_clear_reactivates(mining, operator, api_client, tokens, users):
    customer, subs = mining
    record_hits([spike(customer)], as_of=AS_OF)
    alert = Alert.objects.get()
    admin = api_client.as_(tokens["admin"])
    other = Subscription.objects.create(customer=users["customer_b"].customer, operator_id="x-1", offer_name="Other")
    wrong = admin.post(f"/fraud/alerts/{alert.pk}/suspend", {"reason": "mining", "subscription_ids": [other.pk]})
    assert wrong.status_code == 422 and wrong.json()["field"] == "subscription_ids[0]"
    azure = next(s for s in subs if s.offer_name == "Azure 计划")
    resp = admin.post(f"/fraud/alerts/{alert.pk}/suspend", {"reason": "crypto mining", "subscription_ids": [azure.pk]})
    assert resp.status_code == 200, resp.content
    azure.refresh_from_db()
    assert (operator.status(azure), azure.status, azure.suspension_reason) == ("suspended", "suspended", "fraud")
    assert [a["kind"] for a in resp.json()["actions"]] == ["suspend"]
    assert admin.post(f"/fraud/alerts/{alert.pk}/suspend", {"reason": "again", "subscription_ids": [azure.pk]}
                      ).status_code == 409
    cleared = admin.post(f"/fraud/alerts/{alert.pk}/clear", {"reason": "the owner proved the card"}).json()
    azure.refresh_from_db()
    assert (operator.status(azure), azure.status) == ("active", "active")
    assert cleared["status"] == "cleared" and cleared["actions"][0]["undo_reason"] == "the owner proved the card"
    actions = [h["action"] for h in cleared["history"]]
    assert "subscription.suspended" in actions and "subscription.reactivated" in actions


def test_rules_and_settings(customer_a, api_client, tokens, users):
    admin = api_client.as_(tokens["admin"])
    body = admin.get("/fraud/rules").json()
    spikes = next(r for r in body["effective"] if r["signal"] == "spend_spike")
    built_in = rule_for("spend_spike", None)
    assert Decimal(spikes["min_amount"]) == built_in.min_amount and spikes["id"] is None

    resp = _put(api_client, tokens["admin"], "/fraud/rules/spend_spike",
                {"min_score": "6.5", "min_amount": "800.00", "auto_prepayment": True, "reason": "fewer alerts"})
    assert resp.status_code == 200, resp.content
    assert rule_for("spend_spike", None).min_amount == Decimal("800.00")
    assert rule_for("spend_spike", None).auto_prepayment is True
    # A customer's own rule wins for that customer only.
    resp = _put(api_client, tokens["admin"], "/fraud/rules/spend_spike",
                {"customer_id": customer_a.pk, "enabled": False, "reason": "known batch jobs"})
    assert resp.json()["customer_id"] == customer_a.pk
    assert rule_for("spend_spike", customer_a.pk).enabled is False and rule_for("spend_spike", None).enabled is True
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="fraud.rule")] == ["fraud.rule_set"] * 2
    listed = admin.get("/fraud/rules", customer_id=customer_a.pk).json()
    assert next(r for r in listed["effective"] if r["signal"] == "spend_spike")["enabled"] is False
    assert len(listed["rules"]) == 2
    # Bad input names the field; other roles may not.
    for payload, field in [({"min_score": "abc"}, "min_score"), ({"min_amount": "-1"}, "min_amount"),
                           ({"window_days": 0}, "window_days"), ({"customer_id": 2**63}, "customer_id")]:
        bad = _put(api_client, tokens["admin"], "/fraud/rules/spend_spike", payload)
        assert bad.status_code == 422 and bad.json()["field"] == field, (payload, bad.content)
    assert _put(api_client, tokens["admin"], "/fraud/rules/nonsense", {}).status_code == 422
    assert _put(api_client, tokens["finance"], "/fraud/rules/spend_spike", {"enabled": False}).status_code == 403
    own = f"/fraud/rules/spend_spike?customer_id={customer_a.pk}&reason=batch%20jobs%20ended"
    assert api_client.as_(tokens["finance"]).delete(own).status_code == 403
    assert api_client.as_(tokens["admin"]).delete(own).status_code == 204
    assert not SignalRule.objects.filter(customer=customer_a).exists()
    assert AuditEntry.objects.get(action="fraud.rule_removed").reason == "batch jobs ended"
    assert api_client.as_(tokens["admin"]).delete(own).status_code == 404
    assert rule_for("spend_spike", customer_a.pk).enabled is True

    from partnerdesk.accounts.models import Team

    team = Team.objects.create(name="Risk")
    resp = _put(api_client, tokens["admin"], "/fraud/settings",
                {"team_id": team.pk, "new_customer_days": 30, "auto_actions": False, "reason": "new policy"})
    assert resp.status_code == 200 and resp.json()["team_name"] == "Risk"
    row = FraudSettings.objects.get(pk=1)
    assert (row.team, row.new_customer_days, row.auto_actions, row.baseline_days) == (team, 30, False, 56)
    assert AuditEntry.objects.get(action="fraud.settings_changed").reason == "new policy"
    assert _put(api_client, tokens["admin"], "/fraud/settings", {"team_id": 999999}).json()["field"] == "team_id"
    assert _put(api_client, tokens["admin"], "/fraud/settings", {"team_id": None}).json()["team_id"] is None
    assert _put(api_client, tokens["collections"], "/fraud/settings", {"auto_actions": True}).status_code == 403
    assert api_client.as_(tokens["customer_a"]).get("/fraud/settings").status_code == 403


def _put(api_client, token, path, data):
    import json

    from django.test import Client

    return Client().generic("PUT", "/api/v1" + path, json.dumps(data), content_type="application/json",
                            headers={"Authorization": f"Bearer {token}"})


def test_limits_set_read_and_removed_with_what_is_used(customer_a, customer_b, api_client, tokens):
    usage = recon_file(FileKind.USAGE)
    line(usage, customer=customer_a, charges="1200.00", usage_date=dt.date(2026, 11, 20))
    line(usage, customer=customer_a, charges="300.00", usage_date=dt.date(2026, 10, 20))  # October: not in the budget
    finance = api_client.as_(tokens["finance"])
    resp = finance.post("/fraud/limits", {"customer_id": customer_a.pk, "kind": "budget", "amount": "2000.00",
                                          "reason": "agreed with the customer"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["kind"], body["amount"], body["used"], body["percent_used"]) == ("budget", "2000.00", "1272.00", "63.6")  # with 6% VAT
    finance.post("/fraud/limits", {"customer_id": customer_b.pk, "kind": "credit_limit", "amount": "5000.00"})
    for payload, field in [({"customer_id": customer_a.pk, "kind": "budget", "amount": 12.5}, "amount"),
                           ({"customer_id": customer_a.pk, "kind": "weekly", "amount": "1.00"}, "kind"),
                           ({"customer_id": customer_a.pk, "kind": "budget", "amount": "1.00",
                             "subscription_id": 999999}, "subscription_id")]:
        bad = finance.post("/fraud/limits", payload)
        assert bad.status_code == 422 and bad.json()["field"] == field, bad.content
    assert api_client.as_(tokens["collections"]).post(
        "/fraud/limits", {"customer_id": customer_a.pk, "kind": "budget", "amount": "1.00"}).status_code == 403
    assert api_client.as_(tokens["customer_a"]).post(
        "/fraud/limits", {"customer_id": customer_a.pk, "kind": "budget", "amount": "1.00"}).status_code == 403

    # A customer's user sees its own limits only.
    own = api_client.as_(tokens["customer_a"]).get("/fraud/limits").json()
    assert [(r["customer_id"], r["used"]) for r in own["items"]] == [(customer_a.pk, "1272.00")]
    assert api_client.as_(tokens["customer_a"]).get("/fraud/limits", customer_id=customer_b.pk).json()["count"] == 0
    assert finance.get("/fraud/limits").json()["count"] == 2

    limit = CreditLimit.objects.get(customer=customer_a)
    assert api_client.as_(tokens["customer_b"]).delete(f"/fraud/limits/{limit.pk}").status_code == 403
    missing_reason = finance.delete(f"/fraud/limits/{limit.pk}")
    assert missing_reason.status_code == 422 and missing_reason.json()["field"] == "reason"
    assert finance.delete(f"/fraud/limits/{limit.pk}?reason=no%20longer%20needed").status_code == 204
    assert not CreditLimit.objects.filter(pk=limit.pk).exists()
    assert AuditEntry.objects.get(action="credit_limit.removed").reason == "no longer needed"


def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(spiked, customer_a, api_client, tokens):
    admin = api_client.as_(tokens["admin"])
    before = AuditEntry.objects.count()
    for path in ("/fraud/alerts", "/fraud/limits"):
        for name in ("offset", "limit"):
            resp = admin.get(path, **{name: str(2**63)})
            assert resp.status_code == 422 and resp.json()["field"] == name
    assert admin.get("/fraud/alerts", customer_id=str(2**63)).json()["field"] == "customer_id"
    assert admin.get(f"/fraud/alerts/{2**63}").status_code == 422
    for bad in ("x\\u0000y", "x\\ud800y"):
        resp = admin.post(f"/fraud/alerts/{spiked.pk}/dismiss", raw='{"reason": "' + bad + '"}')
        assert resp.status_code == 422 and resp.json()["field"] == "reason"
    raw = json.dumps({"customer_id": customer_a.pk, "kind": "budget", "amount": "1.00", "reason": "{bad}"})
    resp = admin.post("/fraud/limits", raw=raw.replace("{bad}", "a\\u0000"))
    assert resp.status_code == 422 and resp.json()["field"] == "reason"
    assert admin.post(f"/fraud/alerts/{spiked.pk}/dismiss", raw="{not json").status_code == 400
    assert admin.get("/fraud/reports", start="2026-02-30").status_code == 422
    assert AuditEntry.objects.count() == before
    spiked.refresh_from_db()
    assert spiked.status == "open"


@pytest.mark.django_db(transaction=True)
def test_an_empty_subscription_list_is_refused_not_everything_suspended(mining, operator, api_client, tokens):
    customer, subs = mining
    record_hits([spike(customer)], as_of=AS_OF)
    alert = Alert.objects.get()
    resp = api_client.as_(tokens["admin"]).post(f"/fraud/alerts/{alert.pk}/suspend",
                                                {"reason": "mining", "subscription_ids": []})
    assert resp.status_code == 422 and resp.json()["field"] == "subscription_ids"
    assert all(operator.status(s) == "active" for s in subs) and not AlertAction.objects.exists()


def test_severity_a_is_not_offered_for_a_fraud_report(spiked, api_client, tokens):
    resp = api_client.as_(tokens["admin"]).post(f"/fraud/alerts/{spiked.pk}/report",
                                                {"channel": "portal", "severity": "critical"})
    assert resp.status_code == 422 and "severity" in resp.content.decode()
    assert not ServiceRequest.objects.exists()


def test_expected_patterns_listed_and_removed(spiked, customer_a, api_client, tokens):
    from partnerdesk.fraud.models import ExpectedPattern

    admin = api_client.as_(tokens["admin"])
    assert admin.post(f"/fraud/alerts/{spiked.pk}/expected", {"reason": "month-end job"}).status_code == 200
    rows = admin.get(f"/fraud/patterns?customer_id={customer_a.pk}").json()["items"]
    assert [(r["alert_id"], r["signal"], r["until"], r["in_force"]) for r in rows] == [
        (spiked.pk, "spend_spike", str(AS_OF + dt.timedelta(days=90)), True)]
    assert admin.get(f"/fraud/patterns?alert_id={spiked.pk}&in_force=false").json()["items"] == []
    pk = rows[0]["id"]
    no_reason = admin.delete(f"/fraud/patterns/{pk}")
    assert no_reason.status_code in (400, 422) and no_reason.json()["field"] == "reason"
    assert api_client.as_(tokens["auditor"]).delete(f"/fraud/patterns/{pk}?reason=x").status_code == 403
    assert admin.delete(f"/fraud/patterns/{pk}?reason=the job ended").status_code == 204
    assert not ExpectedPattern.objects.exists()
    assert admin.delete(f"/fraud/patterns/{pk}?reason=again").status_code == 404
    assert AuditEntry.objects.get(action="fraud_pattern.removed").reason == "the job ended"


def test_a_new_customer_rule_keeps_the_default_rules_switches(customer_a, api_client, tokens):
    SignalRule.objects.create(signal="spend_spike", auto_suspend=True, auto_prepayment=True)
    SignalRule.objects.create(signal="new_region", enabled=False)
    admin = api_client.as_(tokens["admin"])
    for signal in ("spend_spike", "new_region"):
        resp = _put(api_client, tokens["admin"], f"/fraud/rules/{signal}",
                    {"customer_id": customer_a.pk, "min_amount": "5000.00", "reason": "a big customer"})
        assert resp.status_code == 200, resp.content
    spike_rule, region_rule = rule_for("spend_spike", customer_a.pk), rule_for("new_region", customer_a.pk)
    assert (spike_rule.min_amount, spike_rule.enabled, spike_rule.auto_suspend, spike_rule.auto_prepayment) == (
        Decimal("5000.00"), True, True, True)
    assert (region_rule.min_amount, region_rule.enabled) == (Decimal("5000.00"), False)
    assert admin.get(f"/fraud/rules?customer_id={customer_a.pk}").status_code == 200
