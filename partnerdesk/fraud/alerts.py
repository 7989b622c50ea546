"""From hits to alerts: one alert per incident (customer, signal, subject) while it is open or confirmed.

A hit that keeps firing updates its open alert, once per day; a pattern marked expected keeps it quiet; a new
alert opens one fraud case for the team in FraudSettings and takes the automatic actions its rule asks for
(fraud.services; each at most once, by the AlertAction constraints). A second computation the same day changes
nothing: the alert was already seen that day, and an alert closed since does not reopen for the same hits.

A cool-down follows a close, per incident (customer, signal, subject): for COOL_DOWN_DAYS after an alert was
dismissed, marked expected or cleared, the incident opens no new alert (nor its case, nor its automatic actions:
a cleared suspension is not done again the next day), unless the new hit's amount is at least COOL_DOWN_GROWTH
times the closed alert's (the latest closed). Several signals move their tripped day as their window slides, so the
tripped point alone cannot tell a new incident from the same one. Removing the expected pattern of an alert marked
expected ends its cool-down (the pattern is to alert again). A hit that cannot be recorded is logged and skipped:
the others still are.

Call record_hits outside a transaction: the automatic suspensions call the operator after the alerts are
committed, never inside a long transaction.
"""

import datetime as dt
import json
import logging
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from partnerdesk.audit.services import record
from partnerdesk.errors import DomainError

from .explain import of_alert
from .hits import Hit
from .models import ACTIVE_ALERT_STATUSES, Alert, AlertStatus, ExpectedPattern, FraudSettings, SignalKind
from .rules import RuleBook, fraud_settings

logger = logging.getLogger(__name__)

CHUNK = 500  # customer ids per query (SQLite's limit on a query's parameters)
FEN = Decimal("0.01")
COOL_DOWN_DAYS = 30  # after a close, the same incident stays quiet this long ...
COOL_DOWN_GROWTH = Decimal(2)  # ... unless its amount reached this multiple of the closed alert's
CLOSED_STATUSES = (AlertStatus.DISMISSED, AlertStatus.EXPECTED, AlertStatus.CLEARED)


# --- recording hits ------------------------------------------------------------------------------------------


