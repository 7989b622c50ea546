"""The signals, computed in Python over what fraud.series loaded (fraud.detection loads it once per run).

Each signal function takes the run's Data and RuleBook and returns Hits: one per incident (customer, signal,
subject), for the latest day that tripped within the rule's window, with the figures the explanation names
(fraud.explain) and the customer's daily spend for the chart. Money is counted in whole fen and handed over as a
Decimal; scores are statistics (floats) rounded to two places.

The spike is the pure function `spike_days` (robust z-score against the customer's own baseline, adjusted for the
weekday and the month's end), so it can be tested on a hand-made series.
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from .hits import Hit
from .models import SignalKind
from .rules import SEATS_PER_SUBSCRIPTION, RuleBook
from .series import DailySpend, MeterUse, to_money

MIN_BASELINE_DAYS = 21  # fewer days of history: no baseline to compare with (a new customer has its own signal)
MONTH_END_DAYS = 3  # the month's last days, which many customers spend more on (batch jobs, month-end closing)
RECENT_DAYS = 14  # the baseline's latest days: a growing customer is compared with its recent level
SCORE_CAP = 9999.99


def fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def score_of(value: float) -> Decimal:
    return Decimal(str(round(min(value, SCORE_CAP), 2))).quantize(Decimal("0.01"))


def is_month_end(day: dt.date) -> bool:
    return day.day > calendar.monthrange(day.year, day.month)[1] - MONTH_END_DAYS


# --- the spike: a pure function of a series ---------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """A customer's normal spend (fen per day), deseasonalized: level, scale, weekday and month-end factors."""

    level: float  # the median deseasonalized day (or the recent median if higher: growth)
    scale: float  # a robust standard deviation of the deseasonalized days
    weekday: tuple  # factor per weekday (Monday = 0)
    month_end: float  # factor of the month's last days
    days: int

    def expected(self, day: dt.date) -> float:
        return self.level * self.factor(day)

    def factor(self, day: dt.date) -> float:
        return self.weekday[day.weekday()] * (self.month_end if is_month_end(day) else 1.0)


def baseline_of(values: list[int], weekdays: list[int], ends: list[bool]) -> Baseline | None:
    """The robust baseline of these days' spend (with each day's weekday and whether it ends a month); None with
    fewer than MIN_BASELINE_DAYS days."""
    if len(values) < MIN_BASELINE_DAYS:
        return None
    overall = median(values)
    weekday = [1.0] * 7
    if overall > 0:
        buckets: list[list[int]] = [[] for _ in range(7)]
        for v, w in zip(values, weekdays, strict=True):
            buckets[w].append(v)
        for w, same in enumerate(buckets):
            if same:
                # Clamped: a weekday with no usage at all must not make every later use of it look infinite.
                weekday[w] = min(max(median(same) / overall, 0.2), 5.0)
    adjusted = [v / weekday[w] for v, w in zip(values, weekdays, strict=True)]
    centre = median(adjusted)
    month_end = 1.0
    month_ends = [a for a, e in zip(adjusted, ends, strict=True) if e]
    if len(month_ends) >= 2 and centre > 0:
        month_end = min(max(median(month_ends) / centre, 1.0), 3.0)  # (only ever lifts the expected spend)
        if month_end > 1.0:
            adjusted = [a / month_end if e else a for a, e in zip(adjusted, ends, strict=True)]
            centre = median(adjusted)
    ordered = sorted(adjusted)
    mad = median([abs(a - centre) for a in adjusted])
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    # The scale's floors: the spread of the upper tenth (a customer that spends on few days has a MAD of 0), 3% of
    # the level (a flat series), and one yuan.
    scale = max(1.4826 * mad, (p90 - centre) / 1.2816, 0.03 * centre, 100.0)
    level = max(centre, median(adjusted[-RECENT_DAYS:]))
    return Baseline(level, scale, tuple(weekday), month_end, len(values))


@dataclass(frozen=True)
class SpikeDay:
    day: dt.date
    spend: int  # fen
    expected: int  # fen
    score: float  # robust z

    @property
    def above(self) -> int:
        return self.spend - self.expected


