"""The agents' queues: my cases, unassigned, breaching soon, breached, waiting, all active, resolved; filters,
pages and bulk assign / bulk status (all or none, through the support services)."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import F, Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.errors import DomainError
from partnerdesk.support import services
from partnerdesk.support.models import NEEDS_AGENT, Case, InboundMail, SlaClock
from partnerdesk.support.queues import queue_q
from partnerdesk.support.sla import time_left

from ..access import staff_page
from ..filters import _customer_match, validate_ids
from ..support_forms import BulkCasesForm, QueueFilterForm, chosen_team, chosen_user

ROWS_PER_PAGE = 50

# (key, label): the queue tabs, in the order shown.
TABS = [
    ("mine", gettext_lazy("My cases")),
    ("unassigned", gettext_lazy("Unassigned")),
    ("breaching", gettext_lazy("Breaching soon")),
    ("breached", gettext_lazy("Breached")),
    ("waiting_operator", gettext_lazy("Waiting on operator")),
    ("waiting_customer", gettext_lazy("Waiting on customer")),
    ("active", gettext_lazy("All active")),
    ("resolved", gettext_lazy("Resolved, not closed")),
]
TAB_KEYS = [key for key, _label in TABS]


def format_business_time(delta: dt.timedelta) -> str:
    """A span of business time as '3 h 05 min'."""
    minutes = int(abs(delta).total_seconds() // 60)
    return _("%(hours)s h %(minutes)s min") % {"hours": minutes // 60, "minutes": f"{minutes % 60:02d}"}


def clock_state(clock: SlaClock, now: dt.datetime, warning_minutes: int) -> dict:
    """How a running clock stands: business time left (negative once breached), its text and colour."""
    left = time_left(clock, now)
    if left is None:
        return {"left": None, "text": "", "tone": "", "breached": False}
    if left <= dt.timedelta(0):
        return {"left": left, "text": _("%(time)s over") % {"time": format_business_time(left)}, "tone": "danger",
                "breached": True}
    tone = "warn" if left <= dt.timedelta(minutes=warning_minutes) else "ok"
    return {"left": left, "text": format_business_time(left), "tone": tone, "breached": False}


def _running_clocks():
    """The running clocks with a deadline, earliest first (one query for a whole page of cases)."""
    return Prefetch("sla_clocks", to_attr="running_clocks", queryset=SlaClock.objects.filter(
        met_at__isnull=True, cancelled=False, deadline_at__isnull=False).order_by("deadline_at", "id"))


# The page's tabs and the queues they show (support.queues: the same as the API's).
TAB_QUEUES = {"breaching": "breaching_soon"}


def tab_cases(tab: str, user, now: dt.datetime, warning_minutes: int):
    """The cases of a queue tab."""
    return Case.objects.filter(queue_q(TAB_QUEUES.get(tab, tab), user, now, warning_minutes))


def apply_filters(form: QueueFilterForm, cases):
    if not form.is_valid():
        return cases
    data = form.cleaned_data
    for name in ("status", "type", "severity"):
        if data.get(name):
            cases = cases.filter(**{name: data[name]})
    if data.get("team") == "none":
        cases = cases.filter(team__isnull=True)
    elif data.get("team"):
        cases = cases.filter(team_id=int(data["team"]))
    if data.get("tag"):
        cases = cases.filter(tags__name=data["tag"].strip())
    if data.get("customer"):
        cases = cases.filter(_customer_match(data["customer"].strip()))
    return cases


@staff_page("cases.internal")
def support_queue(request):
    """The agents' queues: one tab a queue, filters, time left on the earliest running SLA clock."""
    tab = request.GET.get("tab") or "mine"
    if tab not in TAB_KEYS:
        tab = "active"
    now = timezone.now()
    warning = services.desk_settings().breach_warning_minutes
    form = QueueFilterForm(request.GET or None)
    cases = apply_filters(form, tab_cases(tab, request.user, now, warning))
    cases = (cases.select_related("customer", "assignee", "team", "requester_contact")
             .prefetch_related(_running_clocks())
             .order_by(F("next_deadline_at").asc(nulls_last=True), "-updated_at", "-id"))
    page = Paginator(cases, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    for case in page.object_list:
        clock = case.running_clocks[0] if case.running_clocks else None
        case.clock = clock_state(clock, now, warning) if clock else None
    can_work = has_perm(request.user, "cases.work")
    return render(request, "web/support/queue.html", {
        "tabs": TABS, "tab": tab, "form": form, "page": page, "bulk_form": BulkCasesForm() if can_work else None,
        "unmatched_count": InboundMail.objects.filter(status__in=NEEDS_AGENT).count(),
    })


@require_POST
@staff_page("cases.work")
def support_bulk(request):
    """Assign, or set the status of, the cases selected in a queue: all of them or none."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("support_queue")
    form = BulkCasesForm(request.POST)
    try:
        ids = validate_ids(request.POST.getlist("cases"))
    except ValidationError:
        ids = []
    cases = list(Case.objects.filter(pk__in=ids).order_by("id"))
    if not cases:
        messages.error(request, _("Select cases from the list."))
        return redirect(back)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    data, current = form.cleaned_data, None
    try:
        with transaction.atomic():  # all or none
            for current in cases:
                if data["action"] == form.ASSIGN:
                    assignee = chosen_user(data["assignee"]) if data["assignee"] else current.assignee
                    team = chosen_team(data["team"]) if data["team"] else current.team
                    services.assign(case=current, actor=request.user, assignee=assignee, team=team,
                                    reason=data["reason"])
                else:
                    services.change_status(case=current, status=data["status"], actor=request.user,
                                           reason=data["reason"])
    except DomainError as exc:
        messages.error(request, _("Nothing was changed: %(case)s: %(problem)s")
                       % {"case": current.token, "problem": exc.message})
        return redirect(back)
    messages.success(request, ngettext("%(count)d case changed.", "%(count)d cases changed.", len(cases))
                     % {"count": len(cases)})
    return redirect(back)
