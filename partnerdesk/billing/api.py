import datetime as dt
from decimal import Decimal

from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require, scope
from partnerdesk.api_schemas import (
    Amount,
    BusinessDate,
    Code,
    Id,
    Note,
    Pagination,
    Quantity,
    Rate,
    Reason,
    Reference,
    SignedAmount,
    Text,
)
from partnerdesk.customers.models import Subscription
from partnerdesk.errors import InvalidInput

from . import documents, services
from .models import Allocation, Invoice, Payment
from .queries import visible_invoices

router = Router(tags=["billing"])


class LineIn(Schema):
    description: Text(300, min_length=1)
    quantity: Quantity = "1"
    unit_price: SignedAmount
    tax_rate: Rate = "0"
    subscription_id: Id | None = None


class InvoiceIn(Schema):
    customer_id: Id
    lines: list[LineIn] = Field(..., min_length=1, max_length=500)
    issue_date: BusinessDate | None = None
    due_date: BusinessDate | None = None
    notes: Note = ""
    issue: bool = False


class LineOut(Schema):
    description: str
    subscription_id: int | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal


class InvoiceOut(Schema):
    id: int
    customer_id: int
    number: str | None
    status: str
    issue_date: dt.date | None
    due_date: dt.date | None
    currency: str
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    amount_paid: Decimal
    balance: Decimal
    voided_on: dt.date | None
    lines: list[LineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class InvoiceReasonIn(Schema):
    reason: Reason


class InvoiceDraftIn(Schema):
    lines: list[LineIn] = Field(..., min_length=1, max_length=500)
    issue_date: BusinessDate | None = None
    due_date: BusinessDate | None = None
    notes: Note = ""
    reason: Reason = ""


class CreditLineIn(Schema):
    description: Text(300, min_length=1)
    amount: Amount


class CreditNoteIn(Schema):
    """An amount alone (one line, described by the reason), or lines (and, if given, an amount they add up to)."""

    amount: Amount | None = None
    lines: list[CreditLineIn] | None = Field(None, min_length=1, max_length=500)
    reason: Reason


class CreditLineOut(Schema):
    description: str
    amount: Decimal


class CreditNoteOut(Schema):
    id: int
    number: str
    invoice_id: int
    amount: Decimal
    issued_on: dt.date
    reason: str
    lines: list[CreditLineOut]

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class AllocationIn(Schema):
    invoice_id: Id
    amount: Amount


class PaymentIn(Schema):
    customer_id: Id
    amount: Amount
    currency: Code = "CNY"
    received_on: BusinessDate
    method: Code
    reference: Reference = ""
    idempotency_key: Text(100) | None = None
    allocations: list[AllocationIn] | None = Field(None, max_length=500)


class AllocationOut(Schema):
    invoice_id: int
    invoice_number: str | None
    amount: Decimal

    @staticmethod
    def resolve_invoice_number(obj):
        return obj.invoice.number


class PaymentOut(Schema):
    id: int
    customer_id: int
    amount: Decimal
    currency: str
    received_on: dt.date
    method: str
    reference: str
    allocated_amount: Decimal
    refunded_amount: Decimal
    unallocated: Decimal
    reversed_on: dt.date | None
    reversal_reason: str
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj):
        return list(obj.allocations.all())


class MoveAllocationIn(Schema):
    from_invoice_id: Id
    to_invoice_id: Id
    amount: Amount | None = None  # default: all that the payment applied to from_invoice_id
    reason: Reason


class RefundIn(Schema):
    amount: Amount
    reason: Reason
    method: Code | None = None
    reference: Reference = ""


class RefundOut(Schema):
    id: int
    payment_id: int
    amount: Decimal
    refunded_on: dt.date
    method: str
    reference: str
    reason: str


class BalanceOut(Schema):
    customer_id: int
    currency: str
    balance: Decimal
    overdue: Decimal


