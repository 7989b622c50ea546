"""Every change to the partner's payables to the operator: its invoices to the partner, the partner's payments
to it, and finance's settings (the late charge rate, when to warn, when the account is delinquent, the
reconciliation tolerance).

Each function validates, changes the rows and writes the audit record in the same transaction. The rules that
turn these rows into due dates, late charges and the account's standing are in payables.standing; the warnings
to finance before a due date in payables.tasks. Decisions taken here:

- An operator invoice is due on its billing date + 30 days unless finance sets a date (update_operator_invoice
  with due_date; None puts it back). The override, like every correction, is audited with its reason.
- A payment may not exceed what the invoice still owes (an over-payment is refused, never kept as credit), nor
  be dated in the future or before the billing date. The invoice is unpaid, partially paid or paid; paid_on is
  the date of the payment that completed it. An idempotency key makes a payment safe to send twice.
- The late charge rate may be lowered (a legal maximum below the contract's), never raised above 1.5% a month.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.billing.money import check_currency, to_money
from partnerdesk.billing.services import parse_amount
from partnerdesk.errors import Conflict, InvalidInput

from .models import (
    LATE_CHARGE_MONTHLY_RATE,
    NET_DAYS,
    FinanceSettings,
    OperatorInvoice,
    OperatorInvoiceStatus,
    OperatorPayment,
)

AUDITED = ["number", "billing_date", "period_start", "period_end", "amount", "currency", "due_date", "due_date_set",
           "amount_paid", "status", "paid_on"]
NUMBER_LENGTH = 40
IDEMPOTENCY_KEY_LENGTH = 100  # the column (OperatorPayment.idempotency_key)
RATE_FORMAT = _("give a rate per month as a decimal such as 0.015, with at most 4 decimal places")


@dataclass(frozen=True)
class OperatorInvoiceInput:
    """An operator invoice as finance reads it off the operator's portal (or a usage file's InvoiceNumber)."""

    number: str
    billing_date: dt.date
    period_start: dt.date
    period_end: dt.date
    amount: Decimal
    currency: str = "CNY"
    due_date: dt.date | None = None  # None: billing date + 30 days (net 30)


def finance_settings() -> FinanceSettings:
    """Finance's settings (the one row, made with the defaults on first use)."""
    settings, _created = FinanceSettings.objects.get_or_create(pk=1)
    return settings


def _clean(data: OperatorInvoiceInput) -> OperatorInvoiceInput:
    number = (data.number or "").strip()
    if not number:
        raise InvalidInput(_("give the operator invoice's number"), field="number")
    if len(number) > NUMBER_LENGTH:
        raise InvalidInput(_("at most %(limit)s characters"), field="number", limit=NUMBER_LENGTH)
    for name in ("billing_date", "period_start", "period_end"):
        if not isinstance(getattr(data, name), dt.date):
            raise InvalidInput(_("give a date such as 2026-11-01"), field=name)
    if data.period_end < data.period_start:
        raise InvalidInput(_("the billing period ends before it starts"), field="period_end")
    if data.due_date is not None and data.due_date < data.billing_date:
        raise InvalidInput(_("the due date is before the billing date"), field="due_date")
    try:
        currency = check_currency(data.currency or "CNY")
    except ValueError:
        raise InvalidInput(_("the operator bills in CNY"), field="currency") from None
    if currency != "CNY":
        raise InvalidInput(_("the operator bills in CNY"), field="currency")
    try:
        amount = to_money(data.amount, currency)
    except (ValueError, TypeError, ArithmeticError):
        raise InvalidInput(_("give an amount such as 1200.00"), field="amount") from None
    if amount <= 0:
        raise InvalidInput(_("the amount must be greater than zero"), field="amount")
    return OperatorInvoiceInput(number=number, billing_date=data.billing_date, period_start=data.period_start,
                                period_end=data.period_end, amount=amount, currency=currency, due_date=data.due_date)


