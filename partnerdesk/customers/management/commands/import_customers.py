from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from partnerdesk.customers.services import ImportFailed, import_customers_csv


class Command(BaseCommand):
    help = "Import customers from a UTF-8 CSV file, all or nothing. Exit code 2 names the bad rows and columns."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file", returncode=2)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 ({exc.reason} at byte {exc.start})", returncode=2)
        try:
            result = import_customers_csv(text, actor=None, reason=f"CSV import from {path.name}")
        except ImportFailed as exc:
            for err in exc.errors:
                self.stderr.write(f"{file}: row {err.row}, column {err.column}: {err.message}")
            raise CommandError(f"{file}: {len(exc.errors)} bad row(s); nothing was imported", returncode=2)
        self.stdout.write(self.style.SUCCESS(
            f"{file}: {len(result.created)} customer(s) created, {len(result.updated)} updated."))