def _chunks(ids):
    ids = sorted(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _key(obj) -> tuple:
    return (obj.customer_id, obj.signal, obj.subject or "")


def _patterns_in_force(customer_ids, as_of: dt.date) -> dict[int, list[ExpectedPattern]]:
    out: dict[int, list[ExpectedPattern]] = {}
    for chunk in _chunks(customer_ids):
        for p in ExpectedPattern.objects.filter(Q(until__isnull=True) | Q(until__gte=as_of), customer_id__in=chunk):
            out.setdefault(p.customer_id, []).append(p)
    return out


def _expected(hit: Hit, patterns: dict[int, list[ExpectedPattern]]) -> bool:
    return any(p.signal == hit.signal and p.subject in ("", hit.subject or "")
               for p in patterns.get(hit.customer_id, ()))


def _known_alerts(customer_ids, as_of: dt.date, tripped: set[str]):
    """The active alerts by incident; the incidents closed that a hit must not reopen: those seen or closed on
    as_of (a second computation that day) and those about the same tripped point (the spike of that day, still in
    the window the next day); and the incidents cooling down after a close (by key: the latest closed amount)."""
    active, closed, cooling = {}, set(), {}
    day_starts = timezone.make_aware(dt.datetime.combine(as_of, dt.time()))  # (in the site's zone)
    cool_from = day_starts - dt.timedelta(days=COOL_DOWN_DAYS)
    for chunk in _chunks(customer_ids):
        rows = Alert.objects.filter(customer_id__in=chunk).filter(
            Q(status__in=ACTIVE_ALERT_STATUSES) | Q(last_seen_on__gte=as_of) | Q(closed_at__gte=cool_from)
            | Q(tripped__in=sorted(tripped) or [""]))
        rows = list(rows.only("id", "customer_id", "signal", "subject", "status", "last_seen_on", "tripped",
                              "closed_at", "amount").order_by("closed_at", "id"))
        # An alert marked expected whose pattern was removed since: the removal says it is to alert again.
        expected = [a.pk for a in rows if a.status == AlertStatus.EXPECTED]
        patterned = set(ExpectedPattern.objects.filter(alert_id__in=expected).values_list("alert_id", flat=True))
        for alert in rows:
            if alert.status in ACTIVE_ALERT_STATUSES:
                active[_key(alert)] = alert
                continue
            if alert.last_seen_on >= as_of or (alert.closed_at and alert.closed_at >= day_starts):
                closed.add(_key(alert) + (None,))  # judged today: the same day's hits do not reopen it
            else:
                closed.add(_key(alert) + (alert.tripped,))
            if (alert.status in CLOSED_STATUSES and alert.closed_at and alert.closed_at >= cool_from
                    and (alert.status != AlertStatus.EXPECTED or alert.pk in patterned)):
                cooling[_key(alert)] = alert.amount  # (ordered by closed_at: the latest close wins)
    return active, closed, cooling


def _reopens_closed(hit: Hit, closed: set) -> bool:
    key = (hit.customer_id, hit.signal, hit.subject or "")
    return key + (None,) in closed or (bool(hit.tripped) and key + (hit.tripped,) in closed)


def _cooling_down(hit: Hit, cooling: dict) -> bool:
    """Closed within COOL_DOWN_DAYS and the amount has not grown to COOL_DOWN_GROWTH times the closed alert's."""
    key = (hit.customer_id, hit.signal, hit.subject or "")
    if key not in cooling:
        return False
    return _money(hit.amount) < cooling[key] * COOL_DOWN_GROWTH


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(FEN)


def _fields(hit: Hit) -> dict:
    # JSON as stored (a Decimal or date a signal left in its figures becomes text, not an error).
    figures = json.loads(json.dumps(dict(hit.figures or {}), default=str))
    series = json.loads(json.dumps([list(p) for p in (hit.series or [])], default=str))
    return {"score": Decimal(str(hit.score)).quantize(FEN), "amount": _money(hit.amount), "figures": figures,
            "series": series, "tripped": hit.tripped or ""}


def record_hits(hits, *, as_of: dt.date, actor=None) -> tuple[int, int]:
    """Open or update the alerts for these hits; returns (opened, updated). Idempotent for a day. A hit that fails
    (bad data, a database refusal) is logged and skipped, never the run."""
    hits = _one_per_incident(hits)
    if not hits:
        return 0, 0
    customer_ids = {h.customer_id for h in hits}
    patterns = _patterns_in_force(customer_ids, as_of)
    active, closed, cooling = _known_alerts(customer_ids, as_of, {h.tripped for h in hits if h.tripped})
    config = fraud_settings()
    rules = RuleBook()  # (every rule in one query)
    opened = updated = 0
    to_act = []
    for hit in hits:
        try:
            with transaction.atomic():  # (a savepoint: a failed hit leaves a caller's transaction usable)
                outcome = _record_hit(hit, as_of=as_of, actor=actor, config=config, rules=rules, patterns=patterns,
                                      active=active, closed=closed, cooling=cooling)
        except Exception:
            logger.exception("Fraud hit %s/%s/%r of customer %s not recorded", hit.signal, as_of, hit.subject,
                             hit.customer_id)
            continue
        if outcome is not None:
            kind, alert, rule = outcome
            opened += kind == "opened"
            updated += kind == "updated"
            to_act.append((alert, rule))
    for alert, rule in to_act:
        try:
            _act_automatically(alert, rule, config=config, actor=actor)
        except Exception:
            logger.exception("Fraud alert %s: the automatic actions failed", alert.pk)
    return opened, updated


def _record_hit(hit: Hit, *, as_of, actor, config, rules, patterns, active, closed, cooling):
    """("opened" | "updated", alert, rule) for one hit, or None when it changes nothing."""
    if _expected(hit, patterns):
        return None
    rule = rules.rule(hit.signal, hit.customer_id)
    if not rule.enabled:
        return None
    alert = active.get((hit.customer_id, hit.signal, hit.subject or ""))
    if alert is not None:
        if alert.last_seen_on >= as_of:
            return None  # seen today already (or a later day's computation ran first)
        return ("updated", alert, rule) if _seen_again(alert, hit, as_of) else None
    if _reopens_closed(hit, closed) or _cooling_down(hit, cooling):
        return None
    alert = _open_alert(hit, as_of=as_of, config=config, actor=actor)
    return None if alert is None else ("opened", alert, rule)


def _one_per_incident(hits) -> list[Hit]:
    """One hit per incident (the highest score), in a stable order."""
    best: dict[tuple, Hit] = {}
    for hit in hits:
        key = (hit.customer_id, hit.signal, hit.subject or "")
        if key not in best or Decimal(str(hit.score)) > Decimal(str(best[key].score)):
            best[key] = hit
    return [best[k] for k in sorted(best, key=lambda k: (k[0], k[1], k[2]))]


def _seen_again(alert: Alert, hit: Hit, as_of: dt.date) -> bool:
    """The signal fired again on a later day: the alert shows the latest figures (once per day)."""
    now = timezone.now()
    fields = _fields(hit)
    # Conditional: two computations at once count the day once.
    return bool(Alert.objects.filter(pk=alert.pk, status__in=ACTIVE_ALERT_STATUSES, last_seen_on__lt=as_of).update(
        last_seen_on=as_of, times_seen=F("times_seen") + 1, updated_at=now, **fields))


def _open_alert(hit: Hit, *, as_of: dt.date, config: FraudSettings, actor) -> Alert | None:
    """A new alert and its one case, in one transaction; None if another computation opened it first."""
    from partnerdesk.customers.models import Customer, Subscription
    from partnerdesk.support.models import CaseType, Channel, Severity
    from partnerdesk.support.services import open_case

    customer = Customer.objects.get(pk=hit.customer_id)
    subscription = None
    if hit.subscription_id:
        subscription = Subscription.objects.filter(pk=hit.subscription_id, customer=customer).first()
    now = timezone.now()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(customer=customer, subscription=subscription, signal=hit.signal,
                                         subject=hit.subject or "", first_seen_on=as_of, last_seen_on=as_of,
                                         opened_at=now, updated_at=now, **_fields(hit))
            # Written in the site's language: the desk's queues show a case's subject as it is.
            with translation.override(django_settings.LANGUAGE_CODE):
                subject = gettext("Fraud alert: %(signal)s (%(customer)s)") % {
                    "signal": SignalKind(hit.signal).label, "customer": customer.name}
                description = of_alert(alert)
            alert.case = open_case(customer=customer, subject=subject[:200], description=description, actor=actor,
                                   type=CaseType.FRAUD_MISUSE, channel=Channel.INTERNAL, severity=Severity.B,
                                   team=config.team, subscriptions=[subscription] if subscription else (),
                                   acknowledge=False, now=now)
            alert.save(update_fields=["case"])
            record(actor=actor, action="fraud_alert.opened", obj=alert, customer=customer,
                   after={"signal": alert.signal, "subject": alert.subject, "score": alert.score,
                          "amount": alert.amount, "case": alert.case.token, "day": as_of})
    except IntegrityError:
        if Alert.objects.filter(customer=customer, signal=hit.signal, subject=hit.subject or "",
                                status__in=ACTIVE_ALERT_STATUSES).exists():
            return None  # opened by a computation running at the same time
        raise
    return alert


def _act_automatically(alert: Alert, rule, *, config: FraudSettings, actor) -> None:
    """The actions the alert's rule asks for, each at most once (an operator failure is tried again next time)."""
    from . import services

    if not (rule.auto_prepayment or (rule.auto_suspend and config.auto_actions)):
        return
    alert = Alert.objects.select_related("customer", "case", "subscription").get(pk=alert.pk)
    if alert.status not in ACTIVE_ALERT_STATUSES:
        return
    reason = services.automatic_reason(alert)
    try:
        if rule.auto_prepayment:
            services.require_prepayment(alert, actor=actor, reason=reason, automatic=True)
        if rule.auto_suspend and config.auto_actions:
            services.suspend(alert, actor=actor, reason=reason, automatic=True)
    except DomainError as exc:
        logger.warning("Fraud alert %s: an automatic action was refused: %s", alert.pk, exc)
