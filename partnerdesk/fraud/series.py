"""What the signals read, each kind with ONE aggregate query over all customers (fraud.signals computes in Python).

Money is read as whole fen (integers, summed exactly in SQL: PostgreSQL sums numeric; SQLite sums the column's REAL
values, far within a fen at a customer-day's few lines) and becomes a Decimal only where a Hit names it.

- usage: usage spend per customer and usage day (customer x day), dense from the window's first day, and in the same
  query each customer's regions and meters (customer x day x region x meter): first day used, recent spend.
- first_payments, new_customers, new_subscriptions, seats_added, unpaid_balances: the ledger and the mirror.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from partnerdesk.billing.models import Allocation, Invoice, Payment
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.rebilling.models import FileKind, ReconLine

# License charge types that add seats (rebilling.generator's and the operator's names), and the one that removes
# them again in a seat change.
SEATS_ADDED = ("Prorate fees when purchase", "Cycle instance prorate")
SEATS_REMOVED = ("Cancel instance prorate",)


def to_money(fen: int) -> Decimal:
    """Whole fen as CNY, a Decimal to the fen."""
    return Decimal(fen).scaleb(-2)


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _fen_sum(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"(SUM({expression}) * 100)::bigint"
    # SQLite keeps a decimal as a float: summing floats can drift by a fen, so each row is made whole fen first.
    return f"SUM(CAST(ROUND(({expression}) * 100) AS INTEGER))"


def _matched() -> str:
    # SQLite would walk the (customer, charge_start) index and look up every row; a plain scan costs less.
    return "+customer_id IS NOT NULL" if connection.vendor == "sqlite" else "customer_id IS NOT NULL"


def _customer_filter(column: str, customer_ids) -> tuple[str, list]:
    if customer_ids is None:
        return "", []
    ids = [int(i) for i in customer_ids] or [0]
    if connection.vendor == "postgresql":
        return f" AND {column} = ANY(%s)", [ids]
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", ids


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass
class DailySpend:
    """Each customer's usage spend per day in fen, from `start` to `end` (index 0 = start; a day without usage
    is 0), and the index of its first day with usage in the window (its history, as far as the window sees)."""

    start: dt.date
    end: dt.date
    values: dict[int, list[int]] = field(default_factory=dict)
    first: dict[int, int] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def index(self, day: dt.date) -> int:
        return (day - self.start).days

    def day(self, index: int) -> dt.date:
        return self.start + dt.timedelta(days=index)

    def chart(self, customer_id: int, *, since: dt.date | None = None) -> list[list[str]]:
        """The customer's points for a chart: [[ISO date, CNY as str], ...] from its first day (or `since`)."""
        values = self.values.get(customer_id, [])
        begin = max(self.first.get(customer_id, 0), self.index(since) if since else 0)
        return [[self.day(i).isoformat(), str(to_money(values[i]))] for i in range(begin, len(values))]


def daily_spend(start: dt.date, end: dt.date, customer_ids=None) -> DailySpend:
    """Usage spend per customer and day (matched usage lines), one GROUP BY customer, day."""
    return usage(start, None, end, customer_ids)[0]


@dataclass(frozen=True)
class MeterUse:
    region: str
    meter: str
    first_day: dt.date  # the first day it was used within the window read
    recent_fen: int  # spend since the recent window's start


def usage(start: dt.date, recent: dt.date | None, end: dt.date, customer_ids=None
          ) -> tuple[DailySpend, dict[int, list[MeterUse]]]:
    """The daily spend, and (with `recent`) each customer's regions and meters from `start` to `end` with the
    first day each was used and its spend since `recent`. One aggregate query for both: GROUP BY customer, day
    (and region, meter), read in chunks; a second scan of the same rows would cost as much as the first."""
    table = ReconLine._meta.db_table
    where, params = _customer_filter("customer_id", customer_ids)
    by_meter = recent is not None
    keys = "customer_id, usage_date, region, product" if by_meter else "customer_id, usage_date"
    # (the day as text on SQLite: Django's per-value date converter would cost more than the query)
    day = "CAST(usage_date AS TEXT)" if connection.vendor == "sqlite" else "usage_date"
    columns = f"customer_id, {day}, region, product" if by_meter else f"customer_id, {day}"
    sql = (f"SELECT {columns}, {_fen_sum('charges')} FROM {table} "
           f"WHERE kind = %s AND {_matched()} AND usage_date >= %s AND usage_date <= %s{where} GROUP BY {keys}")
    series = DailySpend(start, end)
    length, origin = series.days, start.toordinal()
    values, first = series.values, series.first
    index_of: dict = {}
    recent_index = (recent - start).days if by_meter else length
    meters: dict[tuple, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [FileKind.USAGE, start, end, *params])
        while chunk := cursor.fetchmany(20000):
            for row in chunk:
                customer_id, raw_day, cents = row[0], row[1], row[-1] or 0
                index = index_of.get(raw_day)
                if index is None:
                    index = index_of[raw_day] = _day(raw_day).toordinal() - origin
                points = values.get(customer_id)
                if points is None:
                    points = values[customer_id] = [0] * length
                    first[customer_id] = index
                elif index < first[customer_id]:
                    first[customer_id] = index
                points[index] += cents
                if by_meter:
                    key = (customer_id, row[2] or "", row[3] or "")
                    seen = meters.get(key)
                    if seen is None:
                        seen = meters[key] = [index, 0]
                    elif index < seen[0]:
                        seen[0] = index
                    if index >= recent_index:
                        seen[1] += cents
    uses: dict[int, list[MeterUse]] = defaultdict(list)
    for (customer_id, region, meter), (index, recent_fen) in meters.items():
        uses[customer_id].append(MeterUse(region, meter, series.day(index), recent_fen))
    return series, dict(uses)


