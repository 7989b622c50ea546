"""A customer with two subscriptions at the operator simulator, mirrored here, and hits to record."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.accounts.models import Team
from partnerdesk.conftest import make_customer
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.fraud.hits import Hit
from partnerdesk.fraud.models import FraudSettings

AS_OF = dt.date(2026, 11, 24)  # the suite's day


def spike(customer, *, day=AS_OF, subject="meter:virtual-machines-d4", score="9.40", amount="18250.00",
          tripped="2026-11-23", **fields) -> Hit:
    """A spend spike on one meter: the hit fraud.detection hands over."""
    return Hit(customer_id=customer.pk, signal=fields.pop("signal", "spend_spike"), day=day, score=Decimal(score),
               amount=Decimal(amount), subject=subject, tripped=tripped,
               figures=fields.pop("figures", {"baseline": "310.00", "value": "18560.00", "mad": "42.00"}),
               series=fields.pop("series", [["2026-11-21", "305.00"], ["2026-11-22", "298.00"],
                                            ["2026-11-23", "18560.00"]]), **fields)


@pytest.fixture
def fraud_team(db):
    team = Team.objects.create(name="Risk")
    FraudSettings.objects.update_or_create(pk=1, defaults={"team": team, "auto_actions": True})
    return team


@pytest.fixture
def mining(operator):
    """A new customer whose Azure usage spiked (crypto mining on a stolen card, say): two active subscriptions
    at the operator, mirrored here."""
    customer = make_customer("深圳算力科技有限公司", contact={"name": "赵强", "email": "ap@suanli.example.cn"})
    operator.add_subscription(customer, offerId="MS-AZR-0017P", offerName="Azure 计划", billingType="usage")
    operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=5)
    subs = sorted(sync_subscriptions(customer, actor=None), key=lambda s: s.offer_name)
    assert [s.status for s in subs] == ["active", "active"]
    return customer, subs
