"""The fraud pages: the alerts (by signal, status, customer; money at risk), an alert with its explanation, figures,
chart (SVG, no script) and action forms (CSRF, a reason where it undoes or judges), the history; the rules and
settings (administrators); credit limits and budgets for staff and in the customer's own portal."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from partnerdesk.audit.models import AuditEntry
from partnerdesk.fraud.alerts import record_hits
from partnerdesk.fraud.explain import explain
from partnerdesk.fraud.hits import Hit
from partnerdesk.fraud.models import Alert, CreditLimit, CustomerRisk, FraudSettings, SignalRule
from partnerdesk.fraud.rules import rule_for
from partnerdesk.rebilling.models import FileKind
from partnerdesk.rebilling.tests.recon_factory import line, recon_file

from .factories import client_for

AS_OF = dt.date(2026, 11, 24)
FIGURES = {"day": "2026-11-23", "spend": "18560.00", "above": "18250.00", "expected": "310.00", "baseline_days": 56,
           "score": "9.40", "min_score": "5", "min_amount": "500.00"}
SERIES = [[(dt.date(2026, 10, 1) + dt.timedelta(days=i)).isoformat(), "310.00"] for i in range(53)] + [
    ["2026-11-23", "18560.00"]]


def hit(customer, signal="spend_spike", subject="meter:virtual-machines-d4", amount="18250.00") -> Hit:
    return Hit(customer_id=customer.pk, signal=signal, day=AS_OF, score=Decimal("9.40"), amount=Decimal(amount),
               subject=subject, figures=FIGURES, series=SERIES, tripped="2026-11-23")


@pytest.fixture
def alerts(people, acme, globex):
    """Acme: a spend spike (18,250.00 at risk); Globex: a new region (700.00)."""
    record_hits([hit(acme), hit(globex, "new_region", "region:china north 3", "700.00")], as_of=AS_OF)
    return Alert.objects.get(customer=acme), Alert.objects.get(customer=globex)


def test_the_alerts_list_by_signal_status_and_customer_with_the_money_at_risk(alerts, people, acme):
    spike, region = alerts
    page = client_for(people["auditor"]).get(reverse("fraud_alerts"))
    body = page.content.decode()
    assert page.status_code == 200
    assert f'data-alert="{spike.pk}"' in body and f'data-alert="{region.pk}"' in body
    assert "¥18,950.00" in body  # the money at risk of both
    only_region = client_for(people["auditor"]).get(reverse("fraud_alerts"), {"signal": "new_region"}).content.decode()
    assert f'data-alert="{region.pk}"' in only_region and f'data-alert="{spike.pk}"' not in only_region
    only_acme = client_for(people["auditor"]).get(reverse("fraud_alerts"), {"customer": acme.pk}).content.decode()
    assert f'data-alert="{spike.pk}"' in only_acme and f'data-alert="{region.pk}"' not in only_acme
    assert "Acme 上海" in only_acme and "¥18,250.00" in only_acme
    dismissed = client_for(people["auditor"]).get(reverse("fraud_alerts"), {"status": "dismissed"}).content.decode()
    assert "data-alert=" not in dismissed
    # The staff nav names the page; a customer's user may not open it.
    assert f'href="{reverse("fraud_alerts")}"' in client_for(people["billing_agent"]).get(reverse("dashboard")).content.decode()
    assert client_for(people["acme_user"]).get(reverse("fraud_alerts")).status_code == 403
    assert Client().get(reverse("fraud_alerts")).status_code == 302
    assert client_for(people["auditor"]).get(reverse("fraud_alerts"), {"status": "bogus"}).status_code == 400


def test_an_alert_explains_itself_with_its_figures_and_a_chart_of_the_tripped_point(alerts, people):
    spike, _region = alerts
    for language, code in [("en", "en"), ("zh-hans", "zh-hans"), ("zh-hant", "zh-hant")]:
        body = client_for(people["auditor"], language=language).get(reverse("fraud_alert", args=[spike.pk])
                                                                     ).content.decode()
        with translation.override(code):
            words = explain("spend_spike", FIGURES)
        from django.utils.html import escape

        assert escape(words) in body, language
    body = client_for(people["auditor"]).get(reverse("fraud_alert", args=[spike.pk])).content.decode()
    assert "<svg" in body and "<script" not in body and "Tripped on 2026-11-23" in body
    assert "18560.00" in body and "baseline_days" in body  # the figures
    assert "fraud_alert.opened" in body  # the history
    assert reverse("support_case", args=[spike.case_id]) in body
    # The auditor reads but cannot act: no action forms.
    assert "csrfmiddlewaretoken" not in body.split("<main>")[1].split("</main>")[0]


def test_the_action_forms_need_csrf_and_a_reason_and_act_through_the_services(alerts, people):
    spike, _region = alerts
    url = reverse("fraud_alert", args=[spike.pk])
    page = client_for(people["collections"]).get(url).content.decode()
    for action in ("confirm", "dismiss", "expected", "prepayment", "hold_orders", "suspend", "report", "clear"):
        assert reverse("fraud_alert_action", args=[spike.pk, action]) in page, action
    strict = client_for(people["collections"], enforce_csrf_checks=True)
    assert strict.post(reverse("fraud_alert_action", args=[spike.pk, "dismiss"]),
                       {"dismiss-reason": "x"}).status_code == 403
    agent = client_for(people["collections"])
    empty = agent.post(reverse("fraud_alert_action", args=[spike.pk, "clear"]), {"clear-reason": ""})
    assert empty.status_code == 400 and "This field is required." in empty.content.decode()
    spike.refresh_from_db()
    assert spike.status == "open"

    done = agent.post(reverse("fraud_alert_action", args=[spike.pk, "prepayment"]), {"prepayment-reason": "chargeback"})
    assert done.status_code == 302 and done["Location"] == url
    assert CustomerRisk.objects.get(customer=spike.customer).prepayment_required
    after = agent.get(url).content.decode()
    assert 'data-kind="require_prepayment"' in after and "chargeback" in after
    assert reverse("fraud_alert_action", args=[spike.pk, "prepayment"]) not in after  # never twice

    done = agent.post(reverse("fraud_alert_action", args=[spike.pk, "dismiss"]), {"dismiss-reason": "month-end job"})
    assert done.status_code == 302
    spike.refresh_from_db()
    assert (spike.status, spike.verdict, spike.close_reason) == ("dismissed", "false_alarm", "month-end job")
    assert not CustomerRisk.objects.get(customer=spike.customer).prepayment_required  # undone with the reason
    assert AuditEntry.objects.filter(action="fraud_alert.dismissed", actor=people["collections"]).exists()
    # A closed alert: a second verdict is refused on the form, not a 500.
    again = agent.post(reverse("fraud_alert_action", args=[spike.pk, "confirm"]), {"confirm-reason": "changed mind"})
    assert again.status_code == 400 and "This alert is dismissed." in again.content.decode()
    assert agent.post(reverse("fraud_alert_action", args=[spike.pk, "nonsense"]), {}).status_code == 404
    assert client_for(people["auditor"]).post(reverse("fraud_alert_action", args=[spike.pk, "confirm"]),
                                              {"confirm-reason": "x"}).status_code == 403
    assert client_for(people["acme_user"]).get(url).status_code == 403


def test_the_rules_page_sets_defaults_customers_rules_and_the_settings(people, acme):
    admin = client_for(people["admin"])
    page = admin.get(reverse("fraud_rules"))
    assert page.status_code == 200 and "Usage or spend spike" in page.content.decode()
    resp = admin.post(reverse("fraud_rule_set"), {
        "prefix": "spend_spike", "spend_spike-signal": "spend_spike", "spend_spike-enabled": "on",
        "spend_spike-min_score": "6.50", "spend_spike-min_amount": "¥1,000", "spend_spike-window_days": "",
        "spend_spike-reason": "fewer small alerts"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert (rule_for("spend_spike", None).min_score, rule_for("spend_spike", None).min_amount) == (
        Decimal("6.50"), Decimal("1000.00"))
    resp = admin.post(reverse("fraud_rule_set"), {"prefix": "new", "new-signal": "new_region", "new-customer": acme.pk,
                                                  "new-enabled": "false", "new-reason": "opens regions often"})
    assert resp.status_code == 302
    assert rule_for("new_region", acme.pk).enabled is False and rule_for("new_region", None).enabled is True
    bad = admin.post(reverse("fraud_rule_set"), {"prefix": "new", "new-signal": "new_region", "new-customer": acme.pk,
                                                 "new-min_amount": "lots"})
    assert bad.status_code == 400 and "Enter an amount such as 1234.50." in bad.content.decode()
    own = SignalRule.objects.get(customer=acme)
    assert admin.post(reverse("fraud_rule_remove", args=[own.pk]), {"remove-reason": "done"}).status_code == 302
    assert not SignalRule.objects.filter(customer=acme).exists()

    from partnerdesk.accounts.models import Team

    team = Team.objects.create(name="Risk")
    resp = admin.post(reverse("fraud_settings"), {"team": team.pk, "new_customer_days": "30", "baseline_days": "56",
                                                  "reason": "risk team"})
    assert resp.status_code == 302
    row = FraudSettings.objects.get(pk=1)
    assert (row.team, row.new_customer_days, row.auto_actions) == (team, 30, False)
    assert admin.post(reverse("fraud_settings"), {"new_customer_days": "0", "baseline_days": "56"}).status_code == 400
    for who in ("finance", "auditor", "acme_user"):
        assert client_for(people[who]).get(reverse("fraud_rules")).status_code == 403


def test_limits_for_staff_and_the_customers_own_portal_page(people, acme, globex):
    usage = recon_file(FileKind.USAGE)
    line(usage, customer=acme, charges="1700.00", usage_date=dt.date(2026, 11, 20), tax_rate="0")  # no VAT: 1700
    finance = client_for(people["finance"])
    url = reverse("fraud_limits", args=[acme.pk])
    assert finance.get(url).status_code == 200
    resp = finance.post(reverse("fraud_limit_set", args=[acme.pk]), {"kind": "budget", "amount": "2000",
                                                                     "reason": "agreed"})
    assert resp.status_code == 302
    limit = CreditLimit.objects.get(customer=acme)
    assert limit.amount == Decimal("2000.00")
    body = finance.get(url).content.decode()
    assert "¥1,700.00" in body and "85.0%" in body
    bad = finance.post(reverse("fraud_limit_set", args=[acme.pk]), {"kind": "budget", "amount": "-5"})
    assert bad.status_code == 400
    assert client_for(people["auditor"]).post(reverse("fraud_limit_set", args=[acme.pk]),
                                              {"kind": "budget", "amount": "1"}).status_code == 403
    CreditLimit.objects.create(customer=globex, kind="credit_limit", amount=Decimal("99999.00"))

    own = client_for(people["acme_user"]).get(reverse("portal_limits"))
    text = own.content.decode()
    assert own.status_code == 200 and "¥2,000.00" in text and "¥1,700.00" in text and "¥99,999.00" not in text
    assert f'href="{reverse("portal_limits")}"' in text  # the portal's nav
    assert client_for(people["globex_user"]).get(reverse("portal_limits")).content.decode().count("data-limit=") == 1
    assert client_for(people["admin"]).get(reverse("portal_limits")).status_code == 403
    assert client_for(people["acme_user"]).get(url).status_code == 403

    no_reason = finance.post(reverse("fraud_limit_remove", args=[limit.pk]), {"remove-reason": ""})
    assert no_reason.status_code == 302 and CreditLimit.objects.filter(pk=limit.pk).exists()
    finance.post(reverse("fraud_limit_remove", args=[limit.pk]), {"remove-reason": "customer prepays now"})
    assert not CreditLimit.objects.filter(pk=limit.pk).exists()
    assert AuditEntry.objects.get(action="credit_limit.removed").reason == "customer prepays now"


def test_a_new_customer_rule_left_as_the_default_keeps_its_switches(people, acme):
    SignalRule.objects.create(signal="spend_spike", auto_suspend=True)
    admin = client_for(people["admin"])
    resp = admin.post(reverse("fraud_rule_set"), {"prefix": "new", "new-signal": "spend_spike", "new-customer": acme.pk,
                                                  "new-min_amount": "5000", "new-reason": "a big customer"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    rule = rule_for("spend_spike", acme.pk)
    assert (rule.min_amount, rule.enabled, rule.auto_suspend) == (Decimal("5000.00"), True, True)


def test_severity_a_is_not_offered_for_a_fraud_report(alerts, people):
    spike, _region = alerts
    page = client_for(people["collections"]).get(reverse("fraud_alert", args=[spike.pk])).content.decode()
    assert 'value="moderate"' in page and 'value="minimal"' in page and 'value="critical"' not in page


def test_expected_patterns_show_on_the_alert_page_and_can_be_removed(alerts, people):
    from partnerdesk.fraud.models import ExpectedPattern

    spike, _region = alerts
    agent = client_for(people["collections"])
    done = agent.post(reverse("fraud_alert_action", args=[spike.pk, "expected"]), {"expected-reason": "render farm"})
    assert done.status_code == 302
    pattern = ExpectedPattern.objects.get()
    assert pattern.until == AS_OF + dt.timedelta(days=90)
    page = agent.get(reverse("fraud_alert", args=[spike.pk])).content.decode()
    assert f'data-pattern="{pattern.pk}"' in page and "2027-02-22" in page
    assert reverse("fraud_pattern_remove", args=[pattern.pk]) in page
    auditor = client_for(people["auditor"])
    assert reverse("fraud_pattern_remove", args=[pattern.pk]) not in auditor.get(
        reverse("fraud_alert", args=[spike.pk])).content.decode()
    assert auditor.post(reverse("fraud_pattern_remove", args=[pattern.pk]),
                        {"pattern-reason": "x"}).status_code == 403
    agent.post(reverse("fraud_pattern_remove", args=[pattern.pk]), {"pattern-reason": ""})
    assert ExpectedPattern.objects.exists()  # a reason is required
    gone = agent.post(reverse("fraud_pattern_remove", args=[pattern.pk]),
                      {"pattern-reason": "the project ended", "alert": spike.pk})
    assert gone.status_code == 302 and gone["Location"] == reverse("fraud_alert", args=[spike.pk])
    assert not ExpectedPattern.objects.exists()
    assert AuditEntry.objects.get(action="fraud_pattern.removed").reason == "the project ended"


def test_the_report_applies_the_apis_period_rules_to_a_start_alone(people):
    agent = client_for(people["finance"])
    later = (AS_OF + dt.timedelta(days=10)).isoformat()
    resp = agent.get(reverse("fraud_report"), {"start": later})
    assert resp.status_code == 400 and "start date is after the end date" in resp.content.decode().lower()
    assert agent.get(reverse("fraud_report"), {"start": later, "format": "csv"}).status_code == 400
    assert agent.get(reverse("fraud_report"), {"start": "2010-01-01"}).status_code == 400  # too long
    assert agent.get(reverse("fraud_report"), {"start": "2026-10-01"}).status_code == 200
