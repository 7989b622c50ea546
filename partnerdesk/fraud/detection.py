"""Detection: load what the signals read (one aggregate query per kind, fraud.series), compute every signal
(fraud.signals, and fraud.limits' over_limit), and hand the hits to the alerts (fraud.alerts.record_hits).

Detection runs daily and after each reconciliation import. Each signal looks back only a short window (the rule's
window_days, 7 days for a spike) for days that trip it, against a baseline that ends before that window, so a
spike is reported on the day it happened, and a signal that keeps firing comes back as the same incident
(customer, signal, subject), which the alerts update instead of opening a new one.
"""

import datetime as dt
import importlib
import importlib.util
import logging
import time

from django.utils import timezone

from . import series, signals
from .hits import Hit
from .models import DetectionRun, SignalKind
from .rules import RuleBook, fraud_settings

log = logging.getLogger(__name__)
SUBSCRIPTION_CHART_DAYS = 28


def load_window(as_of: dt.date, *, rules: RuleBook | None = None) -> tuple[dt.date, dt.date]:
    """The days of usage detection reads as of the day: the baseline and the look-back, or the longest window."""
    rules = rules or RuleBook()
    settings = fraud_settings()
    lowest = {signal: rules.lowest(signal) for signal in signals.SIGNALS}
    lookback = max(lowest[SignalKind.SPEND_SPIKE].window_days, lowest[SignalKind.NEW_REGION].window_days, 1)
    days = max(settings.baseline_days + lookback, 2 * lowest[SignalKind.UNPAID_GROWTH].window_days,
               lowest[SignalKind.USAGE_BEFORE_PAYMENT].window_days,
               lowest[SignalKind.NEW_CUSTOMER_HIGH_SPEND].window_days)
    return as_of - dt.timedelta(days=days - 1), as_of


def load(as_of: dt.date, *, rules: RuleBook, customer_ids=None) -> signals.Data:
    """Everything the enabled signals read, for the customers (all by default), as of the day."""
    settings = fraud_settings()
    lowest = {signal: rules.lowest(signal) for signal in signals.SIGNALS}
    on = {signal: rule.enabled for signal, rule in lowest.items()}
    start, _ = load_window(as_of, rules=rules)
    recent = None
    if on[SignalKind.NEW_REGION]:
        recent = as_of - dt.timedelta(days=lowest[SignalKind.NEW_REGION].window_days - 1)
    daily, meters = series.usage(start, recent, as_of, customer_ids)
    data = signals.Data(as_of=as_of, baseline_days=settings.baseline_days,
                        new_customer_days=settings.new_customer_days, daily=daily, meters=meters)
    if on[SignalKind.USAGE_BEFORE_PAYMENT]:
        data.paid = series.first_payments(as_of, customer_ids)
    if on[SignalKind.NEW_CUSTOMER_HIGH_SPEND]:
        data.created = series.new_customers(as_of - dt.timedelta(days=settings.new_customer_days), as_of, customer_ids)
    if on[SignalKind.SUBSCRIPTION_BURST]:
        since = as_of - dt.timedelta(days=max(lowest[SignalKind.SUBSCRIPTION_BURST].window_days,
                                              SUBSCRIPTION_CHART_DAYS) - 1)
        data.subscriptions = series.new_subscriptions(since, as_of, customer_ids)
        data.seats = series.seats_added(since, as_of, customer_ids)
    if on[SignalKind.UNPAID_GROWTH]:
        before = as_of - dt.timedelta(days=lowest[SignalKind.UNPAID_GROWTH].window_days)
        data.balances = series.unpaid_balances(before, as_of, customer_ids)
    return data


def _optional(module: str, name: str):
    """fraud.<module>.<name>, or None while that module (written by another part of the work) does not exist."""
    qualified = f"{__package__}.{module}"
    if importlib.util.find_spec(qualified) is None:
        log.warning("fraud detection: %s is missing; skipped", qualified)
        return None
    function = getattr(importlib.import_module(qualified), name, None)
    if function is None:
        log.warning("fraud detection: %s.%s is missing; skipped", qualified, name)
    return function


def compute_hits(as_of: dt.date, *, customer_ids=None, only=None, limits: bool = True) -> list[Hit]:
    """Every signal's hits as of the day (the limits' over_limit too, where fraud.limits exists); `only`: some
    signals (SignalKind values)."""
    return _compute(as_of, customer_ids=customer_ids, only=only, limits=limits)[0]


def _compute(as_of: dt.date, *, customer_ids, only, limits: bool) -> tuple[list[Hit], int]:
    rules = RuleBook()
    data = load(as_of, rules=rules, customer_ids=customer_ids)
    hits: list[Hit] = []
    for signal, compute in signals.SIGNALS.items():
        if only is None or signal in only:
            hits.extend(compute(data, rules))
    if limits and (only is None or SignalKind.OVER_LIMIT in only) and rules.lowest(SignalKind.OVER_LIMIT).enabled:
        limit_hits = _optional("limits", "limit_hits")
        if limit_hits is not None:
            hits.extend(h for h in limit_hits(as_of=as_of, customer_ids=customer_ids)
                        if rules.rule(SignalKind.OVER_LIMIT, h.customer_id).enabled)
    hits.sort(key=lambda h: (h.customer_id, h.signal, h.subject))
    return hits, len(data.daily.values)


def run_detection(*, as_of: dt.date, trigger: str = "manual", actor=None, customer_ids=None) -> DetectionRun:
    """Compute every signal as of the day and record the hits as alerts (fraud.alerts); the run is kept."""
    started = time.perf_counter()
    run = DetectionRun.objects.create(day=as_of, trigger=trigger[:20])
    hits, customers = _compute(as_of, customer_ids=customer_ids, only=None, limits=True)
    opened = updated = 0
    record_hits = _optional("alerts", "record_hits")
    if record_hits is not None:
        opened, updated = record_hits(hits, as_of=as_of, actor=actor)
    run.customers = customers
    run.hits, run.opened, run.updated = len(hits), opened, updated
    run.finished_at = timezone.now()
    run.seconds = round(time.perf_counter() - started, 3)
    run.save(update_fields=["customers", "hits", "opened", "updated", "finished_at", "seconds"])
    return run
