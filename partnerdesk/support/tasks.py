"""Background work of the support desk (django-tasks): taking mail from the support mailbox, and the desk's
timers (SLA warnings and breach notices; resolved cases that close themselves).

`fetch_mail` takes what waits in the mailbox and files it, a batch per transaction (mail.filing.ingest_many); given
`every_seconds`, it enqueues its own next run that many seconds later (where the backend can defer, as the
database backend of `partnerdesk worker` can), so the worker fetches on a schedule once started
(`partnerdesk support fetch-mail --schedule 60`). At most one run waits in the queue at a time.
"""

from collections import Counter

from django_tasks import task

from partnerdesk.repeating import schedule_next

from .models import MailSource


def fetch_and_file(mailbox=None, *, limit: int = 500) -> dict:
    """Take up to `limit` messages from the mailbox (the configured one by default) and file each; the counts
    per outcome. A message is moved out of the mailbox only once filed (imap.fetch)."""
    from .mail import imap
    from .mail.filing import BATCH_SIZE, ingest, ingest_many

    mailbox = mailbox or imap.mailbox_settings_from_django()
    if mailbox is None:
        return {"configured": False}
    tally: Counter = Counter()

    def handle(raw: bytes) -> None:
        mail = ingest(raw, source=MailSource.IMAP)
        tally[mail.status if mail.is_new else "already_received"] += 1

    def handle_batch(raws: list[bytes]) -> None:
        # Counted once the batch is filed: a batch that raises is handed over again one message at a time.
        for mail in ingest_many(raws, source=MailSource.IMAP):
            tally[mail.status if mail.is_new else "already_received"] += 1

    result = imap.fetch(mailbox, handle, limit=limit, handle_batch=handle_batch, batch_size=BATCH_SIZE)
    return {"configured": True, "taken": result.taken, "failed": result.failed, "left": result.left,
            "errors": result.errors[:20], **dict(tally)}


@task()
def fetch_mail(every_seconds: int = 0, limit: int = 500) -> dict:
    """Fetch and file the support mailbox's mail; with every_seconds, run again that much later."""
    try:
        return fetch_and_file(limit=limit)
    finally:
        if every_seconds > 0:
            schedule_fetch(every_seconds, limit=limit)


def schedule_fetch(every_seconds: int, *, limit: int = 500) -> bool:
    """Enqueue the next fetch in `every_seconds` unless one already waits; False if nothing was enqueued (one
    waits, or the backend cannot defer: the immediate backend would recurse)."""
    return schedule_next(fetch_mail, every_seconds, limit=limit)


def run_timers(*, now=None) -> dict:
    """One pass of the desk's timers: SLA warnings and breaches (each sent once), and resolved cases with no
    reply for the configured working days closed (no survey)."""
    from .alerts import send_sla_alerts
    from .services import close_resolved_cases

    counts = send_sla_alerts(now=now)
    return {"sla_warnings": counts["warning"], "sla_breaches": counts["breach"],
            "closed_automatically": close_resolved_cases(now=now)}


@task()
def desk_timers(every_seconds: int = 0) -> dict:
    """Run the desk's timers; with every_seconds, run again that much later (one run waits at a time)."""
    try:
        return run_timers()
    finally:
        if every_seconds > 0:
            schedule_timers(every_seconds)


def schedule_timers(every_seconds: int) -> bool:
    """Enqueue the next timers pass in `every_seconds` unless one already waits (False if not enqueued)."""
    return schedule_next(desk_timers, every_seconds)


