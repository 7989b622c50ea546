"""Staff collections pages: the dashboard, what the next days' runs will do, the runs, the policies, and the
collections section of a customer's page with its forms (disputes, promises to pay, exemption, emails)."""

from collections import OrderedDict, defaultdict

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from partnerdesk.accounts.permissions import get_customer_or_404
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.dunning import engine
from partnerdesk.dunning.models import (
    ActionKind,
    CallTask,
    CollectionsPolicy,
    CollectionsProfile,
    CollectionsRun,
    Dispute,
    HoldStatus,
    OperatorRequest,
    PolicyAcknowledgement,
    PromiseToPay,
    RequestStatus,
)
from partnerdesk.dunning.policies import schedule_for_invoice
from partnerdesk.dunning.policy_editing import STAGE_FIELDS, copy_policy, sample_due_date, update_policy
from partnerdesk.dunning.queries import (
    COLLECTIONS,
    FAILING,
    MANUAL,
    REQUEST_ACTIONS,
    filter_requests,
    run_actions,
)
from partnerdesk.dunning.services import (
    add_promise,
    complete_call,
    complete_calls,
    open_dispute,
    resolve_dispute,
    retry_failing_requests_now,
    set_profile,
)
from partnerdesk.errors import Conflict, DomainError
from partnerdesk.reports.services import aging, dso_detail

from ..access import customer_zone, staff_page
from ..collections_text import PREVIEW_ACTIONS, RUN_COUNTS, process_text, stage_actions, stage_when
from ..forms import (
    CallDoneForm,
    CollectionsProfileForm,
    DisputeForm,
    PolicyForm,
    PreviewForm,
    PromiseForm,
    ResolveDisputeForm,
    add_domain_error,
    stage_formset_class,
)
from ..templatetags.desk import money as desk_money
from .collections_section import CallGroup, call_groups, emails_installed, open_invoices_of
from .customers import render_customer_detail

RUNS_PER_PAGE = 25

AGING_LABELS = OrderedDict([
    ("current", gettext_lazy("Current")),
    ("days_1_30", gettext_lazy("1–30 days")),
    ("days_31_60", gettext_lazy("31–60 days")),
    ("days_61_90", gettext_lazy("61–90 days")),
    ("over_90", gettext_lazy("Over 90 days")),
])


# --- the AR aging chart (server-side SVG, no script) --------------------------------------------------------


def aging_chart(report, *, width=600, height=240) -> dict:
    """Bar geometry for the aging buckets of a report's total: one bar per bucket, heights to scale."""
    from ..templatetags.desk import money

    top, bottom, side = 28, 44, 16
    plot = height - top - bottom
    values = report.total.buckets()
    peak = max(values.values()) or 1
    slot = (width - 2 * side) / len(values)
    bar_width = slot * 0.62
    bars = []
    for i, (key, value) in enumerate(values.items()):
        h = round(float(value / peak) * plot, 1) if value > 0 else 0
        x = side + i * slot + (slot - bar_width) / 2
        bars.append({
            "key": key, "label": AGING_LABELS[key], "value": value, "amount": money(value, report.currency),
            "x": round(x, 1), "y": round(top + plot - h, 1), "width": round(bar_width, 1), "height": h,
            "center": round(x + bar_width / 2, 1), "value_y": round(top + plot - h - 8, 1),
            "label_y": height - bottom + 20, "tone": "current" if key == "current" else key,
        })
    return {"width": width, "height": height, "bars": bars, "baseline": top + plot}


# --- dashboard ------------------------------------------------------------------------------------------------


@staff_page("collections.view")
def dashboard(request):
    """The staff landing page: receivables at a glance, the last runs, and what needs a person's attention."""
    return render_dashboard(request)