def record_operator_invoice(data: OperatorInvoiceInput, *, actor) -> tuple[OperatorInvoice, bool]:
    """The operator invoice with this number: created, or the one already recorded if its figures are the same.

    Returns (invoice, created). The same number with other figures is a conflict: finance corrects the invoice
    explicitly (update_operator_invoice), never by importing a file.
    """
    data = _clean(data)
    with transaction.atomic():
        existing = OperatorInvoice.objects.select_for_update().filter(number=data.number).first()
        if existing is not None:
            same = (existing.billing_date == data.billing_date and existing.period_start == data.period_start
                    and existing.period_end == data.period_end and existing.amount == data.amount
                    and existing.currency == data.currency
                    and (data.due_date is None or existing.due_date == data.due_date))
            if not same:
                raise Conflict(_("operator invoice %(number)s is already recorded with other figures"),
                               field="number", number=data.number)
            return existing, False
        invoice = OperatorInvoice(
            number=data.number, billing_date=data.billing_date, period_start=data.period_start,
            period_end=data.period_end, amount=data.amount, currency=data.currency,
            due_date=data.due_date or data.billing_date + dt.timedelta(days=NET_DAYS),
            due_date_set=data.due_date is not None, created_by=actor if getattr(actor, "pk", None) else None,
        )
        try:
            with transaction.atomic():
                invoice.save()
        except IntegrityError:
            raise Conflict(_("operator invoice %(number)s is already recorded"), field="number",
                           number=data.number) from None
        record(actor=actor, action="operator_invoice.recorded", obj=invoice, after=snapshot(invoice, AUDITED))
    return invoice, True


# --- correcting an operator invoice -------------------------------------------------------------------------

UNSET = object()
EDITABLE = ("billing_date", "period_start", "period_end", "amount", "due_date", "notes")


def update_operator_invoice(invoice: OperatorInvoice, *, actor, reason: str = "", **changes) -> OperatorInvoice:
    """Correct an operator invoice: its billing date, period, amount, notes, or its due date.

    due_date=<a date> sets the due date finance agreed with the operator (an override, audited); due_date=None
    puts it back to the billing date + 30 days. Only the fields given change; the change is audited with its
    reason. The amount cannot go below what was paid, nor change once a reconciliation file was checked against
    it (re-billing replaces the file instead).
    """
    for name in changes:
        if name not in EDITABLE:
            raise InvalidInput(_("%(name)s cannot be changed here"), field=name, name=name)
    reason = bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH)
    with transaction.atomic():
        invoice = OperatorInvoice.objects.select_for_update().get(pk=invoice.pk)
        before = snapshot(invoice, AUDITED + ["notes"])
        for name in ("billing_date", "period_start", "period_end"):
            if name in changes:
                setattr(invoice, name, _a_date(changes[name], name))
        if invoice.period_end < invoice.period_start:
            raise InvalidInput(_("the billing period ends before it starts"), field="period_end")
        if "amount" in changes:
            amount = parse_amount(changes["amount"], field="amount", currency=invoice.currency)
            if amount != invoice.amount:
                if amount < invoice.amount_paid:
                    raise InvalidInput(_("%(amount)s is already paid on %(number)s: the amount cannot be less"),
                                       field="amount", amount=str(invoice.amount_paid), number=invoice.number)
                # (the related name of rebilling's ReconFile: a lower layer must not import re-billing)
                if invoice.files.filter(status="active").exists():
                    raise Conflict(_("the reconciliation files of %(number)s were checked against its amount: "
                                     "replace the files to change it"), field="amount", number=invoice.number)
                invoice.amount = amount
        if "due_date" in changes and changes["due_date"] is not None:
            invoice.due_date, invoice.due_date_set = _a_date(changes["due_date"], "due_date"), True
        elif "due_date" in changes or not invoice.due_date_set:
            invoice.due_date, invoice.due_date_set = invoice.billing_date + dt.timedelta(days=NET_DAYS), False
        if invoice.due_date < invoice.billing_date:
            raise InvalidInput(_("the due date is before the billing date"), field="due_date")
        if "notes" in changes:
            invoice.notes = bounds.clean_text(changes["notes"] or "", field="notes", max_length=bounds.NOTE_LENGTH)
        _settle(invoice)
        after = snapshot(invoice, AUDITED + ["notes"])
        if after != before:
            invoice.save()
            changed = [name for name in after if after[name] != before[name]]
            record(actor=actor, action="operator_invoice.updated", obj=invoice,
                   before={name: before[name] for name in changed}, after={name: after[name] for name in changed},
                   reason=reason)
    return invoice


