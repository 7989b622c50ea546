"""The support API's cases: queues, opening, the conversation, status, assignment, resolving and closing.

Every route finds the case through the permission rule first (another customer's case is a 404, whatever the
route), then checks the role (403). A customer's user never gets an internal note, an event, or a file of one.
"""

from django.core.exceptions import PermissionDenied
from django.core.validators import validate_email
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Router, Schema, UploadedFile
from ninja.pagination import paginate

from partnerdesk.accounts.models import Role, Team, User
from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, has_perm, require, scope
from partnerdesk.api_schemas import Code, Id, Pagination, Search
from partnerdesk.billing.models import Payment
from partnerdesk.billing.queries import visible_invoices
from partnerdesk.customers.models import BillingContact, Subscription
from partnerdesk.errors import DomainError, InvalidInput, Refusal

from . import services, sla
from .api_queue import case_row, export_csv, queue_cases
from .attachments import read_uploads
from .models import CannedReply, Case, CaseAttachment, CaseMessage, Channel, MessageKind
from .schemas import (
    AssignIn,
    Body,
    BulkIn,
    BulkOut,
    CaseIn,
    CaseOut,
    CasePatch,
    CaseRowOut,
    CloseIn,
    MergeIn,
    MessageIn,
    MessageOut,
    RenderedReplyOut,
    ReplyIn,
    ScoreIn,
    StatusIn,
)

router = Router(tags=["support"])

STAFF_CHANNELS = (Channel.API, Channel.PHONE, Channel.CHAT, Channel.INTERNAL)
NO_SUCH_LINK = {"invoices": _("no such invoice for this customer"), "payments": _("no such payment for this customer"),
                "subscriptions": _("no such subscription for this customer")}


# --- finding cases and showing them -------------------------------------------------------------------------


def _case(request, case_id: int) -> Case:
    """A case the user may see (another customer's: 404)."""
    return get_scoped_or_404(Case.objects.select_related("customer"), request.user, case_id)


def _case_for(request, case_id: int, permission: str) -> Case:
    case = _case(request, case_id)
    require(request.user, permission)
    return case


def _customers_own(request, case_id: int) -> Case:
    """A case its customer's user acts on (confirm, score, write): staff get 403."""
    case = _case_for(request, case_id, "cases.reply")
    if request.user.role != Role.CUSTOMER:
        raise PermissionDenied("customers only")
    return case


def _author(message: CaseMessage) -> str:
    if message.author_name:
        return message.author_name
    if message.author is not None:
        return message.author.get_full_name() or message.author.get_username()
    return message.author_email


def _attachment_out(attachment: CaseAttachment) -> dict:
    return {"id": attachment.pk, "message_id": attachment.message_id, "filename": attachment.filename,
            "content_type": attachment.content_type, "size": attachment.size, "created_at": attachment.created_at,
            "url": reverse("api:support_case_attachment", kwargs={"case_id": attachment.case_id,
                                                                  "attachment_id": attachment.pk})}


def message_out(message: CaseMessage) -> dict:
    return {"id": message.pk, "case_id": message.case_id, "kind": message.kind, "direction": message.direction,
            "channel": message.channel, "author": _author(message), "body": message.body,
            "display_body": message.display_body, "created_at": message.created_at,
            "is_resolution": message.is_resolution, "read_in_portal_at": message.read_in_portal_at,
            "attachments": [_attachment_out(a) for a in message.attachments.all()]}


def _clock_out(clock, now) -> dict:
    left = sla.time_left(clock, now)
    return {"target": clock.target, "sequence": clock.sequence, "started_at": clock.started_at,
            "target_minutes": clock.target_minutes, "around_the_clock": clock.around_the_clock,
            "deadline_at": clock.deadline_at, "met_at": clock.met_at, "breached_at": clock.breached_at,
            "paused": clock.met_at is None and not clock.cancelled and clock.running_since is None,
            "cancelled": clock.cancelled, "time_left_seconds": None if left is None else int(left.total_seconds())}


