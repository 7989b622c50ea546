"""Reading the collections' records for pages and the API: operator requests by filter, what a run did."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput

from .models import (
    MANUAL_CAUSE,
    ActionKind,
    CollectionsAction,
    CollectionsRun,
    OperatorRequest,
    RequestStatus,
)

FAILING = "failing"  # a status filter: pending after at least one failed attempt
REQUEST_STATUSES = [FAILING, *RequestStatus.values]
REQUEST_ACTIONS = [OperatorRequest.SUSPEND, OperatorRequest.REACTIVATE]
MANUAL, COLLECTIONS = "manual", "collections"
REQUEST_CAUSES = [MANUAL, COLLECTIONS]


def _choice(value, choices, field):
    if value not in choices:
        raise InvalidInput(_("%(name)s must be one of %(choices)s"), field=field, name=field, choices=", ".join(choices))
    return value


def filter_requests(requests, *, status=None, action=None, customer=None, cause=None):
    """Operator requests by status (or "failing"), action, customer, and cause: "manual" (asked for by hand) or
    "collections" (the runs and the payments that reactivate)."""
    if status:
        status = _choice(status, REQUEST_STATUSES, "status")
        requests = (requests.filter(status=RequestStatus.PENDING, attempts__gt=0) if status == FAILING
                    else requests.filter(status=status))
    if action:
        requests = requests.filter(action=_choice(action, REQUEST_ACTIONS, "action"))
    if customer is not None:
        requests = requests.filter(customer=customer)
    if cause:
        manual = Q(cause__startswith=MANUAL_CAUSE)
        requests = requests.filter(manual if _choice(cause, REQUEST_CAUSES, "cause") == MANUAL else ~manual)
    return requests


# What a run itself records (the rest of the log comes from the operator's answers and from payments).
RUN_KINDS = [ActionKind.REMINDER, ActionKind.NOTICE, ActionKind.CALL, ActionKind.SUSPEND, ActionKind.DELETION_WARNING,
             ActionKind.CANCEL]


def run_actions(run: CollectionsRun):
    """The log entries a run wrote: of its day, of the kinds a run records, written while it ran (until it
    finished, or until the next run started if it never did)."""
    actions = CollectionsAction.objects.filter(as_of=run.as_of, kind__in=RUN_KINDS, created_at__gte=run.started_at)
    end = run.finished_at or (CollectionsRun.objects.filter(started_at__gt=run.started_at, dry_run=False)
                              .order_by("started_at").values_list("started_at", flat=True).first())
    return actions.filter(created_at__lte=end) if end else actions