def spike_days(values: list[int], days: list[dt.date], *, lookback: int, min_score: float, min_amount: int,
               weekdays: list[int] | None = None, ends: list[bool] | None = None) -> tuple[Baseline | None, list]:
    """The days among the last `lookback` whose spend is a spike against the days before them (the baseline):
    robust z >= min_score and spend above the expected >= min_amount (fen). (weekdays, ends: the days' weekday
    and month-end flag, when the caller has them already.)"""
    if len(values) <= lookback:
        return None, []
    weekdays = weekdays if weekdays is not None else [d.weekday() for d in days]
    ends = ends if ends is not None else [is_month_end(d) for d in days]
    base = baseline_of(values[:-lookback], weekdays[:-lookback], ends[:-lookback])
    if base is None:
        return None, []
    found = []
    for i in range(len(values) - lookback, len(values)):
        value = values[i]
        factor = base.weekday[weekdays[i]] * (base.month_end if ends[i] else 1.0)
        expected = base.level * factor
        z = (value - expected) / (base.scale * factor)
        if z >= min_score and value - expected >= min_amount:
            found.append(SpikeDay(days[i], value, round(expected), z))
    return base, found


# --- the run's data and the signals ------------------------------------------------------------------------------


@dataclass
class Data:
    """What one detection run loaded (fraud.detection.load)."""

    as_of: dt.date
    baseline_days: int
    new_customer_days: int
    daily: DailySpend
    meters: dict[int, list[MeterUse]] = field(default_factory=dict)
    paid: dict[int, dt.date] = field(default_factory=dict)  # first payment
    created: dict[int, dt.date] = field(default_factory=dict)  # customers created within new_customer_days
    subscriptions: dict[int, list] = field(default_factory=dict)  # new: [(day, id, operator id, fen)]
    seats: dict[int, dict] = field(default_factory=dict)  # {day: (seats, fen)}
    balances: dict[int, tuple[int, int]] = field(default_factory=dict)  # unpaid (then, now), fen

    def chart(self, customer_id: int) -> list:
        since = self.as_of - dt.timedelta(days=self.baseline_days + 14)
        return self.daily.chart(customer_id, since=since)


def _crossing(values: list[int], start: int, end: int, threshold: int) -> int:
    """The first index from `start` at which the running sum reaches `threshold` (end if it never does)."""
    total = 0
    for i in range(start, end + 1):
        total += values[i]
        if total >= threshold:
            return i
    return end


def spend_spikes(data: Data, rules: RuleBook) -> list[Hit]:
    """Spend spikes against each customer's own trailing baseline (see spike_days)."""
    loose = rules.lowest(SignalKind.SPEND_SPIKE)
    if not loose.enabled:
        return []
    daily, hits = data.daily, []
    end = daily.index(data.as_of)
    floor = fen(loose.min_amount)
    days = [daily.day(i) for i in range(daily.days)]
    weekdays, ends = [d.weekday() for d in days], [is_month_end(d) for d in days]
    for customer_id, values in daily.values.items():
        rule = rules.rule(SignalKind.SPEND_SPIKE, customer_id)
        lookback = max(1, rule.window_days)
        look_start = end - lookback + 1
        if not rule.enabled or look_start < 0 or max(values[look_start:end + 1]) < max(floor, 1):
            continue  # (no day near enough the floor: most customers stop here)
        begin = max(daily.first[customer_id], look_start - data.baseline_days)
        base, found = spike_days(values[begin:end + 1], days[begin:end + 1], lookback=lookback,
                                 min_score=float(rule.min_score), min_amount=fen(rule.min_amount),
                                 weekdays=weekdays[begin:end + 1], ends=ends[begin:end + 1])
        if not found:
            continue
        last = found[-1]
        hits.append(Hit(
            customer_id=customer_id, signal=SignalKind.SPEND_SPIKE, day=last.day, score=score_of(last.score),
            amount=to_money(last.above),
            figures={"day": last.day.isoformat(), "spend": str(to_money(last.spend)),
                     "expected": str(to_money(last.expected)), "above": str(to_money(last.above)),
                     "score": str(score_of(last.score)), "baseline_days": base.days,
                     "weekday_factor": f"{base.weekday[last.day.weekday()]:.2f}",
                     "month_end": is_month_end(last.day), "days_tripped": len(found), "window_days": lookback,
                     "min_score": str(rule.min_score), "min_amount": str(rule.min_amount)},
            series=data.chart(customer_id), tripped=last.day.isoformat()))
    return hits


def usage_before_payment(data: Data, rules: RuleBook) -> list[Hit]:
    """Customers that never paid, with usage spend over the window at or above the floor."""
    daily, hits = data.daily, []
    end = daily.index(data.as_of)
    for customer_id, values in daily.values.items():
        if customer_id in data.paid:
            continue
        rule = rules.rule(SignalKind.USAGE_BEFORE_PAYMENT, customer_id)
        if not rule.enabled:
            continue
        start = max(daily.first[customer_id], end - rule.window_days + 1, 0)
        spend = sum(values[start:end + 1])
        floor = fen(rule.min_amount)
        score = spend / floor if floor else float(spend > 0) * SCORE_CAP
        if spend <= 0 or spend < floor or score < float(rule.min_score):
            continue
        crossed = daily.day(_crossing(values, start, end, floor))
        hits.append(Hit(
            customer_id=customer_id, signal=SignalKind.USAGE_BEFORE_PAYMENT, day=crossed, score=score_of(score),
            amount=to_money(spend),
            figures={"since": daily.day(start).isoformat(), "until": data.as_of.isoformat(),
                     "spend": str(to_money(spend)), "floor": str(rule.min_amount), "crossed": crossed.isoformat(),
                     "days": end - start + 1},
            series=data.chart(customer_id), tripped=crossed.isoformat()))
    return hits


