"""Reports on escalations to the operator and on disputes, over a period of Beijing dates (optionally for one
team: the team of the case a request or dispute belongs to).

Definitions (each figure counts a thing once, in the period its outcome fell in):
- escalations: the service requests filed in the period, by support topic and severity, and where they stand
  now (open, needing our attention, closed); requests prepared but never filed are counted apart.
- the operator's first response and resolution times run from filing (or creation, if never marked filed) to
  the first response and to closing, in business time on the operator's own terms: severity A around the
  clock for its first response, all else 09:00-18:00 Beijing time on working days (so a 调休 Saturday counts, a
  holiday does not), as escalations.targets sets the due times.
  They count in the period the response or the closing fell in. Median, and the 90th percentile by nearest
  rank (as the desk's reports).
- a target is met when the answer came by its due time; missed when it came later, or when the due time passed
  in the period (before now) with no answer yet. Unanswered requests still within their target do not count.
- disputes: those opened in the period, with the amount disputed (a dispute naming no amount disputes the whole
  invoice: its total counts); those resolved in the period by outcome, with the amounts disputed, upheld (in
  full: the disputed amount, unless another was recorded) and credited (the credit notes issued for them); the
  time to resolve in business hours, shown in working days of nine hours.
Every count is a database aggregate; only the durations are computed per row, from a few columns.
"""

import csv
import datetime as dt
import io
import math
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.models import Team
from partnerdesk.accounts.permissions import require
from partnerdesk.billing.money import ZERO, to_money
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.errors import InvalidInput
from partnerdesk.support.business_time import AROUND_THE_CLOCK, OFFICE_HOURS, business_time_between
from partnerdesk.support.reports import BEIJING, hours, percent, period

from .models import OperatorSeverity, ServiceRequest, ServiceRequestStatus, Topic

PARTS = ("summary", "requests", "disputes")
WORKING_DAY_SECONDS = 9 * 3600  # the operator's billing day: 09:00-18:00
_MONEY = DecimalField(max_digits=18, decimal_places=2)
_NONE = Value(ZERO, output_field=_MONEY)
OUTCOMES = [DisputeOutcome.UPHELD, DisputeOutcome.PARTLY_UPHELD, DisputeOutcome.REJECTED, DisputeOutcome.WITHDRAWN]


def _schedule(severity: str, target: str):
    # The operator answers A around the clock; it resolves (the partner's expectation) in business hours.
    if target == "first_response" and severity == OperatorSeverity.CRITICAL:
        return AROUND_THE_CLOCK
    return OFFICE_HOURS


@dataclass
class Timings:
    """Business seconds of the spans measured, and how many targets were met and missed."""

    seconds: list[int] = field(default_factory=list)
    met: int = 0
    missed: int = 0

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median_seconds(self) -> int | None:
        return round(statistics.median(self.seconds)) if self.seconds else None

    @property
    def p90_seconds(self) -> int | None:
        values = sorted(self.seconds)
        return values[math.ceil(0.9 * len(values)) - 1] if values else None

    @property
    def percent_met(self) -> Decimal | None:
        return percent(self.met, self.met + self.missed)


@dataclass(frozen=True)
class TopicRow:
    topic: str
    severity: str
    count: int

    @property
    def topic_label(self) -> str:
        return Topic(self.topic).label if self.topic in Topic.values else self.topic

    @property
    def severity_label(self) -> str:
        return OperatorSeverity(self.severity).label if self.severity in OperatorSeverity.values else self.severity


@dataclass(frozen=True)
class OutcomeRow:
    outcome: str
    count: int
    disputed: Decimal
    upheld: Decimal
    credited: Decimal

    @property
    def label(self) -> str:
        return DisputeOutcome(self.outcome).label if self.outcome in DisputeOutcome.values else _("Resolved")


