"""A signal that tripped: what detection (fraud.detection, fraud.limits) hands to the alerts (fraud.alerts)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Hit:
    """One signal tripped for one customer (and, where it is narrower, one subscription, meter or region).

    customer_id, signal (a SignalKind value), subject: what within the customer the incident is about (a meter,
    a region, a subscription's operator id; "" for the customer as a whole): (customer, signal, subject) is the
    incident's key, so a signal that keeps firing updates the open alert. score: how far from normal (the robust
    z-score for a spike, a ratio for the others; higher is worse). amount: CNY at risk (spend above baseline, spend
    before payment, the amount past a limit), a Decimal to the fen. figures: the numbers the explanation names
    (JSON-able: Decimal as str). series: the points of the chart, [(ISO date, value as str)], and tripped: the
    ISO date of the point that tripped it (None when there is no series).
    """

    customer_id: int
    signal: str
    day: dt.date
    score: Decimal
    amount: Decimal
    subject: str = ""
    subscription_id: int | None = None
    figures: dict = field(default_factory=dict)
    series: list = field(default_factory=list)
    tripped: str | None = None