def case_out(case: Case, user) -> dict:
    """The case with its conversation: internal notes, events and SLA clocks for staff only."""
    case = Case.objects.select_related("customer").get(pk=case.pk)
    staff = has_perm(user, "cases.internal")
    now = timezone.now()
    messages = case.messages.select_related("author").prefetch_related("attachments")
    if not staff:
        messages = messages.filter(kind=MessageKind.PUBLIC)
    return {
        **case_row(case, now, staff=staff),
        "description": case.description, "requester_name": case.requester_name,
        "requester_email": case.requester_email, "requester_contact_id": case.requester_contact_id, "cc": case.cc,
        "language": case.language, "invoice_ids": list(case.invoices.values_list("pk", flat=True)),
        "payment_ids": list(case.payments.values_list("pk", flat=True)),
        "subscription_ids": list(case.subscriptions.values_list("pk", flat=True)),
        "merged_into_id": case.merged_into_id, "follows_id": case.follows_id,
        "first_response_at": case.first_response_at, "resolved_at": case.resolved_at, "closed_at": case.closed_at,
        "resolution_delivered": services.resolution_delivered(case), "satisfaction_score": case.satisfaction_score,
        "satisfaction_comment": case.satisfaction_comment,
        "messages": [message_out(m) for m in messages],
        "clocks": [_clock_out(c, now) for c in case.sla_clocks.all()] if staff else [],
    }


def _links(request, customer, payload) -> dict:
    """The invoices, payments and subscriptions a request names, each the customer's and visible to the user."""
    links = {}
    for field, name, rows in (("invoice_ids", "invoices", visible_invoices(request.user)),
                              ("payment_ids", "payments", scope(Payment.objects.all(), request.user)),
                              ("subscription_ids", "subscriptions", scope(Subscription.objects.all(), request.user))):
        ids = getattr(payload, field)
        if ids is None:
            continue
        found = rows.filter(customer=customer).in_bulk(set(ids))
        for i, pk in enumerate(ids):
            if pk not in found:
                raise InvalidInput(NO_SUCH_LINK[name], field=f"{field}[{i}]")
        links[name] = [found[pk] for pk in dict.fromkeys(ids)]
    return links


def _staff_member(user_id, field: str):
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise InvalidInput(_("no such user"), field=field)
    return user


def _team(team_id):
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise InvalidInput(_("no such team"), field="team_id")
    return team


# --- queues -------------------------------------------------------------------------------------------------


QUEUE_HELP = ("queue: mine, unassigned, breaching_soon (a deadline within the desk's warning time), breached, "
              "waiting_operator, waiting_customer, active or all (default). Ordered by the nearest SLA deadline, "
              "then id.")


@router.get("/cases", response=list[CaseRowOut], summary="Cases of a queue, nearest deadline first",
            description=QUEUE_HELP)
@paginate(Pagination)
def list_cases(request, queue: Code = "all", status: Code | None = None, type: Code | None = None,
               severity: Code | None = None, customer_id: Id | None = None, assignee_id: Id | None = None,
               team_id: Id | None = None, tag: Search | None = None):
    require(request.user, "cases.view")
    return _Rows(queue_cases(request.user, queue=queue, status=status, type=type, severity=severity,
                             customer_id=customer_id, assignee_id=assignee_id, team_id=team_id, tag=tag),
                 staff=has_perm(request.user, "cases.internal"))


class _Rows:
    """A queryset of cases that pages like one and gives queue rows (time left worked out per page only)."""

    def __init__(self, cases, *, staff: bool):
        self.cases, self.staff = cases, staff

    def count(self) -> int:
        return self.cases.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window):
        now = timezone.now()
        return [case_row(case, now, staff=self.staff) for case in self.cases[window]]


