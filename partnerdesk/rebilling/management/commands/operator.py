"""`partnerdesk operator import FILE...`: import the operator's reconciliation files, each for its operator invoice.

    partnerdesk operator import license.csv usage.csv --invoice G2610000101 --invoice G2610000102 \\
        --billing-date 2026-11-05 --period-start 2026-10-01 --period-end 2026-10-31 \\
        --total 183920.55 --total 42018.07

Each of --invoice, --total, --kind, --billing-date, --period-start, --period-end and --due-date is given once (it
applies to every file) or once per file, in the order of the files. Each file is imported whole or not at all, in
its own transaction; a file imported before changes nothing (exit 0). Exit code 2 names file, row and column.
"""

import datetime as dt
import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

PER_FILE = ["invoice", "total", "kind", "billing_date", "period_start", "period_end", "due_date"]
OPTION_FOR_FIELD = {"number": "invoice", "amount": "total"}  # the services' field names -> this command's options


class ProgressBar:
    """A one-line progress bar on the command's stderr (a terminal), redrawn at most ten times a second."""

    def __init__(self, stream, name: str, size: int | None):
        self.stream, self.name, self.size, self.last = stream, name, size, 0.0

    def __call__(self, rows: int, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and done < (self.size or 0) and now - self.last < 0.1:
            return
        self.last = now
        if self.size:
            share = min(done / self.size, 1.0)
            bar = "#" * int(share * 30)
            line = f"\r{self.name} [{bar:<30}] {share:4.0%} {rows:,} rows"
        else:
            line = f"\r{self.name} {rows:,} rows, {done / 1e6:,.1f} MB"
        self.stream.write(line, ending="")
        self.stream.flush()

    def close(self) -> None:
        if self.last:  # (drawn at least once: end its line)
            self.stream.write("")
            self.stream.flush()


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{option}: {value!r} is not a date (YYYY-MM-DD)", returncode=2) from None


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


class Command(BaseCommand):
    help = ("The operator's (21Vianet's) reconciliation files. `import FILE...`: import license-based and "
            "usage-based files, each tied to the operator invoice it belongs to. Each of --invoice, --total, --kind, "
            "--billing-date, --period-start, --period-end, --due-date is given once (for every file) or once per "
            "file, in the order of the files. An invoice already recorded needs only --invoice. A file is imported "
            "whole or not at all; the same file again changes nothing. Exit code 2 names the file, row and column.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        command = sub.add_parser("import", help="import reconciliation files (CSV, UTF-8)",
                                 description=self.help)
        command.add_argument("files", nargs="+", metavar="FILE")
        command.add_argument("--invoice", action="append", required=True, metavar="NUMBER",
                             help="the operator invoice's number (once, or once per file)")
        command.add_argument("--billing-date", action="append", metavar="YYYY-MM-DD")
        command.add_argument("--period-start", action="append", metavar="YYYY-MM-DD")
        command.add_argument("--period-end", action="append", metavar="YYYY-MM-DD",
                             help="default: the last day of the period's first month")
        command.add_argument("--total", action="append", metavar="AMOUNT",
                             help="the operator invoice's total in CNY, e.g. 183920.55; the file must add up to it")
        command.add_argument("--due-date", action="append", metavar="YYYY-MM-DD", help="default: billing date + 30 days")
        command.add_argument("--kind", action="append", choices=["license", "usage"],
                             help="default: told by the file's header")
        command.add_argument("--replace", action="store_true",
                             help="replace the invoice's imported file with this corrected one (needs --reason)")
        command.add_argument("--reason", default="", help="why the file is replaced (kept in the audit log)")
        command.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, what, files, replace=False, reason="", no_progress=False, **options):
        if replace and not reason.strip():
            raise CommandError("--replace needs --reason", returncode=2)
        per_file = {name: self._spread(options.get(name), len(files), name) for name in PER_FILE}
        failures = []
        for i, file in enumerate(files):
            try:
                self._import_one(file, {name: values[i] for name, values in per_file.items()}, replace=replace,
                                 reason=reason, show_progress=not no_progress and self.stderr.isatty())
            except CommandError as exc:
                failures.append(str(exc))
                if len(files) > 1:  # (a single file's problem is the command's error, written once)
                    self.stderr.write(str(exc))
        if failures:
            raise CommandError(failures[0] if len(files) == 1 else
                               f"{len(failures)} of {len(files)} files not imported (see above)", returncode=2)

    @staticmethod
    def _spread(values: list | None, count: int, name: str) -> list:
        if not values:
            return [None] * count
        if len(values) == 1:
            return values * count
        if len(values) != count:
            raise CommandError(f"--{name.replace('_', '-')}: give it once, or once per file ({count} files)",
                               returncode=2)
        return values

    def _invoice(self, given: dict):
        from partnerdesk.payables.models import OperatorInvoice
        from partnerdesk.payables.services import OperatorInvoiceInput

        figures = ["billing_date", "period_start", "total"]
        if not any(given[name] for name in [*figures, "period_end", "due_date"]):
            existing = OperatorInvoice.objects.filter(number=given["invoice"].strip()).first()
            if existing is not None:
                return existing
        missing = [f"--{name.replace('_', '-')}" for name in figures if not given[name]]
        if missing:
            raise CommandError(f"operator invoice {given['invoice']} is not recorded yet: give {', '.join(missing)}",
                               returncode=2)
        period_start = _date(given["period_start"], "period-start")
        return OperatorInvoiceInput(
            number=given["invoice"], billing_date=_date(given["billing_date"], "billing-date"),
            period_start=period_start,
            period_end=_date(given["period_end"], "period-end") if given["period_end"] else _month_end(period_start),
            amount=given["total"], due_date=_date(given["due_date"], "due-date") if given["due_date"] else None)

    def _import_one(self, file: str, given: dict, *, replace: bool, reason: str, show_progress: bool) -> None:
        from partnerdesk.errors import DomainError
        from partnerdesk.rebilling.importer import ImportProblem, import_file

        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file", returncode=2)
        bar = ProgressBar(self.stderr, path.name, os.path.getsize(path)) if show_progress else None
        try:
            result = import_file(path, operator_invoice=self._invoice(given), actor=None, filename=path.name,
                                 kind=given["kind"], replace=replace, reason=reason, progress=bar)
        except ImportProblem as exc:
            raise CommandError(str(exc), returncode=2) from None
        except DomainError as exc:
            option = OPTION_FOR_FIELD.get(exc.field or "", exc.field or "").replace("_", "-")
            field = f"--{option}: " if option and option != "file" else ""
            raise CommandError(f"{file}: {field}{exc}", returncode=2) from None
        finally:
            if bar is not None:
                bar.close()
        recon = result.file
        if result.duplicate:
            self.stdout.write(f"{file}: already imported as file #{recon.pk} (operator invoice "
                              f"{recon.operator_invoice.number}); nothing changed.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"{file}: {result.rows:,} rows imported as file #{recon.pk} ({recon.kind}) for operator invoice "
            f"{recon.operator_invoice.number}: total CNY {recon.total}, {result.matched:,} matched, "
            f"{result.unmatched:,} unmatched."))
