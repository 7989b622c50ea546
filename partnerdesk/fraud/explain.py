"""A signal's plain-language explanation, in the active language, from the figures its Hit carries.

The figures are what fraud.signals (and fraud.limits for over_limit) put in a Hit: money as strings of CNY, days as
ISO dates. Money is shown to the fen with the yuan sign, days as a reader of the language writes them; a figure
that is missing (an alert from an older run) shows as a dash rather than failing.
"""

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from django.utils.translation import get_language, gettext, ngettext

from partnerdesk.customers.models import Language
from partnerdesk.notifications.rendering import format_date

from .limits import month_text
from .models import SignalKind

DASH = "—"


def money(value) -> str:
    """'1234.5' -> '¥1,234.50'."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        return DASH
    return f"{'-' if amount < 0 else ''}¥{abs(amount):,.2f}"


def day(value) -> str:
    return format_date(value, get_language() or "zh-hans") or DASH if value else DASH


def number(value) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}".rstrip("0").rstrip(".")
    except (InvalidOperation, ValueError, TypeError):
        return DASH


def _count(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _spike(f: dict) -> str:
    text = gettext("On %(day)s the customer spent %(spend)s, %(above)s more than the %(expected)s expected from its "
                   "own last %(days)s days for that day of the week (robust score %(score)s; an alert needs "
                   "%(min_score)s and %(min_amount)s above normal).") % {
        "day": day(f.get("day")), "spend": money(f.get("spend")), "above": money(f.get("above")),
        "expected": money(f.get("expected")), "days": f.get("baseline_days", DASH), "score": number(f.get("score")),
        "min_score": number(f.get("min_score")), "min_amount": money(f.get("min_amount"))}
    tripped = _count(f.get("days_tripped"))
    if tripped > 1:
        window = f.get("window_days")  # the rule's window the tripped days were counted in (older alerts: none)
        if window:
            more = ngettext("%(count)d day of the last %(window)s days was as far above normal.",
                            "%(count)d days of the last %(window)s days were as far above normal.",
                            tripped) % {"count": tripped, "window": window}
        else:
            more = ngettext("%(count)d recent day was as far above normal.",
                            "%(count)d recent days were as far above normal.", tripped) % {"count": tripped}
        text += _sentence_gap() + more
    return text


def _sentence_gap() -> str:
    """What separates two sentences: a space in English, nothing after a Chinese full stop."""
    return "" if (get_language() or "").lower().startswith("zh") else " "


def _month(value) -> str:
    """A budget's month (its first day, ISO) as the reader writes a month: 2026年11月, November 2026."""
    try:
        period = dt.date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return DASH
    english = (get_language() or "").lower().startswith("en")
    return month_text(period, Language.EN if english else Language.ZH_CN)


def _before_payment(f: dict) -> str:
    return gettext("No payment has ever been received from this customer, yet its usage from %(since)s to %(until)s "
                   "comes to %(spend)s (an alert from %(floor)s; reached on %(crossed)s).") % {
        "since": day(f.get("since")), "until": day(f.get("until")), "spend": money(f.get("spend")),
        "floor": money(f.get("floor")), "crossed": day(f.get("crossed"))}


def _new_customer(f: dict) -> str:
    return gettext("The customer was created on %(created)s, %(age)s days ago (new for %(new_days)s days), and has "
                   "spent %(spend)s in the last %(window)s days, above the %(floor)s allowed a new customer "
                   "(reached on %(crossed)s).") % {
        "created": day(f.get("created")), "age": f.get("age_days", DASH), "new_days": f.get("new_customer_days", DASH),
        "spend": money(f.get("spend")), "window": f.get("window_days", DASH), "floor": money(f.get("floor")),
        "crossed": day(f.get("crossed"))}


def _over_limit(f: dict) -> str:
    values = {"used": money(f.get("used")), "limit": money(f.get("limit")), "over": money(f.get("over")),
              "percent": f.get("percent", DASH), "month": _month(f.get("month")),
              "subscription": f.get("subscription") or DASH, "balance": money(f.get("balance")),
              "unbilled": money(f.get("unbilled"))}
    if f.get("kind") == "budget":
        if f.get("subscription"):
            return gettext("Spend on the subscription %(subscription)s in the month of %(month)s is %(used)s, "
                           "%(percent)s%% of its monthly budget of %(limit)s: %(over)s past it.") % values
        return gettext("Spend in the month of %(month)s is %(used)s, %(percent)s%% of the monthly budget of "
                       "%(limit)s: %(over)s past it.") % values
    return gettext("The customer owes %(used)s (unpaid balance %(balance)s plus usage not yet invoiced "
                   "%(unbilled)s), %(percent)s%% of its credit limit of %(limit)s: %(over)s past it.") % values


