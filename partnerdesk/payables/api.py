"""The payables API: the operator's invoices to the partner with their due dates, payments and late charges, the
partner account's standing with the operator, and finance's settings.

Staff only: every staff role reads (payables.view); finance and administrators change (payables.manage). A
customer's user gets 403 (these are the partner's own books, not a customer's). The figures that depend on a
day (status, days left or overdue, late charge, standing) are as of `as_of`, today in Beijing by default; the
rules are in payables.standing.
"""

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from partnerdesk import bounds
from partnerdesk.accounts.permissions import require
from partnerdesk.api_schemas import Amount, BusinessDate, Code, Days, Id, Note, Rate, Reason, Reference, Text
from partnerdesk.errors import InvalidInput

from . import services, standing
from .models import OperatorInvoice, OperatorInvoiceStatus

router = Router(tags=["payables"])

OPEN, LATE = "open", "late"  # the list's filters besides the stored statuses
STATUS_FILTERS = [*OperatorInvoiceStatus.values, OPEN, LATE]


class OperatorInvoiceIn(Schema):
    number: Text(services.NUMBER_LENGTH, min_length=1)
    billing_date: BusinessDate
    period_start: BusinessDate
    period_end: BusinessDate
    amount: Amount
    currency: Code = "CNY"
    due_date: BusinessDate | None = None  # left out: the billing date + 30 days


class OperatorInvoicePatch(Schema):
    billing_date: BusinessDate | None = None
    period_start: BusinessDate | None = None
    period_end: BusinessDate | None = None
    amount: Amount | None = None
    # A date sets the due date agreed with the operator; null puts it back to the billing date + 30 days.
    due_date: BusinessDate | None = None
    notes: Note | None = None
    reason: Reason = ""


class OperatorPaymentIn(Schema):
    amount: Amount
    paid_on: BusinessDate
    reference: Reference = ""
    idempotency_key: Text(services.IDEMPOTENCY_KEY_LENGTH) | None = None
    reason: Reason = ""


class OperatorInvoiceOut(Schema):
    id: int
    number: str
    billing_date: dt.date
    period_start: dt.date
    period_end: dt.date
    amount: Decimal
    currency: str
    due_date: dt.date
    due_date_set: bool  # finance set the due date (else the billing date + 30 days)
    pay_by: dt.date  # the due date, or the next working day when it is not one (banks are closed)
    as_of: dt.date
    status: str  # unpaid, partially_paid, paid (as of as_of)
    paid: Decimal  # paid by as_of
    outstanding: Decimal
    paid_on: dt.date | None  # paid in full on (by as_of)
    late: bool
    days_left: int | None  # to the pay-by date, while owed and not late
    days_overdue: int | None  # since the due date, while late
    months_late: int  # calendar months or part of one, from the due date (frozen once paid)
    late_charge: Decimal  # the rate x the invoice amount x months late
    notes: str


class OperatorPaymentOut(Schema):
    id: int
    operator_invoice_id: int
    amount: Decimal
    paid_on: dt.date
    reference: str
    recorded_by: str | None
    created_at: dt.datetime


class OperatorInvoiceDetailOut(OperatorInvoiceOut):
    payments: list[OperatorPaymentOut]


class RecordedPaymentOut(OperatorPaymentOut):
    invoice: OperatorInvoiceOut  # the invoice after the payment (as of today)


class OperatorInvoicePage(Schema):
    items: list[OperatorInvoiceOut]
    count: int


class StandingOut(Schema):
    as_of: dt.date
    status: str  # current, late or delinquent
    label: str  # the status in the client's language
    restricted: bool  # delinquent: the operator allows no new customers, orders, quantity changes or add-ons
    delinquent_after_days: int
    most_days_overdue: int
    outstanding: Decimal
    overdue: Decimal
    late_charges: Decimal  # of the late invoices, so far
    late: list[OperatorInvoiceOut]  # most overdue first
    next_due: OperatorInvoiceOut | None  # the next invoice to pay (earliest pay-by date) that is not late


