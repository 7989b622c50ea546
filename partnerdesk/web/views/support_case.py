"""One case for the agents: header, SLA clocks, the conversation with its attachments, the composer (reply,
internal note, resolve), details, assignment, status, merge and close. Every change goes through
support.services; a refusal shows the service's own message."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerdesk import bounds
from partnerdesk.accounts.permissions import has_perm, require
from partnerdesk.errors import DomainError
from partnerdesk.support import services
from partnerdesk.support.attachments import read_uploads
from partnerdesk.support.models import CannedReply, Case, CaseAttachment, CaseMessage, SlaClock

from ..access import staff_page
from ..forms import add_domain_error
from ..support_forms import (
    AssignForm,
    CloseForm,
    ComposeForm,
    DetailsForm,
    MergeForm,
    StatusForm,
    chosen_team,
    chosen_user,
)
from .support_panel import ledger_panel
from .support_queue import clock_state


def get_case(pk) -> Case:
    try:
        return (Case.objects.select_related("customer", "assignee", "team", "requester_contact", "requester_user",
                                            "merged_into", "follows", "resolution_message")
                .prefetch_related("tags", "invoices", "payments", "subscriptions").get(pk=pk))
    except (Case.DoesNotExist, ValueError, TypeError):
        raise Http404


def _clocks(case: Case, now, warning: int) -> list:
    clocks = list(SlaClock.objects.filter(case=case, cancelled=False).order_by("target", "sequence"))
    for clock in clocks:
        clock.state = clock_state(clock, now, warning)
        clock.breached = bool(clock.breached_at) or clock.state["breached"]
    return clocks


def _conversation(case: Case) -> list:
    return list(CaseMessage.objects.filter(case=case).select_related("author", "inbound_mail")
                .prefetch_related(Prefetch("attachments", queryset=CaseAttachment.objects.order_by("id")), "emails"))


def _details_initial(case: Case) -> dict:
    return {"subject": case.subject, "type": case.type, "severity": case.severity,
            "tags": ", ".join(t.name for t in case.tags.all()), "cc": ", ".join(case.cc),
            "invoices": list(case.invoices.all()), "payments": list(case.payments.all()),
            "subscriptions": list(case.subscriptions.all())}


def render_case(request, case: Case, *, status: int = 200, **bound):
    """The case page; `bound` carries a form just submitted, with its errors."""
    now = timezone.now()
    warning = services.desk_settings().breach_warning_minutes
    context = {
        "case": case,
        "clocks": _clocks(case, now, warning),
        "conversation": _conversation(case),
        "delivered": services.resolution_delivered(case) if case.resolution_message_id else False,
        "canned": CannedReply.objects.filter(language=case.language, is_active=True).order_by("title"),
        "panel": ledger_panel(case.customer),
        "compose_form": bound.get("compose_form") or ComposeForm(initial={"status": "open"}),
        "details_form": bound.get("details_form") or DetailsForm(customer=case.customer, initial=_details_initial(case)),
        "assign_form": bound.get("assign_form") or AssignForm(initial={
            "assignee": str(case.assignee_id or "none"), "team": str(case.team_id or "none")}),
        "status_form": bound.get("status_form") or StatusForm(initial={"status": case.status}),
        "merge_form": bound.get("merge_form") or MergeForm(),
        "close_form": CloseForm(),
        "followed_by": list(case.followed_by.order_by("id")[:10]),
        "merged_cases": list(case.merged_cases.order_by("id")[:10]),
    }
    return render(request, "web/support/case.html", context, status=status)


@staff_page("cases.internal")
def support_case(request, pk):
    """One case with everything an agent needs to answer it (?canned=<id>: the composer holds that canned
    reply, filled in; the picker does the same without reloading where JavaScript runs)."""
    case = get_case(pk)
    bound = {}
    canned_id = bounds.parse_id(request.GET.get("canned"))
    if canned_id is not None and has_perm(request.user, "cases.work"):
        canned = CannedReply.objects.filter(pk=canned_id, is_active=True).first()
        if canned is not None:
            bound["compose_form"] = ComposeForm(initial={"status": "open", "body": canned_text(canned, case)})
    return render_case(request, case, **bound)


def canned_text(canned: CannedReply, case: Case) -> str:
    """The canned reply's text with the case's customer's figures filled in."""
    from partnerdesk.support.figures import render_canned

    return render_canned(canned, case)


