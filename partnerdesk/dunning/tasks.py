"""Background work: the daily collections run, operator requests, (emails are sent by partnerdesk.notifications.tasks)."""

from django_tasks import task


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
