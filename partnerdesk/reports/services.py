"""Receivables and collections reports: AR aging, days sales outstanding, and collections activity per day.

Money is Decimal throughout (CNY, two places). The reports read the billing and collections records as
they are; nothing here writes.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.models import Allocation, Invoice, InvoiceStatus
from partnerdesk.errors import InvalidInput

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=18, decimal_places=2)

# (key, first day past due, last day past due); None = unbounded. "current" = not yet due (due today included).
BUCKETS: list[tuple[str, int | None, int | None]] = [
    ("current", None, 0),
    ("days_1_30", 1, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("over_90", 91, None),
]
BUCKET_KEYS = [key for key, _, _ in BUCKETS]
OVERDUE_KEYS = BUCKET_KEYS[1:]

# The collections log kinds the activity report counts, in the order of a collections cycle.
ACTION_KINDS = ["reminder", "notice", "call", "suspend", "suspended", "deletion_warning", "cancel",
                "reactivate", "reactivated"]
MAX_REPORT_DAYS = 366


# --- aging ------------------------------------------------------------------------------------------------


@dataclass
class AgingRow:
    customer_id: int | None  # None on the total row
    customer_name: str
    current: Decimal = ZERO
    days_1_30: Decimal = ZERO
    days_31_60: Decimal = ZERO
    days_61_90: Decimal = ZERO
    over_90: Decimal = ZERO

    @property
    def overdue(self) -> Decimal:
        return sum((getattr(self, k) for k in OVERDUE_KEYS), ZERO)

    @property
    def total(self) -> Decimal:
        return self.current + self.overdue

    def buckets(self) -> dict[str, Decimal]:
        return {k: getattr(self, k) for k in BUCKET_KEYS}


@dataclass
class AgingReport:
    as_of: dt.date
    rows: list[AgingRow]
    total: AgingRow
    currency: str = "CNY"


def _bucket_condition(as_of: dt.date, first: int | None, last: int | None) -> Q:
    """Invoices whose days past due (as_of - due_date) lie in [first, last]."""
    q = Q()
    if first is not None:  # at least `first` days past due: due on or before as_of - first
        q &= Q(due_date__lte=as_of - dt.timedelta(days=first))
    if last is not None:  # at most `last` days past due: due on or after as_of - last
        q &= Q(due_date__gte=as_of - dt.timedelta(days=last))
    return q


def aging(as_of: dt.date, *, customer_ids=None) -> AgingReport:
    """Accounts receivable aging as of a day: each customer's open invoice balances by days past due.

    An invoice counts if it was issued on or before `as_of` and is not void; its balance *as of that day*
    is its total less the payments and credit notes applied to it on or before that day (so a past date
    gives the aging as it was then, and today's date gives today's open balances). Buckets: current (not
    yet due, due today included), 1-30, 31-60, 61-90 and over 90 days past due.

    One aggregate query: the balance is a correlated subquery, bucketed with Sum(Case(When(due_date ...)))
    and grouped by customer.
    """
    applied = (Allocation.objects.filter(invoice=OuterRef("pk"), allocated_on__lte=as_of)
               .order_by().values("invoice").annotate(s=Sum("amount")).values("s"))
    invoices = (Invoice.objects
                .filter(issue_date__lte=as_of, due_date__isnull=False)
                .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID]))
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__in=list(customer_ids))
    balance = F("total") - Coalesce(Subquery(applied, output_field=_MONEY), Value(ZERO), output_field=_MONEY)
    sums = {
        key: Coalesce(Sum(Case(When(_bucket_condition(as_of, first, last), then=balance),
                               default=Value(ZERO), output_field=_MONEY)), Value(ZERO), output_field=_MONEY)
        for key, first, last in BUCKETS
    }
    grouped = (invoices.values("customer_id", "customer__name").annotate(**sums, outstanding=Sum(balance, output_field=_MONEY))
               .filter(outstanding__gt=0).order_by("customer__name", "customer_id"))
    rows, total = [], AgingRow(None, "")
    for values in grouped:
        row = AgingRow(values["customer_id"], values["customer__name"], **{k: _money(values[k]) for k in BUCKET_KEYS})
        rows.append(row)
        for key in BUCKET_KEYS:
            setattr(total, key, getattr(total, key) + getattr(row, key))
    return AgingReport(as_of=as_of, rows=rows, total=total)


def _money(value) -> Decimal:
    return (Decimal(value) if value is not None else ZERO).quantize(Decimal("0.01"))


# --- DSO --------------------------------------------------------------------------------------------------


@dataclass
class DsoDetail:
    as_of: dt.date
    period_days: int
    receivables: Decimal  # open balances as of `as_of` (the aging total)
    invoiced: Decimal  # totals of the invoices issued in the period
    dso: Decimal | None  # None when nothing was invoiced in the period


def dso_detail(as_of: dt.date, *, period_days: int = 90) -> DsoDetail:
    """DSO with the figures it is computed from (see days_sales_outstanding)."""
    if not isinstance(period_days, int) or not 1 <= period_days <= 3660:
        raise InvalidInput(_("the period must be between 1 and 3660 days"), field="period_days")
    receivables = aging(as_of).total.total
    start = as_of - dt.timedelta(days=period_days - 1)
    invoiced = _money(Invoice.objects.filter(issue_date__gte=start, issue_date__lte=as_of)
                      .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.VOID])
                      .aggregate(s=Sum("total"))["s"])
    dso = None
    if invoiced > 0:
        dso = (receivables / invoiced * period_days).quantize(Decimal("0.1"))
    return DsoDetail(as_of, period_days, receivables, invoiced, dso)


def days_sales_outstanding(as_of: dt.date, *, period_days: int = 90) -> Decimal | None:
    """Days sales outstanding on `as_of`:

        DSO = open receivables on as_of / amount invoiced in the period × period_days

    where the open receivables are the aging total as of that day (balances of invoices issued by then,
    less what was applied to them by then) and the amount invoiced is the total of the invoices (not void,
    not draft) issued in the `period_days` days ending on `as_of` (both ends included). Rounded to 0.1 day.
    None when nothing was invoiced in the period (DSO is undefined then).
    """
    return dso_detail(as_of, period_days=period_days).dso


# --- collections activity ----------------------------------------------------------------------------------


@dataclass
class DayActivity:
    day: dt.date
    counts: dict[str, int]
    runs: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class RunRow:
    id: int
    as_of: dt.date
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict


@dataclass
class CollectionsReport:
    since: dt.date
    until: dt.date
    days: list[DayActivity]
    totals: dict[str, int]
    runs: list[RunRow]

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def collections_by_day(since: dt.date, until: dt.date) -> CollectionsReport:
    """Per collections day from `since` to `until` (both included): how many actions of each kind the
    collections log holds, and the collections runs of that day (not dry runs) with their status and counts."""
    from partnerdesk.dunning.models import CollectionsAction, CollectionsRun

    if until < since:
        raise InvalidInput(_("the end date is before the start date"), field="until")
    if (until - since).days + 1 > MAX_REPORT_DAYS:
        raise InvalidInput(_("a report covers at most %(days)s days"), field="since", days=MAX_REPORT_DAYS)
    days = {since + dt.timedelta(days=n): DayActivity(since + dt.timedelta(days=n), dict.fromkeys(ACTION_KINDS, 0))
            for n in range((until - since).days + 1)}
    totals = dict.fromkeys(ACTION_KINDS, 0)
    rows = (CollectionsAction.objects.filter(as_of__gte=since, as_of__lte=until, kind__in=ACTION_KINDS)
            .order_by().values("as_of", "kind").annotate(n=Count("id")))
    for row in rows:
        days[row["as_of"]].counts[row["kind"]] = row["n"]
        totals[row["kind"]] += row["n"]
    runs = []
    for run in CollectionsRun.objects.filter(as_of__gte=since, as_of__lte=until, dry_run=False).order_by("as_of", "started_at"):
        item = RunRow(run.pk, run.as_of, run.status, run.started_at, run.finished_at, dict(run.counts or {}))
        runs.append(item)
        days[run.as_of].runs.append(item)
    return CollectionsReport(since, until, list(days.values()), totals, runs)


# --- CSV --------------------------------------------------------------------------------------------------


def _csv(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def aging_csv(report: AgingReport) -> str:
    """One line per customer, then the total line; amounts as plain decimals (1234.50)."""
    rows = [["as_of", "customer_id", "customer", *BUCKET_KEYS, "overdue", "total"]]
    for r in [*report.rows, report.total]:
        rows.append([report.as_of.isoformat(), r.customer_id if r.customer_id is not None else "",
                     r.customer_name if r.customer_id is not None else "TOTAL",
                     *[f"{getattr(r, k):.2f}" for k in BUCKET_KEYS], f"{r.overdue:.2f}", f"{r.total:.2f}"])
    return _csv(rows)


def dso_csv(detail: DsoDetail) -> str:
    return _csv([["as_of", "period_days", "receivables", "invoiced", "dso"],
                 [detail.as_of.isoformat(), detail.period_days, f"{detail.receivables:.2f}", f"{detail.invoiced:.2f}",
                  "" if detail.dso is None else str(detail.dso)]])


def collections_csv(report: CollectionsReport) -> str:
    """One line per day: the count of each action kind, the total, and that day's runs."""
    rows = [["day", *ACTION_KINDS, "total", "runs", "run_status"]]
    for day in report.days:
        rows.append([day.day.isoformat(), *[day.counts[k] for k in ACTION_KINDS], day.total, len(day.runs),
                     " ".join(r.status for r in day.runs)])
    rows.append(["TOTAL", *[report.totals[k] for k in ACTION_KINDS], report.total, len(report.runs), ""])
    return _csv(rows)


def runs_csv(report: CollectionsReport) -> str:
    """One line per collections run in the period, with its counts."""
    keys = sorted({k for r in report.runs for k in r.counts})
    rows = [["run_id", "as_of", "status", "started_at", "finished_at", *keys]]
    for r in report.runs:
        rows.append([r.id, r.as_of.isoformat(), r.status, r.started_at.isoformat(),
                     r.finished_at.isoformat() if r.finished_at else "", *[r.counts.get(k, 0) for k in keys]])
    return _csv(rows)
