"""The support desk's reports over a period of Beijing dates: how fast the desk answers and resolves, how often
it meets its SLA targets (per agent, team and type), how often it escalates to the operator and how long the
operator takes, what customers score, and how often resolved cases come back.

Definitions (each figure counts a thing once, in the period its outcome fell in):
- first response and resolution times are the business time the case's SLA clock ran (so a case waiting on
  the customer does not count; severity A runs around the clock), for clocks met in the period; a reopened
  case's resolution time runs on from where it stood. Median, and the 90th percentile by nearest rank.
- an SLA target is met when its clock was met by its deadline, missed when its deadline passed first; it
  counts in the period of its met time (met) or deadline (missed). Clocks still running on time do not count.
- escalation rate: of the cases opened in the period, the share that was ever waiting on the operator.
- the operator's response time: each stretch a case waited on the operator, in the operator's billing
  support hours (09:00-18:00 Beijing time on working days), counted in the period it ended.
- satisfaction: the cases asked for a score in the period (the resolution email asked, or scored in the
  portal unasked), their scores and the share that answered.
- reopen rate: of the cases opened in the period that were resolved, the share reopened at least once.
Cases merged into another are left out: their conversation goes on in the case they were merged into.
"""

import csv
import datetime as dt
import io
import math
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.permissions import require
from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import InvalidInput

from .business_time import OFFICE_HOURS, business_time_between
from .models import Case, CaseStatus, CaseType, SlaClock, SlaTarget

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 366
PARTS = ("summary", "first_response", "resolution", "sla", "escalation", "operator", "satisfaction", "reopen")
_CASE = Case._meta.label_lower
_CHUNK = 500


def period(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period's bounds: since 00:00 to the day after until 00:00, Beijing time."""
    if until < since:
        raise InvalidInput(_("the end date is before the start date"), field="until")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidInput(_("a report covers at most %(days)s days"), field="since", days=MAX_DAYS)
    start = dt.datetime.combine(since, dt.time(0), BEIJING)
    return start, dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0), BEIJING)


def percent(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part * 100) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Timing:
    """One measured span: a case's clock until it was met, or a stretch waiting on the operator."""

    case: Case
    start: dt.datetime
    end: dt.datetime | None
    seconds: int | None  # business time; None while still running


@dataclass
class Durations:
    items: list[Timing] = field(default_factory=list)

    @property
    def _values(self) -> list[int]:
        return sorted(t.seconds for t in self.items if t.seconds is not None)

    @property
    def count(self) -> int:
        return len(self._values)

    @property
    def median_seconds(self) -> int | None:
        values = self._values
        return round(statistics.median(values)) if values else None

    @property
    def p90_seconds(self) -> int | None:
        values = self._values
        return values[math.ceil(0.9 * len(values)) - 1] if values else None

    @property
    def still_running(self) -> int:
        return sum(1 for t in self.items if t.end is None)


@dataclass
class SlaRow:
    key: str  # the agent's or team's id, or the type; "" for none
    label: str  # (a lazy translation for "Unassigned", "No team" and the types: shown in the reader's language)
    met: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def percent_met(self) -> Decimal | None:
        return percent(self.met, self.total)


@dataclass(frozen=True)
class SlaOutcome:
    clock: SlaClock
    met: bool
    at: dt.datetime


@dataclass
class Rate:
    cases: list[Case]
    counted: list[Case]  # those of `cases` the rate counts (escalated, reopened, scored)

    @property
    def percent(self) -> Decimal | None:
        return percent(len(self.counted), len(self.cases))


@dataclass
class SupportReport:
    since: dt.date
    until: dt.date
    first_response: Durations
    resolution: Durations
    sla: list[SlaOutcome]
    escalation: Rate
    operator: Durations
    satisfaction: Rate
    reopen: Rate

    def sla_rows(self, by: str) -> list[SlaRow]:
        """Targets met and missed per agent, team or type (by = "agent", "team", "type"), biggest first."""
        rows: dict[str, SlaRow] = {}
        for outcome in self.sla:
            key, label = _group(outcome.clock.case, by)
            row = rows.setdefault(key, SlaRow(key, label))
            if outcome.met:
                row.met += 1
            else:
                row.missed += 1
        return sorted(rows.values(), key=lambda r: (-r.total, str(r.label)))

    @property
    def sla_total(self) -> SlaRow:
        return SlaRow("", "", met=sum(o.met for o in self.sla), missed=sum(not o.met for o in self.sla))

    @property
    def scores(self) -> list[int]:
        return [c.satisfaction_score for c in self.satisfaction.counted]

    @property
    def average_score(self) -> Decimal | None:
        scores = self.scores
        return (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP) if scores else None

    @property
    def score_distribution(self) -> dict[int, int]:
        return {score: self.scores.count(score) for score in range(1, 6)}


