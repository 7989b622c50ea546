"""Finance's figures across both sides of the ledger: what the operator (21Vianet) charged the partner, what the
partner billed and collected, the gap between them, and the cash that will move in the weeks ahead.

Everything here only reads (the re-billing, payables and billing services fill the tables) and every figure is
one set-based query or a few, never a query per customer or per line. Money is Decimal, CNY, to the fen.

Definitions (the finance page shows them too):

Period and customer (a period is a month, named by its first day):
- operator charged: the sum of ReconLine.total (tax included) of the lines of ACTIVE reconciliation files whose
  operator invoice's billing period starts in the month, matched to the customer. Lines matched to no customer
  form their own row ("not matched to a customer"): the partner pays the operator for them all the same.
- partner billed: the sum of the totals of the customer invoices re-billing generated for that customer and
  period (rebilling.PeriodInvoice) that have been issued: drafts and void invoices do not count.
- customer paid: what is applied to those invoices, payments and credit notes alike (Invoice.amount_paid, as the
  ledger counts it); unpaid = billed - paid.
- margin = billed - charged; margin % = margin / billed x 100, to 0.1 (none when nothing was billed).
- exposure: the part of the operator charge the customer has not paid for, the money the partner owes (or has
  paid) the operator for a customer that has not paid the partner:
      nothing billed yet (or nothing issued):  exposure = charged
      otherwise:                               exposure = charged x unpaid / billed, rounded half-up to the fen
  and 0 when the operator charged nothing or credited more than it charged (charged <= 0). The total row adds the
  rows up (its exposure is the sum of the customers' exposures, not a ratio of the totals).
- the partner's side of the period: the operator invoices whose billing period starts in the month, their
  amounts, what the partner paid on them (OperatorInvoice.amount_paid) and what it still owes the operator.

Leakage (as of a day, with N = stale_days, default 30: by the time the partner pays the operator, net 30, the
charge should have been passed on):
1. operator charges never re-billed: lines of active files that are
   - matched but on no customer invoice, when re-billing has generated that customer's invoice for the period
     (a PeriodInvoice exists), or when the operator invoice's billing date is more than N days before the day;
   - billed only on an invoice that was voided since;
   - matched to no customer at all (whatever their age).
2. customer invoice lines with no operator charge behind them: lines of re-billed invoices (PeriodInvoice; void
   invoices left out, drafts included) that are not adjustments (rebilling.Adjustment) and that no
   reconciliation line points at.
3. subscriptions at the operator that PartnerDesk does not know: Partner Center subscription numbers
   (SyndicationPartnerSubscriptionNumber, license lines) of active files that match no Subscription.operator_id
   and no agent's mapping, with the customer name and domain the file gives and their charges.

Cash flow, weekly for the next N weeks (default 12) from the day: week i runs from day + 7i to day + 7i + 6.
- outflow: each unpaid operator invoice's open amount (amount - amount_paid) in the week of its effective due
  date: the due date, or the next working day in China when it falls on a day banks are closed. Overdue ones
  are due now: week 0.
- inflow: each open customer invoice's balance in the week its customer is expected to pay it: its due date
  shifted by that customer's average days late, which is the mean, over the customer's invoices paid in full in
  the last 12 months (365 days up to the day), of max(0, day of the last allocation - due date), rounded half-up
  to whole days; 0 for a customer with no such history. An invoice whose expected day has already passed is
  expected next week (week 1).
- net = inflow - outflow; the running balance starts from an opening balance (0 unless given) and adds each
  week's net. The first week whose running balance is below zero is the shortfall ("shortfall in the week of").
  Amounts expected after the last week are reported as "later".
"""

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, Exists, F, Max, Min, OuterRef, Sum
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.models import OPEN_STATUSES, Invoice, InvoiceLine, InvoiceStatus
from partnerdesk.billing.money import DEFAULT_CURRENCY, ZERO, to_money
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.errors import InvalidInput, NotFound
from partnerdesk.payables.models import OperatorInvoice, OperatorInvoiceStatus
from partnerdesk.rebilling.models import (
    Adjustment,
    FileStatus,
    LineMapping,
    MappingKey,
    PeriodInvoice,
    ReconLine,
)
from partnerdesk.workdays.services import add_working_days, is_working_day

