"""Every change to the partner's payables to the operator: its invoices to the partner and the partner's payments.

Each function validates, changes the rows and writes the audit record in the same transaction.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record, snapshot
from partnerdesk.billing.money import check_currency, to_money
from partnerdesk.errors import Conflict, InvalidInput

from .models import NET_DAYS, FinanceSettings, OperatorInvoice

AUDITED = ["number", "billing_date", "period_start", "period_end", "amount", "currency", "due_date", "due_date_set",
           "amount_paid", "status", "paid_on"]
NUMBER_LENGTH = 40


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
