"""`partnerdesk fraud run [--as-of DATE] [--schedule SECONDS]` (compute every signal and record the alerts; with
--schedule the worker runs the daily check every N seconds, daily with 86400) and `partnerdesk fraud limits
[--as-of DATE]` (send the credit-limit and budget warnings due)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, no_translations


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of: {text!r} is not a date such as 2026-11-24", returncode=2) from None


class Command(BaseCommand):
    help = "Fraud and misuse monitoring: compute the signals (and open or update alerts), or send limit warnings."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        run = sub.add_parser("run", help="compute every signal as of the day and record the alerts")
        run.add_argument("--as-of", default=None, metavar="DATE", help="the day (default: today)")
        run.add_argument("--schedule", type=int, default=None, metavar="SECONDS",
                         help="do not run now: have the worker run the daily check every SECONDS seconds (86400)")
        limits = sub.add_parser("limits", help="send the 80%% and 100%% warnings of credit limits and budgets")
        limits.add_argument("--as-of", default=None, metavar="DATE", help="the day (default: today)")

    @no_translations  # the command line speaks English
    def handle(self, *args, what, as_of=None, schedule=None, **options):
        from django.utils import timezone

        day = _day(as_of) if as_of else timezone.localdate()
        if what == "limits":
            from partnerdesk.fraud.detection import _optional

            warn = _optional("limits", "send_limit_warnings")
            if warn is None:
                raise CommandError("fraud.limits is not installed", returncode=1)
            self.stdout.write(self.style.SUCCESS(f"{day.isoformat()}: {warn(as_of=day)} limit warnings sent"))
            return
        if schedule is not None:
            from partnerdesk.fraud.tasks import schedule_daily

            if schedule < 10:
                raise CommandError("--schedule: at least 10 seconds", returncode=2)
            self.stdout.write(f"the worker runs the fraud check every {schedule} seconds" if schedule_daily(schedule)
                              else "nothing enqueued: a run already waits in the queue, or the task backend cannot "
                                   "run tasks later")
            return
        from partnerdesk.fraud.detection import run_detection

        run = run_detection(as_of=day, trigger="manual")
        self.stdout.write(self.style.SUCCESS(
            f"{day.isoformat()}: {run.customers} customers, {run.hits} hits, {run.opened} alerts opened, "
            f"{run.updated} updated in {run.seconds:.1f}s"))
