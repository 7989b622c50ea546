"""Benchmark of the collections run: `python bench/collections/run.py [--db sqlite|postgres|both] [--customers N] [--invoices N]`.

Generates its own data (100,000 customers and 1,000,000 invoices by default) into a fresh database, then,
in a fresh process, measures: the floor (one plain SQL aggregate over the open invoices), (a) deciding
what is due, (b) recording the due actions (emails and operator calls queued, not sent), the whole run,
and a second run the same day. Prints a table with seconds, rows/s and peak RSS.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-24"


def child(mode: str, args) -> dict:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="partnerdesk.settings", PARTNERDESK_MODE="demo",
               DATABASE_URL=args.url, PARTNERDESK_TASKS_BACKEND="django_tasks_db.DatabaseBackend")
    cmd = [sys.executable, __file__, "--child", mode, "--customers", str(args.customers), "--invoices", str(args.invoices)]
    out = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(mode: str, args):
    import datetime as dt

    import django

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench" / "collections"))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    as_of = dt.date.fromisoformat(AS_OF)
    if mode == "generate":
        from generate import generate

        call_command("migrate", verbosity=0)
        t = time.perf_counter()
        info = generate(customers=args.customers, invoices=args.invoices, as_of=as_of)
        info["seconds"] = time.perf_counter() - t
        print(json.dumps(info))
        return
    from partnerdesk.dunning.engine import decide, run_collections

    def floor():
        """The fastest of a few runs of the plain aggregate. On SQLite also as a full scan: its planner picks the
        status index for this query, which reads the table out of order and is several times slower."""
        queries = ["SELECT COUNT(*), SUM(balance) FROM billing_invoice WHERE status IN ('issued', 'partially_paid')"]
        if connection.vendor == "sqlite":
            queries.append(queries[0].replace("billing_invoice", "billing_invoice NOT INDEXED"))
        best = None
        for _ in range(3):
            for sql in queries:
                t = time.perf_counter()
                with connection.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()
                best = min(best or 1e9, time.perf_counter() - t)
        return best

    result = {"floor_s": floor(), "rss_start_mb": rss_mb()}
    if mode == "decide":
        t = time.perf_counter()
        due = decide(as_of)
        result.update(decide_s=time.perf_counter() - t, due=len(due), rss_mb=rss_mb())
    elif mode == "run":
        t = time.perf_counter()
        first = run_collections(as_of)
        whole = time.perf_counter() - t
        # An action is one entry of the collections log: a notice (its email queued), a call task, a suspension
        # (its operator requests queued, one per subscription) or a cancellation.
        actions = first.counts.get("actions", 0) + first.counts.get("deletion_warnings", 0)
        result.update(run_s=whole, decide_s=first.decide_seconds, record_s=first.record_seconds, tidy_s=first.tidy_seconds,
                      due=first.counts.get("due"), actions=actions, counts=first.counts, rss_mb=rss_mb())
        t = time.perf_counter()
        second = run_collections(as_of)
        result.update(second_run_s=time.perf_counter() - t, second_due=second.counts.get("due"), rss_after_second_mb=rss_mb())
    print(json.dumps(result, default=str))


def fresh_database(kind: str, tag: str) -> str:
    if kind == "sqlite":
        path = Path("/tmp") / f"partnerdesk-bench-{tag}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"partnerdesk_bench_{tag}"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--child", default=None)
    args = parser.parse_args()
    if args.child:
        in_child(args.child, args)
        return
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"collections benchmark: {args.customers:,} customers, {args.invoices:,} invoices, as of {AS_OF}")
    for kind in kinds:
        args.url = fresh_database(kind, f"{args.customers}")
        gen = child("generate", args)
        print(f"\n[{kind}] generated in {gen['seconds']:.1f}s: {gen['open']:,} open invoices, "
              f"{gen['reaching_today']:,} reaching a new stage today")
        dec = child("decide", args)
        run = child("run", args)
        floor = min(dec["floor_s"], run["floor_s"])
        rows = [
            ("floor: SQL aggregate over open invoices", floor, gen["open"], None),
            ("(a) decide what is due (alone)", dec["decide_s"], dec["due"], dec["rss_mb"]),
            ("(a) decide, inside the run", run["decide_s"], run["due"], None),
            ("(b) record the due actions", run["record_s"], run["actions"], None),
            ("then VACUUM the invoice table (PostgreSQL)", run["tidy_s"], None, None),
            ("whole run", run["run_s"], run["actions"], run["rss_mb"]),
            ("second run, same day (nothing new)", run["second_run_s"], run["second_due"], run["rss_after_second_mb"]),
        ]
        print(f"{'step':<42}{'seconds':>10}{'rows':>12}{'rows/s':>12}{'x floor':>9}{'peak RSS MB':>13}")
        for name, secs, n, rss in rows:
            rate = f"{n / secs:,.0f}" if n and secs else "-"
            if n is None:
                print(f"{name:<42}{secs:>10.3f}{'-':>12}{'-':>12}{secs / floor:>9.1f}{'-':>13}")
                continue
            print(f"{name:<42}{secs:>10.3f}{(n or 0):>12,}{rate:>12}{secs / floor:>9.1f}{(f'{rss:.0f}' if rss else '-'):>13}")
        print(f"counts: {run['counts']}")
        if kind == "postgres":
            name = args.url.rsplit("/", 1)[1]
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=False)


if __name__ == "__main__":
    main()