class StatementLineOut(Schema):
    date: dt.date
    kind: str
    reference: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


class OpenItemOut(Schema):
    invoice_id: int
    number: str
    due_date: dt.date
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_overdue: int


class StatementOut(Schema):
    customer_id: int
    as_of: dt.date
    currency: str
    balance: Decimal
    credit_on_account: Decimal
    lines: list[StatementLineOut]
    open_items: list[OpenItemOut]


def _decimal(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise InvalidInput(_("%(value)s is not a number"), field=field, value=repr(value))
    if not number.is_finite() or number.adjusted() >= 10:
        raise InvalidInput(_("%(value)s is not a usable number"), field=field, value=repr(value))
    return number




# --- invoices ---------------------------------------------------------------------------------------------


@router.get("/invoices", response=list[InvoiceOut], summary="Invoices (scoped to what you may see)")
@paginate(Pagination)
def list_invoices(request, customer_id: Id | None = None, status: Code | None = None):
    require(request.user, "invoices.view")
    invoices = visible_invoices(request.user).prefetch_related("lines")
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    if status:
        invoices = invoices.filter(status=status)
    return invoices


@router.get("/invoices/{invoice_id}", response=InvoiceOut, summary="One invoice")
def get_invoice(request, invoice_id: Id):
    require(request.user, "invoices.view")
    return get_scoped_or_404(visible_invoices(request.user), request.user, invoice_id)


@router.post("/invoices", response={201: InvoiceOut}, summary="Create an invoice (draft, or issued with issue=true)")
def create_invoice(request, payload: InvoiceIn):
    require(request.user, "invoices.manage")
    customer = get_customer_or_404(request.user, payload.customer_id)
    lines = _line_inputs(customer, payload.lines)
    invoice = services.create_invoice(customer=customer, lines=lines, actor=request.user, issue_date=payload.issue_date,
                                      due_date=payload.due_date, notes=payload.notes, issue=payload.issue)
    invoice.refresh_from_db()
    return 201, invoice


def _line_inputs(customer, payload_lines) -> list:
    # One query for all the lines' subscriptions (an invoice may have hundreds of lines).
    wanted = {line.subscription_id for line in payload_lines if line.subscription_id is not None}
    subscriptions = Subscription.objects.filter(pk__in=wanted, customer=customer).in_bulk() if wanted else {}
    lines = []
    for i, line in enumerate(payload_lines):
        subscription = None
        if line.subscription_id is not None:
            subscription = subscriptions.get(line.subscription_id)
            if subscription is None:
                raise InvalidInput(_("no such subscription for this customer"), field=f"lines[{i}].subscription_id")
        lines.append(services.LineInput(
            description=line.description,
            quantity=_decimal(line.quantity, f"lines[{i}].quantity"),
            unit_price=services.parse_amount(line.unit_price, field=f"lines[{i}].unit_price", positive=False),
            tax_rate=_decimal(line.tax_rate, f"lines[{i}].tax_rate"),
            subscription=subscription,
        ))
    return lines


def _invoice_for_change(request, invoice_id: int, permission: str) -> Invoice:
    # A customer's user never learns that a draft exists: 404, as for any invoice it may not see.
    invoice = get_scoped_or_404(visible_invoices(request.user), request.user, invoice_id)
    require(request.user, permission)
    return invoice


@router.put("/invoices/{invoice_id}", response=InvoiceOut, summary="Replace a draft's lines, dates and notes")
def update_draft(request, invoice_id: Id, payload: InvoiceDraftIn):
    invoice = _invoice_for_change(request, invoice_id, "invoices.manage")
    lines = _line_inputs(invoice.customer, payload.lines)
    return services.update_draft(invoice, actor=request.user, lines=lines, issue_date=payload.issue_date,
                                 due_date=payload.due_date, notes=payload.notes, reason=payload.reason)


@router.post("/invoices/{invoice_id}/issue", response=InvoiceOut, summary="Issue a draft invoice")
def issue_invoice(request, invoice_id: Id):
    invoice = services.issue_invoice(_invoice_for_change(request, invoice_id, "invoices.manage"), actor=request.user)
    invoice.refresh_from_db()  # credit on account may have been applied to it
    return invoice


@router.post("/invoices/{invoice_id}/void", response=InvoiceOut, summary="Void an invoice nothing is applied to")
def void_invoice(request, invoice_id: Id, payload: InvoiceReasonIn):
    invoice = _invoice_for_change(request, invoice_id, "invoices.manage")
    return services.void_invoice(invoice, actor=request.user, reason=payload.reason)


@router.post("/invoices/{invoice_id}/credit-notes", response={201: CreditNoteOut}, summary="Credit part of an invoice")
def credit_invoice(request, invoice_id: Id, payload: CreditNoteIn):
    invoice = _invoice_for_change(request, invoice_id, "credit.issue")
    if payload.amount is None and not payload.lines:
        raise InvalidInput(_("give the amount or the lines of the credit note"), field="amount")
    lines = [services.CreditLineInput(line.description, line.amount) for line in payload.lines or []]
    return 201, services.issue_credit_note(invoice=invoice, amount=payload.amount, lines=lines or None,
                                           reason=payload.reason, actor=request.user)


# --- payments ---------------------------------------------------------------------------------------------


@router.get("/payments", response=list[PaymentOut], summary="Payments (scoped to what you may see)")
@paginate(Pagination)
def list_payments(request, customer_id: Id | None = None):
    require(request.user, "payments.view")
    payments = scope(Payment.objects.prefetch_related(Prefetch("allocations", Allocation.objects.select_related("invoice"))),
                     request.user)
    if customer_id is not None:
        payments = payments.filter(customer_id=customer_id)
    return payments


@router.get("/payments/{payment_id}", response=PaymentOut, summary="One payment")
def get_payment(request, payment_id: Id):
    require(request.user, "payments.view")
    return get_scoped_or_404(Payment.objects.prefetch_related("allocations__invoice"), request.user, payment_id)


@router.post("/payments", response={201: PaymentOut, 200: PaymentOut},
             summary="Record a payment (idempotent with idempotency_key or an Idempotency-Key header)")
def record_payment(request, payload: PaymentIn):
    require(request.user, "payments.record")
    customer = get_customer_or_404(request.user, payload.customer_id)
    allocations = None
    if payload.allocations:
        allocations = []
        invoices = Invoice.objects.filter(pk__in={a.invoice_id for a in payload.allocations}, customer=customer).in_bulk()
        for i, alloc in enumerate(payload.allocations):
            invoice = invoices.get(alloc.invoice_id)
            if invoice is None:
                raise InvalidInput(_("no such invoice for this customer"), field=f"allocations[{i}].invoice_id")
            allocations.append((invoice, alloc.amount))
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    result = services.record_payment(customer=customer, amount=payload.amount, currency=payload.currency,
                                     received_on=payload.received_on, method=payload.method, reference=payload.reference,
                                     idempotency_key=key, allocations=allocations, actor=request.user)
    return (201 if result.created else 200), result.payment


@router.post("/payments/{payment_id}/refunds", response={201: RefundOut}, summary="Refund unallocated credit")
def refund(request, payment_id: Id, payload: RefundIn):
    payment = get_scoped_or_404(Payment.objects.all(), request.user, payment_id)
    require(request.user, "credit.issue")
    return 201, services.refund_payment(payment=payment, amount=payload.amount, reason=payload.reason, actor=request.user,
                                        method=payload.method, reference=payload.reference)


# --- balance and statement ----------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/balance", response=BalanceOut, summary="What the customer owes now")
def balance(request, customer_id: Id):
    require(request.user, "statement.view")
    customer = get_customer_or_404(request.user, customer_id)
    owed, overdue = services.balances(customer)
    return {"customer_id": customer.pk, "currency": customer.currency, "balance": owed, "overdue": overdue}


@router.get("/customers/{customer_id}/statement", response=StatementOut, summary="The customer's statement at a date")
def statement(request, customer_id: Id, as_of: BusinessDate | None = None):
    require(request.user, "statement.view")
    customer = get_customer_or_404(request.user, customer_id)
    st = services.statement(customer, as_of=as_of)
    return {
        "customer_id": customer.pk, "as_of": st.as_of, "currency": customer.currency, "balance": st.balance,
        "credit_on_account": st.credit_on_account, "lines": st.lines,
        "open_items": [{"invoice_id": i.invoice.pk, "number": i.invoice.number, "due_date": i.invoice.due_date,
                        "total": i.total, "paid": i.paid, "balance": i.balance, "days_overdue": i.days_overdue}
                       for i in st.open_items],
    }


# --- documents (PDF) ------------------------------------------------------------------------------------------

PDF_RESPONSE = {"responses": {200: {"description": "PDF", "content": {"application/pdf": {
    "schema": {"type": "string", "format": "binary"}}}}}}


def _pdf(document) -> HttpResponse:
    response = HttpResponse(document.content, content_type=document.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


@router.get("/invoices/{invoice_id}/pdf", summary="One invoice as a PDF, in the customer's language",
            openapi_extra=PDF_RESPONSE)
def invoice_pdf(request, invoice_id: Id):
    """The invoice with its lines, totals, due date, what is still owed and how to pay (application/pdf)."""
    require(request.user, "invoices.view")
    return _pdf(documents.invoice_pdf(get_scoped_or_404(visible_invoices(request.user).select_related("customer"),
                                                        request.user, invoice_id)))


@router.get("/customers/{customer_id}/statement.pdf", summary="The customer's statement at a date, as a PDF",
            openapi_extra=PDF_RESPONSE)
def statement_pdf(request, customer_id: Id, as_of: BusinessDate | None = None):
    """The statement of account at the end of `as_of` (the customer's today if none), in its language."""
    require(request.user, "statement.view")
    return _pdf(documents.statement_pdf(get_customer_or_404(request.user, customer_id), as_of=as_of))


# --- corrections --------------------------------------------------------------------------------------------


@router.post("/payments/{payment_id}/reverse", response=PaymentOut,
             summary="Reverse a payment recorded twice or against the wrong customer (its allocations are undone)")
def reverse_payment(request, payment_id: Id, payload: InvoiceReasonIn):
    payment = get_scoped_or_404(Payment.objects.all(), request.user, payment_id)
    require(request.user, "payments.record")
    payment = services.reverse_payment(payment, reason=payload.reason, actor=request.user)
    return Payment.objects.prefetch_related("allocations__invoice").get(pk=payment.pk)


@router.post("/payments/{payment_id}/allocations/move", response=PaymentOut,
             summary="Move what a payment applied to one invoice to another invoice of the same customer")
def move_allocation(request, payment_id: Id, payload: MoveAllocationIn):
    payment = get_scoped_or_404(Payment.objects.all(), request.user, payment_id)
    require(request.user, "payments.record")
    invoices = Invoice.objects.filter(customer_id=payment.customer_id)
    from_invoice = invoices.filter(pk=payload.from_invoice_id).first()
    if from_invoice is None:
        raise InvalidInput(_("no such invoice for this customer"), field="from_invoice_id")
    to_invoice = invoices.filter(pk=payload.to_invoice_id).first()
    if to_invoice is None:
        raise InvalidInput(_("no such invoice for this customer"), field="to_invoice_id")
    services.move_allocation(payment, from_invoice=from_invoice, to_invoice=to_invoice, amount=payload.amount,
                             reason=payload.reason, actor=request.user)
    return Payment.objects.prefetch_related("allocations__invoice").get(pk=payment.pk)