@dataclass
class EscalationReport:
    since: dt.date
    until: dt.date
    team: Team | None
    by_topic: list[TopicRow]
    filed: int
    drafts: int  # prepared in the period, not filed yet
    statuses: dict[str, int]  # of those filed in the period: open, attention_needed, closed
    first_response: Timings
    resolution: Timings
    disputes_opened: int
    disputes_still_open: int  # of those opened in the period
    disputed_opened_amount: Decimal
    outcomes: list[OutcomeRow]  # resolved in the period, one row per outcome (all four, then any other)
    time_to_resolve: Timings  # met/missed unused: disputes have no target

    @property
    def resolved(self) -> OutcomeRow:
        rows = self.outcomes
        return OutcomeRow("", sum(r.count for r in rows), sum((r.disputed for r in rows), ZERO),
                          sum((r.upheld for r in rows), ZERO), sum((r.credited for r in rows), ZERO))

    def outcome(self, name: str) -> OutcomeRow:
        return next(r for r in self.outcomes if r.outcome == name)

    def topic_totals(self) -> list[tuple[str, str, int]]:
        """(topic, label, requests) per topic, biggest first."""
        totals: dict[str, int] = {}
        for row in self.by_topic:
            totals[row.topic] = totals.get(row.topic, 0) + row.count
        return sorted(((t, Topic(t).label if t in Topic.values else t, n) for t, n in totals.items()),
                      key=lambda r: (-r[2], r[0]))


def _team(team_id) -> Team | None:
    if team_id in (None, ""):
        return None
    team = Team.objects.filter(pk=team_id).first() if str(team_id).isdigit() else None
    if team is None:
        raise InvalidInput(_("there is no team %(team)s"), field="team_id", team=str(team_id)[:40])
    return team


def escalation_report(user, since: dt.date, until: dt.date, *, team_id=None,
                      now: dt.datetime | None = None) -> EscalationReport:
    """Every figure of the escalations and disputes report for the Beijing dates since..until (both included)."""
    require(user, "desk.reports")
    start, end = period(since, until)
    team = _team(team_id)
    now = now or timezone.now()
    requests = ServiceRequest.objects.all()
    disputes = Dispute.objects.all()
    if team is not None:
        requests, disputes = requests.filter(case__team=team), disputes.filter(case__team=team)

    filed = requests.filter(filed_at__gte=start, filed_at__lt=end)
    by_topic = [TopicRow(r["topic"], r["severity"], r["n"])
                for r in filed.values("topic", "severity").annotate(n=Count("id")).order_by("topic", "severity")]
    statuses = filed.aggregate(total=Count("id"), **{s: Count("id", filter=Q(status=s)) for s in (
        ServiceRequestStatus.OPEN, ServiceRequestStatus.ATTENTION_NEEDED, ServiceRequestStatus.CLOSED)})
    total = statuses.pop("total")
    drafts = requests.filter(status=ServiceRequestStatus.DRAFT, created_at__gte=start, created_at__lt=end).count()

    opened = disputes.filter(opened_at__gte=start, opened_at__lt=end).aggregate(
        n=Count("id"), still_open=Count("id", filter=Q(status=HoldStatus.OPEN)),
        amount=Coalesce(Sum(_disputed()), _NONE))
    return EscalationReport(
        since=since, until=until, team=team, by_topic=by_topic, filed=total, drafts=drafts, statuses=statuses,
        first_response=_timings(requests, "first_response", start, end, now),
        resolution=_timings(requests, "resolution", start, end, now),
        disputes_opened=opened["n"], disputes_still_open=opened["still_open"], disputed_opened_amount=to_money(opened["amount"]),
        outcomes=_outcomes(disputes, start, end), time_to_resolve=_time_to_resolve(disputes, start, end),
    )


_TARGET_FIELDS = {"first_response": ("first_response_at", "first_response_due_at"),
                  "resolution": ("closed_at", "resolution_due_at")}


