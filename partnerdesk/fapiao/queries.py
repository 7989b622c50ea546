"""Reads of the fapiao records that other areas ask for: which open invoices' buyers hold a delivered fapiao (the
collections policies that wait for it), and how much of an invoice its fapiao stand for.

A red-letter reversal for a sales return or a sales discount (销货退回, 销售折让) takes back only the amount the
credit note credited: the fapiao stands for the rest. For an issuing error or a service terminated (开票有误,
服务终止) the whole fapiao is reversed, and a new one is requested for what is still invoiced.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Max, Q, Sum

from partnerdesk.billing.models import Invoice
from partnerdesk.billing.money import ZERO, to_money

from .models import FapiaoRecord, FapiaoStatus, RedLetterReason

CHINA = ZoneInfo("Asia/Shanghai")  # the tax platform's day
PARTIAL_REASONS = (RedLetterReason.SALES_RETURN, RedLetterReason.SALES_DISCOUNT)
# What the buyer holds: a fapiao delivered to it and not reversed in full (one being reversed still stands).
IN_HAND = Q(delivered_on__isnull=False) & (
    Q(status__in=[FapiaoStatus.DELIVERED, FapiaoStatus.REVERSAL_REQUESTED])
    | Q(status=FapiaoStatus.REVERSED, reversal_reason__in=PARTIAL_REASONS))
# Fapiao that stand for (part of) their invoice's amount, or will once issued.
STANDING = (FapiaoStatus.REQUESTED, FapiaoStatus.ISSUED, FapiaoStatus.DELIVERED, FapiaoStatus.REVERSAL_REQUESTED)
_CHUNK = 900  # ids per query (SQLite's limit on parameters is 999 in old builds)


def delivered_dates(invoice_ids) -> dict[int, dt.date]:
    """{invoice id: the day its buyer received its fapiao (the latest, if there are several)}, for the invoices
    whose buyer holds one (IN_HAND)."""
    ids = list(invoice_ids)
    found: dict[int, dt.date] = {}
    for i in range(0, len(ids), _CHUNK):
        rows = (FapiaoRecord.objects.filter(IN_HAND, invoice_id__in=ids[i:i + _CHUNK])
                .values("invoice_id").annotate(last=Max("delivered_on")).values_list("invoice_id", "last"))
        found.update(rows)
    return found


def gross(record: FapiaoRecord) -> Decimal:
    """Amount and tax: what the fapiao is for."""
    return record.amount + record.tax


def reversed_part(record: FapiaoRecord, *, reason: str | None = None) -> Decimal:
    """How much of the fapiao its red-letter reversal takes back: the credit note's amount for a sales return or
    discount (at most the fapiao's), else all of it."""
    reason = reason if reason is not None else record.reversal_reason
    if reason in PARTIAL_REASONS and record.credit_note_id is not None:
        return min(record.credit_note.amount, gross(record))
    return gross(record)


def standing_amount(record: FapiaoRecord) -> Decimal:
    """What of the invoice the fapiao stands for: all of it until its reversal is done, then what the reversal
    left."""
    if record.status in STANDING:
        return gross(record)
    if record.status == FapiaoStatus.REVERSED:
        return gross(record) - reversed_part(record)
    return ZERO


def credited(invoice: Invoice) -> Decimal:
    """What the invoice's credit notes took back."""
    return invoice.credit_notes.aggregate(s=Sum("amount"))["s"] or ZERO


def invoiced(invoice: Invoice) -> Decimal:
    """What the invoice still invoices, tax included: its total less its credit notes (a fapiao is owed for it)."""
    return max(ZERO, invoice.total - credited(invoice))


def covered(invoice: Invoice) -> Decimal:
    """What the invoice's fapiao (requested, issued, delivered or partly reversed) stand for."""
    records = FapiaoRecord.objects.filter(invoice=invoice).select_related("credit_note")
    return sum((standing_amount(r) for r in records), ZERO)


def uncovered(invoice: Invoice) -> Decimal:
    """What of the invoice no fapiao stands for yet: what a new request is for."""
    return max(ZERO, invoiced(invoice) - covered(invoice))


def split_tax(invoice: Invoice, amount_with_tax: Decimal) -> tuple[Decimal, Decimal]:
    """(amount before tax, tax) of part of the invoice, at the invoice's own tax share, to the fen, half up."""
    if invoice.total == 0:
        return amount_with_tax, ZERO
    if amount_with_tax == invoice.total:
        return invoice.subtotal, invoice.tax_total
    tax = to_money(amount_with_tax * invoice.tax_total / invoice.total, invoice.currency)
    return amount_with_tax - tax, tax


def filter_records(records, *, status: str | None = None, customer_id: int | None = None,
                   invoice_id: int | None = None, number: str | None = None, since: dt.date | None = None,
                   until: dt.date | None = None):
    """The fapiao records matching the filters the list page and the API share: a status, a customer, an invoice,
    a number (of the fapiao, its red-letter fapiao or its invoice), and the days requested (in China's day)."""
    if status:
        records = records.filter(status=status)
    if customer_id:
        records = records.filter(customer_id=customer_id)
    if invoice_id:
        records = records.filter(invoice_id=invoice_id)
    if number := (number or "").strip():
        records = records.filter(Q(number__startswith=number) | Q(red_letter_number__startswith=number)
                                 | Q(invoice__number__icontains=number))
    if since:
        records = records.filter(requested_at__gte=_china_midnight(since))
    if until:
        records = records.filter(requested_at__lt=_china_midnight(until + dt.timedelta(days=1)))
    return records


def _china_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=CHINA)
