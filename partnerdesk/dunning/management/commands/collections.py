import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, no_translations
from django.utils import timezone

BEIJING = ZoneInfo("Asia/Shanghai")
# sysexits' EX_TEMPFAIL: nothing was done, try again later (a scheduler retries; 2 stays for bad input).
EX_TEMPFAIL = 75


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag}: {value!r} is not a date (YYYY-MM-DD)", returncode=2)


def _test_hooks() -> dict:
    """Test mode only: PARTNERDESK_TEST_RUN_BATCH_SIZE, and PARTNERDESK_TEST_RUN_PAUSE (seconds to wait after the
    first batch), so a test can kill a run mid-way."""
    if settings.MODE != "test":
        return {}
    hooks = {}
    if os.environ.get("PARTNERDESK_TEST_RUN_BATCH_SIZE"):
        hooks["batch_size"] = int(os.environ["PARTNERDESK_TEST_RUN_BATCH_SIZE"])
    if os.environ.get("PARTNERDESK_TEST_RUN_PAUSE"):
        pause = float(os.environ["PARTNERDESK_TEST_RUN_PAUSE"])

        def on_batch(i):
            if i == 0:
                print(f"paused after the first batch (pid {os.getpid()})", flush=True)
                time.sleep(pause)

        hooks["on_batch"] = on_batch
    return hooks


class Command(BaseCommand):
    help = ("Collections: run the daily collections run, preview the coming days, or process operator requests. "
            f"`run` exits {EX_TEMPFAIL} when another run holds the lease (nothing was done: try again later), "
            "2 for bad input.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        run = sub.add_parser("run", help="perform every collections action due (each exactly once)",
                             epilog=f"Exit status: 0 done; 2 bad input; {EX_TEMPFAIL} (EX_TEMPFAIL) another run holds "
                                    "the lease, so nothing was done: try again later. The lease of a run that died "
                                    "is taken over at once on its host, and after two minutes without a heartbeat "
                                    "from another host.")
        run.add_argument("--as-of", default=None, help="the collections day (YYYY-MM-DD, default today)")
        run.add_argument("--dry-run", action="store_true", help="show what is due without doing it")
        prev = sub.add_parser("preview", help="what the runs of the next days will do, per customer")
        prev.add_argument("--as-of", default=None)
        prev.add_argument("--days", type=int, default=7)
        prev.add_argument("--customer", type=int, action="append", default=None)
        sub.add_parser("process-requests", help="carry out pending suspensions/reactivations at the operator")
        sched = sub.add_parser("scheduler", help="enqueue the run every day at --at (Beijing time); runs until stopped")
        sched.add_argument("--at", default="09:00")

    @no_translations  # the command line speaks English, refusals included
    def handle(self, *args, what, **o):
        from partnerdesk.dunning import engine, services

        if what == "run":
            as_of = _date(o["as_of"], "--as-of")
            result = engine.run_collections(as_of, dry_run=o["dry_run"], **_test_hooks())
            if result.status == "busy":
                since = (f" since {result.held_since.astimezone(BEIJING):%Y-%m-%d %H:%M:%S} Beijing time"
                         if result.held_since else "")
                raise CommandError(f"another collections run is in progress (lease held by {result.held_by or '?'}"
                                   f"{since}); nothing was done, try again later", returncode=EX_TEMPFAIL)
            if o["dry_run"]:
                for due in result.due:
                    self.stdout.write(f"{due.customer_name}\t{due.number}\t{due.balance}\tdue {due.due_date}\t-> {due.target.name}")
            counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
            self.stdout.write(self.style.SUCCESS(f"collections {result.status} for {result.as_of}: {counts}"))
        elif what == "preview":
            as_of = _date(o["as_of"], "--as-of") or timezone.localdate()
            for item in engine.preview(as_of, o["days"], customer_ids=o["customer"]):
                self.stdout.write(f"{item.date}\t{item.customer_name}\t{item.invoice_number}\t{item.stage}\t{', '.join(item.actions)}")
        elif what == "process-requests":
            self.stdout.write(str(services.process_operator_requests()))
        elif what == "scheduler":
            self._scheduler(o["at"])

    def _scheduler(self, at: str):
        from partnerdesk.dunning.tasks import run_collections_task

        hour, minute = (int(x) for x in at.split(":"))
        while True:
            now = timezone.now().astimezone(BEIJING)
            nxt = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if nxt <= now:
                nxt += dt.timedelta(days=1)
            self.stdout.write(f"next collections run {nxt.isoformat()}")
            time.sleep((nxt - now).total_seconds())
            run_collections_task.enqueue(nxt.date().isoformat())
