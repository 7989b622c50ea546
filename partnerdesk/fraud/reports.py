"""The monitoring's figures for a period: alerts by signal, how many were confirmed or dismissed (precision), the
money at risk and how long the desk took to act; and what the pages and the API show of one alert (its explanation
and history), of the rules and of the credit limits, so both show the same.

Definitions (one place, for the page, the API and the CSV):
- an alert counts in the period when it was opened in it (the site's days, start and end included);
- confirmed: judged fraud or misuse (verdict fraud, or still confirmed); dismissed: judged a false alarm;
  expected: closed as a known cause; open: not judged yet;
- precision = confirmed / (confirmed + dismissed), of the alerts judged either way (None when none was);
- money at risk: the alerts' amounts (spend above baseline, before payment, past a limit), to the fen;
- time to act: from opening to the first action or verdict (acted_at), in hours; the median of those acted on.
"""

import csv
import datetime as dt
import io
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.utils import timezone

from partnerdesk.billing.money import ZERO

from .models import Alert, AlertStatus, CreditLimit, SignalKind, SignalRule, Verdict

MAX_DAYS = 3660  # a report spans at most ten years
DEFAULT_REPORT_DAYS = 90


@dataclass
class SignalFigures:
    signal: str  # "" for the total
    alerts: int = 0
    open: int = 0
    confirmed: int = 0
    dismissed: int = 0
    expected: int = 0
    cleared: int = 0
    money_at_risk: Decimal = ZERO
    confirmed_money: Decimal = ZERO
    acted: int = 0
    hours_to_act: list = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return str(SignalKind(self.signal).label) if self.signal in SignalKind.values else ""

    @property
    def precision(self) -> Decimal | None:
        """Percent of the judged alerts that were confirmed (None when none was judged)."""
        judged = self.confirmed + self.dismissed
        if not judged:
            return None
        return (Decimal(100) * self.confirmed / judged).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def median_hours_to_act(self) -> Decimal | None:
        if not self.hours_to_act:
            return None
        return Decimal(str(statistics.median(self.hours_to_act))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class AlertReport:
    start: dt.date
    end: dt.date
    rows: list[SignalFigures]  # one per signal, in SignalKind's order (those with no alert included)
    total: SignalFigures
    currency: str = "CNY"


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_default_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return low, high


def _add(figures: SignalFigures, status: str, verdict: str, amount: Decimal, opened_at, acted_at) -> None:
    figures.alerts += 1
    figures.money_at_risk += amount
    if verdict == Verdict.FRAUD or status == AlertStatus.CONFIRMED:
        figures.confirmed += 1
        figures.confirmed_money += amount
    elif verdict == Verdict.FALSE_ALARM or status == AlertStatus.DISMISSED:
        figures.dismissed += 1
    if status == AlertStatus.OPEN:
        figures.open += 1
    elif status == AlertStatus.EXPECTED:
        figures.expected += 1
    elif status == AlertStatus.CLEARED:
        figures.cleared += 1
    if acted_at is not None:
        figures.acted += 1
        figures.hours_to_act.append(max(0.0, (acted_at - opened_at).total_seconds() / 3600))


def alert_report(*, start: dt.date, end: dt.date, customer_id: int | None = None) -> AlertReport:
    """The alerts opened from start to end (the site's days), by signal, with the total."""
    rows = {signal: SignalFigures(signal) for signal in SignalKind.values}
    total = SignalFigures("")
    low, high = _bounds(start, end)
    alerts = Alert.objects.filter(opened_at__gte=low, opened_at__lt=high)
    if customer_id is not None:
        alerts = alerts.filter(customer_id=customer_id)
    for signal, status, verdict, amount, opened_at, acted_at in alerts.values_list(
            "signal", "status", "verdict", "amount", "opened_at", "acted_at").iterator():
        amount = amount or ZERO
        if signal in rows:
            _add(rows[signal], status, verdict, amount, opened_at, acted_at)
        _add(total, status, verdict, amount, opened_at, acted_at)
    return AlertReport(start=start, end=end, rows=list(rows.values()), total=total)


def _number(value) -> str:
    return "" if value is None else str(value)


CSV_HEADER = ["signal", "signal_name", "alerts", "open", "confirmed", "dismissed", "expected", "cleared",
              "precision_percent", "money_at_risk", "confirmed_money", "acted_on", "median_hours_to_act"]


def report_csv(report: AlertReport) -> str:
    """The report as CSV: one row per signal, then the total (signal "total")."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in [*report.rows, report.total]:
        writer.writerow([row.signal or "total", row.label, row.alerts, row.open, row.confirmed, row.dismissed,
                         row.expected, row.cleared, _number(row.precision), row.money_at_risk, row.confirmed_money,
                         row.acted, _number(row.median_hours_to_act)])
    return out.getvalue()


# --- one alert: its explanation and its history (the page and the API show the same) ----------------------------


def alert_history(alert: Alert, *, limit: int = 200):
    """The audit entries about the alert: the alert itself, its actions, its expected patterns, and the customer's
    fraud controls and subscriptions suspended or reactivated for it, since it opened; oldest first."""
    from django.db.models import Q

    from partnerdesk.audit.models import AuditEntry

    from .models import AlertAction, ExpectedPattern

    actions = list(AlertAction.objects.filter(alert=alert).values_list("pk", "subscription_id"))
    patterns = ExpectedPattern.objects.filter(alert=alert).values_list("pk", flat=True)
    subscription_ids = {str(sub) for _pk, sub in actions if sub is not None}
    about = (Q(object_type="fraud.alert", object_id=str(alert.pk))
             | Q(object_type="fraud.alertaction", object_id__in=[str(pk) for pk, _sub in actions])
             | Q(object_type="fraud.expectedpattern", object_id__in=[str(pk) for pk in patterns])
             | Q(object_type="fraud.customerrisk", customer_id=alert.customer_id, at__gte=alert.opened_at))
    if subscription_ids:
        about |= Q(object_type="customers.subscription", object_id__in=subscription_ids, at__gte=alert.opened_at)
    entries = AuditEntry.objects.filter(about).select_related("customer").order_by("at", "id")
    return list(entries[:limit])


# --- rules and limits as the page and the API show them -------------------------------------------------------


def rule_row(rule, *, signal: str, row: SignalRule | None = None) -> dict:
    return {"id": row.pk if row is not None else None, "signal": signal, "signal_name": str(SignalKind(signal).label),
            "customer_id": row.customer_id if row is not None else None, "enabled": rule.enabled,
            "min_score": rule.min_score, "min_amount": rule.min_amount, "window_days": rule.window_days,
            "auto_suspend": rule.auto_suspend, "auto_prepayment": rule.auto_prepayment}


def rules_overview(customer_id: int | None = None) -> dict:
    """What applies per signal (to the customer, or to one without its own rule) and every stored row."""
    from . import rules

    rows = list(SignalRule.objects.order_by("signal", "customer_id", "pk"))
    stored = {(r.signal, r.customer_id): r for r in rows}
    effective = [rule_row(rules.rule_for(signal, customer_id), signal=signal,
                          row=stored.get((signal, customer_id)) or stored.get((signal, None)))
                 for signal in SignalKind.values]
    return {"effective": effective, "rules": [rule_row(r, signal=r.signal, row=r) for r in rows]}


def limit_rows(page, *, as_of) -> list[dict]:
    """The limits with what each has used on the day, at the customer's price with tax (measured together: a few
    queries for the page). The partner's cost (Usage.cost) is left out: customers read these rows."""
    from . import limits

    usage = limits.measure(page, as_of=as_of)
    return [limit_row(limit, used=usage[limit.pk].used) for limit in page]


def limit_row(limit: CreditLimit, *, used: Decimal) -> dict:
    # Rounded down, as the warnings count: 99.95% is not shown as 100.0% while no 100% warning went out.
    percent = (used * 100 / limit.amount).quantize(Decimal("0.1"), rounding=ROUND_FLOOR) if limit.amount else None
    sub = limit.subscription
    return {"id": limit.pk, "customer_id": limit.customer_id, "customer_name": limit.customer.name,
            "subscription_id": limit.subscription_id, "subscription_name": str(sub) if sub else "",
            "kind": limit.kind, "kind_name": limit.get_kind_display(), "amount": limit.amount, "used": used,
            "percent_used": percent}
