"""Write a pair of realistic reconciliation files (license-based and usage-based) and their manifest.

    python scripts/generate_recon_files.py --customers 20000 --license-rows 200000 --usage-rows 2000000 \
        --period 2026-10 /tmp/recon

The files follow the operator's layouts (partnerdesk/rebilling/recon_format.py) with the awkward rows real files
have (byte-order mark and CRLF in the license file, names with commas and quotes, Chinese names, credits,
prorations, zero quantities, customers and subscriptions PartnerDesk does not know). manifest.json lists the
customers and subscriptions of the world and the two operator invoices (number, billing date, period, total) the
files add up to; `partnerdesk operator import` takes those figures. Same seed, same files. Memory stays flat.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="where license.csv, usage.csv and manifest.json are written")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--license-rows", type=int, default=200_000)
    parser.add_argument("--usage-rows", type=int, default=2_000_000)
    parser.add_argument("--period", default="2026-10", help="the billing month, YYYY-MM (default 2026-10)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    try:
        period = dt.date.fromisoformat(f"{args.period}-01")
    except ValueError:
        parser.error(f"--period: {args.period!r} is not a month (YYYY-MM)")
    if min(args.customers, args.license_rows, args.usage_rows) < 1:
        parser.error("--customers, --license-rows and --usage-rows: at least 1")

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
    import django

    django.setup()
    from partnerdesk.rebilling.generator import write_pair

    started = time.perf_counter()
    manifest = write_pair(args.directory, customers=args.customers, license_rows=args.license_rows,
                          usage_rows=args.usage_rows, period_start=period, seed=args.seed)
    for f in manifest.invoices:
        print(f"{Path(args.directory) / f.file}: {f.rows:,} rows, {f.size / 1e6:,.1f} MB, operator invoice {f.number} "
              f"({f.period_start} to {f.period_end}, billed {f.billing_date}), total CNY {f.total}")
    print(f"{Path(args.directory) / 'manifest.json'}: {len(manifest.customers):,} customers "
          f"({sum(not c.known for c in manifest.customers):,} unknown to PartnerDesk); "
          f"{time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