def new_customer_high_spend(data: Data, rules: RuleBook) -> list[Hit]:
    """Customers created within new_customer_days whose spend over the window reaches the floor."""
    daily, hits = data.daily, []
    end = daily.index(data.as_of)
    for customer_id, created in data.created.items():
        values = daily.values.get(customer_id)
        rule = rules.rule(SignalKind.NEW_CUSTOMER_HIGH_SPEND, customer_id)
        if values is None or not rule.enabled:
            continue
        start = max(daily.first[customer_id], end - rule.window_days + 1, 0)
        spend = sum(values[start:end + 1])
        floor = fen(rule.min_amount)
        score = spend / floor if floor else float(spend > 0) * SCORE_CAP
        if spend <= 0 or spend < floor or score < float(rule.min_score):
            continue
        crossed = daily.day(_crossing(values, start, end, floor))
        hits.append(Hit(
            customer_id=customer_id, signal=SignalKind.NEW_CUSTOMER_HIGH_SPEND, day=crossed, score=score_of(score),
            amount=to_money(spend),
            figures={"created": created.isoformat(), "age_days": (data.as_of - created).days,
                     "new_customer_days": data.new_customer_days, "spend": str(to_money(spend)),
                     "window_days": rule.window_days, "floor": str(rule.min_amount), "crossed": crossed.isoformat()},
            series=data.chart(customer_id), tripped=crossed.isoformat()))
    return hits


def unpaid_growth(data: Data, rules: RuleBook) -> list[Hit]:
    """An unpaid balance that grew over the window by at least the floor while usage grew by the score's ratio."""
    daily, hits = data.daily, []
    end = daily.index(data.as_of)
    for customer_id, (then, now) in data.balances.items():
        rule = rules.rule(SignalKind.UNPAID_GROWTH, customer_id)
        values = daily.values.get(customer_id)
        growth = now - then
        if not rule.enabled or values is None or now <= 0 or growth <= 0 or growth < fen(rule.min_amount):
            continue
        window = rule.window_days
        recent = sum(values[max(0, end - window + 1):end + 1])
        before = sum(values[max(0, end - 2 * window + 1):max(0, end - window + 1)])
        ratio = recent / before if before > 0 else (SCORE_CAP if recent > 0 else 0.0)
        if recent <= 0 or ratio < float(rule.min_score):
            continue
        hits.append(Hit(
            customer_id=customer_id, signal=SignalKind.UNPAID_GROWTH, day=data.as_of, score=score_of(ratio),
            amount=to_money(now),
            figures={"balance_before": str(to_money(then)), "balance": str(to_money(now)),
                     "growth": str(to_money(growth)), "usage_before": str(to_money(before)),
                     "usage": str(to_money(recent)), "window_days": window,
                     "since": (data.as_of - dt.timedelta(days=window)).isoformat(), "until": data.as_of.isoformat()},
            series=data.chart(customer_id), tripped=data.as_of.isoformat()))
    return hits


def _count_series(counts: dict[dt.date, int], as_of: dt.date, days: int) -> list:
    return [[(as_of - dt.timedelta(days=n)).isoformat(), str(counts.get(as_of - dt.timedelta(days=n), 0))]
            for n in range(days - 1, -1, -1)]