def first_payments(as_of: dt.date, customer_ids=None) -> dict[int, dt.date]:
    """The day of each customer's first payment received by `as_of` (reversed payments do not count)."""
    where, params = _customer_filter("customer_id", customer_ids)
    rows = _fetch(f"SELECT customer_id, MIN(received_on) FROM {Payment._meta.db_table} "
                  f"WHERE received_on <= %s AND reversed_on IS NULL{where} GROUP BY customer_id", [as_of, *params])
    return {customer_id: _day(day) for customer_id, day in rows}


def new_customers(since: dt.date, as_of: dt.date, customer_ids=None) -> dict[int, dt.date]:
    """Customers created from `since` to `as_of` (their local creation day, Beijing time): id -> that day."""
    zone = timezone.get_default_timezone()
    after = dt.datetime.combine(since, dt.time(), zone)
    before = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), zone)
    query = Customer.objects.filter(created_at__gte=after, created_at__lt=before)
    if customer_ids is not None:
        query = query.filter(pk__in=list(customer_ids))
    return {pk: timezone.localtime(created, zone).date() for pk, created in query.values_list("pk", "created_at")}


def new_subscriptions(since: dt.date, as_of: dt.date, customer_ids=None) -> dict[int, list[tuple]]:
    """Subscriptions first seen from `since` to `as_of` (local days): customer -> [(day, subscription id, operator
    id, monthly price in fen)], by day."""
    zone = timezone.get_default_timezone()
    after = dt.datetime.combine(since, dt.time(), zone)
    before = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), zone)
    query = Subscription.objects.filter(first_seen_at__gte=after, first_seen_at__lt=before)
    if customer_ids is not None:
        query = query.filter(customer_id__in=list(customer_ids))
    found: dict[int, list] = defaultdict(list)
    for customer_id, pk, operator_id, seen, quantity, price in query.values_list(
            "customer_id", "pk", "operator_id", "first_seen_at", "quantity", "unit_price"):
        monthly = int((Decimal(price or 0) * (quantity or 0) * 100).to_integral_value())
        found[customer_id].append((timezone.localtime(seen, zone).date(), pk, operator_id, monthly))
    for items in found.values():
        items.sort()
    return found


def seats_added(since: dt.date, as_of: dt.date, customer_ids=None) -> dict[int, dict[dt.date, tuple[int, int]]]:
    """Seats added by license lines (purchases and seat changes, net of the seats a change cancels) per customer
    and day the charge starts: (seats, their charges in fen). One GROUP BY customer, day."""
    table = ReconLine._meta.db_table
    where, params = _customer_filter("customer_id", customer_ids)
    added = ", ".join(["%s"] * len(SEATS_ADDED))
    removed = ", ".join(["%s"] * len(SEATS_REMOVED))

    def change(column: str) -> str:
        return f"CASE WHEN charge_type IN ({added}) THEN {column} WHEN charge_type IN ({removed}) THEN -{column} ELSE 0 END"

    rows = _fetch(f"SELECT customer_id, charge_start, SUM({change('quantity')}), "
                  f"{_fen_sum(change('charges'))} FROM {table} "
                  f"WHERE kind = %s AND customer_id IS NOT NULL AND charge_start >= %s AND charge_start <= %s{where} "
                  f"GROUP BY customer_id, charge_start",
                  [*SEATS_ADDED, *SEATS_REMOVED, *SEATS_ADDED, *SEATS_REMOVED, FileKind.LICENSE, since, as_of, *params])
    seats: dict[int, dict[dt.date, tuple[int, int]]] = defaultdict(dict)
    for customer_id, day, quantity, charges in rows:
        if quantity and quantity > 0:
            seats[customer_id][_day(day)] = (int(quantity), charges or 0)
    return seats


def unpaid_balances(before: dt.date, as_of: dt.date, customer_ids=None) -> dict[int, tuple[int, int]]:
    """Each customer's unpaid balance (fen) at the end of `before` and of `as_of`: what its invoices issued by then
    came to, less what was allocated to them by then (void invoices left out). Two GROUP BY customer."""
    where, params = _customer_filter("i.customer_id", customer_ids)
    invoices = Invoice._meta.db_table
    totals = _fetch(f"SELECT i.customer_id, {_fen_sum('CASE WHEN i.issue_date <= %s THEN i.total ELSE 0 END')}, "
                    f"{_fen_sum('i.total')} FROM {invoices} i "
                    f"WHERE i.status NOT IN ('draft', 'void') AND i.issue_date <= %s{where} GROUP BY i.customer_id",
                    [before, as_of, *params])
    paid = _fetch(f"SELECT i.customer_id, {_fen_sum('CASE WHEN a.allocated_on <= %s THEN a.amount ELSE 0 END')}, "
                  f"{_fen_sum('a.amount')} FROM {Allocation._meta.db_table} a JOIN {invoices} i ON i.id = a.invoice_id "
                  f"WHERE i.status NOT IN ('draft', 'void') AND i.issue_date <= %s AND a.allocated_on <= %s{where} "
                  f"GROUP BY i.customer_id", [before, as_of, as_of, *params])
    allocated = {customer_id: (then or 0, now or 0) for customer_id, then, now in paid}
    balances = {}
    for customer_id, then, now in totals:
        paid_then, paid_now = allocated.get(customer_id, (0, 0))
        balances[customer_id] = ((then or 0) - paid_then, (now or 0) - paid_now)
    return balances
