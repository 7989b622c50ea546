"""Benchmark of draft generation: `python bench/recon_import/drafts.py [--db sqlite|postgres|both] [--customers 20000]
[--lines-per-customer 10]`.

Writes a period's data straight into a fresh database with bulk_create (not through the importer): customers,
a license and a usage subscription each, a license and a usage operator invoice with their reconciliation files,
and about ten lines per customer (a monthly charge for two offers, a proration, a cancellation credit, usage on
three meters of two services), all matched; a default 5% markup and a discount for one customer in ten. Then, in
a CHILD process, times rebilling.drafts.generate_drafts for the period (goal: under 30 s for 20,000 customers),
checks that every line was billed once and the invoice lines add up, and times a second generation (which bills
nothing). Prints wall time and the child's peak memory (ru_maxrss).
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import run as recon_run  # noqa: E402  (this folder's import benchmark: its child runner and database helpers)
from run import drop_database, rss_mb  # noqa: E402, F401

ROOT = Path(__file__).resolve().parents[2]
PERIOD = dt.date(2026, 10, 1)
GOAL_SECONDS = 30


def child(mode: str, args) -> dict:
    return recon_run.child(mode, args, script=__file__, options=(
        "--customers", str(args.customers), "--lines-per-customer", str(args.lines_per_customer)))


def _lines_for(customer, license_sub, usage_sub, lic, usage, extra_usage: int):
    """One customer's lines: as the operator's files have them (charges = quantity x unit price, tax 6%)."""
    from decimal import Decimal

    from partnerdesk.rebilling.models import MatchMethod, ReconLine

    october_end = dt.date(2026, 10, 31)

    def line(file, kind, row, **fields):
        charges = fields["charges"]
        tax = (charges * Decimal("0.06")).quantize(Decimal("0.01"))
        return ReconLine(file_id=file.pk, kind=kind, row_number=row, customer_id=customer.pk, tax=tax,
                         total=charges + tax, match_method=MatchMethod.SUBSCRIPTION, customer_ref=str(customer.tenant_id),
                         **fields)

    base = customer.pk * 10
    seats = 5 + customer.pk % 20
    lines = [
        line(lic, "license", base + 1, subscription_id=license_sub.pk, subscription_ref=license_sub.operator_id,
             product="CFQ7TTC0LFLX", product_name="Microsoft 365 E3", charge_type="Cycle fee",
             charge_start=dt.date(2026, 11, 1), charge_end=dt.date(2026, 11, 30), quantity=Decimal(seats),
             unit_price=Decimal("230.00"), charges=Decimal(seats) * Decimal("230.00")),
        line(lic, "license", base + 2, subscription_id=license_sub.pk, subscription_ref=license_sub.operator_id,
             product="CFQ7TTC0LFK5", product_name="Exchange Online (Plan 1)", charge_type="Cycle fee",
             charge_start=dt.date(2026, 11, 1), charge_end=dt.date(2026, 11, 30), quantity=Decimal(3),
             unit_price=Decimal("30.00"), charges=Decimal("90.00")),
        line(lic, "license", base + 3, subscription_id=license_sub.pk, subscription_ref=license_sub.operator_id,
             product="CFQ7TTC0LFLX", product_name="Microsoft 365 E3", charge_type="Prorate fees when purchase",
             charge_start=dt.date(2026, 10, 16), charge_end=october_end, quantity=Decimal(2),
             unit_price=Decimal("230.00"), charges=Decimal("237.42")),
        line(lic, "license", base + 4, subscription_id=license_sub.pk, subscription_ref=license_sub.operator_id,
             product="CFQ7TTC0LFK5", product_name="Exchange Online (Plan 1)", charge_type="Prorate fees when cancel",
             charge_start=dt.date(2026, 10, 21), charge_end=october_end, quantity=Decimal(-1),
             unit_price=Decimal("30.00"), charges=Decimal("-10.65")),
    ]
    meters = [("Virtual Machines", "vm-d2s-v3", Decimal("0.816000")), ("Virtual Machines", "vm-disk-p10",
              Decimal("0.120000")), ("Storage", "st-lrs-gb", Decimal("0.005610"))]
    for i in range(3 + extra_usage):
        service, meter, price = meters[i % 3]
        quantity = Decimal(10 + (customer.pk + i) % 90) + Decimal("0.2500")
        day = dt.date(2026, 10, 1 + i % 28)
        lines.append(line(usage, "usage", base + 5 + i, subscription_id=usage_sub.pk,
                          billing_subscription_ref=f"bill-{usage_sub.operator_id}", service=service, product=meter,
                          product_name="Azure", charge_type="Usage", charge_start=day, charge_end=day, usage_date=day,
                          quantity=quantity, unit_price=price, charges=(quantity * price).quantize(Decimal("0.01"))))
    return lines


def _setup(args) -> dict:
    import uuid
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction

    from partnerdesk.customers.models import Customer, Subscription
    from partnerdesk.customers.sorting import name_sort_key
    from partnerdesk.payables.models import OperatorInvoice
    from partnerdesk.rebilling.models import PriceRule, ReconFile, ReconLine

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    languages = ["zh-CN", "zh-CN", "zh-TW", "en"]
    extra_usage = max(args.lines_per_customer - 7, 0)
    lines = 0
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [Customer(name=f"客户 {i:05d} 有限公司", name_sort=name_sort_key(f"客户 {i:05d} 有限公司"),
                      tenant_id=uuid.uuid4(), primary_domain=f"c{i}.partner.onmschina.cn", language=languages[i % 4])
             for i in range(args.customers)], batch_size=2000)
        subs = Subscription.objects.bulk_create(
            [Subscription(customer=c, operator_id=f"{kind}-{c.pk}-{uuid.uuid4().hex[:12]}", offer_name=offer,
                          billing_type=kind)
             for c in customers for kind, offer in (("license", "Microsoft 365 E3"), ("usage", "Azure plan"))],
            batch_size=4000)
        invoices = {}
        for kind, number in (("license", "G261009001"), ("usage", "G261009002")):
            invoices[kind] = OperatorInvoice.objects.create(
                number=number, billing_date=dt.date(2026, 11, 5), period_start=PERIOD, period_end=dt.date(2026, 10, 31),
                amount=Decimal("0.00"), due_date=dt.date(2026, 12, 5))
        files = {kind: ReconFile.objects.create(operator_invoice=inv, kind=kind, filename=f"{kind}.csv",
                                                sha256=uuid.uuid4().hex * 2) for kind, inv in invoices.items()}
        batch = []
        for i, customer in enumerate(customers):
            batch += _lines_for(customer, subs[2 * i], subs[2 * i + 1], files["license"], files["usage"], extra_usage)
            if len(batch) >= 20000:
                ReconLine.objects.bulk_create(batch, batch_size=5000)
                lines += len(batch)
                batch = []
        ReconLine.objects.bulk_create(batch, batch_size=5000)
        lines += len(batch)
        PriceRule.objects.create(kind="markup", percent=Decimal("5"))
        PriceRule.objects.bulk_create([PriceRule(customer=c, kind="discount", percent=Decimal("3"))
                                       for c in customers[::10]])
    return {"customers": len(customers), "subscriptions": len(subs), "lines": lines,
            "seconds": time.perf_counter() - t}


def _generate() -> dict:
    from decimal import Decimal

    from django.db import connection
    from django.db.models import Count, Sum

    from partnerdesk.billing.models import Invoice, InvoiceLine
    from partnerdesk.rebilling.drafts import generate_drafts
    from partnerdesk.rebilling.models import ReconLine

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics after the bulk load, as autovacuum would have them
    start_rss = rss_mb()
    t = time.perf_counter()
    first = generate_drafts(PERIOD, actor=None)
    seconds = time.perf_counter() - t
    peak = rss_mb()
    t = time.perf_counter()
    second = generate_drafts(PERIOD, actor=None)
    second_seconds = time.perf_counter() - t
    # Every line billed once; the invoice lines' count and the invoices' totals agree with what was generated.
    unbilled = ReconLine.objects.filter(invoice_line__isnull=True).count()
    per_line = ReconLine.objects.values("invoice_line_id").annotate(n=Count("id")).filter(n__gt=1).count()
    totals = Invoice.objects.aggregate(n=Count("id"), subtotal=Sum("subtotal"))
    invoice_lines = InvoiceLine.objects.count()
    return {"seconds": seconds, "rss_start_mb": start_rss, "rss_mb": peak, "created": first.created,
            "lines_billed": first.lines_billed, "amount": str(first.amount), "invoice_lines": invoice_lines,
            "second_seconds": second_seconds, "second_lines_billed": second.lines_billed, "unbilled": unbilled,
            "usage_lines_summed": per_line, "invoices": totals["n"],
            "subtotals_agree": abs(Decimal(str(totals["subtotal"])) - first.amount) < Decimal("0.5")}


def in_child(mode: str, args) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    result = _setup(args) if mode == "setup" else _generate()
    print(json.dumps(result, default=str))


def fresh_database(kind: str, tag: str) -> str:
    return recon_run.fresh_database(kind, tag, bench="drafts")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--lines-per-customer", type=int, default=10)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        in_child(args.child, args)
        return
    print(f"draft generation benchmark: {args.customers:,} customers, ~{args.lines_per_customer} lines each, "
          f"period {PERIOD:%Y-%m}")
    failed = False
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        args.url = fresh_database(kind, str(os.getpid()))
        try:
            setup = child("setup", args)
            run = child("generate", args)
        finally:
            drop_database(args.url)
        print(f"\n[{kind}] {setup['customers']:,} customers, {setup['lines']:,} matched lines written in "
              f"{setup['seconds']:.1f}s")
        print(f"{'step':<40}{'seconds':>9}{'lines':>11}{'lines/s':>10}{'peak RSS MB':>13}")
        print(f"{'generate_drafts (first run)':<40}{run['seconds']:>9.1f}{run['lines_billed']:>11,}"
              f"{run['lines_billed'] / run['seconds']:>10,.0f}{run['rss_mb']:>13.0f}")
        print(f"{'generate_drafts again (nothing new)':<40}{run['second_seconds']:>9.1f}{run['second_lines_billed']:>11,}"
              f"{'-':>10}{'-':>13}")
        print(f"  {run['created']:,} drafts, {run['invoice_lines']:,} invoice lines, amount {run['amount']}; "
              f"unbilled lines {run['unbilled']}; RSS after start-up {run['rss_start_mb']:.0f} MB")
        ok = (run["unbilled"] == 0 and run["created"] == setup["customers"] and run["second_lines_billed"] == 0
              and run["lines_billed"] == setup["lines"] and run["subtotals_agree"])
        verdict = "within" if run["seconds"] < GOAL_SECONDS else "OVER"
        print(f"  checks {'passed' if ok else 'FAILED'}; {verdict} the {GOAL_SECONDS} s goal")
        failed |= not ok
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
