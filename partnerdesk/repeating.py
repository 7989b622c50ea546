"""Self-repeating background tasks: each run enqueues the next (mail fetching, desk timers, payables' warnings,
the operator poller, fraud's daily check), at most one waiting at a time."""

import datetime as dt

from django.utils import timezone


def schedule_next(task_, every_seconds: int, **kwargs) -> bool:
    """Enqueue a self-repeating task's next run `every_seconds` from now, unless one already waits or the backend
    cannot run tasks later (the immediate backend would recurse). False if nothing was enqueued."""
    if not task_.get_backend().supports_defer or waiting(task_) > 0:
        return False
    task_.using(run_after=timezone.now() + dt.timedelta(seconds=every_seconds)).enqueue(
        every_seconds=every_seconds, **kwargs)
    return True


def waiting(task_) -> int:
    """How many runs of the task wait in the queue (0 where the backend keeps no queue)."""
    try:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return 0
    return DBTaskResult.objects.filter(task_path=task_.module_path, status=TaskResultStatus.READY).count()
