"""Generate the collections benchmark data set straight into the database (fast bulk SQL, not the ORM).

Customers (each with a billing contact and one active subscription) and invoices, ~1/3 open. Open
invoices are spread so a few percent reach each stage of the default policy on the benchmark day, and
the rest sit at the stage they have already been through, as in a steady daily rhythm.
"""

import datetime as dt
import random
import uuid
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from partnerdesk.customers.sorting import name_sort_key
from partnerdesk.dunning.policies import default_policy, due_date_threshold

REACHING_TODAY_SHARE = 0.03  # of open invoices, per stage


def _insert(table: str, columns: list[str], rows):
    """Bulk insert: COPY on PostgreSQL, executemany on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cur:
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20000:
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
                    batch = []
            if batch:
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)


def generate(*, customers: int, invoices: int, as_of: dt.date, seed: int = 7) -> dict:
    rng = random.Random(seed)
    now = timezone.now()
    policy = default_policy()
    stages = list(policy.stages.order_by("position"))
    thresholds = [(s.position, due_date_threshold(s, as_of, policy.grace_days)) for s in stages]

    def target(due: dt.date) -> int:
        return max((pos for pos, t in thresholds if due <= t), default=0)

    with transaction.atomic():
        _insert("customers_customer",
                ["id", "name", "tenant_id", "primary_domain", "payment_terms_days", "credit_limit", "currency", "status",
                 "language", "time_zone", "created_at", "name_sort"],
                ((i, f"Customer {i:06d}", str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"c{i}.partner.onmschina.cn",
                  30, Decimal("50000.00"), "CNY", "active", rng.choice(["zh-CN", "zh-CN", "zh-TW", "en"]), "Asia/Shanghai", now,
                  name_sort_key(f"Customer {i:06d}"))
                 for i in range(1, customers + 1)))
        _insert("customers_billingcontact",
                ["id", "customer_id", "name", "email", "phone", "language", "time_zone", "is_primary", "kind"],
                ((i, i, f"Contact {i}", f"billing{i}@c{i}.example.cn", "", "zh-CN", "Asia/Shanghai", True, "billing")
                 for i in range(1, customers + 1)))
        _insert("customers_subscription",
                ["id", "customer_id", "operator_id", "offer_id", "offer_name", "friendly_name", "quantity", "unit_price",
                 "billing_type", "billing_cycle", "term_duration", "status", "operator_reasons", "suspension_reason",
                 "auto_renew", "etag"],
                ((i, i, str(uuid.UUID(int=rng.getrandbits(128), version=4)), "CFQ7TTC0LFLX", "Microsoft 365 E3", "", 10,
                  Decimal("230.00"), "license", "monthly", "P1Y", "active", "[]", "", True, "")
                 for i in range(1, customers + 1)))
        counts = {"open": 0, "reaching_today": 0}

        def invoice_rows():
            for n in range(1, invoices + 1):
                customer = (n - 1) % customers + 1
                total = Decimal(rng.randrange(10000, 500000)) / 100
                roll = rng.random()
                if roll < 2 / 3:  # paid long ago
                    due = as_of - dt.timedelta(days=rng.randint(30, 400))
                    status, paid, stage = "paid", total, 0
                else:
                    counts["open"] += 1
                    status, paid = "issued", Decimal("0.00")
                    pick = rng.random()
                    if pick < REACHING_TODAY_SHARE * len(thresholds):
                        pos, threshold = thresholds[int(pick / REACHING_TODAY_SHARE)]
                        due, stage = threshold, pos - 1
                        counts["reaching_today"] += 1
                    elif pick < 0.55:
                        due, stage = as_of + dt.timedelta(days=rng.randint(4, 30)), 0
                    else:
                        due = as_of - dt.timedelta(days=rng.randint(-3, 90))
                        stage = target(due)
                issue = due - dt.timedelta(days=30)
                yield (n, customer, f"INV-{issue.year}-{n:07d}", issue, due, "CNY", status, total, Decimal("0.00"), total,
                       paid, total - paid, "", "", stage, now)

        _insert("billing_invoice",
                ["id", "customer_id", "number", "issue_date", "due_date", "currency", "status", "subtotal", "tax_total",
                 "total", "amount_paid", "balance", "notes", "void_reason", "collections_stage", "created_at"],
                invoice_rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in ("customers_customer", "customers_billingcontact", "customers_subscription", "billing_invoice"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            # A live database has been through autovacuum; freshly loaded rows have not (no visibility map, no
            # hint bits), which would make the first queries pay for writing them.
            cur.execute("VACUUM ANALYZE")
            # And flush the load's gigabyte of writes now, so the background writer is not still busy with them
            # while the run is measured.
            cur.execute("CHECKPOINT")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return {"customers": customers, "invoices": invoices, **counts}