@require_POST
@staff_page("collections.manage")
def operator_requests_retry(request):
    """Try the failing operator requests again now (all, or the one posted as `request`): the operator is back and
    staff will not wait for the backoff. Back to the page it was sent from (the dashboard, or the requests list)."""
    one = request.POST.get("request", "")
    ids = [int(one)] if one.isascii() and one.isdigit() and len(one) < 19 else None
    retried = retry_failing_requests_now(actor=request.user, request_ids=ids)
    if retried:
        # The worker carries them out in the background: those that fail again stay listed on the dashboard.
        messages.success(request, ngettext("%(n)s request is being tried again. If it fails again, it stays listed here.",
                                           "%(n)s requests are being tried again. Any that fail again stay listed here.",
                                           retried) % {"n": retried})
    else:
        messages.info(request, _("No operator request is waiting to be tried again."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect(reverse("dashboard") + "#operator-requests")


# --- operator requests --------------------------------------------------------------------------------------------

REQUESTS_PER_PAGE = 50


class RequestFilterForm(forms.Form):
    """The filters of the operator-requests page (all optional)."""

    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=[
        ("", gettext_lazy("Any status")), (FAILING, gettext_lazy("Failing (retried with backoff)")),
        *RequestStatus.choices])
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False, choices=[
        ("", gettext_lazy("Suspensions and reactivations")), *OperatorRequest._meta.get_field("action").choices])
    cause = forms.ChoiceField(label=gettext_lazy("Asked for by"), required=False, choices=[
        ("", gettext_lazy("Anyone")), (MANUAL, gettext_lazy("Staff, by hand")),
        (COLLECTIONS, gettext_lazy("Collections (runs and payments)"))])
    customer = forms.IntegerField(label=gettext_lazy("Customer"), required=False, min_value=1,
                                  max_value=2 ** 63 - 1, widget=forms.Select)

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].widget.choices = [("", _("All customers")), *customers]


@staff_page("collections.view")
def operator_requests(request):
    """Every suspension and reactivation queued for the operator, newest first, with filters; failing ones can be
    tried again at once."""
    customers = (Customer.objects.filter(pk__in=OperatorRequest.objects.values("customer_id")).order_by("name")
                 .values_list("pk", "name"))
    form = RequestFilterForm(request.GET or None, customers=customers)
    requests = OperatorRequest.objects.select_related("customer", "subscription", "requested_by").order_by("-id")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        customer = Customer.objects.filter(pk=data["customer"]).first() if data["customer"] else None
        requests = filter_requests(requests, status=data["status"], action=data["action"], cause=data["cause"],
                                   customer=customer)
    elif form.is_bound:
        requests = requests.none()
    page = Paginator(requests, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/collections/operator_requests.html", {
        "form": form, "page": page, "failing_count": filter_requests(OperatorRequest.objects, status=FAILING).count(),
        "actions": REQUEST_ACTIONS,
    })


def render_dashboard(request, **bound):
    """The dashboard; `bound` carries a call's "mark done" form just submitted with its errors."""
    today = timezone.localdate()
    report = aging(today)
    dso = dso_detail(today)
    context = {
        "today": today,
        "report": report,
        "dso": dso,
        "chart": aging_chart(report),
        "top_overdue": sorted((r for r in report.rows if r.overdue > 0), key=lambda r: -r.overdue)[:8],
        "runs": CollectionsRun.objects.filter(dry_run=False)[:5],
        "failing_requests": (OperatorRequest.objects.filter(status=RequestStatus.PENDING, attempts__gt=0)
                             .select_related("customer", "subscription").order_by("next_attempt_at", "id")[:20]),
        "calls": call_groups(CallTask.objects.filter(done_at__isnull=True).select_related("customer", "invoice")
                              .order_by("due_on", "customer_id", "id")[:500], bound.get("call_form"),
                              bound.get("call_for"), limit=20),
        "open_disputes": Dispute.objects.filter(status=HoldStatus.OPEN).count(),
        "open_promises": PromiseToPay.objects.filter(status=HoldStatus.OPEN, promised_date__gte=today).count(),
        "email_problems": None,
        "run_counts": RUN_COUNTS,
    }
    if emails_installed():
        from partnerdesk.notifications.models import EmailStatus, OutboundEmail

        context["email_problems"] = (OutboundEmail.objects.filter(status__in=[EmailStatus.FAILED, EmailStatus.BOUNCED])
                                     .select_related("customer").order_by("-queued_at", "-id")[:10])
    return render(request, "web/collections/dashboard.html", context)


# --- preview and runs -----------------------------------------------------------------------------------------