def _unpaid_growth(f: dict) -> str:
    return gettext("The unpaid balance grew from %(before)s on %(since)s to %(now)s on %(until)s, while usage in the "
                   "last %(window)s days came to %(usage)s against %(usage_before)s in the %(window)s days "
                   "before.") % {
        "before": money(f.get("balance_before")), "now": money(f.get("balance")), "since": day(f.get("since")),
        "until": day(f.get("until")), "window": f.get("window_days", DASH), "usage": money(f.get("usage")),
        "usage_before": money(f.get("usage_before"))}


def _burst(f: dict) -> str:
    count = _count(f.get("count"))
    values = {"count": count, "window": f.get("window_days", DASH), "since": day(f.get("since")),
              "threshold": f.get("threshold", DASH)}
    if f.get("what") == "seats":
        return ngettext("%(count)d seat was added since %(since)s (within %(window)s days; an alert from "
                        "%(threshold)s seats), for %(charges)s of license charges.",
                        "%(count)d seats were added since %(since)s (within %(window)s days; an alert from "
                        "%(threshold)s seats), for %(charges)s of license charges.", count) % {
            **values, "charges": money(f.get("charges"))}
    return ngettext("%(count)d new subscription since %(since)s (within %(window)s days; an alert from "
                    "%(threshold)s), worth %(monthly)s a month.",
                    "%(count)d new subscriptions since %(since)s (within %(window)s days; an alert from "
                    "%(threshold)s), worth %(monthly)s a month.", count) % {**values, "monthly": money(f.get("monthly"))}


def _new_region(f: dict) -> str:
    values = {"name": f.get("name") or DASH, "first": day(f.get("first_day")), "spend": money(f.get("spend")),
              "days": f.get("days", DASH), "median": money(f.get("baseline_median")),
              "baseline": f.get("baseline_days", DASH)}
    if f.get("what") == "meter":
        return gettext("Usage of the meter %(name)s, not used in the customer's last %(baseline)s days, began on "
                       "%(first)s: %(spend)s in %(days)s days, against a usual %(median)s a day in all.") % values
    return gettext("Usage in the region %(name)s, where the customer used nothing in its last %(baseline)s days, "
                   "began on %(first)s: %(spend)s in %(days)s days, against a usual %(median)s a day in all.") % values


EXPLAIN = {
    SignalKind.SPEND_SPIKE: _spike,
    SignalKind.USAGE_BEFORE_PAYMENT: _before_payment,
    SignalKind.NEW_CUSTOMER_HIGH_SPEND: _new_customer,
    SignalKind.OVER_LIMIT: _over_limit,
    SignalKind.UNPAID_GROWTH: _unpaid_growth,
    SignalKind.SUBSCRIPTION_BURST: _burst,
    SignalKind.NEW_REGION: _new_region,
}


def explain(signal: str, figures: dict) -> str:
    """The explanation of a signal's hit from its figures, in the active language."""
    writer = EXPLAIN.get(signal)
    if writer is None:
        return str(SignalKind(signal).label) if signal in SignalKind.values else str(signal)
    return writer(figures if isinstance(figures, dict) else {})


logger = logging.getLogger(__name__)


def of_alert(alert) -> str:
    """An alert in plain words, in the active language. An alert whose figures this version cannot read (stored by
    an older signal) is still named by its signal, score and money at risk: an explanation never stops an alert,
    its case or its page."""
    text = ""
    try:
        text = explain(alert.signal, dict(alert.figures or {}))
    except Exception:
        logger.exception("Fraud alert %s: no explanation for %s", alert.pk, alert.signal)
    if not text:
        signal = SignalKind(alert.signal).label if alert.signal in SignalKind.values else alert.signal
        text = gettext("%(signal)s: score %(score)s, %(amount)s CNY at risk.") % {
            "signal": signal, "score": alert.score, "amount": alert.amount}
    return text
