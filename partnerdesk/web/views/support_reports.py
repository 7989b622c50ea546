"""The support desk's report page (desk.reports): times, SLA targets met, escalations, satisfaction and reopens
for a period, each with its CSV, and charts drawn on the server by pygal (SVG, no script: it works offline and
needs nothing from outside)."""

import math
import re
import unicodedata

import pygal
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from partnerdesk.support import reports

from ..access import staff_page
from .reports import _bad_filters, _csv, _range

# pygal puts its configuration in an inline <script> for its optional tooltips; the page needs none.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1f2937", foreground_strong="#111827",
    foreground_subtle="#9ca3af", colors=("#2f6fdb", "#e26d3d", "#1b6e3a", "#c98a00", "#7c3aed"),
    font_family='system-ui, "Noto Sans CJK SC", "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei", sans-serif',
    title_font_size=15, label_font_size=12, major_label_font_size=12, value_font_size=12, legend_font_size=12,
)


def _render(chart) -> str:
    """The chart as inline SVG markup (pygal escapes the labels, which may be agents' and teams' names)."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _wide_label_margin(labels) -> int:
    """Extra room on the left for labels in Chinese: pygal measures every character as a narrow one."""
    wide = max((sum(unicodedata.east_asian_width(c) in "WF" for c in str(label)) for label in labels), default=0)
    return 12 + wide * 7


def _chart(kind, title: str, **options):
    options = {"js": [], "disable_xml_declaration": True, "style": _STYLE, "width": 640, "height": 300,
               "print_values": True, "legend_at_bottom": True, "margin": 12, **options}
    return kind(title=title, **options)


def _hours(seconds):
    return None if seconds is None else round(seconds / 3600, 2)


def times_chart(report) -> str:
    chart = _chart(pygal.Bar, _("Business hours: median and 90th percentile"),
                   value_formatter=lambda v: f"{v:.1f}", y_title=_("hours"))
    chart.x_labels = [_("First response"), _("Resolution"), _("Operator's response")]
    parts = [report.first_response, report.resolution, report.operator]
    chart.add(_("Median"), [_hours(d.median_seconds) for d in parts])
    chart.add(_("90th percentile"), [_hours(d.p90_seconds) for d in parts])
    return _render(chart)


def sla_chart(title: str, rows) -> str:
    labels = [str(row.label) for row in rows]
    chart = _chart(pygal.HorizontalBar, title, range=(0, 100), show_legend=False, width=420,
                   height=max(150, 70 + 30 * len(rows)), value_formatter=lambda v: f"{v:.0f}%",
                   margin_left=_wide_label_margin(labels), y_labels=[0, 25, 50, 75, 100])
    chart.x_labels = labels
    chart.add(_("Targets met"), [None if row.percent_met is None else float(row.percent_met) for row in rows])
    return _render(chart)


def rates_chart(report) -> str:
    rates = [(_("Escalated to the operator"), report.escalation.percent), (_("Reopened"), report.reopen.percent),
             (_("Answered the survey"), report.satisfaction.percent)]
    chart = _chart(pygal.HorizontalBar, _("Rates"), range=(0, 100), show_legend=False, height=220,
                   value_formatter=lambda v: f"{v:.1f}%", margin_left=_wide_label_margin([r[0] for r in rates]),
                   y_labels=[0, 25, 50, 75, 100])
    chart.x_labels = [label for label, _value in rates]
    chart.add(_("Percent"), [None if value is None else float(value) for _label, value in rates])
    return _render(chart)


def satisfaction_chart(report) -> str:
    counts = list(report.score_distribution.values())
    step = max(1, math.ceil(max(counts) / 5))  # whole cases on the axis
    chart = _chart(pygal.Bar, _("Scores"), show_legend=False, height=240, value_formatter=lambda v: f"{v:.0f}",
                   y_labels=list(range(0, max(counts) + step, step)))
    chart.x_labels = ["1", "2", "3", "4", "5"]
    chart.add(_("Cases"), counts)
    return _render(chart)


def _figures(report) -> list[tuple[str, object, object, str]]:
    """(what, median, 90th percentile, CSV part) for the timing table, in hours."""
    return [(_("First response"), report.first_response, _("clocks met in the period"),
             "first_response"),
            (_("Resolution"), report.resolution, _("cases resolved in the period"), "resolution"),
            (_("Operator's response"), report.operator, _("waits on the operator that ended in the period"),
             "operator")]


@staff_page("desk.reports")
def support_reports(request):
    """The desk's figures for a period (default: the last 30 days), with charts; with ?part=summary,
    first_response, resolution, sla, escalation, operator, satisfaction or reopen: that part as CSV."""
    form, since, until = _range(request)
    if "part" in request.GET:
        part = request.GET["part"]
        if since is None or part not in reports.PARTS:
            return _bad_filters()
        report = reports.support_report(request.user, since, until)
        return _csv(reports.report_csv(report, part), f"partnerdesk-support-{part}-{since}-{until}.csv")
    context = {"form": form, "since": since, "until": until}
    if since is not None:
        report = reports.support_report(request.user, since, until)
        groups = [("agent", _("Per agent")), ("team", _("Per team")), ("type", _("Per type"))]
        sla_groups = [(key, label, report.sla_rows(key)) for key, label in groups]
        context.update(
            report=report, timings=[(label, d, reports.hours(d.median_seconds), reports.hours(d.p90_seconds), note, part)
                                    for label, d, note, part in _figures(report)],
            sla_groups=[(key, label, rows, sla_chart(label, rows)) for key, label, rows in sla_groups],
            times_chart=times_chart(report), rates_chart=rates_chart(report),
            satisfaction_chart=satisfaction_chart(report),
        )
    return render(request, "web/support/reports.html", context)