@staff_page("collections.view")
def collections_preview(request):
    """What the runs of the next days would do if nothing is paid in the meantime, per customer."""
    form = PreviewForm(request.GET or None)
    days = form.cleaned_data["days"] if form.is_bound and form.is_valid() else 7
    groups = None
    if not form.is_bound or form.is_valid():
        by_customer: dict[int, dict] = {}
        for item in engine.preview(timezone.localdate(), days):
            group = by_customer.setdefault(item.customer_id, {"customer_id": item.customer_id,
                                                              "name": item.customer_name, "items": []})
            group["items"].append({"date": item.date, "invoice_number": item.invoice_number, "stage": item.stage,
                                   "actions": [PREVIEW_ACTIONS.get(a, a) for a in item.actions],
                                   "suspends": "suspend" in item.actions})
        groups = sorted(by_customer.values(), key=lambda g: g["name"])
    return render(request, "web/collections/preview.html", {
        "form": form if form.is_bound else PreviewForm(initial={"days": 7}), "days": days, "groups": groups,
        "today": timezone.localdate(),
    })


@staff_page("collections.view")
def collections_runs(request):
    """The collections runs, newest first, with what each did."""
    engine.mark_interrupted_runs()  # a run whose process died is not shown running for ever
    page = Paginator(CollectionsRun.objects.filter(dry_run=False), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/collections/runs.html", {"page": page, "run_counts": RUN_COUNTS,
                                                         "today": timezone.localdate()})


def _today_would_do(today) -> dict:
    """What a run now would do (a dry run: nothing is recorded), for the confirmation page."""
    result = engine.run_collections(today, dry_run=True)
    actions = defaultdict(int)
    for due in result.due:
        stages = [s for s in engine._ordered_stages(due.policy) if due.done_position < s.position <= due.target.position]
        target = due.target
        if target.send_notice:
            actions["reminder" if target.offset_days <= 0 else "notice"] += 1
        for kind in ("call", "suspend", "cancel"):
            if any(getattr(s, {"call": "call_task"}.get(kind, kind)) for s in stages):
                actions[kind] += 1
    warnings = result.counts.get("deletion_warnings", 0)
    if warnings:
        actions["deletion_warning"] = warnings
    customers = {d.customer_id for d in result.due}
    return {"due": result.due[:50], "due_count": len(result.due), "customer_count": len(customers),
            "actions": [(PREVIEW_ACTIONS[k], n) for k, n in actions.items()], "nothing": not result.due and not warnings}


@require_http_methods(["GET", "POST"])
@staff_page("collections.manage")
def collections_run_now(request):
    """Run collections for today now, after a confirmation that says what it would do (each due action is done
    exactly once: a second run adds nothing, and one that finds nothing due is not listed again)."""
    today = timezone.localdate()
    if request.method == "GET":
        return render(request, "web/collections/run_confirm.html", {"today": today, "plan": _today_would_do(today)})
    try:
        result = engine.run_collections()
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("collections_runs")
    date = result.as_of.isoformat()
    if result.status == "busy":
        messages.warning(request, _("Another collections run is in progress. Try again in a few minutes."))
    elif result.status == "nothing_due":
        messages.info(request, _("Nothing was due for %(date)s: the run did nothing. (Today's earlier run is the "
                                 "one listed.)") % {"date": date})
    elif not result.counts.get("due") and not result.counts.get("deletion_warnings"):
        messages.info(request, _("Collections run for %(date)s finished: nothing was due.") % {"date": date})
    else:
        counts = result.counts
        messages.success(request, _(
            "Collections run for %(date)s finished. Invoices that reached a stage: %(due)s. Emails queued: "
            "%(emails)s. Suspensions requested: %(requests)s.") % {
            "date": date, "due": counts.get("due", 0), "emails": counts.get("emails", 0),
            "requests": counts.get("operator_requests", 0)})
        return redirect("collections_run_detail", pk=result.run_id)
    return redirect("collections_runs")


RUN_CUSTOMERS_PER_PAGE = 50
# How a run's log entries are grouped per customer on its page.
RUN_COLUMNS = OrderedDict([
    ("notices", (ActionKind.REMINDER, ActionKind.NOTICE)),
    ("calls", (ActionKind.CALL,)),
    ("suspensions", (ActionKind.SUSPEND,)),
    ("deletion_warnings", (ActionKind.DELETION_WARNING,)),
    ("cancellations", (ActionKind.CANCEL,)),
])


