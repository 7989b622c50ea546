"""Background work of fraud monitoring (django-tasks): the daily check, and detection after each import.

`daily_check` computes every signal as of the day (fraud.detection.run_detection, trigger "daily") and sends the
credit-limit and budget warnings (fraud.limits.send_limit_warnings); given `every_seconds` it enqueues its own next
run, as the desk's timers do (`partnerdesk fraud run --schedule 86400`). `detect_after_import` runs detection for
the customers of a reconciliation file just imported (fraud.receivers enqueues it). Both are safe to rerun: the
alerts update the incident they already opened, and each warning is sent once per level and month.
"""

import datetime as dt

from django.utils import timezone
from django_tasks import task

from partnerdesk.repeating import schedule_next

from .detection import _optional, run_detection


def daily(*, as_of: dt.date | None = None) -> dict:
    """Detection as of the day (default: today) and the limit warnings; what came of them."""
    as_of = as_of or timezone.localdate()
    run = run_detection(as_of=as_of, trigger="daily")
    warn = _optional("limits", "send_limit_warnings")
    warnings = warn(as_of=as_of) if warn is not None else None
    return {"day": as_of.isoformat(), "customers": run.customers, "hits": run.hits, "opened": run.opened,
            "updated": run.updated, "seconds": run.seconds, "limit_warnings": warnings}


@task()
def daily_check(every_seconds: int = 0) -> dict:
    """The daily check; with every_seconds, run again that much later (one run waits at a time)."""
    try:
        return daily()
    finally:
        if every_seconds > 0:
            schedule_daily(every_seconds)


def schedule_daily(every_seconds: int) -> bool:
    """Enqueue the next daily check in `every_seconds` unless one already waits (False if not enqueued)."""
    return schedule_next(daily_check, every_seconds)


@task()
def detect_after_import(file_id: int) -> dict:
    """Detection as of today for the customers whose lines the reconciliation file holds."""
    from partnerdesk.rebilling.models import ReconLine

    customer_ids = sorted(set(ReconLine.objects.filter(file_id=file_id, customer__isnull=False)
                              .values_list("customer_id", flat=True).distinct()))
    if not customer_ids:
        return {"file": file_id, "customers": 0}
    run = run_detection(as_of=timezone.localdate(), trigger="import", customer_ids=customer_ids)
    return {"file": file_id, "customers": run.customers, "hits": run.hits, "opened": run.opened,
            "updated": run.updated}
