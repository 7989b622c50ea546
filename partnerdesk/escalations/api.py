"""The API of service requests to the operator: a case's requests, escalating, the portal's reference number,
the operator's answers, our notes, and one request with its notes and how the operator did against its targets.

Staff only: a customer's user gets 404 for every route (the request names the partner's own contact, and its
notes are the operator's answers to the partner). Another customer's case or request is a 404 as well.
"""

import datetime as dt

from django.http import Http404
from ninja import Field, Router, Schema

from partnerdesk import bounds
from partnerdesk.accounts.models import Role
from partnerdesk.accounts.permissions import get_scoped_or_404, require, scope
from partnerdesk.api_schemas import Code, Id, Name, Text
from partnerdesk.billing.queries import visible_invoices
from partnerdesk.customers.models import Subscription
from partnerdesk.errors import InvalidInput
from partnerdesk.support.models import Case

from . import services, targets
from .models import RequestChannel, ServiceRequest

router = Router(tags=["escalations"])

Title = Text(services.TITLE_LENGTH)
Description = Text(bounds.NOTE_LENGTH)
Reference = Text(services.REFERENCE_LENGTH)


class ServiceRequestIn(Schema):
    channel: Code | None = None  # portal or api; the escalation settings' default channel if left out
    topic: Code  # billing, subscription, fraud, technical
    severity: Code  # critical (A: technical only), moderate (B), minimal (C)
    title: Title
    description: Description
    language: Code = "zh-CN"  # of the request text: zh-CN, zh-TW or en
    invoice_ids: list[Id] = Field(default_factory=list, max_length=services.MAX_LINKS)
    subscription_ids: list[Id] = Field(default_factory=list, max_length=services.MAX_LINKS)


class ReferenceIn(Schema):
    reference: Reference


class AnswerIn(Schema):
    text: Description
    author: Name = ""
    written_at: dt.datetime | None = None  # when the operator wrote it (now if left out)
    status: Code | None = None  # open, attention_needed or closed, if the operator changed it


class NoteIn(Schema):
    text: Description


class NoteOut(Schema):
    id: int
    from_operator: bool
    author: str
    text: str
    written_at: dt.datetime
    source: str  # api, agent or email
    recorded_at: dt.datetime
    sent_at: dt.datetime | None  # a note of ours through the API: when the operator took it (null: waiting)


class MeasureOut(Schema):
    target_minutes: int
    due_at: dt.datetime | None
    at: dt.datetime | None
    business_minutes: int | None  # taken so far, on the operator's schedule
    met: bool | None  # null: not decided yet


class MeasuredOut(Schema):
    first_response: MeasureOut
    resolution: MeasureOut


class ServiceRequestOut(Schema):
    id: int
    case_id: int
    customer_id: int
    channel: str
    topic: str
    severity: str
    title: str
    description: str
    language: str
    contact_name: str
    contact_email: str
    contact_phone: str
    tenant_id: str
    invoice_ids: list[int]
    subscription_ids: list[int]
    reference: str
    status: str  # draft, open, attention_needed, closed
    created_at: dt.datetime
    filed_at: dt.datetime | None
    first_response_at: dt.datetime | None
    closed_at: dt.datetime | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    customer_told_at: dt.datetime | None
    last_error: str  # the API channel's last failure to reach the operator (empty when none)


class ServiceRequestDetailOut(ServiceRequestOut):
    notes: list[NoteOut]
    measured: MeasuredOut
    portal_text: str  # the text to paste into the operator's portal (portal channel; empty for the API)


def _staff(request) -> None:
    # Customers never learn that a request exists: 404, as for another customer's objects.
    if request.user.role == Role.CUSTOMER:
        raise Http404


def _case(request, case_id: int, permission: str) -> Case:
    _staff(request)
    case = get_scoped_or_404(Case.objects.select_related("customer"), request.user, case_id)
    require(request.user, permission)
    return case


def _request(request, sr_id: int, permission: str) -> ServiceRequest:
    _staff(request)
    sr = get_scoped_or_404(ServiceRequest.objects.select_related("case", "customer"), request.user, sr_id)
    require(request.user, permission)
    return sr


