"""Background work: the daily collections run, operator requests, (emails are sent by partnerdesk.notifications.tasks)."""

from django.dispatch import receiver
from django_tasks import task

from .background import operator_requests_due


@task()
def run_collections_task(as_of: str | None = None):
    import datetime as dt

    from .engine import run_collections

    result = run_collections(dt.date.fromisoformat(as_of) if as_of else None)
    if result.status == "busy":  # a failed task, not a quiet success: nothing was done
        raise RuntimeError(f"another collections run is in progress ({result.held_by}, since {result.held_since}); nothing was done")
    return {"status": result.status, "counts": result.counts}


@task()
def process_operator_requests_task():
    from .services import process_operator_requests

    return process_operator_requests()


@receiver(operator_requests_due)
def enqueue_operator_requests(sender, run_after=None, **kwargs):
    """Have the worker carry out the due operator requests (at `run_after` only where the backend can defer)."""
    if run_after is None:
        process_operator_requests_task.enqueue()
    elif process_operator_requests_task.get_backend().supports_defer:
        process_operator_requests_task.using(run_after=run_after).enqueue()
