"""A generated population of customers and their usage, with fraud planted, for the detection tests and bench/fraud.

Normal customers spend every day on one to a few meters in one region, at a size drawn from a log-normal spread
(a few yuan to tens of thousands a day), with a weekly pattern (business customers spend less at weekends, some
spend more), growth or decline month on month, a month-end bump for some, multiplicative noise, and now and then
a milder busy day; a few are sparse (usage on some days only), a few start a new meter at a small share of their
spend, and a few are new (created weeks ago, small, not paid yet). Established customers pay every month.

Planted fraud, each on its own customers (`planted`: customer id -> the signal that should flag it):
spend spikes in the last days; usage before any payment; a burst of new subscriptions; usage in a new region;
a new customer with high spend.

Everything is written in bulk (customers and subscriptions with rebilling.bulk.insert_rows; usage lines with COPY
on PostgreSQL and executemany on SQLite), one operator invoice and usage file per month the usage spans.
"""

import calendar
import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from partnerdesk import batch_sql
from partnerdesk.billing.models import Payment
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.customers.sorting import name_sort_key
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling.bulk import insert_rows
from partnerdesk.rebilling.models import FileKind, ReconFile, ReconLine

from .models import SignalKind

REGIONS = ["China East 2", "China North 2", "China East 3", "China North 3", "China East", "China North"]
SERVICES = ["Virtual Machines", "Storage", "Azure App Service", "SQL Database", "Bandwidth", "Azure Monitor"]
FRAUD_KINDS = (SignalKind.SPEND_SPIKE, SignalKind.USAGE_BEFORE_PAYMENT, SignalKind.SUBSCRIPTION_BURST,
               SignalKind.NEW_REGION, SignalKind.NEW_CUSTOMER_HIGH_SPEND)


@dataclass
class Population:
    as_of: dt.date
    customers: list[int] = field(default_factory=list)
    planted: dict[int, str] = field(default_factory=dict)  # customer id -> the signal planted on it
    usage_rows: int = 0
    seconds: float = 0.0


@dataclass
class _Plan:
    """One customer's story, before it is written."""

    created: dt.date
    daily: float  # CNY a day at the start
    weekday: tuple
    growth: float  # per day (multiplicative)
    month_end: float
    noise: float
    meters: list  # [(region, meter GUID, service, share)]
    sparse: float = 1.0  # the chance of usage on a day
    pays: bool = True
    fraud: str = ""
    extra: dict = field(default_factory=dict)


