"""Finance's charts, drawn on the server by pygal as inline SVG with no script (as the desk's report pages draw
theirs): margin per period, and the cash flow in and out per week with the running balance."""

import re

import pygal
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from .reports import CashFlowReport, PeriodFigures

# pygal puts its configuration in an inline <script> for its optional tooltips; the page needs none (and a
# content security policy will refuse inline scripts).
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1f2937", foreground_strong="#111827",
    foreground_subtle="#9ca3af", colors=("#2f6fdb", "#e26d3d", "#1b6e3a", "#c98a00", "#7c3aed"),
    font_family='system-ui, "Noto Sans CJK SC", "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei", sans-serif',
    title_font_size=15, label_font_size=12, major_label_font_size=12, value_font_size=11, legend_font_size=12,
)


def _yuan(value) -> str:
    return "¥" + number_format(value, 2, force_grouping=True)


def _chart(kind, title: str, **options):
    options = {"js": [], "disable_xml_declaration": True, "style": _STYLE, "width": 720, "height": 320,
               "legend_at_bottom": True, "margin": 12, "value_formatter": _yuan, "truncate_label": -1, **options}
    return kind(title=title, **options)


def _render(chart) -> str:
    """The chart as inline SVG markup (pygal escapes the labels)."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))


def margin_chart(periods: list[PeriodFigures]) -> str:
    """Operator charged, partner billed and the margin, per period (CNY)."""
    chart = _chart(pygal.Bar, _("Margin per period (CNY)"), x_label_rotation=30)
    chart.x_labels = [p.period.strftime("%Y-%m") for p in periods]
    chart.add(_("Operator charged"), [float(p.charged) for p in periods])
    chart.add(_("Billed"), [float(p.billed) for p in periods])
    chart.add(_("Margin"), [float(p.margin) for p in periods])
    return _render(chart)


def cash_flow_chart(report: CashFlowReport) -> str:
    """Money in and out per week as bars, and the running balance as a line on the same scale (CNY)."""
    chart = _chart(pygal.Bar, _("Cash flow per week (CNY)"), x_label_rotation=30)
    chart.x_labels = [w.start.strftime("%m-%d") for w in report.weeks]
    chart.add(_("Expected in"), [float(w.inflow) for w in report.weeks])
    chart.add(_("Due out"), [-float(w.outflow) for w in report.weeks])
    return _render(chart)


def balance_chart(report: CashFlowReport) -> str:
    """The running balance at the end of each week; the zero line marks a shortfall."""
    chart = _chart(pygal.Line, _("Running balance (CNY)"), x_label_rotation=30, show_legend=False, height=260,
                   fill=False, dots_size=3)
    chart.x_labels = [w.start.strftime("%m-%d") for w in report.weeks]
    chart.add(_("Running balance"), [float(w.balance) for w in report.weeks])
    chart.add(_("Zero"), [0.0 for _w in report.weeks], show_dots=False, stroke_style={"dasharray": "4, 4"})
    return _render(chart)