def _timings(requests, target: str, start, end, now) -> Timings:
    """The spans from filing to the first response (or closing) that ended in the period, and the targets met and
    missed in it."""
    answered, due = _TARGET_FIELDS[target]
    out = Timings()
    rows = (requests.filter(**{f"{answered}__gte": start, f"{answered}__lt": end})
            .values_list("severity", "filed_at", "created_at", answered, due).order_by(answered, "id"))
    for severity, filed_at, created_at, at, due_at in rows:
        out.seconds.append(int(business_time_between(filed_at or created_at, at, _schedule(severity, target)).total_seconds()))
        if due_at is not None:
            if at <= due_at:
                out.met += 1
            else:
                out.missed += 1
    # Past due with no answer yet: missed in the period its due time fell in.
    out.missed += requests.filter(**{f"{answered}__isnull": True, f"{due}__gte": start, f"{due}__lt": min(end, now)}
                                  ).exclude(status=ServiceRequestStatus.DRAFT).count()
    return out


def _disputed():
    """The amount a dispute disputes: the one it names, else the invoice's total."""
    return Coalesce(F("amount"), F("invoice__total"), output_field=_MONEY)


def _upheld():
    """What was upheld: the amount recorded, else (upheld in full) the amount disputed."""
    return models.Case(When(upheld_amount__isnull=False, then=F("upheld_amount")),
                 When(outcome=DisputeOutcome.UPHELD, then=_disputed()), default=_NONE, output_field=_MONEY)


def _outcomes(disputes, start, end) -> list[OutcomeRow]:
    found = {r["outcome"]: r for r in disputes.filter(resolved_at__gte=start, resolved_at__lt=end)
             .values("outcome").annotate(n=Count("id"), disputed=Coalesce(Sum(_disputed()), _NONE),
                                         upheld=Coalesce(Sum(_upheld()), _NONE),
                                         credited=Coalesce(Sum("credit_note__amount"), _NONE)).order_by("outcome")}
    names = [*OUTCOMES, *(name for name in found if name not in OUTCOMES)]
    # (SQLite sums decimals without their places: money is quantized here, as the ledger does.)
    return [OutcomeRow(name, found[name]["n"], to_money(found[name]["disputed"]), to_money(found[name]["upheld"]),
                       to_money(found[name]["credited"])) if name in found else OutcomeRow(name, 0, ZERO, ZERO, ZERO)
            for name in names]


def _time_to_resolve(disputes, start, end) -> Timings:
    rows = disputes.filter(resolved_at__gte=start, resolved_at__lt=end).values_list("opened_at", "resolved_at")
    return Timings([int(business_time_between(a, b, OFFICE_HOURS).total_seconds()) for a, b in rows])


def working_days(seconds: int | None) -> str:
    """Business seconds as working days of nine hours, one decimal ("" for none)."""
    return "" if seconds is None else f"{Decimal(seconds) / WORKING_DAY_SECONDS:.1f}"


# --- CSV ----------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A spreadsheet cell: times in Beijing time, text that could run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def summary_figures(report: EscalationReport) -> list[tuple[str, object]]:
    """The report's headline figures as (metric, value): durations in business hours, amounts in CNY."""
    out: list[tuple[str, object]] = [("requests_filed", report.filed), ("requests_prepared_not_filed", report.drafts)]
    out += [(f"requests_{status}", n) for status, n in report.statuses.items()]
    out += [(f"requests_{row.topic}_{row.severity}", row.count) for row in report.by_topic]
    for name in ("first_response", "resolution"):
        t = getattr(report, name)
        out += [(f"{name}_count", t.count), (f"{name}_median_hours", hours(t.median_seconds)),
                (f"{name}_p90_hours", hours(t.p90_seconds)), (f"{name}_met", t.met), (f"{name}_missed", t.missed),
                (f"{name}_percent_met", t.percent_met)]
    out += [("disputes_opened", report.disputes_opened), ("disputes_opened_still_open", report.disputes_still_open),
            ("disputes_opened_amount_cny", report.disputed_opened_amount)]
    for row in [*report.outcomes, report.resolved]:
        name = row.outcome or "resolved"
        out += [(f"disputes_{name}", row.count), (f"disputes_{name}_disputed_cny", row.disputed),
                (f"disputes_{name}_upheld_cny", row.upheld), (f"disputes_{name}_credited_cny", row.credited)]
    t = report.time_to_resolve
    out += [("time_to_resolve_median_hours", hours(t.median_seconds)), ("time_to_resolve_p90_hours", hours(t.p90_seconds)),
            ("time_to_resolve_median_working_days", working_days(t.median_seconds)),
            ("time_to_resolve_p90_working_days", working_days(t.p90_seconds))]
    return out