@require_POST
@staff_page("cases.internal")
def support_case_compose(request, pk):
    """Send a public reply, add an internal note, or send the resolution."""
    case = get_case(pk)
    form = ComposeForm(request.POST)
    if not form.is_valid():
        return render_case(request, case, compose_form=form, status=400)
    action, body = form.cleaned_data["action"], form.cleaned_data["body"]
    if action != form.NOTE:
        require(request.user, "cases.work")
    try:
        files = read_uploads(request.FILES.getlist("attachments"))
        if action == form.NOTE:
            services.add_note(case=case, body=body, actor=request.user, attachments=files)
            messages.success(request, _("Internal note added."))
        elif action == form.RESOLVE:
            services.resolve(case=case, body=body, actor=request.user, attachments=files)
            messages.success(request, _("Resolution sent. The case closes once the customer has it."))
        else:
            services.reply(case=case, body=body, actor=request.user, status=form.cleaned_data["status"] or None,
                           attachments=files)
            messages.success(request, _("Reply sent."))
    except DomainError as exc:
        add_domain_error(form, exc)
        return render_case(request, get_case(pk), compose_form=form, status=400)
    return redirect("support_case", pk=case.pk)


def _case_form(request, pk, form, form_key: str, act, done: str):
    """Run a case form's service: back to the case saying `done`, or the case page with the form's errors."""
    if form.is_valid():
        try:
            act(get_case(pk), form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("support_case", pk=pk)
    return render_case(request, get_case(pk), status=400, **{form_key: form})


@require_POST
@staff_page("cases.work")
def support_case_details(request, pk):
    """Change subject, type, severity, tags, CC and the linked invoices, payments and subscriptions."""
    def act(case, data):
        services.update_details(case=case, actor=request.user, subject=data["subject"], type=data["type"],
                                severity=data["severity"], tags=data["tags"], cc=data["cc"],
                                invoices=list(data["invoices"]), payments=list(data["payments"]),
                                subscriptions=list(data["subscriptions"]), reason=data["reason"])

    form = DetailsForm(request.POST, customer=get_case(pk).customer)
    return _case_form(request, pk, form, "details_form", act, _("Case details saved."))


@require_POST
@staff_page("cases.work")
def support_case_assign(request, pk):
    """Give the case to an agent and/or a team."""
    def act(case, data):
        services.assign(case=case, actor=request.user, assignee=chosen_user(data["assignee"]),
                        team=chosen_team(data["team"]), reason=data["reason"])

    return _case_form(request, pk, AssignForm(request.POST), "assign_form", act, _("Assignment saved."))


@require_POST
@staff_page("cases.work")
def support_case_status(request, pk):
    """Set the case open, waiting on the customer or waiting on the operator."""
    def act(case, data):
        services.change_status(case=case, status=data["status"], actor=request.user, reason=data["reason"])

    return _case_form(request, pk, StatusForm(request.POST), "status_form", act, _("Status saved."))


@require_POST
@staff_page("cases.work")
def support_case_close(request, pk):
    """Close a resolved case; refused, with the service's reason, until the resolution reached the customer."""
    case = get_case(pk)
    form = CloseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.close(case=case, actor=request.user, reason=reason)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Case %(case)s is closed.") % {"case": case.token})
    return redirect("support_case", pk=case.pk)


@require_POST
@staff_page("cases.work")
def support_case_merge(request, pk):
    """Merge this case into another of the same customer, named by its token."""
    case = get_case(pk)
    form = MergeForm(request.POST)
    if form.is_valid():
        target = Case.objects.filter(pk=form.cleaned_data["target"]).first()
        if target is None:
            form.add_error("target", _("There is no case %(case)s.") % {"case": request.POST.get("target", "")})
        else:
            try:
                services.merge(source=case, target=target, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                form.add_error("target" if exc.field not in form.fields else exc.field, exc.message)
            else:
                messages.success(request, _("%(source)s is merged into %(target)s.")
                                 % {"source": case.token, "target": target.token})
                return redirect("support_case", pk=target.pk)
    return render_case(request, get_case(pk), merge_form=form, status=400)


@require_GET
@staff_page("cases.internal")
def support_attachment(request, pk):
    """Download an attachment of a case (staff may read every message's files)."""
    attachment = get_object_or_404(CaseAttachment.objects.select_related("case"), pk=pk)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=attachment.filename,
                        content_type=attachment.content_type or "application/octet-stream")


@require_GET
@staff_page("cases.work")
def support_canned(request, pk, canned_pk):
    """A canned reply's text with this case's customer's figures filled in (the composer's picker asks here)."""
    case = get_case(pk)
    canned = get_object_or_404(CannedReply, pk=canned_pk, is_active=True)
    return JsonResponse({"title": canned.title, "text": canned_text(canned, case)})
