"""A case's SLA clocks: started, paused while the case waits on the customer, resumed, met.

Each target (first response, next response, resolution) keeps its own clock row with its own "met at".
Business time comes from business_time (China's working days, 调休 included); severity A runs around the
clock. The earliest running deadline is copied to the case (next_deadline_at) so queues sort on an index.
"""

import datetime as dt
import time

from django.db import connection, transaction
from django.db.models import Min
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import statements
from .business_time import Schedule, add_business_time, business_time_between
from .models import Case, SlaClock, SlaPolicy, SlaTarget

# 21Vianet's own plans: A 2 hours around the clock; B 4 and C 8 business hours (09:00-18:00 Beijing time on
# working days) for the first response. Next responses and resolution are the partner's own choice.
DEFAULT_TARGETS = {
    "A": {"first_response": 120, "next_response": 240, "resolution": 24 * 60, "around_the_clock": True},
    "B": {"first_response": 240, "next_response": 480, "resolution": 5 * 9 * 60, "around_the_clock": False},
    "C": {"first_response": 480, "next_response": 9 * 60, "resolution": 10 * 9 * 60, "around_the_clock": False},
}


def policy_for(severity: str, case_type: str, *, rows: dict | None = None) -> SlaPolicy:
    """The targets for a severity and type: a type's own row, else the severity's, else the defaults (rows: the
    severity's rows by type, when read already)."""
    if rows is None:
        rows = {row.type: row for row in SlaPolicy.objects.filter(severity=severity, type__in=[case_type, ""])}
    row = rows.get(case_type) or rows.get("")
    if row is not None:
        return row
    d = DEFAULT_TARGETS[severity]
    return SlaPolicy(severity=severity, type="", first_response_minutes=d["first_response"],
                     next_response_minutes=d["next_response"], resolution_minutes=d["resolution"],
                     around_the_clock=d["around_the_clock"])


# Email in opens and answers cases by the hundred a second: the policies (a handful of rows) are cached per process
# for a few seconds, as the desk's settings are (services.cached_desk_settings). A change saved in this process
# shows at once (forget_policies: the signals below, and replace_sla_policies, whose bulk_create sends none);
# until its transaction commits, and for good if it is rolled back, reads inside a transaction go to the
# database. A change saved by another process shows within POLICY_CACHE_SECONDS.
POLICY_CACHE_SECONDS = 5.0
_policy_cache: dict = {"rows": None, "at": 0.0, "unsettled": False}


def cached_policy_for(severity: str, case_type: str) -> SlaPolicy:
    """policy_for() from the per-process cache (see above); for starting clocks, not for showing the settings."""
    cache = _policy_cache
    if cache["unsettled"]:
        if connection.in_atomic_block:
            return policy_for(severity, case_type)
        cache["unsettled"] = False  # outside any transaction the saved change is committed or gone
    elif cache["rows"] is not None and time.monotonic() - cache["at"] < POLICY_CACHE_SECONDS:
        return _policy_from(cache["rows"], severity, case_type)
    rows = {(row.severity, row.type): row for row in SlaPolicy.objects.all()}
    cache["rows"], cache["at"] = rows, time.monotonic()
    return _policy_from(rows, severity, case_type)


def _policy_from(rows: dict, severity: str, case_type: str) -> SlaPolicy:
    row = rows.get((severity, case_type)) or rows.get((severity, ""))
    if row is not None:
        return row
    # The defaults' row, made once per cached read (it is only read: targets to start clocks with).
    return rows.setdefault(("default", severity), policy_for(severity, case_type, rows={}))


def forget_policies() -> None:
    """The policies changed: cached_policy_for reads them again (once the change is settled)."""
    _policy_cache["rows"] = None
    _policy_cache["unsettled"] = connection.in_atomic_block  # outside a transaction every change is settled
    if connection.in_atomic_block:
        transaction.on_commit(_policies_settled)


def _policies_settled() -> None:
    _policy_cache["rows"], _policy_cache["unsettled"] = None, False


@receiver(post_save, sender=SlaPolicy, dispatch_uid="support.sla_policy_saved")
@receiver(post_delete, sender=SlaPolicy, dispatch_uid="support.sla_policy_deleted")
def _policy_changed(sender, **kwargs):
    forget_policies()


def schedule_of(clock: SlaClock) -> Schedule:
    return Schedule(around_the_clock=clock.around_the_clock)


def _deadline(clock: SlaClock) -> dt.datetime | None:
    if clock.running_since is None:
        return None
    left = dt.timedelta(minutes=clock.target_minutes) - clock.elapsed
    return add_business_time(clock.running_since, max(left, dt.timedelta(0)), schedule_of(clock))