def _a_date(value, field: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput(_("give a date such as 2026-11-01"), field=field)
    return bounds.check_date(value, field=field)


def _settle(invoice: OperatorInvoice) -> None:
    """Status and paid_on from the payments: paid in full on the date of the last payment it took."""
    if invoice.amount_paid >= invoice.amount:
        invoice.status = OperatorInvoiceStatus.PAID
        invoice.paid_on = invoice.payments.aggregate(last=Max("paid_on"))["last"] if invoice.pk else None
    else:
        invoice.status = (OperatorInvoiceStatus.PARTIALLY_PAID if invoice.amount_paid > 0
                          else OperatorInvoiceStatus.UNPAID)
        invoice.paid_on = None


# --- paying the operator ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    payment: OperatorPayment
    created: bool  # False: the idempotency key was used before, for this same payment


def record_operator_payment(invoice: OperatorInvoice, *, amount, paid_on: dt.date, actor, reference: str = "",
                            idempotency_key: str | None = None, reason: str = "") -> PaymentResult:
    """Record a payment the partner made to the operator against one of its invoices.

    More than the invoice still owes is refused (an over-payment is for the operator to refund, not a figure to
    keep here). The invoice becomes partially paid or paid (paid_on: the date of the payment that completed
    it). The same idempotency key twice records one payment; the key with another invoice or amount is a
    conflict.
    """
    key = (idempotency_key or "").strip() or None
    if key is not None:
        key = bounds.clean_text(key, field="idempotency_key", max_length=IDEMPOTENCY_KEY_LENGTH)
        existing = OperatorPayment.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _replayed(existing, invoice, amount)
    try:
        with transaction.atomic():
            payment = _record_payment(invoice, amount=amount, paid_on=paid_on, actor=actor, reference=reference,
                                      key=key, reason=reason)
    except IntegrityError:
        existing = OperatorPayment.objects.filter(idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return _replayed(existing, invoice, amount)  # a concurrent request with the same key won the race
    return PaymentResult(payment, True)


def _replayed(existing: OperatorPayment, invoice: OperatorInvoice, amount) -> PaymentResult:
    if existing.operator_invoice_id != invoice.pk or existing.amount != parse_amount(amount, currency=invoice.currency):
        raise Conflict(_("this idempotency key was already used for a different payment"), field="idempotency_key")
    return PaymentResult(existing, False)


def _record_payment(invoice, *, amount, paid_on, actor, reference, key, reason) -> OperatorPayment:
    invoice = OperatorInvoice.objects.select_for_update().get(pk=invoice.pk)
    amount = parse_amount(amount, field="amount", currency=invoice.currency)
    paid_on = _a_date(paid_on, "paid_on")
    if paid_on > timezone.localdate():
        raise InvalidInput(_("a payment cannot be dated in the future"), field="paid_on")
    if paid_on < invoice.billing_date:
        raise InvalidInput(_("the payment is dated before the invoice's billing date (%(date)s)"), field="paid_on",
                           date=invoice.billing_date.isoformat())
    owed = invoice.amount - invoice.amount_paid
    if owed <= 0:
        raise Conflict(_("operator invoice %(number)s is already paid in full"), field="amount", number=invoice.number)
    if amount > owed:
        raise InvalidInput(_("only %(amount)s is still owed on %(number)s"), field="amount", amount=str(owed),
                           number=invoice.number)
    reference = bounds.clean_text(reference or "", field="reference", max_length=bounds.REFERENCE_LENGTH).strip()
    reason = bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH)
    before = snapshot(invoice, ["amount_paid", "status", "paid_on"])
    payment = OperatorPayment.objects.create(operator_invoice=invoice, amount=amount, paid_on=paid_on,
                                             reference=reference, idempotency_key=key,
                                             recorded_by=actor if getattr(actor, "pk", None) else None)
    invoice.amount_paid += amount
    _settle(invoice)
    invoice.save(update_fields=["amount_paid", "status", "paid_on"])
    record(actor=actor, action="operator_invoice.payment_recorded", obj=invoice, before=before,
           after={**snapshot(invoice, ["amount_paid", "status", "paid_on"]), "payment": payment.pk,
                  "amount": amount, "paid_on": paid_on, "reference": reference}, reason=reason)
    return payment


# --- finance settings ---------------------------------------------------------------------------------------

MAX_RATE = LATE_CHARGE_MONTHLY_RATE  # the contract's rate: a legal maximum may only be lower
SETTINGS_FIELDS = ["late_charge_monthly_rate", "warn_days_before_due", "delinquent_after_days",
                   "reconciliation_tolerance"]
DAY_RANGES = {"warn_days_before_due": (0, 60), "delinquent_after_days": (0, 365)}
MAX_TOLERANCE = Decimal("1000000.00")
RATE_PLACES = Decimal("0.0001")  # the column's


def update_finance_settings(*, actor, reason: str = "", **values) -> FinanceSettings:
    """Change finance's settings; only those given change. Audited with the reason."""
    reason = bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH)
    with transaction.atomic():
        finance_settings()
        row = FinanceSettings.objects.select_for_update().get(pk=1)
        before = snapshot(row, SETTINGS_FIELDS)
        for name, value in values.items():
            if name not in SETTINGS_FIELDS:
                raise InvalidInput(_("%(name)s is not a finance setting"), field=name, name=name)
            setattr(row, name, _setting(name, value))
        after = snapshot(row, SETTINGS_FIELDS)
        if after != before:
            row.updated_by = actor if getattr(actor, "pk", None) else None
            row.updated_at = timezone.now()
            row.save()
            record(actor=actor, action="finance_settings.updated", obj=row, before=before, after=after, reason=reason)
    return row


