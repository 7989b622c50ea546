"""Report pages for staff: AR aging (with DSO) and collections activity, each with its CSV export."""

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.dunning.models import ActionKind
from partnerdesk.reports import services

from ..access import staff_page
from ..collections_text import RUN_COUNTS
from ..forms import ReportDateForm, ReportRangeForm
from .collections import AGING_LABELS, aging_chart

DEFAULT_RANGE_DAYS = 30


def _csv(text: str, name: str) -> HttpResponse:
    response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _bad_filters() -> HttpResponse:
    return HttpResponse(_("The filters are not valid: fix them on the report page and export again."),
                        status=400, content_type="text/plain; charset=utf-8")


def _as_of(request):
    form = ReportDateForm(request.GET if "as_of" in request.GET else None)
    if not form.is_bound:
        return form, timezone.localdate()
    if form.is_valid():
        return form, form.cleaned_data["as_of"] or timezone.localdate()
    return form, None


@staff_page("reports.view")
def aging_report(request):
    """Open balances per customer by days past due, the total, and DSO, as of a day."""
    form, as_of = _as_of(request)
    context = {"form": form, "as_of": as_of, "labels": AGING_LABELS}
    if as_of is not None:
        report = services.aging(as_of)
        context.update(report=report, chart=aging_chart(report), dso=services.dso_detail(as_of))
    return render(request, "web/reports/aging.html", context)


@staff_page("reports.view")
def aging_export(request):
    form, as_of = _as_of(request)
    if as_of is None:
        return _bad_filters()
    return _csv(services.aging_csv(services.aging(as_of)), f"partnerdesk-aging-{as_of.isoformat()}.csv")


@staff_page("reports.view")
def dso_export(request):
    form, as_of = _as_of(request)
    if as_of is None:
        return _bad_filters()
    return _csv(services.dso_csv(services.dso_detail(as_of)), f"partnerdesk-dso-{as_of.isoformat()}.csv")


def _range(request):
    form = ReportRangeForm(request.GET if ("since" in request.GET or "until" in request.GET) else None)
    until = timezone.localdate()
    since = until - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if form.is_bound:
        if not form.is_valid():
            return form, None, None
        until = form.cleaned_data["until"] or until
        since = form.cleaned_data["since"] or until - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
        if since > until:
            form.add_error("since", _("The start date is after the end date."))
            return form, None, None
    else:
        form = ReportRangeForm(initial={"since": since, "until": until})
    return form, since, until


@staff_page("reports.view")
def collections_report(request):
    """Collections actions per day and kind, and the runs, over a period (default: the last 30 days)."""
    form, since, until = _range(request)
    context = {"form": form, "since": since, "until": until, "run_counts": RUN_COUNTS}
    if since is not None:
        report = services.collections_by_day(since, until)
        context.update(report=report, kinds=services.ACTION_KINDS, kind_labels=dict(ActionKind.choices),
                       active_days=[d for d in report.days if d.total or d.runs])
    return render(request, "web/reports/collections.html", context)


@staff_page("reports.view")
def collections_export(request):
    form, since, until = _range(request)
    if since is None:
        return _bad_filters()
    report = services.collections_by_day(since, until)
    if request.GET.get("part") == "runs":
        return _csv(services.runs_csv(report), f"partnerdesk-collections-runs-{since}-{until}.csv")
    return _csv(services.collections_csv(report), f"partnerdesk-collections-{since}-{until}.csv")
