"""The desk's report on escalations to the operator and on disputes (desk.reports): requests by topic and
severity, the operator's times against its targets, disputes and their amounts, each with its CSV; charts drawn
on the server by pygal, as on the desk's own report page."""

import pygal
from django import forms
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.models import Team
from partnerdesk.escalations import reports
from partnerdesk.escalations.models import OperatorSeverity, Topic

from ..access import staff_page
from .reports import _bad_filters, _csv, _range
from .support_reports import _chart, _hours, _render, _wide_label_margin


class TeamForm(forms.Form):
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False,
                                  empty_label=gettext_lazy("All teams"))


def topics_chart(report) -> str:
    """Requests filed per topic, one stack per severity."""
    topics = [t for t in Topic.values if any(r.topic == t for r in report.by_topic)]
    chart = _chart(pygal.StackedBar, _("Requests filed by topic and severity"), value_formatter=lambda v: f"{v:.0f}",
                   y_title=_("requests"), print_values=False)
    chart.x_labels = [str(Topic(t).label) for t in topics]
    counts = {(r.topic, r.severity): r.count for r in report.by_topic}
    for severity, label in OperatorSeverity.choices:
        chart.add(str(label), [counts.get((t, severity)) for t in topics])
    return _render(chart)


def times_chart(report) -> str:
    chart = _chart(pygal.Bar, _("The operator's times in business hours: median and 90th percentile"),
                   value_formatter=lambda v: number_format(v, 1), y_title=_("hours"))
    chart.x_labels = [_("First response"), _("Resolution")]
    parts = [report.first_response, report.resolution]
    chart.add(_("Median"), [_hours(t.median_seconds) for t in parts])
    chart.add(_("90th percentile"), [_hours(t.p90_seconds) for t in parts])
    return _render(chart)


def disputes_chart(report) -> str:
    """Amounts disputed, upheld and credited per outcome, in CNY."""
    rows = [r for r in report.outcomes if r.count]
    labels = [str(r.label) for r in rows]
    chart = _chart(pygal.HorizontalBar, _("Disputes resolved: amounts (CNY)"), height=max(180, 90 + 45 * len(rows)),
                   value_formatter=lambda v: "¥" + number_format(v, 2, force_grouping=True),
                   margin_left=_wide_label_margin(labels))
    chart.x_labels = labels
    chart.add(_("Disputed"), [float(r.disputed) for r in rows])
    chart.add(_("Upheld"), [float(r.upheld) for r in rows])
    chart.add(_("Credited"), [float(r.credited) for r in rows])
    return _render(chart)


@staff_page("desk.reports")
def escalation_reports(request):
    """The figures for a period (default: the last 30 days) and optionally one team, with charts; with
    ?part=summary, requests or disputes: that part as CSV."""
    form, since, until = _range(request)
    team_form = TeamForm(request.GET if "team" in request.GET else None)
    team = team_form.cleaned_data["team"] if team_form.is_bound and team_form.is_valid() else None
    if team_form.is_bound and not team_form.is_valid():
        since = None
    team_id = team.pk if team else None
    if "part" in request.GET:
        part = request.GET["part"]
        if since is None or part not in reports.PARTS:
            return _bad_filters()
        report = reports.escalation_report(request.user, since, until, team_id=team_id)
        return _csv(reports.report_csv(report, part), f"partnerdesk-escalations-{part}-{since}-{until}.csv")
    context = {"form": form, "team_form": team_form, "since": since, "until": until, "team": team}
    if since is not None:
        report = reports.escalation_report(request.user, since, until, team_id=team_id)
        took = report.time_to_resolve
        context.update(
            report=report,
            timings=[(label, t, note, _hours(t.median_seconds), _hours(t.p90_seconds)) for label, t, note in (
                (_("First response"), report.first_response, _("answers that came in the period")),
                (_("Resolution"), report.resolution, _("requests the operator closed in the period")))],
            time_to_resolve=[None if s is None else s / reports.WORKING_DAY_SECONDS
                             for s in (took.median_seconds, took.p90_seconds)],
            time_to_resolve_hours=[_hours(took.median_seconds), _hours(took.p90_seconds)],
            status_rows=[(_("Open"), report.statuses["open"]),
                         (_("Needs our attention"), report.statuses["attention_needed"]),
                         (_("Closed"), report.statuses["closed"])],
            topics_chart=topics_chart(report) if report.by_topic else "", times_chart=times_chart(report),
            disputes_chart=disputes_chart(report) if report.resolved.count else "",
            query=f"?since={since.isoformat()}&until={until.isoformat()}" + (f"&team={team_id}" if team_id else ""),
        )
    return render(request, "web/support/escalation_reports.html", context)