def _request_rows(report: EscalationReport, start, end):
    requests = ServiceRequest.objects.filter(Q(filed_at__gte=start, filed_at__lt=end)
                                             | Q(first_response_at__gte=start, first_response_at__lt=end)
                                             | Q(closed_at__gte=start, closed_at__lt=end))
    if report.team is not None:
        requests = requests.filter(case__team=report.team)
    yield ["request", "case", "customer", "channel", "topic", "severity", "status", "filed_at", "first_response_at",
           "first_response_due_at", "first_response_business_hours", "closed_at", "resolution_due_at",
           "resolution_business_hours"]
    for sr in requests.select_related("case", "customer").order_by("filed_at", "id").iterator(chunk_size=500):
        began = sr.filed_at or sr.created_at
        spans = [None if at is None else int(business_time_between(began, at, _schedule(sr.severity, target))
                                             .total_seconds())
                 for target, at in (("first_response", sr.first_response_at), ("resolution", sr.closed_at))]
        yield [str(sr), sr.case.token, sr.customer.name, sr.channel, sr.topic, sr.severity, sr.status, sr.filed_at,
               sr.first_response_at, sr.first_response_due_at, hours(spans[0]), sr.closed_at, sr.resolution_due_at,
               hours(spans[1])]


def _dispute_rows(report: EscalationReport, start, end):
    disputes = Dispute.objects.filter(Q(opened_at__gte=start, opened_at__lt=end)
                                      | Q(resolved_at__gte=start, resolved_at__lt=end))
    if report.team is not None:
        disputes = disputes.filter(case__team=report.team)
    yield ["dispute", "case", "customer", "invoice", "status", "outcome", "opened_at", "resolved_at",
           "disputed_cny", "upheld_cny", "credit_note", "credited_cny", "business_hours_to_resolve"]
    for d in (disputes.select_related("case", "customer", "invoice", "credit_note").annotate(disputed=_disputed())
              .order_by("opened_at", "id").iterator(chunk_size=500)):
        took = None if d.resolved_at is None else int(business_time_between(d.opened_at, d.resolved_at,
                                                                            OFFICE_HOURS).total_seconds())
        upheld = d.upheld_amount if d.upheld_amount is not None else (
            d.disputed if d.outcome == DisputeOutcome.UPHELD else None)
        yield [d.pk, d.case.token if d.case else "", d.customer.name, d.invoice.number or "", d.status, d.outcome,
               d.opened_at, d.resolved_at, to_money(d.disputed), None if upheld is None else to_money(upheld), d.credit_note.number if d.credit_note else "",
               d.credit_note.amount if d.credit_note else None, hours(took)]


def report_csv(report: EscalationReport, part: str) -> str:
    """One part of the report as CSV: the summary's figures, or the requests or disputes behind them."""
    if part not in PARTS:
        raise InvalidInput(_("%(value)s is not a part of this report"), field="part", value=repr(part))
    if part == "summary":
        rows = [["since", "until", "team", "metric", "value"]]
        team = report.team.name if report.team else ""
        rows += [[report.since.isoformat(), report.until.isoformat(), team, metric, "" if value is None else value]
                 for metric, value in summary_figures(report)]
    else:
        start, end = period(report.since, report.until)
        rows = (_request_rows if part == "requests" else _dispute_rows)(report, start, end)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()
