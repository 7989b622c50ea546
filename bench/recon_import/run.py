"""Benchmark of the reconciliation import: `python bench/recon_import/run.py [--db sqlite|postgres|both]
[--usage-rows 2000000] [--license-rows 200000] [--customers 20000]`.

Generates the two files (rebilling.generator) into a temporary folder, creates the customers and subscriptions of
their world in bulk in a fresh database, then imports each file in a CHILD process (import + matching, one
transaction) and measures wall time, rows/s and the child's peak memory (ru_maxrss). In the same run it measures the
floor, the database's own bulk load of the same rows: PostgreSQL `COPY ... (FORMAT csv)` of the file into a table
of the same columns (all text, no index); SQLite `executemany` of the csv module's tuples into such a table, in
batches, in one transaction. Prints a table per database. Goals: within 2x of the floor, peak memory < 500 MB.
"""

import argparse
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PERIOD = dt.date(2026, 10, 1)


def rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, args, *extra: str, script: str = __file__, options: tuple = ()) -> dict:
    """Run `script --child mode` against args.url and return the JSON its last line prints (drafts.py uses it too)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="partnerdesk.settings", PARTNERDESK_MODE="demo", DATABASE_URL=args.url)
    # What an import sets off (fraud detection of its customers, after the commit) is queued as in production, for
    # `partnerdesk worker`: the demo's immediate backend would run it inside the import's measurement.
    env.setdefault("PARTNERDESK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
    cmd = [sys.executable, script, "--child", mode, *(options or ("--dir", str(args.dir))), *extra]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"child {mode} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _setup(directory: Path) -> dict:
    """The database's tables, and the world's known customers and subscriptions, in bulk."""
    import uuid
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction

    from partnerdesk.customers.models import Customer, Subscription
    from partnerdesk.customers.sorting import name_sort_key
    from partnerdesk.rebilling.generator import Manifest

    call_command("migrate", verbosity=0)
    manifest = Manifest.load(directory / "manifest.json")
    t = time.perf_counter()
    with transaction.atomic():
        known = [c for c in manifest.customers if c.known]
        customers = Customer.objects.bulk_create(
            [Customer(name=c.name, tenant_id=uuid.UUID(c.tenant_id), primary_domain=c.domain, language=c.language,
                      name_sort=name_sort_key(c.name)) for c in known], batch_size=2000)
        subs = [Subscription(customer=customer, operator_id=s.operator_id, offer_id=s.offer_id, offer_name=s.offer_name,
                             quantity=s.quantity, unit_price=Decimal(s.unit_price), billing_type=s.billing_type)
                for customer, c in zip(customers, known, strict=True) for s in c.subscriptions if s.known]
        Subscription.objects.bulk_create(subs, batch_size=5000)
    return {"customers": len(customers), "subscriptions": len(subs), "seconds": time.perf_counter() - t}


def _import(directory: Path, summary) -> dict:
    import datetime as dt
    from decimal import Decimal

    from partnerdesk.payables.services import OperatorInvoiceInput
    from partnerdesk.rebilling import importer, matching

    invoice = OperatorInvoiceInput(number=summary.number, billing_date=dt.date.fromisoformat(summary.billing_date),
                                   period_start=dt.date.fromisoformat(summary.period_start),
                                   period_end=dt.date.fromisoformat(summary.period_end), amount=Decimal(summary.total))
    timings = {}
    match_file = matching.match_file

    def timed_match(recon_file, **options):  # (the benchmark's own wrapper: how much of the import is matching)
        t = time.perf_counter()
        try:
            return match_file(recon_file, **options)
        finally:
            timings["match_s"] = time.perf_counter() - t

    importer.matching.match_file = timed_match
    load = importer._load

    def timed_load(*a, **k):  # (and how much is reading, checking and writing the rows)
        t = time.perf_counter()
        try:
            return load(*a, **k)
        finally:
            timings["load_s"] = time.perf_counter() - t

    importer._load = timed_load
    from django.db import connection

    commit = connection._commit

    def timed_commit():  # (and how long the commit waits: the deferred foreign-key checks of every line)
        t = time.perf_counter()
        try:
            return commit()
        finally:
            timings["commit_s"] = timings.get("commit_s", 0) + time.perf_counter() - t

    connection._commit = timed_commit
    start_rss = rss_mb()
    t = time.perf_counter()
    result = importer.import_file(directory / summary.file, operator_invoice=invoice, actor=None)
    seconds = time.perf_counter() - t
    assert not result.duplicate and result.rows == summary.rows, result
    assert str(result.file.total) == summary.total, (result.file.total, summary.total)
    return {"seconds": seconds, "rows": result.rows, "matched": result.matched, "unmatched": result.unmatched,
            "match_s": timings.get("match_s"), "load_s": timings.get("load_s"), "commit_s": timings.get("commit_s"),
            "rss_mb": rss_mb(), "rss_start_mb": start_rss, "size": result.file.size}


def _floor(directory: Path, summary) -> dict:
    import csv

    from django.db import connection, transaction

    from partnerdesk.rebilling.recon_format import LAYOUTS

    columns = LAYOUTS[summary.kind]
    table = f"bench_floor_{summary.kind}"
    path = directory / summary.file
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TABLE {table} ({', '.join(f'{c} text' for c in columns)})")
    start_rss = rss_mb()
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as copy, open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
        else:
            sql = f"INSERT INTO {table} VALUES ({', '.join(['?'] * len(columns))})"
            with open(path, encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(f)
                next(reader)
                batch = []
                for row in reader:
                    batch.append(row)
                    if len(batch) == 5000:
                        cursor.cursor.executemany(sql, batch)
                        batch = []
                if batch:
                    cursor.cursor.executemany(sql, batch)
    seconds = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        rows = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    return {"seconds": seconds, "rows": rows, "rss_mb": rss_mb(), "rss_start_mb": start_rss}


def in_child(mode: str, directory: Path, summary_json: str | None) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from partnerdesk.rebilling.generator import FileSummary

    # (the file's figures come on the command line: loading the whole manifest would weigh on the peak memory)
    summary = FileSummary(**json.loads(summary_json)) if summary_json and mode != "generate" else None
    if mode == "generate":
        result = _generate(directory, json.loads(summary_json))
    elif mode == "setup":
        result = _setup(directory)
    elif mode == "import":
        result = _import(directory, summary)
    else:
        result = _floor(directory, summary)
    print(json.dumps(result, default=str))


def fresh_database(kind: str, tag: str, bench: str = "recon") -> str:
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"partnerdesk-bench-{bench}-{tag}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"partnerdesk_bench_{bench}_{tag}"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", url.rsplit("/", 1)[1]],
                       check=False)


def _generate(directory: Path, sizes: dict) -> dict:
    """The files (kept and reused when the folder holds a pair of the same sizes and seed); their summaries."""
    from partnerdesk.rebilling.generator import Manifest, write_pair

    existing = directory / "manifest.json"
    t = time.perf_counter()
    manifest = Manifest.load(existing) if existing.exists() else None
    if manifest is None or (manifest.seed, len(manifest.customers), {f.kind: f.rows for f in manifest.invoices}) != (
            sizes["seed"], sizes["customers"], {"license": sizes["license_rows"], "usage": sizes["usage_rows"]}):
        manifest = write_pair(directory, customers=sizes["customers"], license_rows=sizes["license_rows"],
                              usage_rows=sizes["usage_rows"], period_start=PERIOD, seed=sizes["seed"])
    return {"seconds": time.perf_counter() - t, "files": {f.kind: dataclasses.asdict(f) for f in manifest.invoices}}


def report(kind: str, setup: dict, runs: dict) -> None:
    print(f"\n[{kind}] {setup['customers']:,} customers, {setup['subscriptions']:,} subscriptions created in "
          f"{setup['seconds']:.1f}s")
    print(f"{'step':<46}{'seconds':>9}{'rows':>11}{'rows/s':>10}{'x floor':>9}{'peak RSS MB':>13}")
    for file_kind in ("license", "usage"):
        if file_kind not in runs:
            continue
        floor, imported = runs[file_kind]
        for name, r, ratio in ((f"floor: {'COPY (csv)' if kind == 'postgres' else 'executemany'} of {file_kind}.csv",
                                floor, 1.0),
                               (f"import {file_kind}.csv (+ matching)", imported, imported["seconds"] / floor["seconds"])):
            print(f"{name:<46}{r['seconds']:>9.1f}{r['rows']:>11,}{r['rows'] / r['seconds']:>10,.0f}{ratio:>9.2f}"
                  f"{r['rss_mb']:>13.0f}")
        for part, key in (("  of which reading, checking, writing rows", "load_s"), ("  of which matching", "match_s"),
                          ("  of which commit", "commit_s")):
            if imported.get(key) is not None:
                print(f"{part:<46}{imported[key]:>9.1f}{imported['rows']:>11,}{imported['rows'] / imported[key]:>10,.0f}"
                      f"{imported[key] / floor['seconds']:>9.2f}{'':>13}")
        print(f"{'':<46}  file {imported['size'] / 1e6:,.0f} MB; matched {imported['matched']:,}, unmatched "
              f"{imported['unmatched']:,}; RSS after start-up {imported['rss_start_mb']:.0f} MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--usage-rows", type=int, default=2_000_000)
    parser.add_argument("--license-rows", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temporary folder, removed after); "
                                                    "files already there for the same sizes and seed are reused")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--summary", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        in_child(args.child, Path(args.dir), args.summary)
        return
    temporary = None
    if args.dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="recon-bench-")
        args.dir = temporary.name
    args.dir = Path(args.dir)
    print(f"reconciliation import benchmark: {args.usage_rows:,} usage rows, {args.license_rows:,} license rows, "
          f"{args.customers:,} customers")
    # Everything runs in child processes: a child's ru_maxrss starts at its parent's size, so the parent stays small.
    args.url = "sqlite:///:memory:"
    gen = child("generate", args, "--summary", json.dumps({"customers": args.customers, "seed": args.seed,
                                                            "license_rows": args.license_rows,
                                                            "usage_rows": args.usage_rows}))
    sizes = ", ".join(f"{f['file']} {f['size'] / 1e6:,.0f} MB" for f in gen["files"].values())
    print(f"files generated in {gen['seconds']:.0f}s: {sizes}")
    try:
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            args.url = fresh_database(kind, str(os.getpid()))
            try:
                setup = child("setup", args)
                runs = {}
                for file_kind in ("license", "usage"):
                    summary = json.dumps(gen["files"][file_kind])
                    floor = child("floor", args, "--summary", summary)
                    runs[file_kind] = (floor, child("import", args, "--summary", summary))
                report(kind, setup, runs)
            finally:
                drop_database(args.url)
    finally:
        if temporary is not None:
            temporary.cleanup()


if __name__ == "__main__":
    main()