@staff_page("collections.view")
def collections_run_detail(request, pk):
    """One run: its counts, and per customer what it did (notices, calls, suspensions, data-deletion warnings),
    with links to the customers, invoices and subscriptions."""
    engine.mark_interrupted_runs()
    run = get_object_or_404(CollectionsRun, pk=pk, dry_run=False)
    actions = run_actions(run)
    customer_ids = (actions.order_by().values("customer_id").distinct())
    customers = Customer.objects.filter(pk__in=customer_ids).order_by("name", "id")
    page = Paginator(customers, RUN_CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = {c.pk: {"customer": c, **{k: [] for k in RUN_COLUMNS}} for c in page.object_list}
    entries = list(actions.filter(customer_id__in=list(rows)).select_related("invoice", "subscription", "stage")
                   .order_by("customer_id", "id"))
    sub_ids = {s for e in entries if e.kind == ActionKind.SUSPEND for s in (e.detail or {}).get("subscriptions", [])}
    subs = Subscription.objects.in_bulk(sub_ids)
    for entry in entries:
        column = next(k for k, kinds in RUN_COLUMNS.items() if entry.kind in kinds)
        if entry.kind == ActionKind.SUSPEND:
            entry.subscriptions = [subs[i] for i in (entry.detail or {}).get("subscriptions", []) if i in subs]
        rows[entry.customer_id][column].append(entry)
    return render(request, "web/collections/run_detail.html", {
        "run": run, "page": page, "rows": [rows[c.pk] for c in page.object_list], "run_counts": RUN_COUNTS,
        "customer_count": page.paginator.count,
    })


# --- policies --------------------------------------------------------------------------------------------------


@staff_page("collections.view")
def policy_list(request):
    policies = (CollectionsPolicy.objects.annotate(stage_count=Count("stages", distinct=True))
                .order_by("-is_default", "name"))
    own = dict(CollectionsProfile.objects.filter(policy__isnull=False, exempt=False).values("policy_id")
               .annotate(n=Count("id")).values_list("policy_id", "n"))
    rows = [{"policy": p, "customers": own.get(p.pk, 0)} for p in policies]
    return render(request, "web/collections/policies.html", {
        "rows": rows, "exempt_count": CollectionsProfile.objects.filter(exempt=True).count(),
    })


def _stage_rows(policy, stages):
    return [{"stage": s, "when": stage_when(s, policy.grace_days), "actions": stage_actions(s)} for s in stages]


@staff_page("collections.view")
def policy_detail(request, pk):
    policy = get_object_or_404(CollectionsPolicy, pk=pk)
    stages = list(policy.stages.order_by("position"))
    example_due = sample_due_date(timezone.localdate())
    customers = (CollectionsProfile.objects.filter(policy=policy, exempt=False).select_related("customer")
                 .order_by("customer__name"))
    return render(request, "web/collections/policy_detail.html", {
        "policy": policy,
        "stage_rows": _stage_rows(policy, stages),
        "process": process_text(policy, stages),
        "example_due": example_due,
        "example": schedule_for_invoice(policy, example_due),
        "customers": customers[:50],
        "customer_count": customers.count(),
        "acknowledged": (PolicyAcknowledgement.objects.filter(policy=policy, policy_version=policy.version)
                         .values("customer_id").distinct().count()),
    })


@staff_page("collections.policy")
def policy_edit(request, pk):
    """Edit a policy's settings and stages; saving makes a new version that customers acknowledge again."""
    policy = get_object_or_404(CollectionsPolicy, pk=pk)
    StageFormSet = stage_formset_class()
    queryset = policy.stages.order_by("position")
    form = PolicyForm(request.POST or None, instance=policy, prefix="policy")
    formset = StageFormSet(request.POST or None, instance=policy, queryset=queryset, prefix="stages")
    if request.method == "POST":
        policy_ok = form.is_valid()
        formset.grace_days = form.cleaned_data.get("grace_days", policy.grace_days) if policy_ok else policy.grace_days
        if policy_ok and formset.is_valid():
            settings = {f: form.cleaned_data[f] for f in PolicyForm.Meta.fields}
            stages = []
            for stage_form in formset.forms:
                data = stage_form.cleaned_data
                if not data or formset._should_delete_form(stage_form):
                    continue
                if not stage_form.instance.pk and not stage_form.has_changed():
                    continue
                stages.append({"id": stage_form.instance.pk, **{f: data[f] for f in STAGE_FIELDS}})
            try:
                # The form validated against a copy; the service reads the policy afresh.
                policy = update_policy(CollectionsPolicy.objects.get(pk=pk), settings=settings, stages=stages,
                                       actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Policy “%(name)s” saved as version %(version)s. Customers are asked to "
                                            "acknowledge the new version.") % {"name": policy.name, "version": policy.version})
                return redirect("policy_detail", pk=policy.pk)
    return render(request, "web/collections/policy_edit.html", {
        "policy": policy, "form": form, "formset": formset,
        "next_version": CollectionsPolicy.objects.filter(pk=pk).values_list("version", flat=True)[0] + 1,
    })


