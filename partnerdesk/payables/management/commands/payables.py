"""`partnerdesk payables warn` (email finance before an operator invoice's due date is missed; with --schedule, the
worker does it every N seconds, daily with 86400) and `partnerdesk payables standing` (the partner account's
standing with the operator on a day)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, no_translations


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of: {text!r} is not a date such as 2026-11-24", returncode=2) from None


def _counts(tally: dict) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in tally.items())


class Command(BaseCommand):
    help = ("Payables to 21Vianet: warn finance of operator invoices falling due (each once per due date, however "
            "often run), or show the partner account's standing.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        warn = sub.add_parser("warn", help="email each finance user about the operator invoices due within the "
                                           "warning days of the finance settings, once per invoice and due date")
        warn.add_argument("--as-of", default=None, metavar="DATE", help="the day to warn as of (default: today)")
        warn.add_argument("--schedule", type=int, default=None, metavar="SECONDS",
                          help="do not run now: have the worker run it every SECONDS seconds (86400: daily)")
        show = sub.add_parser("standing", help="current, late or delinquent, with the late invoices")
        show.add_argument("--as-of", default=None, metavar="DATE", help="the day (default: today)")

    @no_translations  # the command line speaks English
    def handle(self, *args, what, as_of=None, schedule=None, **options):
        day = _day(as_of) if as_of else None
        if what == "standing":
            return self._standing(day)
        from partnerdesk.payables.tasks import schedule_warnings, warn_due_dates

        if schedule is not None:
            if schedule < 10:
                raise CommandError("--schedule: at least 10 seconds", returncode=2)
            self.stdout.write(f"the worker warns finance of operator due dates every {schedule} seconds"
                              if schedule_warnings(schedule) else
                              "nothing enqueued: a run already waits in the queue, or the task backend cannot run "
                              "tasks later")
            return
        self.stdout.write(self.style.SUCCESS(_counts(warn_due_dates(as_of=day))))

    def _standing(self, day):
        from partnerdesk.payables.standing import Standing, account_standing

        st = account_standing(day)
        self.stdout.write(f"{st.as_of.isoformat()}: {st.status} (delinquent after {st.delinquent_after_days} days "
                          f"past due); outstanding {st.outstanding}, overdue {st.overdue}, late charges "
                          f"{st.late_charges}")
        for p in st.late:
            self.stdout.write(f"  {p.invoice.number}: due {p.due_date.isoformat()} (pay by {p.pay_by.isoformat()}), "
                              f"{p.days_overdue} days overdue, {p.outstanding} owed, late charge {p.late_charge}")
        if st.next_due is not None:
            p = st.next_due
            self.stdout.write(f"  next: {p.invoice.number}, {p.outstanding} by {p.pay_by.isoformat()} "
                              f"({p.days_left} days)")
        if st.status == Standing.DELINQUENT:
            self.stdout.write("  21Vianet restricts a delinquent account: no new customers, orders, quantity "
                              "changes or add-ons until it is brought current")
