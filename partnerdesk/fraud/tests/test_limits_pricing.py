"""Review fixes in credit limits: use at the customer's price with tax (never the partner's cost), over_limit
scores capped and its rule's thresholds applied, the page's percentage rounded down as the warnings count."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.conftest import make_customer
from partnerdesk.fraud import limits, reports
from partnerdesk.fraud.models import Alert, LimitKind, SignalKind, SignalRule
from partnerdesk.notifications.services import send_pending
from partnerdesk.rebilling.models import FileKind, PriceKind
from partnerdesk.rebilling.pricing import set_price_rule
from partnerdesk.rebilling.tests.recon_factory import line, recon_file

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)


def usage(customer, charges, **fields):
    return line(recon_file(FileKind.USAGE), charges=charges, customer=customer, usage_date=TODAY,
                service="Virtual Machines", region="China North 3", product="meter-vm-d2", **fields)


def test_use_is_the_customers_price_with_tax_and_its_email_never_shows_the_partners_cost(smtp_server):
    customer = make_customer("Markup Co", language="en", contact={"name": "Ann", "email": "ann@markup.example.com"})
    set_price_rule(customer=customer, kind=PriceKind.MARKUP, percent="20", actor=None)
    usage(customer, "1000.00", quantity="10", unit_price="100")  # 21Vianet's pretax charges; 6% VAT: 60.00
    credit = limits.set_limit(customer, kind=LimitKind.CREDIT_LIMIT, amount="1500", actor=None)
    budget = limits.set_limit(customer, kind=LimitKind.BUDGET, amount="5000", actor=None)

    usage_now = limits.measure([credit, budget], as_of=TODAY)
    # 1000 marked up 20% = 1200.00, plus 6% VAT 72.00, as re-billing's draft would bill it
    assert (usage_now[credit.pk].used, usage_now[credit.pk].unbilled) == (Decimal("1272.00"), Decimal("1272.00"))
    assert usage_now[budget.pk].used == Decimal("1272.00")
    assert usage_now[credit.pk].cost == usage_now[budget.pk].cost == Decimal("1000.00")  # staff only
    rows = reports.limit_rows([credit, budget], as_of=TODAY)
    assert [r["used"] for r in rows] == [Decimal("1272.00")] * 2 and all("cost" not in r for r in rows)

    assert limits.send_limit_warnings(as_of=TODAY) == 1  # 84% of the credit limit
    send_pending()
    [mail] = smtp_server.wait_for(1)
    assert mail.subject == "84% of your credit limit used: CNY 1,272.00 of 1,500.00"
    assert "Usage not yet invoiced (incl. tax): CNY 1,272.00" in mail.text
    assert "1,000.00" not in mail.text and "1000.00" not in mail.text


def test_a_huge_over_limit_score_is_capped_and_its_alert_is_stored():
    from partnerdesk.fraud.alerts import record_hits
    from partnerdesk.fraud.signals import SCORE_CAP

    customer = make_customer("Tiny Limit Co")
    limits.set_limit(customer, kind=LimitKind.BUDGET, amount="0.01", actor=None)
    usage(customer, "250000.00", tax_rate="0")
    [hit] = limits.limit_hits(as_of=TODAY)
    assert hit.score == Decimal(str(SCORE_CAP)) and hit.amount == Decimal("249999.99")
    record_hits([hit], as_of=TODAY)  # numeric(12, 2) on PostgreSQL: the uncapped 25,000,000.00 would not fit
    assert Alert.objects.get().score == Decimal(str(SCORE_CAP))


def test_the_over_limit_rules_thresholds_apply():
    customer = make_customer("Threshold Co")
    limits.set_limit(customer, kind=LimitKind.BUDGET, amount="1000", actor=None)
    usage(customer, "1100.00", tax_rate="0")  # 110%, 100.00 past
    assert len(limits.limit_hits(as_of=TODAY)) == 1
    rule = SignalRule.objects.create(signal=SignalKind.OVER_LIMIT, min_amount=Decimal("500.00"))
    assert limits.limit_hits(as_of=TODAY) == []  # only 100.00 past the limit
    rule.min_amount, rule.min_score = Decimal("50.00"), Decimal("1.20")
    rule.save()
    assert limits.limit_hits(as_of=TODAY) == []  # at 1.10 of the limit
    SignalRule.objects.create(signal=SignalKind.OVER_LIMIT, customer=customer, min_score=Decimal("1.05"))
    assert [h.customer_id for h in limits.limit_hits(as_of=TODAY)] == [customer.pk]  # the customer's own rule wins


def test_the_pages_percentage_is_rounded_down_as_the_warnings():
    customer = make_customer("Almost Co")
    limit = limits.set_limit(customer, kind=LimitKind.BUDGET, amount="1000", actor=None)
    limit.customer = customer
    row = reports.limit_row(limit, used=Decimal("999.95"))
    assert row["percent_used"] == Decimal("99.9") and limits.percent(Decimal("999.95"), limit.amount) == 99
