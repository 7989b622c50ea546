"""The monitoring's charts, drawn on the server by pygal as inline SVG with no script (as finance's and the desk's
report pages draw theirs): an alert's series with the point that tripped it marked, and the alerts by signal."""

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation

import pygal
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from .reports import AlertReport

# pygal puts its configuration in an inline <script> for its optional tooltips; the page needs none (and a
# content security policy refuses inline scripts).
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1f2937", foreground_strong="#111827",
    foreground_subtle="#9ca3af", colors=("#2f6fdb", "#c0392b", "#1b6e3a", "#c98a00", "#7c3aed"),
    font_family='system-ui, "Noto Sans CJK SC", "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei", sans-serif',
    title_font_size=15, label_font_size=12, major_label_font_size=12, value_font_size=11, legend_font_size=12,
)
MAX_POINTS = 400  # an alert's series is the baseline and a few days after it; more is cut from the start


def _yuan(value) -> str:
    return "¥" + number_format(value, 2, force_grouping=True)


def _chart(kind, title: str, **options):
    options = {"js": [], "disable_xml_declaration": True, "style": _STYLE, "width": 720, "height": 300,
               "legend_at_bottom": True, "margin": 12, "truncate_label": -1, **options}
    return kind(title=title, **options)


def _render(chart) -> str:
    """The chart as inline SVG markup (pygal escapes the labels)."""
    return mark_safe(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _points(series) -> list[tuple[str, float | None]]:
    """[(ISO date, value)] from an alert's stored series, skipping what is not a point (the series is JSON)."""
    points = []
    for item in series or []:
        if not isinstance(item, list | tuple) or len(item) < 2:
            continue
        day, value = str(item[0])[:10], item[1]
        try:
            dt.date.fromisoformat(day)
            number = None if value is None else float(Decimal(str(value)))
        except (ValueError, InvalidOperation):
            continue
        points.append((day, number))
    return points[-MAX_POINTS:]


def series_chart(series, tripped: str | None, *, title: str | None = None, money: bool = True) -> str | None:
    """The series as a line, the tripped point as a red dot on it (and named in the legend); None with no series."""
    points = _points(series)
    if not points:
        return None
    days = [day for day, _value in points]
    chart = _chart(pygal.Line, title or _("Daily spend (CNY)"), x_label_rotation=30, dots_size=2, fill=False,
                   show_minor_x_labels=False, x_labels_major_every=max(1, len(points) // 10),
                   value_formatter=_yuan if money else (lambda v: f"{v:,.2f}"))
    chart.x_labels = days
    chart.add(_("Daily spend") if money else _("Value"), [value for _day, value in points])
    if tripped and tripped in days:
        marks = [value if day == tripped else None for day, value in points]
        chart.add(_("Tripped on %(day)s") % {"day": tripped}, marks, stroke=False, dots_size=7)
    return _render(chart)


def signals_chart(report: AlertReport) -> str:
    """Alerts per signal in the period: confirmed, dismissed, and the rest (open, expected, cleared unjudged)."""
    rows = [row for row in report.rows if row.alerts]
    top = max((row.alerts for row in rows), default=1)
    step = max(1, math.ceil(top / 5))  # whole alerts on the axis
    chart = _chart(pygal.StackedBar, _("Alerts by signal"), x_label_rotation=20, height=320,
                   value_formatter=lambda v: f"{v:.0f}", y_labels=list(range(0, top + step, step)))
    chart.x_labels = [row.label for row in rows]
    chart.add(_("Confirmed"), [row.confirmed for row in rows])
    chart.add(_("Dismissed"), [row.dismissed for row in rows])
    chart.add(_("Not judged"), [row.alerts - row.confirmed - row.dismissed for row in rows])
    return _render(chart)
