"""Where the partner stands with the operator (21Vianet) on a given day: each operator invoice's position (due,
paid, late, its late charge) and the partner account's standing. Read-only; every figure is "as of" a date.

The rules (DOMAIN.md item 2, issue 15 item 5), as PartnerDesk applies them:

- **Due date.** The billing date + 30 days (net 30) unless finance set another date (OperatorInvoice.due_date).
- **Pay-by date.** When the due date is not a working day in China (workdays.is_working_day: weekends and public
  holidays, with the make-up working days of 调休 counted as worked), banks are closed and the payment is due on
  the next working day. Pages and the API show both dates. A payment on the pay-by date is on time.
- **Late.** An invoice is late on day D if it is not paid in full by its pay-by date and D is after the pay-by
  date. It is paid in full on the date its payments (by their paid_on dates) first add up to its amount.
- **Months late.** Counted by calendar months from the due date (not the pay-by date): a day D is in month m
  when due + (m-1) months < D <= due + m months. The first day late starts month 1; due 15 September, 15 October
  is still month 1 and 16 October starts month 2 (a month end is clamped: due 31 January, 28 February ends
  month 1). Once paid in full, the count stops at the day it was paid.
- **Late charge.** late_charge_monthly_rate (FinanceSettings: 1.5% by the contract, or a lower legal maximum
  finance sets) x the invoice **amount** (the issue's words, "of the invoice amount": a part payment does not
  lower it) x months late, rounded once to the fen, half up. Computed with the rate in force now: finance sets a
  lower legal maximum when the law says so, and every charge shown follows it.
- **Days overdue** count from the due date (as the months do); **days left** count to the pay-by date.
- **Standing** of the partner account on day D: *current* if no invoice is late on D; *late* if one is, none more
  than delinquent_after_days days overdue; *delinquent* if one is overdue by more than that. A delinquent
  account is restricted by the operator: no new customers, orders, quantity changes or add-ons until it is
  brought current.
"""

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import ZERO
from partnerdesk.workdays.services import add_working_days, is_working_day

from .models import FinanceSettings, OperatorInvoice, OperatorInvoiceStatus, OperatorPayment

FEN = Decimal("0.01")


class Standing:
    CURRENT = "current"
    LATE = "late"
    DELINQUENT = "delinquent"
    LABELS = {CURRENT: _("Current"), LATE: _("Late"), DELINQUENT: _("Delinquent")}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pay_by_date(due_date: dt.date) -> dt.date:
    """The last day a payment is on time: the due date, or the next working day when banks are closed on it."""
    return due_date if is_working_day(due_date) else add_working_days(due_date, 1)


def months_late(due_date: dt.date, day: dt.date) -> int:
    """Calendar months or part of a month from the due date to `day` (0 on or before the due date)."""
    if day <= due_date:
        return 0
    months = (day.year - due_date.year) * 12 + (day.month - due_date.month)
    months = max(months, 1)
    while add_months(due_date, months) < day:
        months += 1
    while months > 1 and add_months(due_date, months - 1) >= day:
        months -= 1
    return months


def late_charge_for(amount: Decimal, rate: Decimal, months: int) -> Decimal:
    """rate x amount x months, rounded once to the fen (half up)."""
    if months <= 0:
        return ZERO
    return (Decimal(amount) * Decimal(rate) * months).quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass
class Position:
    """One operator invoice as it stood on `as_of`."""

    invoice: OperatorInvoice
    as_of: dt.date
    due_date: dt.date
    pay_by: dt.date
    paid: Decimal  # paid by as_of (payments dated on or before it)
    outstanding: Decimal
    paid_in_full_on: dt.date | None  # if paid in full by as_of
    status: str  # unpaid / partially_paid / paid, as of as_of
    late: bool  # not paid in full by the pay-by date, and as_of is after it
    paid_late: bool  # paid in full, after the pay-by date
    days_left: int | None  # to the pay-by date, while outstanding and not late
    days_overdue: int | None  # since the due date, while late
    months_late: int
    late_charge: Decimal

    @property
    def bank_holiday(self) -> bool:
        """The due date is not a working day: the payment is due on the next working day."""
        return self.pay_by != self.due_date

    @property
    def status_label(self) -> str:
        return str(_("Late")) if self.late else str(OperatorInvoiceStatus(self.status).label)

    @property
    def badge(self) -> str:
        """The colour of the status badge (web.templatetags.desk.BADGE_TONES)."""
        return "overdue" if self.late else {"unpaid": "issued"}.get(self.status, self.status)


def _payments_of(invoice: OperatorInvoice) -> list[OperatorPayment]:
    cache = getattr(invoice, "_prefetched_objects_cache", {})
    payments = cache["payments"] if "payments" in cache else invoice.payments.all()
    return sorted(payments, key=lambda p: (p.paid_on, p.pk or 0))