def _setting(name: str, value):
    if name in DAY_RANGES:
        low, high = DAY_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(_("give a whole number from %(low)s to %(high)s"), field=name, low=low, high=high)
        return value
    if name == "late_charge_monthly_rate":
        rate = _decimal(value, name)
        if rate < 0:
            raise InvalidInput(RATE_FORMAT, field=name)
        if rate > MAX_RATE:
            raise InvalidInput(_("the contract's late charge is %(rate)s per month: a legal maximum may only be "
                                 "lower"), field=name, rate="1.5%")
        if rate != rate.quantize(RATE_PLACES):
            raise InvalidInput(RATE_FORMAT, field=name)
        return rate.quantize(RATE_PLACES)
    tolerance = parse_amount(value, field=name, positive=False)
    if tolerance < 0 or tolerance > MAX_TOLERANCE:
        raise InvalidInput(_("give an amount from 0.00 to %(high)s"), field=name, high=str(MAX_TOLERANCE))
    return tolerance


def _decimal(value, field: str) -> Decimal:
    if isinstance(value, bool | float):
        raise InvalidInput(RATE_FORMAT, field=field)
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise InvalidInput(RATE_FORMAT, field=field) from None
    if not number.is_finite():
        raise InvalidInput(RATE_FORMAT, field=field)
    return number
