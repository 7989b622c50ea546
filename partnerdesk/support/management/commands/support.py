"""`partnerdesk support fetch-mail` (the IMAP mailbox) and `partnerdesk support ingest PATH...` (.eml files, a
folder of them, an mbox or a Maildir): email in from the command line, filed as any other mail is."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError, no_translations

# sysexits' EX_TEMPFAIL: the mailbox could not be reached; nothing was lost, try again later.
EX_TEMPFAIL = 75


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _counts(tally: dict) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in sorted(tally.items())) or "nothing"


class Command(BaseCommand):
    help = ("Email in: fetch the support mailbox over IMAP, or ingest messages from files. Each message is kept "
            "raw and filed (a case, a reply, a bounce, or the queue of mail waiting for an agent), once.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        fetch = sub.add_parser("fetch-mail", help="take the mail waiting in the support mailbox (settings "
                                                  "SUPPORT_MAILBOX) and file it",
                               epilog=f"Exit status: 0 done; 2 no mailbox configured; {EX_TEMPFAIL} the mailbox "
                                      "could not be reached (nothing was lost: try again later).")
        fetch.add_argument("--limit", type=int, default=500, help="at most this many messages in this run")
        fetch.add_argument("--schedule", type=int, default=None, metavar="SECONDS",
                           help="do not fetch now: have the worker fetch every SECONDS seconds from now on")
        files = sub.add_parser("ingest", help="file messages from .eml files, folders of them, mboxes or Maildirs",
                               epilog="Exit status: 0 done; 2 a path is missing or holds no mail (nothing was "
                                      "ingested).")
        files.add_argument("paths", nargs="+", metavar="PATH")
        timers = sub.add_parser("timers", help="send due SLA warnings and breach notices, and close resolved cases "
                                               "the customer did not answer (each effect once, however often run)")
        timers.add_argument("--schedule", type=int, default=None, metavar="SECONDS",
                            help="do not run now: have the worker run the timers every SECONDS seconds")

    @no_translations  # the command line speaks English
    def handle(self, *args, what, **options):
        self.verbosity = options.get("verbosity", 1)
        if what == "fetch-mail":
            self._fetch(options["limit"], options["schedule"])
        elif what == "timers":
            self._timers(options["schedule"])
        else:
            self._ingest(options["paths"])

    def _fetch(self, limit: int, schedule: int | None) -> None:
        from partnerdesk.support.mail.imap import MailboxError, mailbox_settings_from_django
        from partnerdesk.support.tasks import fetch_and_file, schedule_fetch

        if limit < 1:
            raise CommandError("--limit: at least 1", returncode=2)
        mailbox = mailbox_settings_from_django()
        if mailbox is None:
            raise CommandError("no support mailbox is configured (PARTNERDESK_IMAP_HOST is empty)", returncode=2)
        if schedule is not None:
            if schedule < 10:
                raise CommandError("--schedule: at least 10 seconds", returncode=2)
            if schedule_fetch(schedule, limit=limit):
                self.stdout.write(f"the worker fetches {mailbox.username}@{mailbox.host} every {schedule} seconds")
            else:
                self.stdout.write("nothing enqueued: a fetch already waits in the queue, or the task backend cannot "
                                  "run tasks later")
            return
        try:
            result = fetch_and_file(mailbox, limit=limit)
        except MailboxError as exc:
            raise CommandError(str(exc), returncode=EX_TEMPFAIL)
        for error in result.pop("errors"):
            self.stderr.write(error)
        result.pop("configured")
        taken, failed, left = result.pop("taken"), result.pop("failed"), result.pop("left")
        self.stdout.write(self.style.SUCCESS(
            f"fetched {taken} messages from {mailbox.username}@{mailbox.host} ({_counts(result)}); "
            f"{failed} failed, {left} left for the next run"))

    def _timers(self, schedule: int | None) -> None:
        from partnerdesk.support.tasks import run_timers, schedule_timers

        if schedule is not None:
            if schedule < 10:
                raise CommandError("--schedule: at least 10 seconds", returncode=2)
            enqueued = schedule_timers(schedule)
            self.stdout.write(f"the worker runs the desk's timers every {schedule} seconds" if enqueued else
                              "nothing enqueued: a run already waits in the queue, or the task backend cannot "
                              "run tasks later")
            return
        self.stdout.write(self.style.SUCCESS(_counts(run_timers())))

    def _ingest(self, paths: list[str]) -> None:
        from partnerdesk.support.mail.filing import BATCH_SIZE, ingest_many
        from partnerdesk.support.mail.sources import iter_raw_messages
        from partnerdesk.support.models import MailSource

        sources = []
        for path in paths:  # every path checked before anything is filed
            try:
                sources.append(iter_raw_messages(path))
            except (ValueError, OSError) as exc:
                raise CommandError(f"{path}: {exc}" if path not in str(exc) else str(exc), returncode=2)
        tally: Counter = Counter()
        total = 0
        for messages in sources:
            for batch in _batches(messages, BATCH_SIZE):  # a transaction per batch; messages read as filed
                for (label, _raw), mail in zip(batch, ingest_many([raw for _label, raw in batch],
                                                                  source=MailSource.FILE), strict=True):
                    total += 1
                    outcome = mail.status if mail.is_new else "already_received"
                    tally[outcome] += 1
                    if self.verbosity > 1:
                        self.stdout.write(f"{label}\t{outcome}\t{mail.pk}")
        self.stdout.write(self.style.SUCCESS(f"ingested {total} messages ({_counts(tally)})"))