class FinanceSettingsOut(Schema):
    late_charge_monthly_rate: Decimal  # 0.0150 = 1.5% a month
    warn_days_before_due: int
    delinquent_after_days: int
    reconciliation_tolerance: Decimal
    updated_at: dt.datetime | None
    updated_by: str | None


class FinanceSettingsIn(Schema):
    late_charge_monthly_rate: Rate | None = None  # at most 0.015 (the contract's); a legal maximum may be lower
    warn_days_before_due: Days | None = None
    delinquent_after_days: Days | None = None
    reconciliation_tolerance: Amount | None = None
    reason: Reason = ""


class ListFilters(Schema):
    as_of: BusinessDate | None = None
    status: Code | None = None  # unpaid, partially_paid, paid, open (not paid), late
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=bounds.MAX_OFFSET)


def invoice_out(p: standing.Position) -> dict:
    inv = p.invoice
    fields = {name: getattr(inv, name) for name in ("id", "number", "billing_date", "period_start", "period_end",
                                                      "amount", "currency", "due_date", "due_date_set", "notes")}
    return {**fields, "pay_by": p.pay_by, "as_of": p.as_of, "status": p.status, "paid": p.paid,
            "outstanding": p.outstanding, "paid_on": p.paid_in_full_on, "late": p.late, "days_left": p.days_left,
            "days_overdue": p.days_overdue, "months_late": p.months_late, "late_charge": p.late_charge}


def payment_out(payment) -> dict:
    return {"id": payment.pk, "operator_invoice_id": payment.operator_invoice_id, "amount": payment.amount,
            "paid_on": payment.paid_on, "reference": payment.reference, "created_at": payment.created_at,
            "recorded_by": payment.recorded_by.get_username() if payment.recorded_by_id else None}


def _invoice(request, invoice_id: int, permission: str) -> OperatorInvoice:
    require(request.user, permission)
    return get_object_or_404(OperatorInvoice, pk=invoice_id)


def _detail(invoice: OperatorInvoice, as_of: dt.date | None = None) -> dict:
    [p] = standing.positions(OperatorInvoice.objects.filter(pk=invoice.pk), as_of)
    payments = invoice.payments.select_related("recorded_by").order_by("paid_on", "pk")
    return {**invoice_out(p), "payments": [payment_out(x) for x in payments]}


@router.get("/payables/invoices", response=OperatorInvoicePage,
            summary="The operator's invoices to the partner, newest billing date first, with their figures as of a day")
def list_invoices(request, filters: Query[ListFilters]):
    require(request.user, "payables.view")
    if filters.status is not None and filters.status not in STATUS_FILTERS:
        raise InvalidInput(_("%(value)s is not one of the choices"), field="status", value=repr(filters.status))
    as_of = filters.as_of or timezone.localdate()
    invoices = OperatorInvoice.objects.all()
    if filters.status in OperatorInvoiceStatus.values or filters.status == OPEN:
        # (the stored status is today's; as of another day it is worked out from the payments' dates)
        rows = [p for p in standing.positions(invoices, as_of)
                if p.status == filters.status or (filters.status == OPEN and p.outstanding > 0)]
    elif filters.status == LATE:
        rows = [p for p in standing.positions(invoices.exclude(paid_on__lte=as_of), as_of) if p.late]
    else:
        count = invoices.count()
        page = invoices[filters.offset:filters.offset + filters.limit]
        return {"items": [invoice_out(p) for p in standing.positions(page, as_of)], "count": count}
    return {"items": [invoice_out(p) for p in rows[filters.offset:filters.offset + filters.limit]],
            "count": len(rows)}


@router.post("/payables/invoices", response={201: OperatorInvoiceDetailOut, 200: OperatorInvoiceDetailOut},
             summary="Record an operator invoice (200 with the invoice already recorded under this number and "
                     "figures; 409 if the number is recorded with other figures)")