def _group(case: Case, by: str) -> tuple[str, str]:
    if by == "agent":
        user = case.assignee
        return (str(user.pk), user.get_full_name() or user.get_username()) if user else ("", _("Unassigned"))
    if by == "team":
        return (str(case.team_id), case.team.name) if case.team_id else ("", _("No team"))
    return case.type, CaseType(case.type).label if case.type in CaseType.values else case.type


def support_report(user, since: dt.date, until: dt.date, *, now: dt.datetime | None = None) -> SupportReport:
    """Every figure of the desk's reports for the Beijing dates since..until (both included)."""
    require(user, "desk.reports")
    start, end = period(since, until)
    now = now or timezone.now()
    clocks = (SlaClock.objects.filter(case__merged_into__isnull=True)
              .select_related("case__customer", "case__assignee", "case__team").order_by("met_at", "id"))
    first = clocks.filter(target=SlaTarget.FIRST_RESPONSE, sequence=1, met_at__gte=start, met_at__lt=end)
    resolved = {c.case_id: c for c in clocks.filter(target=SlaTarget.RESOLUTION, met_at__gte=start, met_at__lt=end)}
    opened = list(_cases().filter(created_at__gte=start, created_at__lt=end).order_by("created_at", "id"))
    return SupportReport(
        since=since, until=until,
        first_response=Durations([_clock_timing(c) for c in first]),
        resolution=Durations([_clock_timing(c) for c in resolved.values()]),
        sla=_sla_outcomes(clocks, start, end, now),
        escalation=_escalation(opened, start),
        operator=_operator_waits(start, end),
        satisfaction=_satisfaction(start, end),
        reopen=_reopens(opened),
    )


def _cases():
    return Case.objects.filter(merged_into__isnull=True).select_related("customer", "assignee", "team")


def _clock_timing(clock: SlaClock) -> Timing:
    return Timing(clock.case, clock.started_at, clock.met_at, int(clock.elapsed.total_seconds()))


def _sla_outcomes(clocks, start, end, now) -> list[SlaOutcome]:
    overdue_until = min(end, now)
    candidates = clocks.filter(
        Q(met_at__gte=start, met_at__lt=end) | Q(breached_at__gte=start, breached_at__lt=end)
        | Q(met_at__isnull=True, breached_at__isnull=True, cancelled=False, deadline_at__gte=start,
            deadline_at__lt=overdue_until))
    out = []
    for clock in candidates:
        if clock.met_at is not None and (clock.breached_at is None or clock.met_at <= clock.breached_at):
            outcome = SlaOutcome(clock, True, clock.met_at)
        elif clock.breached_at is not None:
            outcome = SlaOutcome(clock, False, clock.breached_at)
        elif clock.met_at is None and clock.deadline_at is not None and clock.deadline_at < now:
            outcome = SlaOutcome(clock, False, clock.deadline_at)  # passed; the alert job has not marked it yet
        else:
            continue
        if start <= outcome.at < end:
            out.append(outcome)
    return sorted(out, key=lambda o: (o.at, o.clock.pk))


def _status_entries(case_ids):
    """The audit entries that set a status, per case id (as the log stores it), in order."""
    for i in range(0, len(case_ids), _CHUNK):
        yield from (AuditEntry.objects.filter(object_type=_CASE, object_id__in=case_ids[i:i + _CHUNK],
                                              after__status__isnull=False)
                    .order_by("object_id", "at", "id").values_list("object_id", "at", "after"))


def _escalation(opened: list[Case], start) -> Rate:
    ever = set(AuditEntry.objects.filter(object_type=_CASE, at__gte=start, after__status=CaseStatus.WAITING_OPERATOR)
               .values_list("object_id", flat=True))
    return Rate(opened, [c for c in opened if str(c.pk) in ever or c.status == CaseStatus.WAITING_OPERATOR])


def _operator_waits(start, end) -> Durations:
    """Each stretch on the operator's side that ended in the period, and those still open at its end."""
    waited = sorted(set(AuditEntry.objects.filter(object_type=_CASE, at__lt=end,
                                                  after__status=CaseStatus.WAITING_OPERATOR)
                        .values_list("object_id", flat=True)))
    spans: list[tuple[str, dt.datetime, dt.datetime | None]] = []
    current: dict[str, tuple[str, dt.datetime | None]] = {}
    for object_id, at, after in _status_entries(waited):
        if at >= end:
            continue
        status, since = current.get(object_id, ("", None))
        new = (after or {}).get("status")
        if new == CaseStatus.WAITING_OPERATOR and status != new:
            current[object_id] = (new, at)
        elif new != CaseStatus.WAITING_OPERATOR and status == CaseStatus.WAITING_OPERATOR:
            spans.append((object_id, since, at))
            current[object_id] = (new, None)
        else:
            current[object_id] = (new, since)
    spans += [(object_id, since, None) for object_id, (status, since) in current.items()
              if status == CaseStatus.WAITING_OPERATOR]
    spans = [s for s in spans if s[2] is None or start <= s[2] < end]
    cases = _cases().in_bulk([int(s[0]) for s in spans])
    items = [Timing(cases[int(pk)], began, ended,
                    None if ended is None else int(business_time_between(began, ended, OFFICE_HOURS).total_seconds()))
             for pk, began, ended in spans if int(pk) in cases]
    return Durations(sorted(items, key=lambda t: (t.end or end, t.case.pk)))