def start(case: Case, target: str, now: dt.datetime, *, paused: bool = False, policy: SlaPolicy | None = None,
          last_sequence: int | None = None) -> SlaClock:
    """Start a new clock for a target (next responses: the next in sequence). A caller that has read the
    policy or the case's clocks already passes them (policy, last_sequence: 0 for none) to save the reads."""
    clock = new_clock(case, target, now, paused=paused, policy=policy, last_sequence=last_sequence)
    statements.insert(clock)
    return clock


def new_clock(case: Case, target: str, now: dt.datetime, *, paused: bool = False, policy: SlaPolicy | None = None,
              last_sequence: int | None = None) -> SlaClock:
    """The clock start() saves, unsaved (open_case writes a new case's clocks in one statement)."""
    policy = policy or cached_policy_for(case.severity, case.type)
    if last_sequence is None:
        last = SlaClock.objects.filter(case=case, target=target).order_by("-sequence").first()
        last_sequence = last.sequence if last else 0
    clock = SlaClock(case=case, target=target, sequence=last_sequence + 1, started_at=now,
                     target_minutes=policy.minutes_for(target), around_the_clock=policy.around_the_clock,
                     running_since=None if paused else now)
    clock.deadline_at = _deadline(clock)
    return clock


def running(case: Case, target: str | None = None):
    qs = SlaClock.objects.filter(case=case, met_at__isnull=True, cancelled=False)
    return qs.filter(target=target) if target else qs


def pause(case: Case, now: dt.datetime) -> None:
    """Stop the clocks while the case waits on the customer; the business time used so far is kept."""
    for clock in running(case).filter(running_since__isnull=False):
        clock.elapsed += business_time_between(clock.running_since, now, schedule_of(clock))
        clock.running_since, clock.deadline_at = None, None
        clock.save(update_fields=["elapsed", "running_since", "deadline_at"])


def resume(case: Case, now: dt.datetime) -> None:
    """Restart the paused clocks: their deadlines move by the time the case waited."""
    from .mail import batch as mail_batch

    batch = mail_batch.current()
    held = batch.clocks.get(case.pk) if batch is not None else None
    if held is not None:  # email in's batch holds the case's clocks as they are: the same clocks, not read again
        paused = [c for c in held if c.met_at is None and not c.cancelled and c.running_since is None]
    else:
        paused = running(case).filter(running_since__isnull=True)
    for clock in paused:
        clock.running_since = now
        clock.deadline_at = _deadline(clock)
        statements.update(clock, "running_since", "deadline_at")


def meet(case: Case, target: str, now: dt.datetime) -> None:
    """The target is met now (a public reply, the resolution). A met clock keeps its deadline: reports compare."""
    for clock in running(case, target):
        if clock.running_since is not None:
            clock.elapsed += business_time_between(clock.running_since, now, schedule_of(clock))
        # A paused clock has no deadline: it is late only if it had used up its target before the pause.
        late = (now > clock.deadline_at if clock.deadline_at is not None
                else clock.elapsed > dt.timedelta(minutes=clock.target_minutes))
        if late:
            clock.breached_at = clock.breached_at or clock.deadline_at or now
        clock.met_at = now
        clock.running_since = None
        clock.save(update_fields=["elapsed", "running_since", "met_at", "breached_at"])


def cancel(case: Case) -> None:
    running(case).update(cancelled=True, running_since=None, deadline_at=None)


def restart_resolution(case: Case, now: dt.datetime) -> None:
    """A reopened case must be resolved again: its resolution clock goes on from the time it had used."""
    clock = SlaClock.objects.filter(case=case, target=SlaTarget.RESOLUTION, cancelled=False).order_by("-sequence").first()
    if clock is None:
        start(case, SlaTarget.RESOLUTION, now)
        return
    clock.met_at, clock.running_since = None, now
    clock.deadline_at = _deadline(clock)
    clock.save(update_fields=["met_at", "running_since", "deadline_at"])


def earliest_deadline(clocks) -> dt.datetime | None:
    """The earliest deadline of the running clocks among these (what refresh_next_deadline reads)."""
    return min((c.deadline_at for c in clocks if c.met_at is None and not c.cancelled and c.deadline_at is not None),
               default=None)


def refresh_next_deadline(case: Case) -> None:
    """Copy the earliest running deadline onto the case (the queues' sort key)."""
    earliest = running(case).aggregate(at=Min("deadline_at"))["at"]
    if case.next_deadline_at != earliest:
        case.next_deadline_at = earliest
        Case.objects.filter(pk=case.pk).update(next_deadline_at=earliest)


def time_left(clock: SlaClock, now: dt.datetime) -> dt.timedelta | None:
    """Business time left on a running clock (negative once breached), or None when paused or met."""
    if clock.met_at is not None or clock.cancelled or clock.deadline_at is None:
        return None
    if now >= clock.deadline_at:
        return -business_time_between(clock.deadline_at, now, schedule_of(clock))
    return business_time_between(now, clock.deadline_at, schedule_of(clock))