def request_out(sr: ServiceRequest) -> dict:
    fields = {name: getattr(sr, name) for name in ServiceRequestOut.model_fields
              if name not in ("invoice_ids", "subscription_ids")}
    return {**fields, "invoice_ids": list(sr.invoices.values_list("pk", flat=True)),
            "subscription_ids": list(sr.subscriptions.values_list("pk", flat=True))}


def detail_out(sr: ServiceRequest) -> dict:
    sr = ServiceRequest.objects.select_related("case", "customer").get(pk=sr.pk)
    notes = [{name: getattr(n, name) for name in NoteOut.model_fields} for n in sr.notes.all()]
    text = services.portal_text(sr) if sr.channel == RequestChannel.PORTAL else ""
    return {**request_out(sr), "notes": notes, "measured": targets.measured(sr), "portal_text": text}


def _links(request, case: Case, ids, rows, field: str) -> list:
    found = rows.filter(customer=case.customer).in_bulk(set(ids))
    for i, pk in enumerate(ids):
        if pk not in found:
            raise InvalidInput(services.NO_SUCH_LINK[field], field=f"{field}[{i}]")
    return [found[pk] for pk in dict.fromkeys(ids)]


@router.get("/cases/{case_id}/service-requests", response=list[ServiceRequestOut],
            summary="The case's service requests to the operator (staff only)")
def list_requests(request, case_id: Id):
    case = _case(request, case_id, "escalations.view")
    return [request_out(sr) for sr in case.service_requests.all()]


@router.post("/cases/{case_id}/service-requests", response={201: ServiceRequestDetailOut},
             summary="Escalate the case to the operator",
             description="The contact is the partner's own (the escalation settings), the tenant the customer's. "
                         "Portal: a draft whose portal_text the agent files in the operator's portal, then records "
                         "the reference. API: created at the operator; if it cannot be reached now, the worker sends "
                         "it (status stays draft, last_error says why). Severity critical (A) is for the technical "
                         "topic only. The case waits on the operator.")
def create_request(request, case_id: Id, payload: ServiceRequestIn):
    case = _case(request, case_id, "escalations.work")
    invoices = _links(request, case, payload.invoice_ids, visible_invoices(request.user), "invoice_ids")
    subscriptions = _links(request, case, payload.subscription_ids, scope(Subscription.objects.all(), request.user),
                           "subscription_ids")
    sr = services.escalate(case, actor=request.user, channel=payload.channel or targets.settings_row().default_channel,
                           topic=payload.topic, severity=payload.severity, title=payload.title,
                           description=payload.description, language=payload.language, invoices=invoices,
                           subscriptions=subscriptions)
    return 201, detail_out(sr)


@router.get("/service-requests/{sr_id}", response=ServiceRequestDetailOut,
            summary="One service request with the operator's notes and its times against the operator's targets")
def get_request(request, sr_id: Id):
    return detail_out(_request(request, sr_id, "escalations.view"))


@router.post("/service-requests/{sr_id}/reference", response=ServiceRequestDetailOut,
             summary="Portal: record the number the operator's portal gave; the request is open, its targets start")
def record_reference(request, sr_id: Id, payload: ReferenceIn):
    sr = _request(request, sr_id, "escalations.work")
    return detail_out(services.record_reference(sr, payload.reference, actor=request.user))


@router.post("/service-requests/{sr_id}/answers", response={201: NoteOut},
             summary="Log the operator's answer (shown on the case to staff only); optionally its new status")
def log_answer(request, sr_id: Id, payload: AnswerIn):
    sr = _request(request, sr_id, "escalations.work")
    if payload.written_at is not None and payload.written_at.tzinfo is None:
        raise InvalidInput(services.NEEDS_ZONE, field="written_at")
    note = services.log_operator_answer(sr, payload.text, actor=request.user, author=payload.author,
                                        written_at=payload.written_at, status=payload.status)
    return 201, {name: getattr(note, name) for name in NoteOut.model_fields}


@router.post("/service-requests/{sr_id}/notes", response={201: NoteOut},
             summary="Our note to the operator: sent through the API, or logged as filed in the portal")
def add_note(request, sr_id: Id, payload: NoteIn):
    sr = _request(request, sr_id, "escalations.work")
    note = services.add_our_note(sr, payload.text, request.user)
    note.refresh_from_db()
    return 201, {name: getattr(note, name) for name in NoteOut.model_fields}
