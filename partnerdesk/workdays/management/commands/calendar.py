from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

from partnerdesk.errors import DomainError
from partnerdesk.workdays import services
from partnerdesk.workdays.models import YearSource


class Command(BaseCommand):
    help = ("China's working-day calendar. `calendar show YEAR`; `calendar load YEAR --from-package [--confirm]`; "
            "`calendar load YEAR --file F.csv [--confirm]` (columns date,kind,name). A bad file exits with code 2.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        show = sub.add_parser("show", help="A year's status and listed days")
        show.add_argument("year", type=int)
        load = sub.add_parser("load", help="Replace a year's calendar, all or nothing")
        load.add_argument("year", type=int)
        source = load.add_mutually_exclusive_group(required=True)
        source.add_argument("--from-package", action="store_true", help="from the holidays package")
        source.add_argument("--file", help="a UTF-8 CSV file with columns date,kind,name")
        load.add_argument("--confirm", action="store_true", help="mark the year as the published schedule")
        load.add_argument("--note", default="", help="why (kept with the year and in the audit log)")

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, subcommand, year, **options):
        try:
            if subcommand == "load":
                self._load(year, **options)
            self._show(year)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2)

    def _load(self, year, *, from_package, file, confirm, note, **options):
        if from_package:
            services.load_year_from_package(year, actor=None, confirm=confirm)
            return
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"{file}: no such file", returncode=2)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file}: not UTF-8 ({exc.reason} at byte {exc.start})", returncode=2)
        try:
            days = services.parse_calendar_csv(text, year)
            services.set_year(year, days, actor=None, confirmed=confirm, source=YearSource.FILE,
                              note=note or f"loaded from {path.name}")
        except DomainError as exc:
            raise CommandError(f"{file}: {exc.message} Nothing was changed.", returncode=2)

    def _show(self, year):
        status = services.year_status(year)
        label = status["status"] if status["is_confirmed"] else status["status"].upper()
        self.stdout.write(f"{year}: {label} (source {status['source']}), {status['holidays']} holiday(s), "
                          f"{status['workdays']} make-up working day(s)")
        if status["note"]:
            self.stdout.write(f"  {status['note']}")
        for day, kind, name in services.calendar_days(year):
            self.stdout.write(f"  {day} {day:%a}  {kind:<8} {name}")
