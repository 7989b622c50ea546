"""The API of dispute cases: open one for amounts of invoices, dispute an amount in a case, uphold, reject.

Every route finds the case (or the customer and invoices) through the permission rule first: another customer's
is a 404, whatever the route; then it checks the role (403). Customers' users open dispute cases on their own
invoices (cases.open); agents work them (cases.work), and upholding issues a credit note (credit.issue too).
"""

import datetime as dt

from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from partnerdesk.accounts.permissions import get_scoped_or_404, require
from partnerdesk.api_schemas import Amount, BusinessDate, Id, Note, Reason
from partnerdesk.billing.models import Refund
from partnerdesk.billing.queries import visible_invoices
from partnerdesk.dunning.models import Dispute
from partnerdesk.dunning.services import undisputed_balance
from partnerdesk.errors import InvalidInput
from partnerdesk.support.api_cases import requester_contact, requesting_customer
from partnerdesk.support.models import Case, Channel

from . import services

router = Router(tags=["disputes"])


class CaseDisputeAmountIn(Schema):
    invoice_id: Id
    amount: Amount


class DisputeCaseIn(Schema):
    customer_id: Id | None = None  # a customer's user: its own customer (may be left out)
    invoices: list[CaseDisputeAmountIn] = Field(..., min_length=1, max_length=services.MAX_INVOICES)
    reason: Reason
    requester_contact_id: Id | None = None  # staff: the contact who disputes


class CaseDisputeAddIn(Schema):
    invoice_id: Id
    amount: Amount
    reason: Reason = ""


class CaseDisputeUpholdIn(Schema):
    dispute_id: Id | None = None  # which one, when the case has several open
    amount: Amount
    message: Note = ""
    refund_id: Id | None = None  # an invoice paid in full meanwhile: the refund made in billing for what is upheld


class CaseDisputeRejectIn(Schema):
    dispute_id: Id | None = None  # only this one (else every open dispute of the case)
    resume_on: BusinessDate | None = None  # by default the first working day a week on
    message: Note = ""


class CaseDisputeOut(Schema):
    id: int
    invoice_id: int
    invoice_number: str
    status: str
    amount: str  # disputed (while open: what collections leaves alone)
    still_counts: str  # the invoice's open balance that collections counts
    outcome: str
    upheld_amount: str | None
    credit_note_number: str | None
    resume_on: dt.date | None


class DisputeCaseOut(Schema):
    case_id: int
    token: str
    status: str
    disputes: list[CaseDisputeOut]


def _dispute_out(dispute: Dispute) -> dict:
    return {"id": dispute.pk, "invoice_id": dispute.invoice_id, "invoice_number": dispute.invoice.number,
            "status": dispute.status, "amount": str(services.disputed_amount(dispute)),
            "still_counts": str(undisputed_balance(dispute.invoice)), "outcome": dispute.outcome,
            "upheld_amount": str(dispute.upheld_amount) if dispute.upheld_amount is not None else None,
            "credit_note_number": dispute.credit_note.number if dispute.credit_note_id else None,
            "resume_on": dispute.resume_on}


def _case_out(case: Case) -> dict:
    case = Case.objects.get(pk=case.pk)
    disputes = Dispute.objects.filter(case=case).select_related("invoice", "credit_note").order_by("id")
    return {"case_id": case.pk, "token": case.token, "status": case.status,
            "disputes": [_dispute_out(d) for d in disputes]}


def _case_for(request, case_id: int, *permissions: str) -> Case:
    """A case the user may see (another customer's: 404), then the role's permissions (403)."""
    case = get_scoped_or_404(Case.objects.select_related("customer"), request.user, case_id)
    for permission in permissions:
        require(request.user, permission)
    return case


def _invoice(request, customer, invoice_id: int):
    return get_scoped_or_404(visible_invoices(request.user).filter(customer=customer), request.user, invoice_id)


def _dispute(case: Case, dispute_id: int | None):
    if dispute_id is None:
        return case
    dispute = Dispute.objects.filter(case=case, pk=dispute_id).first()
    if dispute is None:
        raise InvalidInput(_("no such dispute in this case"), field="dispute_id")
    return dispute


@router.post("/dispute-cases", response={201: DisputeCaseOut}, summary="Open a dispute case for amounts of invoices",
             description="One dispute per invoice, each at most its open balance: collections leaves the disputed "
                         "amounts alone until they are decided. A customer's user opens one for its own customer.")
def open_dispute_case(request, payload: DisputeCaseIn):
    require(request.user, "cases.open")
    user = request.user
    customer = requesting_customer(user, payload.customer_id)
    contact = requester_contact(user, customer, payload.requester_contact_id)
    amounts = [(_invoice(request, customer, line.invoice_id), line.amount) for line in payload.invoices]
    case = services.open_dispute_case(customer=customer, actor=user, amounts=amounts, reason=payload.reason,
                                      requester=contact, channel=Channel.API)
    return 201, _case_out(case)


@router.get("/cases/{case_id}/disputes", response=DisputeCaseOut, summary="A case's disputes and what still counts")
def list_disputes(request, case_id: Id):
    return _case_out(_case_for(request, case_id, "cases.view"))


@router.post("/cases/{case_id}/disputes", response={201: DisputeCaseOut},
             summary="Dispute an amount of an invoice in a case (or change the amount disputed)")
def add_dispute(request, case_id: Id, payload: CaseDisputeAddIn):
    case = _case_for(request, case_id, "cases.work")
    invoice = _invoice(request, case.customer, payload.invoice_id)
    services.dispute_in_case(case, invoice, payload.amount, actor=request.user, reason=payload.reason)
    return 201, _case_out(case)


@router.post("/cases/{case_id}/disputes/uphold", response=DisputeCaseOut,
             summary="Uphold a dispute in full or in part: a credit note, and the customer is told in the case")
def uphold(request, case_id: Id, payload: CaseDisputeUpholdIn):
    case = _case_for(request, case_id, "cases.work", "credit.issue")
    refund = None
    if payload.refund_id is not None:
        refund = Refund.objects.filter(customer=case.customer, pk=payload.refund_id).first()
        if refund is None:
            raise InvalidInput(_("no such refund to this customer"), field="refund_id")
    services.uphold(_dispute(case, payload.dispute_id), amount=payload.amount, actor=request.user,
                    message=payload.message, refund=refund)
    return _case_out(case)


@router.post("/cases/{case_id}/disputes/reject", response=DisputeCaseOut,
             summary="Reject a case's open disputes: collections resume on the date the customer is told")
def reject(request, case_id: Id, payload: CaseDisputeRejectIn):
    case = _case_for(request, case_id, "cases.work")
    services.reject(_dispute(case, payload.dispute_id), actor=request.user, resume_on=payload.resume_on,
                    message=payload.message)
    return _case_out(case)