_MONEY = DecimalField(max_digits=18, decimal_places=2)
NOT_BILLED = (InvoiceStatus.DRAFT, InvoiceStatus.VOID)  # not (or no longer) owed by the customer
DEFAULT_STALE_DAYS = 30
DEFAULT_WEEKS = 12
MAX_WEEKS = 104
MAX_MONTHS = 60
HISTORY_DAYS = 365


# --- periods ----------------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_period(text: str, *, field: str = "period") -> dt.date:
    """'2026-10' -> 2026-10-01: a billing period is a month. A day ('2026-10-01', as re-billing names its
    periods) names its month."""
    text = (text or "").strip()
    try:
        year, month, *day = text.split("-")
        if len(year) != 4 or len(month) != 2 or len(day) > 1 or not (year + month).isdigit():
            raise ValueError
        period = dt.date(int(year), int(month), 1)
        if day:
            period = month_start(dt.date.fromisoformat(text))
    except ValueError:
        raise InvalidInput(_("give a month such as 2026-10"), field=field) from None
    if not 2000 <= period.year <= 2099:
        raise InvalidInput(_("give a month such as 2026-10"), field=field)
    return period


def _money(value) -> Decimal:
    return to_money(value if value is not None else ZERO)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part / whole * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def exposure_of(charged: Decimal, billed: Decimal, paid: Decimal) -> Decimal:
    """The part of the operator charge not covered by what the customer paid (see the module's definition)."""
    if charged <= 0:
        return ZERO
    if billed <= 0:
        return charged
    return to_money(charged * (billed - paid) / billed)


def _active_lines():
    # Grouped by the operator invoice's own period start (a plain column: a date function per row is slow on
    # millions of lines), folded into months afterwards: few distinct values.
    return ReconLine.objects.filter(file__status=FileStatus.ACTIVE).annotate(start=F("file__operator_invoice__period_start"))


def _customer_names(ids) -> dict[int, str]:
    ids = [i for i in ids if i is not None]
    return dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _check_customer(customer_id: int | None) -> None:
    if customer_id is not None and not Customer.objects.filter(pk=customer_id).exists():
        raise NotFound(_("there is no customer %(id)s"), field="customer", id=customer_id)


# --- exposure and margin ------------------------------------------------------------------------------------


