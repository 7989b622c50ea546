"""Raw mail posted in by a mail service (RFC 822 bytes), filed like mail fetched over IMAP; and the queue of
mail that waits for an agent (unmatched, held, too large, unreadable)."""

import datetime as dt

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require
from partnerdesk.api_schemas import Code, Id, Pagination, Reason
from partnerdesk.errors import InvalidInput, NotFound

from .mail import queue
from .mail.filing import ingest
from .models import NEEDS_AGENT, Case, InboundMail, MailSource

router = Router(tags=["support"])

RAW_TYPES = ("message/rfc822", "application/octet-stream")
CHUNK = 64 * 1024


class MailOut(Schema):
    id: int
    status: str
    received_at: dt.datetime
    source: str
    size: int
    message_id: str
    from_address: str
    subject: str
    problem: str
    customer_id: int | None
    case_id: int | None


class FileIn(Schema):
    """File the message to a customer (a new case) or to a case (a reply): exactly one of the two."""

    customer_id: Id | None = None
    case_id: Id | None = None
    reason: Reason = ""


class DiscardIn(Schema):
    reason: Reason


def _http_limit() -> int:
    """The largest body taken in: twice the desk's message limit, so an oversized message is still kept and its
    sender told; past that the body is refused unread (413)."""
    from .services import desk_settings

    return 2 * desk_settings().max_message_bytes


def _read_raw(request) -> bytes:
    """The posted body, read in chunks against the limit (a missing or false Content-Length changes nothing)."""
    limit = _http_limit()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise RequestDataTooBig("the posted message is larger than the desk accepts")
    parts, size = [], 0
    while True:
        chunk = request.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise RequestDataTooBig("the posted message is larger than the desk accepts")
        parts.append(chunk)
    return b"".join(parts)


@router.post("/mail/inbound", response={200: MailOut, 201: MailOut},
             summary="Post one raw RFC 822 message (Content-Type message/rfc822 or application/octet-stream); "
                     "201 when it is new, 200 when it was already received (nothing is done twice)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string", "format": "binary"}} for t in RAW_TYPES}}})
def post_inbound_mail(request):
    require(request.user, "mail.manage")
    content_type = (request.content_type or "").lower()
    if content_type not in RAW_TYPES:
        raise InvalidInput(_("send the raw message with Content-Type %(types)s"), field="body",
                           types=" or ".join(RAW_TYPES))
    raw = _read_raw(request)
    if not raw.strip():
        raise InvalidInput(_("the request has no message in its body"), field="body")
    mail = ingest(raw, source=MailSource.HTTP)
    return (201 if mail.is_new else 200), mail


@router.get("/mail/unmatched", response=list[MailOut],
            summary="Mail waiting for an agent (unmatched, held, too large, unreadable), oldest first")
@paginate(Pagination)
def list_waiting_mail(request, status: Code | None = None):
    require(request.user, "cases.internal")
    mails = queue.waiting()
    if status:
        if status not in NEEDS_AGENT:
            raise InvalidInput(_("status must be one of %(choices)s"), field="status", choices=", ".join(NEEDS_AGENT))
        mails = mails.filter(status=status)
    return mails


def _mail_or_404(mail_id: int) -> InboundMail:
    mail = InboundMail.objects.filter(pk=mail_id).first()
    if mail is None:
        raise NotFound(_("there is no email %(id)s"), field="mail_id", id=mail_id)
    return mail


@router.post("/mail/{mail_id}/file", response=MailOut,
             summary="File a waiting message: to a customer (opens a case) or to a case (as the customer's reply)")
def file_mail(request, mail_id: Id, payload: FileIn):
    require(request.user, "mail.manage")
    mail = _mail_or_404(mail_id)
    if (payload.customer_id is None) == (payload.case_id is None):
        raise InvalidInput(_("give a customer or a case to file the email to, one of the two"), field="customer_id")
    if payload.customer_id is not None:
        customer = get_customer_or_404(request.user, payload.customer_id)
        queue.file_to_customer(mail, customer, actor=request.user, reason=payload.reason)
    else:
        case = get_scoped_or_404(Case.objects.all(), request.user, payload.case_id)
        queue.file_to_case(mail, case, actor=request.user, reason=payload.reason)
    mail.refresh_from_db()
    return mail


@router.post("/mail/{mail_id}/discard", response=MailOut,
             summary="Set a waiting message aside (it stays kept, with who discarded it and why)")
def discard_mail(request, mail_id: Id, payload: DiscardIn):
    require(request.user, "mail.manage")
    return queue.discard(_mail_or_404(mail_id), actor=request.user, reason=payload.reason)

