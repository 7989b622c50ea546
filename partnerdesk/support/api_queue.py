"""The support API's queues: which cases a queue holds, in deadline order, each row with the time left on its
earliest running SLA clock; and the same rows as CSV (no conversation in it, so no internal text)."""

import csv
import datetime as dt
import io

from django.db.models import F, Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.permissions import has_perm, scope
from partnerdesk.errors import InvalidInput

from . import sla
from .models import Case, CaseStatus, CaseType, Severity, SlaClock
from .queues import queue_q
from .services import desk_settings

QUEUES = ("mine", "unassigned", "breaching_soon", "breached", "waiting_operator", "waiting_customer", "active", "all")
CSV_LIMIT = 100_000  # rows in one export: a bigger one is a report, not a queue
# A text cell a spreadsheet would run as a formula (a subject such as "=HYPERLINK(...)"): quoted as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _check(value, choices, field: str) -> None:
    if value is not None and value not in choices:
        raise InvalidInput(_("%(value)s is not one of the choices"), field=field, value=repr(value))


def queue_cases(user, *, queue: str = "all", status=None, type=None, severity=None, customer_id=None,
                assignee_id=None, team_id=None, tag=None, now: dt.datetime | None = None):
    """The cases of a queue that the user may see, filtered, the nearest deadline first."""
    _check(queue, QUEUES, "queue")
    _check(status, CaseStatus.values, "status")
    _check(type, CaseType.values, "type")
    _check(severity, Severity.values, "severity")
    now = now or timezone.now()
    cases = scope(Case.objects.all(), user).filter(
        queue_q(queue, user, now, desk_settings().breach_warning_minutes))
    filters = {"status": status, "type": type, "severity": severity, "customer_id": customer_id,
               "assignee_id": assignee_id, "team_id": team_id, "tags__name": tag}
    cases = cases.filter(**{name: value for name, value in filters.items() if value is not None})
    running = SlaClock.objects.filter(met_at__isnull=True, cancelled=False, deadline_at__isnull=False)
    return (cases.select_related("customer")
            .prefetch_related("tags", Prefetch("sla_clocks", running.order_by("deadline_at", "id"), to_attr="running_clocks"))
            .order_by(F("next_deadline_at").asc(nulls_last=True), "id"))


def _seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def earliest_clock(case: Case):
    clocks = getattr(case, "running_clocks", None)
    if clocks is None:
        clocks = list(sla.running(case).filter(deadline_at__isnull=False).order_by("deadline_at", "id")[:1])
    return clocks[0] if clocks else None


def case_row(case: Case, now: dt.datetime, *, staff: bool = True) -> dict:
    """A case as a queue row: what it is, whose it is, and the time left on its earliest running clock. Tags
    are the desk's own words: a customer's user does not get them."""
    clock = earliest_clock(case)
    return {
        "id": case.pk, "token": case.token, "customer_id": case.customer_id, "customer_name": case.customer.name,
        "subject": case.subject, "type": case.type, "severity": case.severity, "status": case.status,
        "channel": case.channel, "assignee_id": case.assignee_id if staff else None,
        "team_id": case.team_id if staff else None,
        "tags": [tag.name for tag in case.tags.all()] if staff else [], "created_at": case.created_at, "updated_at": case.updated_at,
        "next_deadline_at": case.next_deadline_at, "next_target": clock.target if clock else None,
        "time_left_seconds": _seconds(sla.time_left(clock, now)) if clock else None,
    }


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return "" if value is None else value


CSV_HEADER = ["case", "customer", "subject", "type", "severity", "status", "channel", "assignee", "team", "tags",
              "opened_at", "updated_at", "next_deadline_at", "next_target", "time_left_minutes"]


def export_csv(cases, user) -> str:
    """The queue's rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese). A customer's user gets
    its own cases, without who works them."""
    staff = has_perm(user, "cases.internal")
    now = timezone.now()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_HEADER)
    for case in cases.select_related("assignee", "team")[:CSV_LIMIT]:
        row = case_row(case, now, staff=staff)
        left = row["time_left_seconds"]
        writer.writerow([_cell(v) for v in [
            case.token, case.customer.name, case.subject, case.type, case.severity, case.status, case.channel,
            case.assignee.get_username() if staff and case.assignee else "",
            case.team.name if staff and case.team else "", " ".join(row["tags"]),
            case.created_at, case.updated_at, case.next_deadline_at, row["next_target"],
            None if left is None else left // 60,
        ]])
    return "\ufeff" + buf.getvalue()