def create_invoice(request, payload: OperatorInvoiceIn):
    require(request.user, "payables.manage")
    data = services.OperatorInvoiceInput(
        number=payload.number, billing_date=payload.billing_date, period_start=payload.period_start,
        period_end=payload.period_end, amount=payload.amount, currency=payload.currency, due_date=payload.due_date)
    invoice, created = services.record_operator_invoice(data, actor=request.user)
    return (201 if created else 200), _detail(invoice)


@router.get("/payables/invoices/{operator_invoice_id}", response=OperatorInvoiceDetailOut,
            summary="One operator invoice with its payments and its figures as of a day")
def get_invoice(request, operator_invoice_id: Id, as_of: BusinessDate | None = None):
    return _detail(_invoice(request, operator_invoice_id, "payables.view"), as_of)


@router.patch("/payables/invoices/{operator_invoice_id}", response=OperatorInvoiceDetailOut,
              summary="Correct an operator invoice, or set its due date (null: back to the billing date + 30 days)",
              description="Audited with the reason. The amount cannot go below what was paid, nor change once a "
                          "reconciliation file was checked against it.")
def update_invoice(request, operator_invoice_id: Id, payload: OperatorInvoicePatch):
    invoice = _invoice(request, operator_invoice_id, "payables.manage")
    changes = {name: getattr(payload, name) for name in payload.model_fields_set if name != "reason"}
    for name, value in changes.items():
        if value is None and name != "due_date":
            raise InvalidInput(_("give a value, or leave the field out"), field=name)
    invoice = services.update_operator_invoice(invoice, actor=request.user, reason=payload.reason, **changes)
    return _detail(invoice)


@router.post("/payables/invoices/{operator_invoice_id}/payments", response={201: RecordedPaymentOut,
                                                                             200: RecordedPaymentOut},
             summary="Record a payment to the operator (idempotent with idempotency_key or an Idempotency-Key "
                     "header; more than the invoice still owes is refused)")
def record_payment(request, operator_invoice_id: Id, payload: OperatorPaymentIn):
    invoice = _invoice(request, operator_invoice_id, "payables.manage")
    key = payload.idempotency_key or request.headers.get("Idempotency-Key") or None
    result = services.record_operator_payment(invoice, amount=payload.amount, paid_on=payload.paid_on,
                                              reference=payload.reference, idempotency_key=key,
                                              reason=payload.reason, actor=request.user)
    payment = result.payment
    [p] = standing.positions(OperatorInvoice.objects.filter(pk=invoice.pk))
    return (201 if result.created else 200), {**payment_out(payment), "invoice": invoice_out(p)}


@router.get("/payables/standing", response=StandingOut,
            summary="The partner account's standing with the operator on a day: current, late or delinquent")
def get_standing(request, as_of: BusinessDate | None = None):
    require(request.user, "payables.view")
    st = standing.account_standing(as_of)
    return {"as_of": st.as_of, "status": st.status, "label": st.label, "restricted": st.restricted,
            "delinquent_after_days": st.delinquent_after_days, "most_days_overdue": st.most_days_overdue,
            "outstanding": st.outstanding, "overdue": st.overdue, "late_charges": st.late_charges,
            "late": [invoice_out(p) for p in st.late],
            "next_due": invoice_out(st.next_due) if st.next_due is not None else None}


def _settings_out(row) -> dict:
    return {name: getattr(row, name) for name in services.SETTINGS_FIELDS} | {
        "updated_at": row.updated_at, "updated_by": row.updated_by.get_username() if row.updated_by_id else None}


@router.get("/payables/settings", response=FinanceSettingsOut, summary="Finance's settings for payables")
def get_settings(request):
    require(request.user, "payables.view")
    return _settings_out(services.finance_settings())


@router.put("/payables/settings", response=FinanceSettingsOut,
            summary="Change finance's settings (those given): the late charge rate (at most 1.5% a month), the "
                    "warning days, when the account is delinquent, the reconciliation tolerance")
def put_settings(request, payload: FinanceSettingsIn):
    require(request.user, "payables.manage")
    values = payload.dict(exclude_none=True, exclude={"reason"})
    return _settings_out(services.update_finance_settings(actor=request.user, reason=payload.reason, **values))
