"""Benchmark of fraud detection: `python bench/fraud/run.py [--db sqlite|postgres|both] [--customers 20000]
[--days 72] [--meters 2] [--planted 20]`.

For each database, in a fresh database: a CHILD process writes the population (fraud.population: normal customers
with weekly seasonality, growth, month-end effects and noise, `--planted` customers of each fraud kind, about
2,000,000 usage lines at the defaults); then, each in its own child process (so each one's peak memory, ru_maxrss,
is its own):

- the floor: one SQL aggregate over the same rows, grouped by customer and day (usage lines matched to a customer,
  over the days detection reads), fetched to Python;
- detection: fraud.detection.compute_hits as of the last day, every signal (over_limit too where fraud.limits
  exists), without the alerts' side effects; precision and recall against the planted customers;
- run_detection: the same plus recording the alerts (fraud.alerts.record_hits: alerts, support cases, automatic
  actions) and the DetectionRun, where fraud.alerts exists.

Goal: detection under 20 s for 20,000 customers and 2,000,000 usage rows.
"""

import argparse
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2026, 11, 23)


def _import_benchmark():
    """The import benchmark beside this one (bench/recon_import/run.py): its database and memory helpers. Loaded by
    path, since this script is also called run.py."""
    spec = importlib.util.spec_from_file_location("recon_import_run", ROOT / "bench" / "recon_import" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _import_benchmark()
rss_mb, drop_database = _shared.rss_mb, _shared.drop_database


def fresh_database(kind: str, tag: str) -> str:
    return _shared.fresh_database(kind, tag, bench="fraud")


def child(mode: str, args, extra: dict | None = None) -> dict:
    """Run this script as `--child mode` against args.url; the JSON its last line prints."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="partnerdesk.settings", PARTNERDESK_MODE="demo", DATABASE_URL=args.url)
    cmd = [sys.executable, __file__, "--child", mode, "--options", json.dumps({**vars(args), **(extra or {})},
                                                                              default=str)]
    out = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"child {mode} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _setup(options: dict) -> dict:
    from django.core.management import call_command

    from partnerdesk.fraud import population

    call_command("migrate", verbosity=0)
    pop = population.generate(customers=options["customers"], as_of=AS_OF, days=options["days"],
                              meters=options["meters"], planted_per_kind=options["planted"], seed=options["seed"],
                              name_prefix="Bench")
    Path(options["planted_file"]).write_text(json.dumps(pop.planted))
    return {"customers": len(pop.customers), "rows": pop.usage_rows, "planted": len(pop.planted),
            "seconds": pop.seconds}


def _window_start() -> dt.date:
    from partnerdesk.fraud.detection import load_window

    return load_window(AS_OF)[0]


def _floor(options: dict) -> dict:
    from django.db import connection

    from partnerdesk.rebilling.models import ReconLine

    start = _window_start()
    table = ReconLine._meta.db_table
    rss_start = rss_mb()
    t = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, usage_date, SUM(charges) FROM {table} WHERE kind = %s AND customer_id "
                       f"IS NOT NULL AND usage_date >= %s AND usage_date <= %s GROUP BY customer_id, usage_date",
                       ["usage", start, AS_OF])
        groups = len(cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE kind = %s AND customer_id IS NOT NULL "
                       f"AND usage_date >= %s AND usage_date <= %s", ["usage", start, AS_OF])
        seconds = time.perf_counter() - t
        rows = cursor.fetchone()[0]
    return {"seconds": seconds, "rows": rows, "groups": groups, "rss_mb": rss_mb(), "rss_start_mb": rss_start}


def _detect(options: dict, record: bool) -> dict:
    from partnerdesk.fraud import detection

    planted = {int(k): v for k, v in json.loads(Path(options["planted_file"]).read_text()).items()}
    rss_start = rss_mb()
    t = time.perf_counter()
    if record:
        run = detection.run_detection(as_of=AS_OF, trigger="bench")
        return {"seconds": time.perf_counter() - t, "rss_mb": rss_mb(), "rss_start_mb": rss_start, "hits": run.hits,
                "customers": run.customers, "opened": run.opened, "updated": run.updated,
                "alerts": detection._optional("alerts", "record_hits") is not None}
    hits = detection.compute_hits(AS_OF)
    seconds = time.perf_counter() - t
    alerted = {h.customer_id for h in hits}
    caught = {c for c, kind in planted.items() if any(h.customer_id == c and h.signal == kind for h in hits)}
    by_signal: dict[str, int] = {}
    for h in hits:
        by_signal[h.signal] = by_signal.get(h.signal, 0) + 1
    return {"seconds": seconds, "rss_mb": rss_mb(), "rss_start_mb": rss_start, "hits": len(hits),
            "alerted": len(alerted), "planted": len(planted), "caught": len(caught),
            "true_alerts": len(alerted & set(planted)), "by_signal": by_signal}


def in_child(mode: str, options: dict) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    result = {"setup": _setup, "floor": _floor, "detect": lambda o: _detect(o, False),
              "run": lambda o: _detect(o, True)}[mode](options)
    print(json.dumps(result, default=str))


def report(kind: str, setup: dict, floor: dict, detect: dict, run: dict | None) -> None:
    print(f"\n[{kind}] {setup['customers']:,} customers ({setup['planted']} planted), {setup['rows']:,} usage lines "
          f"written in {setup['seconds']:.0f}s")
    print(f"{'step':<52}{'seconds':>9}{'rows':>11}{'x floor':>9}{'peak RSS MB':>13}")
    print(f"{'floor: GROUP BY customer, day (' + format(floor['groups'], ',') + ' groups)':<52}"
          f"{floor['seconds']:>9.1f}{floor['rows']:>11,}{1.0:>9.2f}{floor['rss_mb']:>13.0f}")
    print(f"{'all signals (compute_hits, no alerts written)':<52}{detect['seconds']:>9.1f}{floor['rows']:>11,}"
          f"{detect['seconds'] / floor['seconds']:>9.2f}{detect['rss_mb']:>13.0f}")
    if run is not None:
        label = "run_detection (+ alerts, cases)" if run["alerts"] else "run_detection (fraud.alerts missing)"
        print(f"{label:<52}{run['seconds']:>9.1f}{floor['rows']:>11,}{run['seconds'] / floor['seconds']:>9.2f}"
              f"{run['rss_mb']:>13.0f}")
    precision = detect["true_alerts"] / detect["alerted"] if detect["alerted"] else 1.0
    recall = detect["caught"] / detect["planted"] if detect["planted"] else 1.0
    print(f"{'':<4}hits {detect['hits']} on {detect['alerted']} customers {detect['by_signal']}; planted "
          f"{detect['planted']}, caught {detect['caught']}: recall {recall:.3f}, precision {precision:.3f}; "
          f"RSS after start-up {detect['rss_start_mb']:.0f} MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=72)
    parser.add_argument("--meters", type=int, default=2)
    parser.add_argument("--planted", type=int, default=20, help="planted customers of each fraud kind")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-alerts", action="store_true", help="skip run_detection (+ alerts)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--options", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        in_child(args.child, json.loads(args.options))
        return
    print(f"fraud detection benchmark: {args.customers:,} customers, {args.days} days, up to {args.meters} meters "
          f"each, as of {AS_OF}")
    with tempfile.TemporaryDirectory(prefix="fraud-bench-") as folder:
        for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            args.url = fresh_database(kind, str(os.getpid()))
            try:
                extra = {"planted_file": str(Path(folder) / f"planted-{kind}.json")}
                setup = child("setup", args, extra)
                floor = child("floor", args, extra)
                detect = child("detect", args, extra)
                run = None if args.no_alerts else child("run", args, extra)
                report(kind, setup, floor, detect, run)
            finally:
                drop_database(args.url)


if __name__ == "__main__":
    main()