@dataclass
class ExposureRow:
    customer_id: int | None  # None: lines matched to no customer (or the total row)
    customer_name: str
    charged: Decimal = ZERO
    billed: Decimal = ZERO
    paid: Decimal = ZERO
    exposure: Decimal = ZERO
    lines: int = 0  # the operator's lines behind `charged`
    invoices: int = 0  # the issued invoices behind `billed`
    unmatched: bool = False

    @property
    def unpaid(self) -> Decimal:
        return self.billed - self.paid

    @property
    def margin(self) -> Decimal:
        return self.billed - self.charged

    @property
    def margin_percent(self) -> Decimal | None:
        return _percent(self.margin, self.billed)

    def add(self, other: "ExposureRow") -> None:
        for name in ("charged", "billed", "paid", "exposure", "lines", "invoices"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class OperatorSide:
    """The partner's own position with the operator for a period's invoices."""

    invoices: int = 0
    amount: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        return self.amount - self.paid


@dataclass
class ExposureReport:
    period: dt.date
    rows: list[ExposureRow]
    total: ExposureRow
    operator: OperatorSide
    customer_id: int | None = None
    currency: str = DEFAULT_CURRENCY


@dataclass
class PeriodFigures:
    """One period's totals across customers (the margin chart and its table)."""

    period: dt.date
    charged: Decimal = ZERO
    billed: Decimal = ZERO
    paid: Decimal = ZERO
    exposure: Decimal = ZERO
    operator: OperatorSide = field(default_factory=OperatorSide)

    @property
    def margin(self) -> Decimal:
        return self.billed - self.charged

    @property
    def margin_percent(self) -> Decimal | None:
        return _percent(self.margin, self.billed)


def _rows_by_period(since: dt.date, until: dt.date, customer_id: int | None) -> dict[dt.date, dict]:
    """{period: {customer_id or None: ExposureRow}} for the months since..until (first days), in two queries."""
    end = add_months(until, 1)
    lines = _active_lines().filter(file__operator_invoice__period_start__gte=since,
                                   file__operator_invoice__period_start__lt=end)
    invoices = PeriodInvoice.objects.filter(period__gte=since, period__lt=end).exclude(invoice__status__in=NOT_BILLED)
    if customer_id is not None:
        lines, invoices = lines.filter(customer_id=customer_id), invoices.filter(customer_id=customer_id)
    out: dict[dt.date, dict] = defaultdict(dict)

    def row(period, cid):
        if cid not in out[period]:
            out[period][cid] = ExposureRow(cid, "", unmatched=cid is None)
        return out[period][cid]

    for r in (lines.order_by().values("start", "customer_id")
              .annotate(total=Sum("total", output_field=_MONEY), n=Count("id"))):
        item = row(month_start(r["start"]), r["customer_id"])
        item.charged += _money(r["total"])
        item.lines += r["n"]
    for r in (invoices.order_by().values("period", "customer_id")
              .annotate(billed=Sum("invoice__total", output_field=_MONEY),
                        paid=Sum("invoice__amount_paid", output_field=_MONEY), n=Count("id"))):
        item = row(month_start(r["period"]), r["customer_id"])
        item.billed += _money(r["billed"])
        item.paid += _money(r["paid"])
        item.invoices += r["n"]
    for rows in out.values():
        for item in rows.values():
            item.exposure = exposure_of(item.charged, item.billed, item.paid)
    return out


def _operator_side(since: dt.date, until: dt.date) -> dict[dt.date, OperatorSide]:
    rows = (OperatorInvoice.objects.filter(period_start__gte=since, period_start__lt=add_months(until, 1))
            .order_by().values("period_start")
            .annotate(n=Count("id"), amount=Sum("amount", output_field=_MONEY),
                      paid=Sum("amount_paid", output_field=_MONEY)))
    out: dict[dt.date, OperatorSide] = defaultdict(OperatorSide)
    for r in rows:
        side = out[month_start(r["period_start"])]
        side.invoices += r["n"]
        side.amount += _money(r["amount"])
        side.paid += _money(r["paid"])
    return out


def exposure(period: dt.date, *, customer_id: int | None = None) -> ExposureReport:
    """Per customer for one period: operator charged, partner billed, customer paid, margin and exposure, with
    the total and the partner's position with the operator for the period (see the module's definitions)."""
    period = month_start(period)
    _check_customer(customer_id)
    found = _rows_by_period(period, period, customer_id).get(period, {})
    rows = []
    if any(cid is not None for cid in found):  # the customers in the list's order (by the pinyin of their names)
        for cid, name in (Customer.objects.filter(pk__in=[c for c in found if c is not None])
                          .order_by("name_sort", "name", "id").values_list("pk", "name")):
            found[cid].customer_name = name
            rows.append(found[cid])
    if None in found:
        rows.append(found[None])
    total = ExposureRow(None, "")
    for row in rows:
        total.add(row)
    operator = _operator_side(period, period).get(period, OperatorSide())
    return ExposureReport(period=period, rows=rows, total=total, operator=operator, customer_id=customer_id)


def margin_by_period(until: dt.date, *, months: int = 12, customer_id: int | None = None) -> list[PeriodFigures]:
    """The totals of each of the `months` periods ending with `until` (oldest first): charged, billed, paid,
    margin and exposure (the sum of the customers' exposures), and the operator invoices of each period."""
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(_("give between 1 and %(max)s months"), field="months", max=MAX_MONTHS)
    until = month_start(until)
    since = add_months(until, 1 - months)
    _check_customer(customer_id)
    found = _rows_by_period(since, until, customer_id)
    operator = _operator_side(since, until) if customer_id is None else {}
    out = []
    for i in range(months):
        period = add_months(since, i)
        figures = PeriodFigures(period, operator=operator.get(period, OperatorSide()))
        for row in found.get(period, {}).values():
            figures.charged += row.charged
            figures.billed += row.billed
            figures.paid += row.paid
            figures.exposure += row.exposure
        out.append(figures)
    return out


def latest_period(today: dt.date) -> dt.date:
    """The period a finance page opens on: the latest billing period of an operator invoice, else this month."""
    latest = OperatorInvoice.objects.filter(period_start__lte=today).aggregate(p=Max("period_start"))["p"]
    return month_start(latest or today)


# --- leakage ----------------------------------------------------------------------------------------------


class LeakReason:
    GENERATED = "generated"  # the customer's invoice for the period exists, the line is not on it
    STALE = "stale"  # no invoice for the period and the operator billed it more than N days ago
    VOID = "void"  # billed on an invoice that was voided since
    UNMATCHED = "unmatched"  # matched to no customer

    LABELS = {
        GENERATED: _("Not on the period's invoice"),
        STALE: _("Not billed after the days allowed"),
        VOID: _("Billed on a void invoice"),
        UNMATCHED: _("Not matched to a customer"),
    }


@dataclass
class NotRebilled:
    period: dt.date
    customer_id: int | None
    customer_name: str
    reason: str
    lines: int
    amount: Decimal

    @property
    def reason_label(self) -> str:
        return str(LeakReason.LABELS[self.reason])


@dataclass
class UnbackedLine:
    line_id: int
    invoice_id: int
    invoice_number: str
    invoice_status: str
    customer_id: int
    customer_name: str
    period: dt.date
    description: str
    amount: Decimal  # the line's amount and tax


@dataclass
class UnknownSubscription:
    subscription_ref: str
    customer_name: str  # as the operator's file names it
    domain: str
    customer_id: int | None  # the customer its lines were matched to by other means, if any
    first_period: dt.date
    last_period: dt.date
    lines: int
    amount: Decimal


@dataclass
class LeakageReport:
    as_of: dt.date
    stale_days: int
    not_rebilled: list[NotRebilled]
    unbacked: list[UnbackedLine]
    unknown: list[UnknownSubscription]
    currency: str = DEFAULT_CURRENCY

    @staticmethod
    def _sum(items) -> tuple[int, Decimal]:
        return sum(i.lines for i in items), sum((i.amount for i in items), ZERO)

    @property
    def not_rebilled_totals(self) -> tuple[int, Decimal]:
        return self._sum(self.not_rebilled)

    @property
    def unbacked_totals(self) -> tuple[int, Decimal]:
        return len(self.unbacked), sum((i.amount for i in self.unbacked), ZERO)

    @property
    def unknown_totals(self) -> tuple[int, Decimal]:
        return self._sum(self.unknown)


def _not_rebilled(as_of: dt.date, stale_days: int) -> list[NotRebilled]:
    lines = _active_lines()
    # The customers and periods re-billing has generated an invoice for (the customer's or period's few rows).
    generated = {(cid, month_start(period)) for cid, period in
                 PeriodInvoice.objects.order_by().values_list("customer_id", "period").distinct()}
    cutoff = as_of - dt.timedelta(days=stale_days)
    waiting = (lines.filter(customer__isnull=False, invoice_line__isnull=True)
               .annotate(billed_on=F("file__operator_invoice__billing_date")).values("start", "customer_id", "billed_on"))
    queries = [
        (None, waiting),
        (LeakReason.VOID, lines.filter(invoice_line__invoice__status=InvoiceStatus.VOID).values("start", "customer_id")),
        (LeakReason.UNMATCHED, lines.filter(customer__isnull=True).values("start", "customer_id")),
    ]
    groups: dict[tuple, NotRebilled] = {}
    for reason, query in queries:
        for r in query.order_by().annotate(n=Count("id"), total=Sum("total", output_field=_MONEY)):
            period, cid = month_start(r["start"]), r["customer_id"]
            why = reason
            if why is None:  # matched, on no invoice: a leak once its period was generated, or once it is stale
                if (cid, period) in generated:
                    why = LeakReason.GENERATED
                elif r["billed_on"] < cutoff:
                    why = LeakReason.STALE
                else:
                    continue
            item = groups.setdefault((period, cid, why), NotRebilled(period, cid, "", why, 0, ZERO))
            item.lines += r["n"]
            item.amount += _money(r["total"])
    found = list(groups.values())
    names = _customer_names({f.customer_id for f in found})
    for item in found:
        item.customer_name = names.get(item.customer_id, "")
    found.sort(key=lambda f: (f.period, f.customer_id is None, f.customer_name, f.customer_id or 0, f.reason))
    return found


def _unbacked() -> list[UnbackedLine]:
    query = (InvoiceLine.objects.filter(invoice__rebilling__isnull=False)
             .exclude(invoice__status=InvoiceStatus.VOID)
             .exclude(Exists(Adjustment.objects.filter(invoice_line=OuterRef("pk"))))
             .exclude(Exists(ReconLine.objects.filter(invoice_line=OuterRef("pk"))))
             .order_by("invoice__rebilling__period", "invoice__customer__name", "invoice_id", "id")
             .values_list("pk", "invoice_id", "invoice__number", "invoice__status", "invoice__customer_id",
                          "invoice__customer__name", "invoice__rebilling__period", "description", "amount", "tax"))
    return [UnbackedLine(pk, inv, number or "", status, cid, name, period, description, _money(amount + tax))
            for pk, inv, number, status, cid, name, period, description, amount, tax in query]


def _unknown_subscriptions() -> list[UnknownSubscription]:
    known = Subscription.objects.filter(operator_id=OuterRef("subscription_ref"))
    mapped = LineMapping.objects.filter(key_kind=MappingKey.SUBSCRIPTION, key=OuterRef("subscription_ref"))
    rows = (_active_lines().exclude(subscription_ref="").exclude(Exists(known)).exclude(Exists(mapped))
            .order_by().values("subscription_ref")
            .annotate(name=Max("customer_name"), dom=Max("domain"), cid=Max("customer_id"), first=Min("start"),
                      last=Max("start"), n=Count("id"), total=Sum("total", output_field=_MONEY)))
    found = [UnknownSubscription(r["subscription_ref"], r["name"] or "", r["dom"] or "", r["cid"],
                                 month_start(r["first"]), month_start(r["last"]), r["n"], _money(r["total"]))
             for r in rows]
    found.sort(key=lambda u: (-u.amount, u.subscription_ref))
    return found


def leakage(as_of: dt.date, *, stale_days: int = DEFAULT_STALE_DAYS) -> LeakageReport:
    """What leaks between the operator's charges and the customer invoices (see the module's definitions)."""
    if not 0 <= stale_days <= 3650:
        raise InvalidInput(_("give between 0 and 3650 days"), field="stale_days")
    return LeakageReport(as_of=as_of, stale_days=stale_days, not_rebilled=_not_rebilled(as_of, stale_days),
                         unbacked=_unbacked(), unknown=_unknown_subscriptions())


# --- cash flow --------------------------------------------------------------------------------------------


def effective_due_date(due: dt.date) -> dt.date:
    """The day a payment to the operator must leave: the due date, or the next working day in China."""
    return due if is_working_day(due) else add_working_days(due, 1)


def average_days_late(as_of: dt.date, customer_ids=None) -> dict[int, int]:
    """{customer id: average days late} over the invoices each customer paid in full in the 365 days up to as_of
    (see the module's definition); customers with no such invoice are left out (they count as 0)."""
    paid = (Invoice.objects.filter(status=InvoiceStatus.PAID, due_date__isnull=False)
            .annotate(paid_on=Max("allocations__allocated_on"))
            .filter(paid_on__gt=as_of - dt.timedelta(days=HISTORY_DAYS), paid_on__lte=as_of))
    if customer_ids is not None:
        paid = paid.filter(customer_id__in=list(customer_ids))
    late: dict[int, list[int]] = defaultdict(list)
    for cid, due, paid_on in paid.order_by().values_list("customer_id", "due_date", "paid_on").iterator():
        late[cid].append(max(0, (paid_on - due).days))
    return {cid: int((Decimal(sum(days)) / len(days)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for cid, days in late.items()}


@dataclass
class CashItem:
    direction: str  # "out": to the operator; "in": from a customer
    reference: str  # the operator invoice's or the customer invoice's number
    customer_id: int | None
    customer_name: str
    due_date: dt.date
    expected_on: dt.date  # out: the effective due date; in: the due date shifted by the customer's days late
    days_late: int  # in: the customer's average days late used; out: 0
    amount: Decimal
    week: int | None  # index of the week it falls in; None: after the last week


@dataclass
class CashWeek:
    index: int
    start: dt.date
    end: dt.date
    inflow: Decimal = ZERO
    outflow: Decimal = ZERO
    balance: Decimal = ZERO  # running: the opening balance plus every week's net up to this one
    shortfall: bool = False  # the first week whose running balance is below zero

    @property
    def net(self) -> Decimal:
        return self.inflow - self.outflow


@dataclass
class CashFlowReport:
    as_of: dt.date
    opening_balance: Decimal
    weeks: list[CashWeek]
    items: list[CashItem]
    later_inflow: Decimal
    later_outflow: Decimal
    currency: str = DEFAULT_CURRENCY

    @property
    def shortfall(self) -> CashWeek | None:
        return next((w for w in self.weeks if w.shortfall), None)

    @property
    def total_inflow(self) -> Decimal:
        return sum((w.inflow for w in self.weeks), ZERO)

    @property
    def total_outflow(self) -> Decimal:
        return sum((w.outflow for w in self.weeks), ZERO)


def cash_flow(as_of: dt.date, *, weeks: int = DEFAULT_WEEKS, opening_balance: Decimal = ZERO) -> CashFlowReport:
    """Operator due dates against expected customer collections, week by week (see the module's definitions)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(_("give between 1 and %(max)s weeks"), field="weeks", max=MAX_WEEKS)
    opening_balance = _money(opening_balance)
    horizon = [CashWeek(i, as_of + dt.timedelta(days=7 * i), as_of + dt.timedelta(days=7 * i + 6)) for i in range(weeks)]

    def week_of(day: dt.date) -> int | None:
        index = max(0, (day - as_of).days) // 7
        return index if index < weeks else None

    items = []
    unpaid = (OperatorInvoice.objects.exclude(status=OperatorInvoiceStatus.PAID).order_by("due_date", "id")
              .values_list("number", "due_date", "amount", "amount_paid"))
    for number, due, amount, paid in unpaid:
        if amount - paid <= 0:
            continue
        expected = effective_due_date(due)
        items.append(CashItem("out", number, None, "", due, expected, 0, _money(amount - paid), week_of(expected)))
    open_invoices = list(Invoice.objects.filter(status__in=OPEN_STATUSES, balance__gt=0, due_date__isnull=False)
                         .order_by("due_date", "id")
                         .values_list("number", "customer_id", "customer__name", "due_date", "balance"))
    days_late = average_days_late(as_of, {row[1] for row in open_invoices})
    for number, cid, name, due, balance in open_invoices:
        late = days_late.get(cid, 0)
        expected = due + dt.timedelta(days=late)
        # Later than the customer's habit already: the best guess is next week.
        week = week_of(expected) if expected >= as_of else (1 if weeks > 1 else None)
        items.append(CashItem("in", number or "", cid, name, due, expected, late, _money(balance), week))
    later_in = later_out = ZERO
    for item in items:
        if item.week is None:
            if item.direction == "in":
                later_in += item.amount
            else:
                later_out += item.amount
        elif item.direction == "in":
            horizon[item.week].inflow += item.amount
        else:
            horizon[item.week].outflow += item.amount
    balance, flagged = opening_balance, False
    for week in horizon:
        balance += week.net
        week.balance = balance
        if balance < 0 and not flagged:
            week.shortfall = flagged = True
    items.sort(key=lambda i: (i.week if i.week is not None else weeks, i.expected_on, i.direction, i.reference))
    return CashFlowReport(as_of=as_of, opening_balance=opening_balance, weeks=horizon, items=items,
                          later_inflow=later_in, later_outflow=later_out)


# --- CSV --------------------------------------------------------------------------------------------------


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def exposure_csv(report: ExposureReport) -> str:
    """One line per customer (and the unmatched lines), then the total line and the partner's operator line."""
    rows = [["period", "customer_id", "customer", "operator_charged", "billed", "paid", "unpaid", "margin",
             "margin_percent", "exposure", "operator_lines", "invoices"]]
    period = report.period.strftime("%Y-%m")
    for r in [*report.rows, report.total]:
        name = r.customer_name if r.customer_id is not None else ("UNMATCHED" if r.unmatched else "TOTAL")
        rows.append([period, r.customer_id or "", name, _amount(r.charged), _amount(r.billed), _amount(r.paid),
                     _amount(r.unpaid), _amount(r.margin), "" if r.margin_percent is None else str(r.margin_percent),
                     _amount(r.exposure), r.lines, r.invoices])
    rows.append([])
    rows.append(["period", "operator_invoices", "operator_amount", "paid_to_operator", "owed_to_operator"])
    rows.append([period, report.operator.invoices, _amount(report.operator.amount), _amount(report.operator.paid),
                 _amount(report.operator.owed)])
    return _csv(rows)


def margin_csv(periods: list[PeriodFigures]) -> str:
    rows = [["period", "operator_charged", "billed", "paid", "margin", "margin_percent", "exposure",
             "operator_invoiced", "paid_to_operator", "owed_to_operator"]]
    for p in periods:
        rows.append([p.period.strftime("%Y-%m"), _amount(p.charged), _amount(p.billed), _amount(p.paid),
                     _amount(p.margin), "" if p.margin_percent is None else str(p.margin_percent),
                     _amount(p.exposure), _amount(p.operator.amount), _amount(p.operator.paid),
                     _amount(p.operator.owed)])
    return _csv(rows)


LEAKAGE_PARTS = ("not_rebilled", "unbacked", "unknown_subscriptions")


def leakage_csv(report: LeakageReport, part: str) -> str:
    """One of the three lists (LEAKAGE_PARTS), one line per group or line."""
    if part == "not_rebilled":
        rows = [["period", "customer_id", "customer", "reason", "lines", "amount"]]
        rows += [[r.period.strftime("%Y-%m"), r.customer_id or "", r.customer_name, r.reason, r.lines,
                  _amount(r.amount)] for r in report.not_rebilled]
    elif part == "unbacked":
        rows = [["period", "customer_id", "customer", "invoice_id", "invoice", "status", "line_id", "description",
                 "amount"]]
        rows += [[r.period.strftime("%Y-%m"), r.customer_id, r.customer_name, r.invoice_id, r.invoice_number,
                  r.invoice_status, r.line_id, r.description, _amount(r.amount)] for r in report.unbacked]
    elif part == "unknown_subscriptions":
        rows = [["subscription", "customer_name", "domain", "matched_customer_id", "first_period", "last_period",
                 "lines", "amount"]]
        rows += [[r.subscription_ref, r.customer_name, r.domain, r.customer_id or "", r.first_period.strftime("%Y-%m"),
                  r.last_period.strftime("%Y-%m"), r.lines, _amount(r.amount)] for r in report.unknown]
    else:
        raise InvalidInput(_("unknown part %(part)s"), field="part", part=part)
    return _csv(rows)


CASH_FLOW_PARTS = ("weeks", "items")


def cash_flow_csv(report: CashFlowReport, part: str = "weeks") -> str:
    """The weeks (in, out, net, running balance, shortfall) or the invoices behind them."""
    if part == "weeks":
        rows = [["week", "start", "end", "inflow", "outflow", "net", "balance", "shortfall"]]
        rows.append(["opening", report.as_of.isoformat(), "", "", "", "", _amount(report.opening_balance), ""])
        rows += [[w.index + 1, w.start.isoformat(), w.end.isoformat(), _amount(w.inflow), _amount(w.outflow),
                  _amount(w.net), _amount(w.balance), "yes" if w.shortfall else ""] for w in report.weeks]
        rows.append(["later", "", "", _amount(report.later_inflow), _amount(report.later_outflow),
                     _amount(report.later_inflow - report.later_outflow), "", ""])
    elif part == "items":
        rows = [["direction", "invoice", "customer_id", "customer", "due_date", "expected_on", "days_late", "amount",
                 "week"]]
        rows += [[i.direction, i.reference, i.customer_id or "", i.customer_name, i.due_date.isoformat(),
                  i.expected_on.isoformat(), i.days_late, _amount(i.amount), "later" if i.week is None else i.week + 1]
                 for i in report.items]
    else:
        raise InvalidInput(_("unknown part %(part)s"), field="part", part=part)
    return _csv(rows)
