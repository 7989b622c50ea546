"""The fapiao API: a customer's invoicing details (what its fapiao carry), the fapiao of its invoices (request,
issued, delivered, red-letter reversal), and the files exchanged with the tax platform (the requests as CSV, its
results imported back).

Every route finds its object through the permission rule first (another customer's is a 404), then checks the role
(403): finance edits (fapiao.manage), staff read, a customer's users read their own customer's.
"""

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema, UploadedFile
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require, scope
from partnerdesk.api_schemas import BusinessDate, Code, Id, Name, Pagination, Reason, Search, Text
from partnerdesk.billing.queries import visible_invoices
from partnerdesk.errors import InvalidInput

from . import exchange, queries, services
from .models import FapiaoRecord, FapiaoStatus

router = Router(tags=["fapiao"])
CSV_ANSWER = {"responses": {200: {"description": "CSV (UTF-8 with a byte-order mark)",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}}}}


class BuyerIn(Schema):
    fapiao_type: Code = "general"  # general (普通发票) or special (专用发票)
    buyer_name: Name
    credit_code: Text(40)  # the unified social credit code, 18 characters
    address: Text(300) = ""
    phone: Text(40) = ""
    bank: Text(200) = ""
    bank_account: Text(60) = ""
    email: Text(254) = ""
    reason: Reason = ""


class BuyerOut(Schema):
    customer_id: int
    recorded: bool  # false: nothing recorded yet (the other fields are empty)
    fapiao_type: str = ""
    buyer_name: str = ""
    credit_code: str = ""
    address: str = ""
    phone: str = ""
    bank: str = ""
    bank_account: str = ""
    email: str = ""
    updated_at: dt.datetime | None = None


class RecordOut(Schema):
    id: int
    customer_id: int
    invoice_id: int
    invoice_number: str
    fapiao_type: str
    status: str  # requested, issued, delivered, reversal_requested, reversed
    amount: Decimal  # before tax
    tax: Decimal
    buyer_name: str
    credit_code: str
    number: str | None
    issued_on: dt.date | None
    delivered_on: dt.date | None
    requested_at: dt.datetime
    credit_note_id: int | None
    credit_note_number: str | None
    reversal_reason: str
    reversal_requested_at: dt.datetime | None
    red_letter_number: str | None
    reversed_on: dt.date | None

    @staticmethod
    def resolve_invoice_number(obj):
        return obj.invoice.number or ""

    @staticmethod
    def resolve_credit_note_number(obj):
        return obj.credit_note.number if obj.credit_note_id else None


class RequestIn(Schema):
    invoice_id: Id
    fapiao_type: Code | None = None  # by default the customer's (its invoicing details)
    reason: Reason = ""


class IssuedIn(Schema):
    number: Text(40)  # the 20-digit digital fapiao number
    issued_on: BusinessDate
    reason: Reason = ""


class DeliveredIn(Schema):
    delivered_on: BusinessDate
    reason: Reason = ""


class ReversalIn(Schema):
    reason: Code  # issuing_error, sales_return, service_terminated, sales_discount
    note: Reason = ""


class ReversalDoneIn(Schema):
    red_letter_number: Text(40)
    reversed_on: BusinessDate
    reason: Reason = ""


class FapiaoImportOut(Schema):
    rows: int
    issued: int
    delivered: int
    reversed: int
    unchanged: int


def _buyer_out(customer) -> dict:
    details = services.buyer_details_of(customer)
    if details is None:
        return {"customer_id": customer.pk, "recorded": False}
    return {"customer_id": customer.pk, "recorded": True, "updated_at": details.updated_at,
            **{name: getattr(details, name) for name in services.BUYER_FIELDS}}


def _records(request):
    require(request.user, "fapiao.view")
    return scope(FapiaoRecord.objects.select_related("invoice", "credit_note"), request.user)


def _record(request, record_id: int, *permissions: str) -> FapiaoRecord:
    """A fapiao the user may see (another customer's: 404), then the role's permissions (403)."""
    record = get_scoped_or_404(FapiaoRecord.objects.select_related("invoice", "credit_note"), request.user, record_id)
    for permission in permissions:
        require(request.user, permission)
    return record


def _fresh(record: FapiaoRecord) -> FapiaoRecord:
    return FapiaoRecord.objects.select_related("invoice", "credit_note").get(pk=record.pk)


def _status(value: str | None) -> str | None:
    if value and value not in FapiaoStatus.values:
        raise InvalidInput(_("the status must be one of %(codes)s"), field="status", codes=", ".join(FapiaoStatus.values))
    return value


@router.get("/fapiao/buyers/{customer_id}", response=BuyerOut, summary="A customer's invoicing details for its fapiao")
def get_buyer(request, customer_id: Id):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "fapiao.view")
    return _buyer_out(customer)