def subscription_burst(data: Data, rules: RuleBook) -> list[Hit]:
    """Many subscriptions first seen, or many seats added, within the window (the day the count reached it)."""
    hits = []
    for customer_id in set(data.subscriptions) | set(data.seats):
        rule = rules.rule(SignalKind.SUBSCRIPTION_BURST, customer_id)
        if not rule.enabled:
            continue
        since = data.as_of - dt.timedelta(days=rule.window_days - 1)
        subs = [s for s in data.subscriptions.get(customer_id, []) if s[0] >= since]
        threshold = max(1, int(rule.min_score.to_integral_value(ROUND_HALF_UP)))
        if len(subs) >= threshold and sum(s[3] for s in subs) >= fen(rule.min_amount):
            day = subs[threshold - 1][0]
            counts: dict[dt.date, int] = {}
            for s in data.subscriptions[customer_id]:
                counts[s[0]] = counts.get(s[0], 0) + 1
            hits.append(Hit(
                customer_id=customer_id, signal=SignalKind.SUBSCRIPTION_BURST, day=day, subject="subscriptions",
                score=score_of(len(subs)), amount=to_money(sum(s[3] for s in subs)),
                figures={"what": "subscriptions", "count": len(subs), "window_days": rule.window_days,
                         "since": since.isoformat(), "threshold": threshold, "first": subs[0][0].isoformat(),
                         "subscriptions": [s[2] for s in subs[:20]],
                         "monthly": str(to_money(sum(s[3] for s in subs)))},
                series=_count_series(counts, data.as_of, 28), tripped=day.isoformat()))
        seat_days = sorted((d, n) for d, n in data.seats.get(customer_id, {}).items() if d >= since)
        seat_threshold = threshold * SEATS_PER_SUBSCRIPTION
        total = sum(n for _, (n, _f) in seat_days)
        money = sum(f for _, (_n, f) in seat_days)
        if total >= seat_threshold and money >= fen(rule.min_amount):
            running, day = 0, seat_days[-1][0]
            for d, (n, _f) in seat_days:
                running += n
                if running >= seat_threshold:
                    day = d
                    break
            hits.append(Hit(
                customer_id=customer_id, signal=SignalKind.SUBSCRIPTION_BURST, day=day, subject="seats",
                score=score_of(total / SEATS_PER_SUBSCRIPTION), amount=to_money(money),
                figures={"what": "seats", "count": total, "window_days": rule.window_days, "since": since.isoformat(),
                         "threshold": seat_threshold, "charges": str(to_money(money))},
                series=_count_series({d: n for d, (n, _f) in data.seats[customer_id].items()}, data.as_of, 28),
                tripped=day.isoformat()))
    return hits


def new_regions(data: Data, rules: RuleBook) -> list[Hit]:
    """Usage in a region (or, within the regions it uses, a meter) the customer did not use in its baseline."""
    daily, hits = data.daily, []
    end = daily.index(data.as_of)
    for customer_id, uses in data.meters.items():
        rule = rules.rule(SignalKind.NEW_REGION, customer_id)
        values = daily.values.get(customer_id)
        look_start = end - max(1, rule.window_days) + 1
        if not rule.enabled or values is None or daily.first[customer_id] > look_start - MIN_BASELINE_DAYS:
            continue  # (a customer without a baseline: everything would be new)
        first_new = daily.day(look_start)
        old = [u for u in uses if u.first_day < first_new]
        new = [u for u in uses if u.first_day >= first_new]
        if not new or not old:
            continue
        base = values[max(daily.first[customer_id], look_start - data.baseline_days):look_start]
        level = max(median(base), 100) if base else 100
        old_regions, old_meters = {u.region for u in old}, {u.meter for u in old}
        groups: dict[str, list[MeterUse]] = {}
        for u in new:
            subject = f"region:{u.region}" if u.region not in old_regions else f"meter:{u.meter}"
            if subject.startswith("meter:") and u.meter in old_meters:
                continue
            groups.setdefault(subject, []).append(u)
        for subject, items in sorted(groups.items()):
            spend = sum(u.recent_fen for u in items)
            first_day = min(u.first_day for u in items)
            days_used = (data.as_of - first_day).days + 1
            score = spend / days_used / level
            if spend < max(fen(rule.min_amount), 1) or score < float(rule.min_score):
                continue
            kind, name = subject.split(":", 1)
            hits.append(Hit(
                customer_id=customer_id, signal=SignalKind.NEW_REGION, day=first_day, subject=subject[:200],
                score=score_of(score), amount=to_money(spend),
                figures={"what": kind, "name": name, "regions": sorted({u.region for u in items}),
                         "meters": sorted({u.meter for u in items})[:20], "first_day": first_day.isoformat(),
                         "spend": str(to_money(spend)), "days": days_used,
                         "baseline_median": str(to_money(round(level))), "baseline_days": len(base),
                         "known_regions": sorted(old_regions)[:20]},
                series=data.chart(customer_id), tripped=first_day.isoformat()))
    return hits


SIGNALS = {
    SignalKind.SPEND_SPIKE: spend_spikes,
    SignalKind.USAGE_BEFORE_PAYMENT: usage_before_payment,
    SignalKind.NEW_CUSTOMER_HIGH_SPEND: new_customer_high_spend,
    SignalKind.UNPAID_GROWTH: unpaid_growth,
    SignalKind.SUBSCRIPTION_BURST: subscription_burst,
    SignalKind.NEW_REGION: new_regions,
}