@router.get("/cases.csv", summary="The cases of a queue as CSV (same filters; no conversation in it)",
            description=QUEUE_HELP, openapi_extra={"responses": {200: {
                "description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def export_cases(request, queue: Code = "all", status: Code | None = None, type: Code | None = None,
                 severity: Code | None = None, customer_id: Id | None = None, assignee_id: Id | None = None,
                 team_id: Id | None = None, tag: Search | None = None):
    require(request.user, "cases.view")
    cases = queue_cases(request.user, queue=queue, status=status, type=type, severity=severity,
                        customer_id=customer_id, assignee_id=assignee_id, team_id=team_id, tag=tag)
    response = HttpResponse(export_csv(cases, request.user), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{timezone.localdate().isoformat()}.csv"'
    return response


# --- opening and changing -----------------------------------------------------------------------------------


def requesting_customer(user, customer_id):
    """The customer a new case is for: a customer's user's own (customer_id may be left out); staff name it."""
    if customer_id is None and user.role != Role.CUSTOMER:
        raise InvalidInput(_("name the customer"), field="customer_id")
    return get_customer_or_404(user, customer_id if customer_id is not None else user.customer_id)


def requester_contact(user, customer, contact_id):
    """The contact staff name as a new case's requester (None if none named); a customer's user names none."""
    if contact_id is None:
        return None
    if user.role == Role.CUSTOMER:
        raise InvalidInput(_("only staff set this"), field="requester_contact_id")
    contact = BillingContact.objects.filter(customer=customer, pk=contact_id).first()
    if contact is None:
        raise InvalidInput(_("no such contact of this customer"), field="requester_contact_id")
    return contact


@router.post("/cases", response={201: CaseOut}, summary="Open a case",
             description="A customer's user opens for its own customer (customer_id may be left out), through the "
                         "API channel. Staff name the customer and may log a phone call, a chat or an internal case.")
def open_case(request, payload: CaseIn):
    require(request.user, "cases.open")
    user = request.user
    customer_user = user.role == Role.CUSTOMER
    customer = requesting_customer(user, payload.customer_id)
    if customer_user:
        if payload.channel != Channel.API:
            raise InvalidInput(_("a customer's user opens cases through the API channel"), field="channel")
        for field in ("assignee_id", "team_id", "requester_contact_id"):
            if getattr(payload, field) is not None:
                raise InvalidInput(_("only staff set this"), field=field)
    elif payload.channel not in STAFF_CHANNELS:
        raise InvalidInput(_("staff log cases by API, phone, chat or as internal"), field="channel")
    contact = requester_contact(user, customer, payload.requester_contact_id)
    email = payload.requester_email.strip()
    if email:
        try:
            validate_email(email)
        except Exception:
            raise InvalidInput(_("%(email)s is not an email address"), field="requester_email", email=repr(email))
    case = services.open_case(
        customer=customer, subject=payload.subject, description=payload.description, actor=user, type=payload.type,
        severity=payload.severity, channel=payload.channel, requester_contact=contact, requester_email=email,
        requester_name=payload.requester_name, cc=payload.cc, tags=payload.tags if not customer_user else (),
        assignee=_staff_member(payload.assignee_id, "assignee_id"), team=_team(payload.team_id),
        **_links(request, customer, payload))
    return 201, case_out(case, user)


# After /cases/bulk and /cases.csv, which it would otherwise match.
@router.post("/cases/bulk", response=BulkOut, summary="Assign, or set the status of, many cases: all or none")
def bulk(request, payload: BulkIn):
    require(request.user, "cases.work")
    if payload.action not in ("assign", "status"):
        raise InvalidInput(_("%(value)s is not one of the choices"), field="action", value=repr(payload.action))
    ids = list(dict.fromkeys(payload.ids))
    found = scope(Case.objects.all(), request.user).in_bulk(ids)
    for i, pk in enumerate(payload.ids):
        if pk not in found:
            raise InvalidInput(_("no such case"), field=f"ids[{i}]")
    if payload.action == "assign":
        assignee, team = _staff_member(payload.assignee_id, "assignee_id"), _team(payload.team_id)
    elif not payload.status:
        raise InvalidInput(_("give the status"), field="status")
    with transaction.atomic():
        for pk in ids:
            try:
                if payload.action == "assign":
                    services.assign(case=found[pk], actor=request.user, assignee=assignee, team=team,
                                    reason=payload.reason)
                else:
                    services.change_status(case=found[pk], status=payload.status, actor=request.user,
                                           reason=payload.reason)
            except DomainError as exc:
                if isinstance(exc, InvalidInput) and exc.field in ("assignee_id", "team_id", "status", "reason"):
                    raise  # about the request, not about this case
                raise type(exc)(Refusal(exc.template, **exc.params), field=f"ids[{payload.ids.index(pk)}]",
                                code=exc.code) from exc
    return {"updated": len(ids), "ids": ids}


@router.get("/cases/{case_id}", response=CaseOut, summary="One case with its conversation",
            description="Internal notes, events and SLA clocks are shown to staff only.")
def get_case(request, case_id: Id):
    return case_out(_case_for(request, case_id, "cases.view"), request.user)


@router.patch("/cases/{case_id}", response=CaseOut, summary="Change what a case is about")
def update_case(request, case_id: Id, payload: CasePatch):
    case = _case_for(request, case_id, "cases.work")
    links = _links(request, case.customer, payload)
    services.update_details(case=case, actor=request.user, subject=payload.subject, type=payload.type,
                            severity=payload.severity, tags=payload.tags, cc=payload.cc, reason=payload.reason,
                            **links)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/replies", response={201: MessageOut},
             summary="A public reply: emailed to the requester and CC, shown in the portal")
def reply(request, case_id: Id, payload: ReplyIn):
    case = _case_for(request, case_id, "cases.work")
    return 201, message_out(services.reply(case=case, body=payload.body, actor=request.user, status=payload.status))


@router.post("/cases/{case_id}/notes", response={201: MessageOut}, summary="An internal note (staff only, never sent)")
def note(request, case_id: Id, payload: MessageIn):
    case = _case_for(request, case_id, "cases.work")
    return 201, message_out(services.add_note(case=case, body=payload.body, actor=request.user))


@router.post("/cases/{case_id}/messages", response={201: MessageOut},
             summary="The customer's user writes on its case (reopens a resolved one, or opens a follow-up)")
def customer_message(request, case_id: Id, payload: MessageIn):
    case = _customers_own(request, case_id)
    return 201, message_out(services.customer_message(case=case, body=payload.body, actor=request.user,
                                                      channel=Channel.API))


class UploadIn(Schema):
    body: Body
    kind: Code = "public"  # public (a reply; the customer's own message for its user) or internal (a note)
    status: Code | None = None  # after a staff reply: open, waiting_customer or waiting_operator


@router.post("/cases/{case_id}/attachments", response={201: MessageOut},
             summary="A message with files (multipart): a reply or note by staff, the customer's message by its user")
def upload(request, case_id: Id, payload: Form[UploadIn], attachments: File[list[UploadedFile]]):
    case = _case_for(request, case_id, "cases.reply")
    if payload.kind not in (MessageKind.PUBLIC, MessageKind.INTERNAL):
        raise InvalidInput(_("%(value)s is not one of the choices"), field="kind", value=repr(payload.kind))
    customer_user = request.user.role == Role.CUSTOMER
    if customer_user and payload.kind != MessageKind.PUBLIC:
        raise PermissionDenied("internal notes are staff's")
    if not customer_user:
        require(request.user, "cases.work")
    files = read_uploads(attachments, required=True)
    if customer_user:
        message = services.customer_message(case=case, body=payload.body, actor=request.user, channel=Channel.API,
                                            attachments=files)
    elif payload.kind == MessageKind.INTERNAL:
        message = services.add_note(case=case, body=payload.body, actor=request.user, attachments=files)
    else:
        message = services.reply(case=case, body=payload.body, actor=request.user, status=payload.status,
                                 attachments=files)
    return 201, message_out(message)


@router.get("/cases/{case_id}/attachments/{attachment_id}", url_name="support_case_attachment",
            summary="Download a file of a case",
            openapi_extra={"responses": {200: {"description": "The file", "content": {
                "*/*": {"schema": {"type": "string", "format": "binary"}}}}}})  # the file's own type
def download(request, case_id: Id, attachment_id: Id):
    """A customer's user gets a file of its own case's public messages only; any other is not found."""
    case = _case_for(request, case_id, "cases.view")
    attachment = CaseAttachment.objects.select_related("message").filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    if not has_perm(request.user, "cases.internal") and (attachment.message is None or not attachment.message.is_public):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise Http404
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"  # never rendered as the type a browser guesses
    return response


@router.get("/cases/{case_id}/canned/{reply_id}", response=RenderedReplyOut,
            summary="A canned reply filled with the case's customer's figures (balance, overdue, dates)")
def canned_for_case(request, case_id: Id, reply_id: Id):
    from .figures import render_canned

    case = _case_for(request, case_id, "cases.work")
    reply = CannedReply.objects.filter(pk=reply_id, is_active=True).first()
    if reply is None:
        raise Http404
    return {"reply_id": reply.pk, "case_id": case.pk, "title": reply.title, "language": reply.language,
            "body": render_canned(reply, case)}


@router.post("/cases/{case_id}/status", response=CaseOut, summary="Set a case open or waiting (customer, operator)")
def change_status(request, case_id: Id, payload: StatusIn):
    case = _case_for(request, case_id, "cases.work")
    services.change_status(case=case, status=payload.status, actor=request.user, reason=payload.reason)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/assign", response=CaseOut, summary="Give a case to an agent and/or a team")
def assign(request, case_id: Id, payload: AssignIn):
    case = _case_for(request, case_id, "cases.work")
    services.assign(case=case, actor=request.user, assignee=_staff_member(payload.assignee_id, "assignee_id"),
                    team=_team(payload.team_id), reason=payload.reason)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/resolve", response=CaseOut,
             summary="Send the resolution; the case closes once the customer has it")
def resolve(request, case_id: Id, payload: MessageIn):
    case = _case_for(request, case_id, "cases.work")
    services.resolve(case=case, body=payload.body, actor=request.user)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/close", response=CaseOut,
             summary="Close a resolved case (409 resolution_not_delivered until the customer has the resolution)")
def close(request, case_id: Id, payload: CloseIn):
    case = _case_for(request, case_id, "cases.work")
    services.close(case=case, actor=request.user, reason=payload.reason)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/confirm", response=CaseOut, summary="The customer's user confirms the resolution")
def confirm(request, case_id: Id):
    case = _customers_own(request, case_id)
    services.confirm_resolution(case=case, actor=request.user)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/score", response=CaseOut, summary="The customer's user scores the answer (1-5)")
def score(request, case_id: Id, payload: ScoreIn):
    case = _customers_own(request, case_id)
    services.record_satisfaction(case=case, score=payload.score, comment=payload.comment, actor=request.user)
    return case_out(case, request.user)


@router.post("/cases/{case_id}/merge", response=CaseOut,
             summary="Merge this case into another of the same customer (answers with the one that goes on)")
def merge(request, case_id: Id, payload: MergeIn):
    case = _case_for(request, case_id, "cases.work")
    target = scope(Case.objects.all(), request.user).filter(pk=payload.target_id).first()
    if target is None:
        raise InvalidInput(_("no such case"), field="target_id")
    return case_out(services.merge(source=case, target=target, actor=request.user, reason=payload.reason),
                    request.user)