def _satisfaction(start, end) -> Rate:
    asked = list(_cases().filter(
        Q(survey_sent_at__gte=start, survey_sent_at__lt=end)
        | Q(survey_sent_at__isnull=True, satisfaction_at__gte=start, satisfaction_at__lt=end)).order_by("id"))
    return Rate(asked, [c for c in asked if c.satisfaction_score is not None])


def _reopens(opened: list[Case]) -> Rate:
    resolved = [c for c in opened if c.resolved_at is not None or c.closed_at is not None or c.reopen_count > 0]
    return Rate(resolved, [c for c in resolved if c.reopen_count > 0])


# --- CSV ----------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A spreadsheet cell: times in Beijing time, durations in hours, text that could run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(BEIJING).isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def hours(seconds: int | None) -> str:
    return "" if seconds is None else f"{Decimal(seconds) / 3600:.2f}"


def _case_cells(case: Case) -> list:
    return [case.token, case.customer.name, case.type, case.severity,
            case.assignee.get_username() if case.assignee else "", case.team.name if case.team else ""]


CASE_HEADER = ["case", "customer", "type", "severity", "assignee", "team"]


def report_csv(report: SupportReport, part: str) -> str:
    """One part of the report as CSV rows: the summary's figures, or the cases (clocks, stretches) behind one."""
    if part not in PARTS:
        raise InvalidInput(_("%(value)s is not a part of this report"), field="part", value=repr(part))
    rows: list[list] = []
    if part == "summary":
        rows.append(["since", "until", "metric", "value"])
        for metric, value in summary_figures(report):
            rows.append([report.since.isoformat(), report.until.isoformat(), metric, "" if value is None else value])
    elif part in ("first_response", "resolution", "operator"):
        durations = getattr(report, part)
        rows.append([*CASE_HEADER, "started_at" if part != "operator" else "waiting_since",
                     "met_at" if part != "operator" else "answered_at", "business_hours"])
        rows += [[*_case_cells(t.case), t.start, t.end, hours(t.seconds)] for t in durations.items]
    elif part == "sla":
        rows.append(["by", "key", "name", "met", "missed", "total", "percent_met"])
        for by in ("agent", "team", "type"):
            rows += [[by, r.key, r.label, r.met, r.missed, r.total, r.percent_met] for r in report.sla_rows(by)]
        total = report.sla_total
        rows.append(["all", "", "", total.met, total.missed, total.total, total.percent_met])
    elif part == "escalation":
        rows.append([*CASE_HEADER, "opened_at", "status", "escalated"])
        counted = {c.pk for c in report.escalation.counted}
        rows += [[*_case_cells(c), c.created_at, c.status, "yes" if c.pk in counted else "no"]
                 for c in report.escalation.cases]
    elif part == "satisfaction":
        rows.append([*CASE_HEADER, "asked_at", "score", "scored_at", "comment"])
        rows += [[*_case_cells(c), c.survey_sent_at, c.satisfaction_score, c.satisfaction_at, c.satisfaction_comment]
                 for c in report.satisfaction.cases]
    else:
        rows.append([*CASE_HEADER, "opened_at", "resolved_at", "status", "times_reopened"])
        rows += [[*_case_cells(c), c.created_at, c.resolved_at, c.status, c.reopen_count] for c in report.reopen.cases]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def summary_figures(report: SupportReport) -> list[tuple[str, object]]:
    """The report's headline figures as (metric, value): durations in business hours, rates in percent."""
    out = []
    for name in ("first_response", "resolution", "operator"):
        durations = getattr(report, name)
        out += [(f"{name}_count", durations.count), (f"{name}_median_hours", hours(durations.median_seconds)),
                (f"{name}_p90_hours", hours(durations.p90_seconds))]
    out.append(("operator_still_waiting", report.operator.still_running))
    total = report.sla_total
    out += [("sla_met", total.met), ("sla_missed", total.missed), ("sla_percent_met", total.percent_met)]
    out += [("cases_opened", len(report.escalation.cases)), ("cases_escalated", len(report.escalation.counted)),
            ("escalation_percent", report.escalation.percent)]
    out += [("satisfaction_asked", len(report.satisfaction.cases)),
            ("satisfaction_answered", len(report.satisfaction.counted)),
            ("satisfaction_response_percent", report.satisfaction.percent),
            ("satisfaction_average", report.average_score)]
    out += [(f"satisfaction_score_{score}", n) for score, n in report.score_distribution.items()]
    out += [("cases_resolved", len(report.reopen.cases)), ("cases_reopened", len(report.reopen.counted)),
            ("reopen_percent", report.reopen.percent)]
    return out