def position(invoice: OperatorInvoice, as_of: dt.date | None = None, *, rate: Decimal | None = None) -> Position:
    """The invoice's position on `as_of` (today in Beijing by default)."""
    as_of = as_of or timezone.localdate()
    rate = current_rate() if rate is None else rate
    paid, full_on = ZERO, None
    for payment in _payments_of(invoice):
        if payment.paid_on > as_of:
            break
        paid += payment.amount
        if full_on is None and paid >= invoice.amount:
            full_on = payment.paid_on
    pay_by = pay_by_date(invoice.due_date)
    outstanding = max(invoice.amount - paid, ZERO)
    if full_on is not None:
        status = OperatorInvoiceStatus.PAID
    else:
        status = OperatorInvoiceStatus.PARTIALLY_PAID if paid > 0 else OperatorInvoiceStatus.UNPAID
    late = full_on is None and as_of > pay_by
    paid_late = full_on is not None and full_on > pay_by
    # The count runs to today while late, and stops at the day it was paid in full.
    counted_to = as_of if late else full_on if paid_late else None
    months = months_late(invoice.due_date, counted_to) if counted_to else 0
    return Position(
        invoice=invoice, as_of=as_of, due_date=invoice.due_date, pay_by=pay_by, paid=paid, outstanding=outstanding,
        paid_in_full_on=full_on, status=status, late=late, paid_late=paid_late,
        days_left=(pay_by - as_of).days if full_on is None and not late else None,
        days_overdue=(as_of - invoice.due_date).days if late else None,
        months_late=months, late_charge=late_charge_for(invoice.amount, rate, months),
    )


def current_rate() -> Decimal:
    """The late charge per month finance set (the contract's 1.5% unless a lower legal maximum applies)."""
    rate = FinanceSettings.objects.filter(pk=1).values_list("late_charge_monthly_rate", flat=True).first()
    return FinanceSettings._meta.get_field("late_charge_monthly_rate").default if rate is None else rate


def with_payments(invoices):
    """The queryset with each invoice's payments fetched in one more query."""
    return invoices.prefetch_related(Prefetch("payments", queryset=OperatorPayment.objects.order_by("paid_on", "pk")))


def positions(invoices=None, as_of: dt.date | None = None) -> list[Position]:
    """The positions of the given invoices (a queryset; all by default) on `as_of`, newest billing date first."""
    as_of = as_of or timezone.localdate()
    rate = current_rate()
    invoices = OperatorInvoice.objects.all() if invoices is None else invoices
    return [position(inv, as_of, rate=rate) for inv in with_payments(invoices)]


@dataclass
class AccountStanding:
    """The partner account with the operator on `as_of`."""

    as_of: dt.date
    status: str  # Standing.CURRENT / LATE / DELINQUENT
    delinquent_after_days: int
    late: list[Position] = field(default_factory=list)  # the invoices late on as_of, most overdue first
    outstanding: Decimal = ZERO  # owed on invoices billed by as_of
    overdue: Decimal = ZERO  # the part of it that is late
    late_charges: Decimal = ZERO  # the late charges of the late invoices, so far
    next_due: Position | None = None  # the outstanding invoice to pay next (earliest pay-by date), not late yet

    @property
    def label(self) -> str:
        return str(Standing.LABELS[self.status])

    @property
    def badge(self) -> str:
        """The colour of the standing's badge (web.templatetags.desk.BADGE_TONES)."""
        return {Standing.CURRENT: "paid", Standing.LATE: "partially_paid"}.get(self.status, "overdue")

    @property
    def restricted(self) -> bool:
        """The operator restricts a delinquent account: no new customers, orders, quantity changes or add-ons."""
        return self.status == Standing.DELINQUENT

    @property
    def most_days_overdue(self) -> int:
        return max((p.days_overdue or 0 for p in self.late), default=0)


def account_standing(as_of: dt.date | None = None) -> AccountStanding:
    """The partner account's standing with the operator on `as_of` (today in Beijing by default)."""
    as_of = as_of or timezone.localdate()
    settings = FinanceSettings.objects.filter(pk=1).first()
    after_days = settings.delinquent_after_days if settings else FinanceSettings._meta.get_field(
        "delinquent_after_days").default
    # Only invoices not yet paid in full, or paid after as_of, can be owed on as_of.
    candidates = OperatorInvoice.objects.filter(billing_date__lte=as_of).exclude(paid_on__lte=as_of)
    open_positions = [p for p in positions(candidates, as_of) if p.outstanding > 0]
    late = sorted((p for p in open_positions if p.late), key=lambda p: (-p.days_overdue, p.invoice.number))
    waiting = sorted((p for p in open_positions if not p.late), key=lambda p: (p.pay_by, p.invoice.number))
    if not late:
        status = Standing.CURRENT
    elif late[0].days_overdue > after_days:
        status = Standing.DELINQUENT
    else:
        status = Standing.LATE
    return AccountStanding(
        as_of=as_of, status=status, delinquent_after_days=after_days, late=late,
        outstanding=sum((p.outstanding for p in open_positions), ZERO),
        overdue=sum((p.outstanding for p in late), ZERO),
        late_charges=sum((p.late_charge for p in late), ZERO),
        next_due=waiting[0] if waiting else None,
    )
