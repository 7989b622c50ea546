"""The portal's Support section: a customer's own cases, a new case, a case's public conversation, replies,
confirming or reopening a resolution, and the satisfaction score.

Every case is looked up through permissions.scope on the portal user's own customer, so another customer's
case is simply not found. Only public messages and their files are ever read here: an internal note, an
event or a file on either never reaches these pages.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk import bounds
from partnerdesk.accounts.permissions import get_scoped_or_404, has_perm, scope
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.errors import DomainError
from partnerdesk.support import services
from partnerdesk.support.attachments import read_uploads, store_attachment
from partnerdesk.support.models import (
    Case,
    CaseAttachment,
    CaseMessage,
    CaseStatus,
    Channel,
    Direction,
    MessageKind,
)

from ..access import customer_zone, portal_page
from ..forms import add_domain_error
from ..support_portal_forms import NewCaseForm, ReopenForm, ReplyForm, ScoreForm

PER_PAGE = 25


def _cases(request, customer):
    return scope(Case.objects.filter(customer=customer), request.user)


def _case(request, customer, pk) -> Case:
    return get_scoped_or_404(_cases(request, customer).select_related("merged_into", "follows", "resolution_message"),
                             request.user, pk)


def _render(request, customer, template, context, status=200):
    with timezone.override(customer_zone(customer)):
        return render(request, template, {"customer": customer, "zone": customer_zone(customer), **context},
                      status=status)


# --- the list and a new case -------------------------------------------------------------------------------


@portal_page("cases.view")
def portal_support(request, customer):
    """The customer's cases, the most recently updated first, each saying whether an answer waits unread."""
    unread = CaseMessage.objects.filter(case=OuterRef("pk"), kind=MessageKind.PUBLIC, direction=Direction.OUTBOUND,
                                        read_in_portal_at__isnull=True)
    cases = _cases(request, customer).annotate(answer_waiting=Exists(unread)).order_by("-updated_at", "-id")
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, customer, "web/portal/support/list.html", {
        "page": page, "may_open": has_perm(request.user, "cases.open")})


def _invoices(request, customer):
    return scope(Invoice.objects.filter(customer=customer), request.user).exclude(
        status=InvoiceStatus.DRAFT).order_by("-issue_date", "-id")


@portal_page("cases.open")
def portal_support_new(request, customer):
    """Open a case: type, severity (A for technical problems only), subject, description, invoices, files."""
    invoices = _invoices(request, customer)
    initial = {}
    invoice_id = bounds.parse_id(request.GET.get("invoice"))
    if invoice_id is not None:
        initial["invoices"] = list(invoices.filter(pk=invoice_id))
    form = NewCaseForm(request.POST or None, request.FILES or None, invoices=invoices, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                files = read_uploads(data["attachments"])
                case = services.open_case(
                    customer=customer, actor=request.user, type=data["type"], severity=data["severity"],
                    subject=data["subject"], description=data["description"], channel=Channel.PORTAL,
                    invoices=list(data["invoices"]))
                first = case.messages.get()
                for item in files:
                    store_attachment(message=first, actor=request.user, **item)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Case %(case)s is open. We will answer here and by email.")
                             % {"case": case.token})
            return redirect("portal_support_case", case.pk)
    return _render(request, customer, "web/portal/support/new.html", {"form": form})


# --- one case ------------------------------------------------------------------------------------------------


def _conversation(case: Case):
    """The case's public messages with their files; nothing else of the case's history."""
    files = CaseAttachment.objects.filter(message__kind=MessageKind.PUBLIC).order_by("id")
    return list(case.messages.filter(kind=MessageKind.PUBLIC).select_related("author")
                .prefetch_related(Prefetch("attachments", queryset=files)).order_by("created_at", "id"))


def may_score(case: Case) -> bool:
    """The satisfaction form is offered once the customer has the answer, once per case, never after an
    automatic close."""
    return (case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and not case.closed_automatically
            and case.satisfaction_score is None and case.merged_into_id is None)


def _case_page(request, customer, case, *, status=200, **forms):
    context = {
        "case": case,
        "conversation": _conversation(case),
        "may_reply": has_perm(request.user, "cases.reply") and case.merged_into_id is None,
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "score_form": forms.get("score_form") or ScoreForm(),
        "may_score": may_score(case),
    }
    return _render(request, customer, "web/portal/support/case.html", context, status=status)


@portal_page("cases.view")
def portal_support_case(request, customer, pk):
    """A case as the customer sees it: its public conversation. Opening it marks our replies read."""
    case = _case(request, customer, pk)
    services.mark_read_in_portal(case=case, actor=request.user)
    return _case_page(request, customer, case)


@require_POST
@portal_page("cases.reply")
def portal_support_reply(request, customer, pk):
    """The customer writes on its case (a resolved case reopens; a closed one is followed by a new case)."""
    case = _case(request, customer, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            with transaction.atomic():
                message = services.customer_message(
                    case=case, body=form.cleaned_data["body"], actor=request.user, channel=Channel.PORTAL,
                    attachments=read_uploads(form.cleaned_data["attachments"]))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if message.case_id != case.pk:
                messages.success(request, _("Case %(old)s was closed, so your message opened case %(new)s.")
                                 % {"old": case.token, "new": message.case.token})
            else:
                messages.success(request, _("Your message was added to the case."))
            return redirect("portal_support_case", message.case_id)
    return _case_page(request, customer, case, reply_form=form, status=422)


@require_POST
@portal_page("cases.reply")
def portal_support_confirm(request, customer, pk):
    """"This solved it": the case closes."""
    case = _case(request, customer, pk)
    try:
        services.confirm_resolution(case=case, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you. The case is closed."))
    return redirect("portal_support_case", case.pk)


@require_POST
@portal_page("cases.reply")
def portal_support_reopen(request, customer, pk):
    """"It is not solved": the customer's words go on the case, which reopens."""
    case = _case(request, customer, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            message = services.reopen_by_customer(case=case, body=form.cleaned_data["body"], actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("We are sorry it is not solved yet. The case is open again."))
            return redirect("portal_support_case", message.case_id)
    return _case_page(request, customer, case, reopen_form=form, status=422)


@require_POST
@portal_page("cases.reply")
def portal_support_score(request, customer, pk):
    """The customer's satisfaction score, once per case."""
    case = _case(request, customer, pk)
    form = ScoreForm(request.POST)
    if form.is_valid():
        try:
            services.record_satisfaction(case=case, score=form.cleaned_data["score"],
                                         comment=form.cleaned_data["comment"], actor=request.user)
        except DomainError as exc:  # scored already, or not resolved: the page no longer offers the form
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you for your feedback."))
        return redirect("portal_support_case", case.pk)
    return _case_page(request, customer, case, score_form=form, status=422)


@portal_page("cases.view")
def portal_support_attachment(request, customer, pk, attachment_pk):
    """A file of a public message of the customer's own case, as a download."""
    case = _case(request, customer, pk)
    attachment = CaseAttachment.objects.filter(pk=attachment_pk, case=case, message__case=case,
                                               message__kind=MessageKind.PUBLIC).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=attachment.filename,
                        content_type=attachment.content_type or "application/octet-stream")
