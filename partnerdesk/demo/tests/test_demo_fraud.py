"""The demo's fraud story (partnerdesk.demo.fraud): loaded in-process on the suite's database (SQLite or PostgreSQL),
the fraud pages show its alerts with their evidence and charts, the report's precision, the limits at their levels,
and a customer user sees only its own limits in the portal."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerdesk.accounts.models import User
from partnerdesk.demo.data import load_demo
from partnerdesk.fraud import limits, reports
from partnerdesk.fraud.models import (
    ActionKind,
    Alert,
    AlertStatus,
    CreditLimit,
    CustomerRisk,
    DetectionRun,
    ExpectedPattern,
    FraudSettings,
    LimitKind,
    LimitWarning,
    SignalKind,
)
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.support.models import Case
from partnerdesk.web.templatetags.desk import money

TODAY = dt.date(2026, 11, 24)  # the suite's clock


@pytest.fixture
def demo(operator, db):
    return load_demo(simulator=operator.simulator)


def page(client, user, name, query="", **kwargs):
    client.force_login(User.objects.get(username=user))
    response = client.get(reverse(name, kwargs=kwargs) + query)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"[^>]*>(?:\s*<div class="label">.*?</div>\s*<div class="value">)?'
                      r'(.*?)</(?:div|td|p)>', html, re.S)
    assert found, f"no data-figure={name}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


def limit_row(html: str, limit: CreditLimit) -> str:
    found = re.search(rf'<tr data-limit="{limit.pk}".*?</tr>', html, re.S)
    assert found, f"limit {limit.pk} not on the page"
    return found.group(0)


def test_the_demo_tells_the_fraud_story_on_the_fraud_pages(demo, client):
    story = demo["fraud"]
    newcomer, spiking, widening, owing, budgeted = (story[k] for k in ("newcomer", "spike", "new_region",
                                                                        "over_limit", "budget"))
    alerts = {(a.customer_id, a.signal): a for a in Alert.objects.all()}

    # The daily check's alerts: exactly the story's, each with its case in the risk team; nothing automatic.
    assert set(alerts) == {(newcomer.pk, SignalKind.USAGE_BEFORE_PAYMENT), (newcomer.pk, SignalKind.NEW_CUSTOMER_HIGH_SPEND),
                           (spiking.pk, SignalKind.SPEND_SPIKE), (widening.pk, SignalKind.NEW_REGION),
                           (owing.pk, SignalKind.OVER_LIMIT)}, [(a.customer.name, a.signal, a.subject) for a in alerts.values()]
    settings = FraudSettings.objects.get()
    assert settings.auto_actions is False and settings.team is not None
    assert Case.objects.filter(type="fraud_misuse", team=settings.team).count() == len(alerts)
    assert all(a.case_id for a in alerts.values()) and all(a.first_seen_on == TODAY for a in alerts.values())
    assert DetectionRun.objects.filter(day=TODAY, trigger="daily").exists()
    stolen = alerts[newcomer.pk, SignalKind.USAGE_BEFORE_PAYMENT]
    spike = alerts[spiking.pk, SignalKind.SPEND_SPIKE]
    region = alerts[widening.pk, SignalKind.NEW_REGION]
    over = alerts[owing.pk, SignalKind.OVER_LIMIT]
    high = alerts[newcomer.pk, SignalKind.NEW_CUSTOMER_HIGH_SPEND]
    # What the agent did by hand: confirmed with prepayment required, dismissed, marked expected; two still open.
    assert stolen.status == AlertStatus.CONFIRMED and [a.kind for a in stolen.actions.all()] == [ActionKind.REQUIRE_PREPAYMENT]
    assert not stolen.actions.get().automatic and CustomerRisk.objects.get(customer=newcomer).prepayment_required
    assert spike.status == AlertStatus.DISMISSED and region.status == AlertStatus.EXPECTED
    assert ExpectedPattern.objects.filter(customer=widening, signal=SignalKind.NEW_REGION, until__gt=TODAY).exists()
    assert over.status == high.status == AlertStatus.OPEN and over.subject == "credit_limit"
    assert spike.amount > Decimal("3000") and spike.tripped == (TODAY - dt.timedelta(days=1)).isoformat()
    assert stolen.amount >= Decimal("5000") and high.amount >= Decimal("10000") and region.amount >= Decimal("1000")
    # The current period's usage came through the importer, for its own operator invoice (the 7th).
    usage_invoice = OperatorInvoice.objects.get(number=story["usage_file"])
    assert usage_invoice.files.get().row_count > 50 and OperatorInvoice.objects.count() == 7

    # The alerts page: the open and confirmed by default (with their money at risk), any status when asked.
    html = page(client, "agent", "fraud_alerts")
    for alert in alerts.values():
        assert (f'data-alert="{alert.pk}"' in html) == (alert.status in ("open", "confirmed"))
    assert figure(html, "count") == "3" and figure(html, "at-risk") == money(over.amount + high.amount + stolen.amount)
    html = page(client, "agent", "fraud_alerts", "?status=all")
    for alert in alerts.values():
        assert f'data-alert="{alert.pk}"' in html and alert.customer.name in html
    # Each alert's page: the plain-language explanation, the figures and the chart with the point that tripped it.
    html = page(client, "agent", "fraud_alert", pk=spike.pk)
    assert money(spike.amount) in figure(html, "amount") and figure(html, "explanation")
    assert "<svg" in figure_block(html, "chart")
    html = page(client, "agent", "fraud_alert", pk=stolen.pk)
    assert "<svg" in figure_block(html, "chart") and figure(html, "controls")
    assert newcomer.name in html

    # The report: five alerts, one confirmed, two judged false alarms (dismissed, expected): precision shown.
    report = reports.alert_report(start=TODAY - dt.timedelta(days=89), end=TODAY)
    assert report.total.alerts == 5 and report.total.confirmed == 1 and report.total.dismissed >= 1
    assert report.total.precision is not None and 0 < report.total.precision < 100
    html = page(client, "auditor", "fraud_report")
    assert figure(html, "alerts") == "5" and figure(html, "confirmed") == "1"
    assert figure(html, "precision") == f"{report.total.precision}%"
    assert figure(html, "at-risk") == money(report.total.money_at_risk)
    assert "<svg" in figure_block(html, "chart")

    # Limits: the credit limit passed, the budget at about 85% (its 80% warning sent), the portal company's within.
    credit = CreditLimit.objects.get(customer=owing, kind=LimitKind.CREDIT_LIMIT)
    budget = CreditLimit.objects.get(customer=budgeted, kind=LimitKind.BUDGET)
    own = CreditLimit.objects.get(customer=demo["customers"][0])
    assert limits.used(credit, as_of=TODAY) > credit.amount
    budget_used = limits.used(budget, as_of=TODAY)
    assert 80 <= limits.percent(budget_used, budget.amount) < 90
    assert limits.percent(limits.used(own, as_of=TODAY), own.amount) < 80
    assert set(LimitWarning.objects.values_list("limit_id", "level")) == {(credit.pk, 100), (credit.pk, 80),
                                                                          (budget.pk, 80)}
    html = page(client, "agent", "fraud_limits", pk=budgeted.pk)
    row = limit_row(html, budget)
    assert money(budget.amount) in row and money(budget_used) in row and 'badge warn' in row
    assert 'badge danger' in limit_row(page(client, "agent", "fraud_limits", pk=owing.pk), credit)

    # The portal: the customer user sees its own credit limit, nobody else's.
    html = page(client, "portal", "portal_limits")
    assert f'data-limit="{own.pk}"' in html and money(own.amount) in html
    assert f'data-limit="{credit.pk}"' not in html and f'data-limit="{budget.pk}"' not in html
    assert budgeted.name not in html and owing.name not in html
    html = page(client, "portal2", "portal_limits")
    assert "data-limit=" not in html


def figure_block(html: str, name: str) -> str:
    """The element marked data-figure=name, whole (a chart's svg)."""
    found = re.search(rf'data-figure="{name}"[^>]*>(.*?)</div>', html, re.S)
    assert found, f"no data-figure={name}"
    return found.group(1)
