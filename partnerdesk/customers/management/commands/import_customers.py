from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import translation

from partnerdesk.customers.services import ImportFailed, import_customers_csv


class Command(BaseCommand):
    help = ("Import customers from a UTF-8 CSV file, all or nothing. Exit code 2 lists every problem: "
            "file, row, column and what is wrong.")

    def add_arguments(self, parser):
        parser.add_argument("file")

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file", returncode=2)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 ({exc.reason} at byte {exc.start})", returncode=2)
        try:
            result = import_customers_csv(text, actor=None, reason=f"CSV import from {path.name}", file=file)
        except ImportFailed as exc:
            with translation.override("en"):  # (the command line speaks English)
                for err in exc.errors:
                    self.stderr.write(f"{file}: row {err.row}, column {err.column}: {err.message}")
            raise CommandError(f"{file}: {len(exc.errors)} problem(s); nothing was imported", returncode=2)
        self.stdout.write(self.style.SUCCESS(
            f"{file}: {len(result.created)} customer(s) created, {len(result.updated)} updated."))
