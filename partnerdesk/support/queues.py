"""What each queue of the desk holds: one definition for the API, the pages and the SLA alerts.

"Breaching soon" is counted in each clock's own time: a business-hours clock due at 09:10 on Monday is
breaching soon on Friday at 17:55 (15 business minutes left), an around-the-clock one only in its last
minutes. "Breached" is a running deadline that has come (at the deadline itself the notice goes out).
"""

import datetime as dt

from django.db.models import Exists, OuterRef, Q

from .business_time import OFFICE_HOURS, add_business_time
from .models import ACTIVE_STATUSES, CaseStatus, SlaClock


def soon_clocks(now: dt.datetime, warning_minutes: int) -> Q:
    """Running clocks (a Q on SlaClock) whose deadline is ahead but within the warning, in their own time."""
    warning = dt.timedelta(minutes=warning_minutes)
    return Q(met_at__isnull=True, cancelled=False, deadline_at__gt=now) & (
        Q(around_the_clock=True, deadline_at__lte=now + warning)
        | Q(around_the_clock=False, deadline_at__lte=add_business_time(now, warning, OFFICE_HOURS)))


def queue_q(queue: str, user, now: dt.datetime, warning_minutes: int) -> Q:
    """A Q on Case for a queue: mine, unassigned, breaching_soon, breached, waiting_operator, waiting_customer,
    active, resolved (waiting to be closed) or all."""
    active = Q(status__in=ACTIVE_STATUSES, merged_into__isnull=True)
    if queue == "mine":
        return active & Q(assignee_id=user.pk)
    if queue == "unassigned":
        return active & Q(assignee__isnull=True)
    if queue == "breaching_soon":
        return active & Q(Exists(SlaClock.objects.filter(soon_clocks(now, warning_minutes), case=OuterRef("pk"))))
    if queue == "breached":
        return active & Q(next_deadline_at__lte=now)
    if queue in (CaseStatus.WAITING_OPERATOR, CaseStatus.WAITING_CUSTOMER):
        return Q(status=queue, merged_into__isnull=True)
    if queue == "active":
        return active
    if queue == "resolved":
        return Q(status=CaseStatus.RESOLVED)
    return Q()