@require_POST
@staff_page("collections.policy")
def policy_copy(request, pk):
    policy = get_object_or_404(CollectionsPolicy, pk=pk)
    copy = copy_policy(policy, actor=request.user)
    messages.success(request, _("Created “%(name)s”, a copy of “%(original)s”. Adapt it, then give it to customers "
                                "from their pages.") % {"name": copy.name, "original": policy.name})
    return redirect("policy_edit", pk=copy.pk)


def _rerender(request, customer, **bound):
    return render_customer_detail(request, customer, **bound)


@require_POST
@staff_page("disputes.manage")
def dispute_open(request, pk):
    customer = get_customer_or_404(request.user, pk)
    with timezone.override(customer_zone(customer)):
        undisputed = open_invoices_of(customer).exclude(disputes__status=HoldStatus.OPEN)
        form = DisputeForm(request.POST, invoices=undisputed, prefix="dispute")
        if form.is_valid():
            try:
                open_dispute(invoice=form.cleaned_data["invoice"], reason=form.cleaned_data["reason"].strip(),
                             amount=form.cleaned_data["amount"], actor=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if form.cleaned_data["amount"] is None:
                    messages.success(request, _("Dispute opened on %(invoice)s: collections holds the invoice until it "
                                                "is resolved.") % {"invoice": form.cleaned_data["invoice"]})
                else:
                    messages.success(request, _("Dispute opened on %(invoice)s for %(amount)s: collections leaves that "
                                                "amount alone until the dispute is resolved and goes on for the rest.")
                                     % {"invoice": form.cleaned_data["invoice"],
                                        "amount": desk_money(form.cleaned_data["amount"], customer.currency)})
                return redirect(_section_url(customer))
        return _rerender(request, customer, dispute_form=form)


@require_POST
@staff_page("disputes.manage")
def dispute_resolve(request, pk, dispute_pk):
    customer = get_customer_or_404(request.user, pk)
    dispute = get_object_or_404(Dispute.objects.select_related("invoice"), pk=dispute_pk, customer=customer)
    with timezone.override(customer_zone(customer)):
        form = ResolveDisputeForm(request.POST, prefix=f"resolve-{dispute.pk}")
        if form.is_valid():
            try:
                resolve_dispute(dispute, resolution=form.cleaned_data["resolution"].strip(), actor=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Dispute on %(invoice)s resolved; collections resumes for the invoice.")
                                 % {"invoice": dispute.invoice})
                return redirect(_section_url(customer))
        return _rerender(request, customer, resolve_form=form, resolve_for=dispute.pk)


@require_POST
@staff_page("collections.manage")
def promise_add(request, pk):
    customer = get_customer_or_404(request.user, pk)
    with timezone.override(customer_zone(customer)):
        form = PromiseForm(request.POST, invoices=open_invoices_of(customer), prefix="promise", today=timezone.localdate())
        if form.is_valid():
            data = form.cleaned_data
            try:
                add_promise(customer=customer, amount=data["amount"], promised_date=data["promised_date"],
                            invoice=data["invoice"], note=data["note"].strip(), actor=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Promise to pay recorded: collections holds until %(date)s.")
                                 % {"date": data["promised_date"].isoformat()})
                return redirect(_section_url(customer))
        return _rerender(request, customer, promise_form=form)


@require_POST
@staff_page("collections.manage")
def collections_profile(request, pk):
    customer = get_customer_or_404(request.user, pk)
    policies = CollectionsPolicy.objects.order_by("-is_default", "name")
    with timezone.override(customer_zone(customer)):
        form = CollectionsProfileForm(request.POST, policies=policies, prefix="profile")
        if form.is_valid():
            mode, data = form.cleaned_data["mode"], form.cleaned_data
            try:
                set_profile(customer=customer, actor=request.user,
                            policy=data["policy"] if mode == form.OWN else None,
                            exempt=mode == form.EXEMPT, reason=data["reason"].strip())
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if mode == form.EXEMPT:
                    messages.success(request, _("%(customer)s is exempt from collections.") % {"customer": customer.name})
                elif mode == form.OWN:
                    messages.success(request, _("%(customer)s now follows the policy “%(policy)s”.")
                                     % {"customer": customer.name, "policy": data["policy"].name})
                else:
                    messages.success(request, _("%(customer)s follows the default policy.") % {"customer": customer.name})
                return redirect(_section_url(customer))
        return _rerender(request, customer, profile_form=form)


@require_POST
@staff_page("collections.manage")
def call_complete(request, pk, call_pk):
    """A collections agent made a call: mark it done with what the customer said (from the dashboard or the
    customer page; the form comes back to the page it was sent from)."""
    customer = get_customer_or_404(request.user, pk)
    task = get_object_or_404(CallTask.objects.select_related("invoice", "customer"), pk=call_pk, customer=customer)
    from_dashboard = request.POST.get("back") == "dashboard"
    done_url = reverse("dashboard") + "#calls" if from_dashboard else _section_url(customer, "calls")
    form = CallDoneForm(request.POST, prefix=f"call-{task.pk}")
    if form.is_valid():
        try:
            with transaction.atomic():
                # Read afresh under a lock: two agents marking the same call at once must not both succeed.
                locked = CallTask.objects.select_for_update().select_related("customer").get(pk=task.pk)
                complete_call(locked, actor=request.user, note=form.cleaned_data["note"].strip())
        except Conflict:  # someone marked it done in the meantime
            messages.info(request, _("This call is already done."))
            return redirect(done_url)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Call to %(customer)s marked done.") % {"customer": customer.name})
            return redirect(done_url)
    # The page shows one form per call group: give it back under the group's prefix, with its errors.
    group = CallGroup(customer, task.due_on).key
    form = CallDoneForm({f"calls-{group}-note": form.data.get(f"call-{task.pk}-note", "")}, prefix=f"calls-{group}")
    form.full_clean()
    if from_dashboard:
        return render_dashboard(request, call_form=form, call_for=group)
    return _rerender(request, customer, call_form=form, call_for=group)


@require_POST
@staff_page("collections.manage")
def calls_complete(request, pk):
    """One phone call made about several invoices: mark all of the customer's calls of that day done at once
    (each audited), from the dashboard or the customer page."""
    customer = get_customer_or_404(request.user, pk)
    ids = [int(i) for i in request.POST.getlist("call") if i.isascii() and i.isdigit() and len(i) < 19]
    tasks = list(CallTask.objects.filter(customer=customer, pk__in=ids).order_by("due_on", "id"))
    if not tasks:
        raise Http404
    tasks = [task for task in tasks if task.due_on == tasks[0].due_on]  # one call: one day's tasks
    group = CallGroup(customer, tasks[0].due_on)
    from_dashboard = request.POST.get("back") == "dashboard"
    done_url = reverse("dashboard") + "#calls" if from_dashboard else _section_url(customer, "calls")
    form = CallDoneForm(request.POST, prefix=f"calls-{group.key}")
    if form.is_valid():
        try:
            done = complete_calls(tasks, actor=request.user, note=form.cleaned_data["note"].strip())
        except Conflict:  # someone marked them done in the meantime
            messages.info(request, _("This call is already done."))
            return redirect(done_url)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, ngettext("Call to %(customer)s marked done (%(count)d invoice).",
                                               "Call to %(customer)s marked done (%(count)d invoices).", len(done))
                             % {"customer": customer.name, "count": len(done)})
            return redirect(done_url)
    if from_dashboard:
        return render_dashboard(request, call_form=form, call_for=group.key)
    return _rerender(request, customer, call_form=form, call_for=group.key)


@require_POST
@staff_page("emails.manage")
def email_retry(request, pk, email_pk):
    """Send a failed or bounced email again."""
    if not emails_installed():
        raise Http404
    from partnerdesk.notifications.models import OutboundEmail
    from partnerdesk.notifications.services import retry

    customer = get_customer_or_404(request.user, pk)
    email = get_object_or_404(OutboundEmail, pk=email_pk, customer=customer)
    try:
        email = retry(email, actor=request.user, reason="retried from the customer page")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The email will be sent again to %(address)s.") % {"address": email.to_address})
    return redirect(_section_url(customer, "emails"))


def _section_url(customer, anchor="collections") -> str:
    return reverse("customer_detail", args=[customer.pk]) + f"#{anchor}"