@router.put("/fapiao/buyers/{customer_id}", response=BuyerOut, summary="Record a customer's invoicing details",
            description="The buyer's name and unified social credit code (checked, GB 32100-2015); a special VAT "
                        "invoice also needs the address, phone, bank and account.")
def set_buyer(request, customer_id: Id, payload: BuyerIn):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "fapiao.manage")
    services.set_buyer_details(customer, actor=request.user, **payload.dict())
    return _buyer_out(customer)


@router.get("/fapiao/records", response=list[RecordOut], summary="Fapiao requests and records, newest first")
@paginate(Pagination)
def list_records(request, status: Code | None = None, customer_id: Id | None = None, invoice_id: Id | None = None,
                 number: Search | None = None, requested_since: BusinessDate | None = None,
                 requested_until: BusinessDate | None = None):
    return queries.filter_records(_records(request), status=_status(status), customer_id=customer_id,
                                  invoice_id=invoice_id, number=number, since=requested_since, until=requested_until)


@router.get("/fapiao/records/{record_id}", response=RecordOut, summary="One fapiao request or record")
def get_record(request, record_id: Id):
    return _record(request, record_id, "fapiao.view")


@router.post("/fapiao/requests", response={201: RecordOut}, summary="Request a fapiao for an issued invoice",
             description="For what of the invoice no fapiao stands for yet (its amount and tax), with the buyer's "
                         "details as they are now.")
def request_fapiao(request, payload: RequestIn):
    invoice = get_scoped_or_404(visible_invoices(request.user), request.user, payload.invoice_id)
    require(request.user, "fapiao.manage")
    record = services.request_fapiao(invoice, actor=request.user, fapiao_type=payload.fapiao_type,
                                     reason=payload.reason)
    return 201, _fresh(record)


@router.post("/fapiao/records/{record_id}/issue", response=RecordOut,
             summary="Record that the tax platform issued the fapiao (number and date)")
def issue(request, record_id: Id, payload: IssuedIn):
    record = _record(request, record_id, "fapiao.manage")
    return _fresh(services.record_issued(record, number=payload.number, issued_on=payload.issued_on,
                                         actor=request.user, reason=payload.reason))


@router.post("/fapiao/records/{record_id}/deliver", response=RecordOut,
             summary="Record that the buyer received the fapiao")
def deliver(request, record_id: Id, payload: DeliveredIn):
    record = _record(request, record_id, "fapiao.manage")
    return _fresh(services.record_delivered(record, delivered_on=payload.delivered_on, actor=request.user,
                                            reason=payload.reason))


@router.post("/fapiao/records/{record_id}/reversal", response=RecordOut,
             summary="Ask for a red-letter reversal (红字发票) of an issued fapiao")
def request_reversal(request, record_id: Id, payload: ReversalIn):
    record = _record(request, record_id, "fapiao.manage")
    return _fresh(services.request_reversal(record, reason_code=payload.reason, actor=request.user,
                                            note=payload.note))


@router.put("/fapiao/records/{record_id}/reversal", response=RecordOut,
            summary="Change the reason of a requested red-letter reversal")
def change_reversal(request, record_id: Id, payload: ReversalIn):
    record = _record(request, record_id, "fapiao.manage")
    return _fresh(services.change_reversal_reason(record, reason_code=payload.reason, actor=request.user,
                                                  note=payload.note))


@router.post("/fapiao/records/{record_id}/reversal/done", response=RecordOut,
             summary="Record the red-letter fapiao the tax platform issued (number and date)")
def reversal_done(request, record_id: Id, payload: ReversalDoneIn):
    record = _record(request, record_id, "fapiao.manage")
    return _fresh(services.record_reversal_done(record, red_letter_number=payload.red_letter_number,
                                                reversed_on=payload.reversed_on, actor=request.user,
                                                reason=payload.reason))


@router.get("/fapiao/export.csv", summary="The requested fapiao as CSV for the tax platform", openapi_extra=CSV_ANSWER)
def export(request, customer_id: Id | None = None, status: Code | None = "requested"):
    require(request.user, "fapiao.manage")
    records = queries.filter_records(FapiaoRecord.objects.all(), status=_status(status), customer_id=customer_id)
    response = HttpResponse(exchange.export_requests(records), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate(timezone=queries.CHINA).isoformat()
    response["Content-Disposition"] = f'attachment; filename="fapiao-requests-{stamp}.csv"'
    return response


@router.post("/fapiao/import", response=FapiaoImportOut, summary="Import the tax platform's results (all or nothing)",
             description="CSV rows naming a request (申请编号 request_id) with its fapiao number and date, its delivery "
                         "date, or its red-letter number and date. Every problem is listed by row and column and "
                         "nothing changes unless there is none; the same results again change nothing.")
def import_results(request, file: UploadedFile = File(...)):
    require(request.user, "fapiao.manage")
    result = exchange.import_results(file.read(), actor=request.user, file=file.name or "")
    return result.__dict__
