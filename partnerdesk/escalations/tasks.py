"""Background work of escalations (django-tasks): keeping API service requests in step with the operator,
reminding agents when the operator is late, and the cases of operator requests that keep failing (stuck.py).

`poll_service_requests` takes each API request due for a read with a conditional UPDATE (services.claim), so
two pollers at once each take different requests and a note is recorded once (OperatorNote's key is unique as
well). `remind_overdue` sends each reminder once: the reminded_at column is claimed the same way. Given
`every_seconds`, each task enqueues its own next run, as the desk's timers do (`partnerdesk escalations poll
--schedule 300`).
"""

import datetime as dt
import uuid
from collections import Counter

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from partnerdesk.audit.services import record
from partnerdesk.dunning.background import operator_request_done, operator_request_given_up
from partnerdesk.repeating import schedule_next
from partnerdesk.support import services as support

from . import services
from .background import service_request_due
from .models import RequestChannel, ServiceRequest, ServiceRequestStatus

POLL_BATCH = 200


def poll_service_requests(*, now: dt.datetime | None = None, gateway=None, limit: int = POLL_BATCH) -> dict:
    """One pass over the API requests due: send those not at the operator yet, send our waiting notes, record the
    operator's new notes (once each) and status changes. Counts per outcome."""
    now = now or timezone.now()
    worker = f"poll-{uuid.uuid4().hex[:12]}"
    due = (ServiceRequest.objects.filter(channel=RequestChannel.API, next_poll_at__lte=now)
           .exclude(status=ServiceRequestStatus.CLOSED).order_by("next_poll_at", "pk")
           .values_list("pk", flat=True)[:limit])
    tally: Counter = Counter()
    for pk in list(due):
        if not services.claim(pk, worker, now=now):
            tally["busy"] += 1  # another poller took it first
            continue
        tally[services.work_on(pk, worker, gateway=gateway)] += 1
    return dict(tally)


def remind_overdue(*, now: dt.datetime | None = None) -> dict:
    """Remind the case's agent (assignee, else team lead) once when the operator has not answered within its
    first-response target, and once when a request is still not closed past its resolution target."""
    now = now or timezone.now()
    counts = {"first_response": 0, "resolution": 0}
    open_ = (ServiceRequestStatus.OPEN, ServiceRequestStatus.ATTENTION_NEEDED)
    late = {
        "first_response": ServiceRequest.objects.filter(status__in=open_, first_response_at__isnull=True,
                                                        first_response_due_at__lte=now,
                                                        first_response_reminded_at__isnull=True),
        "resolution": ServiceRequest.objects.filter(status__in=open_, resolution_due_at__lte=now,
                                                    resolution_reminded_at__isnull=True),
    }
    for target, rows in late.items():
        for sr in rows.select_related("case", "case__customer", "case__assignee", "case__team__lead", "customer"):
            if _remind_once(sr, target, now):
                counts[target] += 1
    return counts


def _remind_once(sr: ServiceRequest, target: str, now: dt.datetime) -> bool:
    field = f"{target}_reminded_at"
    with transaction.atomic():
        # The conditional UPDATE is the claim: a second worker (or a rerun) finds it done and sends nothing.
        if not ServiceRequest.objects.filter(pk=sr.pk, **{f"{field}__isnull": True}).update(**{field: now}):
            return False
        deadline = sr.first_response_due_at if target == "first_response" else sr.resolution_due_at
        what = "answered" if target == "first_response" else "closed"
        support.add_event(sr.case, f"21Vianet has not {what} {sr} by its target "
                                   f"({timezone.localtime(deadline):%Y-%m-%d %H:%M}): follow it up.", now=now)
        told = services._tell_agent(sr, "escalations.reminder", dedupe=f"escalation-{target}-{sr.pk}", target=target,
                                    deadline=deadline)
        record(actor=None, action=f"service_request.reminded_{target}", obj=sr, customer=sr.customer,
               after={field: now.isoformat(), "agent_told": told})
    return True


# --- the worker ------------------------------------------------------------------------------------------


@task()
def work_on_task(sr_id: int, claim: str | None = None) -> str:
    """Send one request (or our note) to the operator now, in the worker rather than in the agent's request."""
    return services.work_on(sr_id, claim)


@receiver(service_request_due, dispatch_uid="escalations.work_on")
def _enqueue_work_on(sender, sr_id, claim=None, **kwargs):
    work_on_task.enqueue(sr_id, claim)


@task()
def poll_task(every_seconds: int = 0) -> dict:
    """Poll the API requests due; with every_seconds, run again that much later (one run waits at a time)."""
    try:
        return poll_service_requests()
    finally:
        if every_seconds > 0:
            schedule_poll(every_seconds)


def schedule_poll(every_seconds: int) -> bool:
    """Enqueue the next poll in `every_seconds` unless one already waits (False if nothing was enqueued)."""
    return schedule_next(poll_task, every_seconds)


@task()
def remind_task(every_seconds: int = 0) -> dict:
    """Send the reminders due; with every_seconds, run again that much later (one run waits at a time)."""
    try:
        return remind_overdue()
    finally:
        if every_seconds > 0:
            schedule_reminders(every_seconds)


def schedule_reminders(every_seconds: int) -> bool:
    """Enqueue the next reminders pass in `every_seconds` unless one already waits (False if not enqueued)."""
    return schedule_next(remind_task, every_seconds)


# --- operator requests that keep failing (stuck.py) -------------------------------------------------------


@task()
def stuck_requests_task(every_seconds: int = 0) -> dict:
    """Open the cases of stuck operator requests and follow the open ones; with every_seconds, run again later."""
    from .stuck import stuck_requests_pass

    try:
        return stuck_requests_pass()
    finally:
        if every_seconds > 0:
            schedule_stuck_requests(every_seconds)


def schedule_stuck_requests(every_seconds: int) -> bool:
    """Enqueue the next stuck-requests pass in `every_seconds` unless one already waits."""
    return schedule_next(stuck_requests_task, every_seconds)


@receiver(operator_request_given_up, dispatch_uid="escalations.stuck_given_up")
def _on_given_up(sender, request, **kwargs):
    from .stuck import open_cases_for_stuck_requests

    open_cases_for_stuck_requests(request_ids=[request.pk])


@receiver(operator_request_done, dispatch_uid="escalations.stuck_done")
def _on_done(sender, request, **kwargs):
    from .stuck import follow_stuck_requests

    follow_stuck_requests(request_ids=[request.pk])
