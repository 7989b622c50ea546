"""The thresholds a signal trips at: a customer's own rule wins over the default rule, which wins over DEFAULTS.

A rule row's empty threshold (min_score, min_amount, window_days null) falls through to the next level; its switches
(enabled, auto_suspend, auto_prepayment) are the row's. What score, amount and window mean, per signal:

- spend_spike: robust z-score of a day's spend against the customer's weekday-adjusted baseline; amount = spend
  above the expected; window = the days looked back for a new spike (the baseline ends before them).
- usage_before_payment: spend / min_amount; amount = usage spend over the window with no payment ever received.
- new_customer_high_spend: spend / min_amount; amount = spend over the window by a customer created within
  FraudSettings.new_customer_days.
- over_limit: (fraud.limits) used / limit; amount = the amount past the limit.
- unpaid_growth: usage over the window / usage over the window before; amount = how much the unpaid balance grew
  over the window (the hit's money at risk is the balance itself).
- subscription_burst: subscriptions first seen within the window (seats: seats added / SEATS_PER_SUBSCRIPTION).
- new_region: the new region's or meter's daily spend / the customer's baseline median daily spend; amount = its
  spend since first used; window = the days looked back for a first use.
"""

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Q

from .models import FraudSettings, SignalKind, SignalRule


@dataclass(frozen=True)
class Rule:
    enabled: bool
    min_score: Decimal
    min_amount: Decimal
    window_days: int
    auto_suspend: bool = False
    auto_prepayment: bool = False


DEFAULTS: dict[str, Rule] = {
    SignalKind.SPEND_SPIKE: Rule(True, Decimal("5.00"), Decimal("500.00"), 7),
    SignalKind.USAGE_BEFORE_PAYMENT: Rule(True, Decimal("1.00"), Decimal("5000.00"), 60),
    SignalKind.NEW_CUSTOMER_HIGH_SPEND: Rule(True, Decimal("1.00"), Decimal("10000.00"), 30),
    SignalKind.OVER_LIMIT: Rule(True, Decimal("1.00"), Decimal("0.00"), 30),
    SignalKind.UNPAID_GROWTH: Rule(True, Decimal("1.20"), Decimal("5000.00"), 30),
    SignalKind.SUBSCRIPTION_BURST: Rule(True, Decimal("5.00"), Decimal("0.00"), 7),
    SignalKind.NEW_REGION: Rule(True, Decimal("0.25"), Decimal("1000.00"), 7),
}

# A burst of seats counts this many seats as one subscription (min_score 5 subscriptions = 50 seats).
SEATS_PER_SUBSCRIPTION = 10


def _apply(base: Rule, row: SignalRule) -> Rule:
    return replace(base, enabled=row.enabled, auto_suspend=row.auto_suspend, auto_prepayment=row.auto_prepayment,
                   min_score=base.min_score if row.min_score is None else row.min_score,
                   min_amount=base.min_amount if row.min_amount is None else row.min_amount,
                   window_days=base.window_days if row.window_days is None else row.window_days)


def _known(signal: str) -> Rule:
    if signal not in DEFAULTS:
        raise ValueError(f"unknown signal {signal!r}; known: {', '.join(DEFAULTS)}")
    return DEFAULTS[signal]


def rule_for(signal: str, customer_id: int | None = None) -> Rule:
    """The rule in force for the signal and customer: customer row > default row > DEFAULTS."""
    rule = _known(signal)
    who = Q(customer__isnull=True) if customer_id is None else Q(customer__isnull=True) | Q(customer_id=customer_id)
    rows = {row.customer_id: row for row in SignalRule.objects.filter(who, signal=signal)}
    if None in rows:
        rule = _apply(rule, rows[None])
    if customer_id is not None and customer_id in rows:
        rule = _apply(rule, rows[customer_id])
    return rule


class RuleBook:
    """Every rule, read with one query, for a detection run over many customers."""

    def __init__(self):
        self.defaults = dict(DEFAULTS)
        self.overrides: dict[str, dict[int, Rule]] = {signal: {} for signal in DEFAULTS}
        rows = list(SignalRule.objects.all())
        for row in rows:
            if row.customer_id is None and row.signal in DEFAULTS:
                self.defaults[row.signal] = _apply(DEFAULTS[row.signal], row)
        for row in rows:
            if row.customer_id is not None and row.signal in DEFAULTS:
                self.overrides[row.signal][row.customer_id] = _apply(self.defaults[row.signal], row)

    def rule(self, signal: str, customer_id: int | None = None) -> Rule:
        """The rule for the signal and customer (as rule_for, without a query)."""
        return self.overrides[signal].get(customer_id) or self.defaults[signal]

    def lowest(self, signal: str) -> Rule:
        """The loosest thresholds any customer has for the signal (for a fast first pass over all customers)."""
        rules = [self.defaults[signal], *self.overrides[signal].values()]
        return replace(self.defaults[signal], enabled=any(r.enabled for r in rules),
                       min_score=min(r.min_score for r in rules), min_amount=min(r.min_amount for r in rules),
                       window_days=max(r.window_days for r in rules))


def fraud_settings() -> FraudSettings:
    """The monitoring's settings (the one row, created with its defaults if missing)."""
    return FraudSettings.objects.get_or_create(pk=1)[0]