def _meter(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _weekday(rng: random.Random) -> tuple:
    kind = rng.random()
    if kind < 0.55:  # business: quieter weekends
        weekend = rng.uniform(0.35, 0.8)
        return (1, 1, 1, 1, 1, weekend, weekend)
    if kind < 0.8:
        return (1,) * 7
    busy = rng.uniform(1.1, 1.5)  # consumer-facing: busier weekends
    return (1, 1, 1, 1, 1.05, busy, busy)


def _plan(rng: random.Random, as_of: dt.date, days: int, meters: int, fraud: str) -> _Plan:
    start = as_of - dt.timedelta(days=days - 1)
    region = rng.choice(REGIONS[:3])
    count = max(1, min(meters if meters > 1 else 1, 1 + int(rng.random() * meters)))
    shares = [rng.uniform(0.5, 1.5) for _ in range(count)]
    total = sum(shares)
    plan = _Plan(created=start - dt.timedelta(days=rng.randint(30, 900)),
                 daily=min(math.exp(rng.gauss(math.log(150), 1.2)), 20000.0), weekday=_weekday(rng),
                 growth=(1 + rng.uniform(-0.05, 0.25)) ** (1 / 30),
                 month_end=rng.uniform(1.2, 1.8) if rng.random() < 0.3 else 1.0, noise=rng.uniform(0.04, 0.18),
                 meters=[(region, _meter(rng), rng.choice(SERVICES), s / total) for s in shares], fraud=fraud)
    roll = rng.random()
    if not fraud and roll < 0.08:
        plan.sparse, plan.daily = rng.uniform(0.3, 0.7), min(plan.daily, 300.0)
    elif not fraud and roll < 0.10:  # new, small, not paid yet
        plan.created, plan.daily, plan.pays = as_of - dt.timedelta(days=rng.randint(5, 45)), rng.uniform(20, 80), False
        plan.growth = 1.0
    elif not fraud and roll < 0.13:  # a new meter, a small share of the spend, from a day in the last weeks
        plan.extra["new_meter"] = (as_of - dt.timedelta(days=rng.randint(0, 20)), _meter(rng), rng.uniform(0.02, 0.08))
    if fraud == SignalKind.SPEND_SPIKE:
        plan.daily = max(plan.daily, rng.uniform(200, 2000))
        first = as_of - dt.timedelta(days=rng.randint(0, 5))
        plan.extra["spike"] = (first, rng.randint(1, 3), rng.uniform(4, 10))
    elif fraud == SignalKind.USAGE_BEFORE_PAYMENT:
        plan.pays, plan.daily = False, rng.uniform(150, 600)
    elif fraud == SignalKind.NEW_REGION:
        plan.extra["new_region"] = (as_of - dt.timedelta(days=rng.randint(0, 4)), REGIONS[rng.randint(3, 5)],
                                    _meter(rng), max(2 * plan.daily, rng.uniform(1500, 5000)))
    elif fraud == SignalKind.NEW_CUSTOMER_HIGH_SPEND:
        plan.created, plan.daily, plan.pays = as_of - dt.timedelta(days=rng.randint(14, 40)), rng.uniform(1200, 3000), False
        plan.growth = 1.0
    elif fraud == SignalKind.SUBSCRIPTION_BURST:
        plan.extra["burst"] = [as_of - dt.timedelta(days=rng.randint(0, 4)) for _ in range(rng.randint(8, 15))]
    return plan


def _money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _spend(plan: _Plan, rng: random.Random, day: dt.date, t: int) -> float:
    """The customer's spend on a day (CNY), before it is split over meters."""
    if day < plan.created or rng.random() > plan.sparse:
        return 0.0
    value = plan.daily * plan.growth ** t * plan.weekday[day.weekday()]
    if day.day > calendar.monthrange(day.year, day.month)[1] - 2:
        value *= plan.month_end
    value *= math.exp(rng.gauss(0, plan.noise))
    if rng.random() < 0.002:  # a legitimately busy day now and then
        value *= rng.uniform(1.2, 1.5)
    spike = plan.extra.get("spike")
    if spike and spike[0] <= day < spike[0] + dt.timedelta(days=spike[1]):
        value = value * spike[2] + 3000
    return value


def generate(*, customers: int, as_of: dt.date, days: int = 70, meters: int = 1, planted_per_kind: int = 0,
             seed: int = 1, name_prefix: str = "Pop") -> Population:
    """Write a population of `customers` (of whom planted_per_kind x 5 carry planted fraud) with `days` days of
    usage up to `as_of`, `meters` meters a customer at most (one usage line per customer, meter and day)."""
    import time

    started = time.perf_counter()
    rng = random.Random(seed)
    kinds = [kind for kind in FRAUD_KINDS for _ in range(planted_per_kind)]
    frauds = set(rng.sample(range(customers), len(kinds))) if kinds else set()
    fraud_at = dict(zip(sorted(frauds), kinds, strict=True)) if kinds else {}
    plans = [_plan(rng, as_of, days, meters, fraud_at.get(n, "")) for n in range(customers)]
    zone = timezone.get_default_timezone()
    population = Population(as_of=as_of)
    sqlite = connection.vendor == "sqlite"
    with transaction.atomic():
        names = [f"{name_prefix} {seed}-{n:06d}" for n in range(customers)]
        customer_ids = insert_rows(Customer, {}, ["name", "name_sort", "tenant_id", "created_at"], [
            (name, name_sort_key(name), (lambda u: u.hex if sqlite else str(u))(uuid.UUID(int=rng.getrandbits(128))),
             batch_sql.sql_value(Customer, "created_at", dt.datetime.combine(plan.created, dt.time(10), zone)))
            for name, plan in zip(names, plans, strict=True)])
        population.customers = customer_ids
        population.planted = {customer_ids[n]: str(kind) for n, kind in fraud_at.items()}
        subs = []
        for cid, plan in zip(customer_ids, plans, strict=True):
            seen = dt.datetime.combine(plan.created, dt.time(11), zone)
            subs.append((cid, f"{name_prefix}-{seed}-{cid}-0", "Azure plan", "usage", 1, "0.00", seen))
            for k, day in enumerate(plan.extra.get("burst", [])):
                subs.append((cid, f"{name_prefix}-{seed}-{cid}-{k + 1}", "Microsoft 365 E3", "license", 10, "228.00",
                             dt.datetime.combine(day, dt.time(9 + k % 8), zone)))
        sub_ids = insert_rows(Subscription, {}, ["customer_id", "operator_id", "offer_name", "billing_type", "quantity",
                                                 "unit_price", "first_seen_at"],
                              [(*s[:6], batch_sql.sql_value(Subscription, "first_seen_at", s[6])) for s in subs])
        usage_sub = {}
        for s, pk in zip(subs, sub_ids, strict=True):
            usage_sub.setdefault(s[0], pk)
        _payments(rng, customer_ids, plans, as_of, days)
        population.usage_rows = _usage(rng, customer_ids, plans, usage_sub, as_of, days)
    population.seconds = time.perf_counter() - started
    return population


def _payments(rng, customer_ids, plans, as_of, days) -> None:
    rows = []
    for cid, plan in zip(customer_ids, plans, strict=True):
        if not plan.pays:
            continue
        month = (as_of - dt.timedelta(days=days)).replace(day=1)
        while month <= as_of:
            day = month + dt.timedelta(days=rng.randint(5, 25))
            if plan.created < day <= as_of:
                rows.append((cid, _money(max(100, int(plan.daily * 30 * 100))), day))
            month = (month + dt.timedelta(days=32)).replace(day=1)
    _write(Payment, ["customer_id", "amount", "received_on", "method", "currency", "allocated_amount",
                     "refunded_amount", "created_at", "reference", "reversal_reason"],
           [(c, a, d.isoformat(), "bank_transfer", "CNY", "0.00", "0.00", batch_sql.sql_value(
               Payment, "created_at", timezone.now()), "", "") for c, a, d in rows])


def _usage_files(as_of: dt.date, days: int) -> dict[tuple[int, int], tuple[int, dt.date, dt.date]]:
    """One operator invoice and usage file per month the usage spans: (year, month) -> (file id, start, end)."""
    files = {}
    day = as_of - dt.timedelta(days=days - 1)
    while day <= as_of:
        start = day.replace(day=1)
        end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        number = f"POP{uuid.uuid4().hex[:12].upper()}"
        invoice = OperatorInvoice.objects.create(number=number, billing_date=end + dt.timedelta(days=8),
                                                 period_start=start, period_end=end, amount=0,
                                                 due_date=end + dt.timedelta(days=38))
        recon = ReconFile.objects.create(operator_invoice=invoice, kind=FileKind.USAGE, filename=f"usage-{number}.csv",
                                         sha256=uuid.uuid4().hex + uuid.uuid4().hex)
        files[(start.year, start.month)] = (recon.pk, start, end)
        day = end + dt.timedelta(days=1)
    return files


LINE_COLUMNS = ["file_id", "row_number", "kind", "customer_id", "subscription_id", "product", "service", "region",
                "usage_date", "charge_start", "charge_end", "quantity", "unit_price", "charges", "tax", "total",
                "match_method", "customer_ref", "domain", "customer_name", "subscription_ref",
                "billing_subscription_ref", "product_name", "charge_type"]


def _usage(rng, customer_ids, plans, usage_sub, as_of, days) -> int:
    files = _usage_files(as_of, days)
    row_numbers = {pk: 1 for pk, _s, _e in files.values()}
    totals = {pk: 0 for pk in row_numbers}
    first = as_of - dt.timedelta(days=days - 1)
    calendar_days = [first + dt.timedelta(days=t) for t in range(days)]
    month_of = [files[(d.year, d.month)] for d in calendar_days]
    iso = [d.isoformat() for d in calendar_days]
    written = 0

    def rows():
        nonlocal written
        for cid, plan in zip(customer_ids, plans, strict=True):
            sub = usage_sub[cid]
            new_meter, new_region = plan.extra.get("new_meter"), plan.extra.get("new_region")
            for t, day in enumerate(calendar_days):
                value = _spend(plan, rng, day, t)
                parts = [(region, meter, service, value * share) for region, meter, service, share in plan.meters]
                if new_meter and day >= new_meter[0] and value > 0:
                    parts.append((plan.meters[0][0], new_meter[1], "Storage", value * new_meter[2]))
                if new_region and day >= new_region[0]:
                    parts.append((new_region[1], new_region[2], "Virtual Machines",
                                  new_region[3] * math.exp(rng.gauss(0, 0.1))))
                file_id, start, end = month_of[t]
                for region, meter, service, amount in parts:
                    fen = int(round(amount * 100))
                    if fen <= 0:
                        continue
                    number = row_numbers[file_id] = row_numbers[file_id] + 1
                    totals[file_id] += fen
                    written += 1
                    money = _money(fen)
                    yield (file_id, number, "usage", cid, sub, meter, service, region, iso[t], start.isoformat(),
                           end.isoformat(), "1.000000", money, money, "0.00", money, "subscription", "", "", "", "", "",
                           "", "")

    _write(ReconLine, LINE_COLUMNS, rows())
    for pk, fen in totals.items():
        ReconFile.objects.filter(pk=pk).update(charges=_money(fen), total=_money(fen), row_count=row_numbers[pk] - 1)
        OperatorInvoice.objects.filter(files__pk=pk).update(amount=_money(fen))
    return written


def _write(model, attnames: list[str], rows) -> None:
    """Rows (tuples of values in the driver's terms) into the model's table: COPY on PostgreSQL, executemany on
    SQLite, in batches."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(fields[name].column) for name in attnames)
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(attnames))})"
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 20000:
            connection.connection.executemany(sql, batch)
            batch = []
    if batch:
        connection.connection.executemany(sql, batch)
