"""Finance's page (finance.view, all staff): exposure and margin per customer for a period, margin per period,
the cash flow ahead with its shortfall, and leakage, with charts and a CSV for each table. The figures and their
definitions are partnerdesk.finance.reports'; this module only reads the filters and lays them out."""

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import Customer
from partnerdesk.errors import DomainError
from partnerdesk.finance import charts, reports

from ..access import staff_page
from ..forms import clean_amount_text
from .reports import _bad_filters, _csv

LIST_LIMIT = 200  # rows of a leakage list shown on the page; the CSV has them all
CSV_PARTS = {"exposure", "margin", "cash_flow", "cash_flow_items", *reports.LEAKAGE_PARTS}


class MonthInput(forms.TextInput):
    input_type = "month"


class FinanceFilterForm(forms.Form):
    period = forms.CharField(label=_("Period"), required=False, widget=MonthInput(),
                             help_text=_("The month of the operator's billing period."))
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput())
    weeks = forms.IntegerField(label=_("Weeks ahead"), required=False, min_value=1, max_value=reports.MAX_WEEKS)
    opening_balance = forms.CharField(label=_("Cash at hand (CNY)"), required=False, max_length=24,
                                      help_text=_("Where the running balance starts."))
    stale_days = forms.IntegerField(label=_("Days allowed to re-bill"), required=False, min_value=0, max_value=3650)

    def clean_period(self):
        text = self.cleaned_data["period"].strip()
        if not text:
            return None
        try:
            return reports.parse_period(text)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def clean_opening_balance(self):
        text = self.cleaned_data["opening_balance"].strip()
        return clean_amount_text(text, allow_zero=True) if text else "0.00"


def _filters(request):
    """The form and its values, or (form, None) when a filter is not valid."""
    today = timezone.localdate()
    defaults = {"weeks": reports.DEFAULT_WEEKS, "opening_balance": "0.00", "stale_days": reports.DEFAULT_STALE_DAYS}
    # A filter left out (or emptied) takes its default, and the form shows it.
    given = {k: v for k, v in request.GET.items() if k in FinanceFilterForm.base_fields and v.strip()}
    form = FinanceFilterForm({"period": reports.latest_period(today).strftime("%Y-%m"), **defaults, **given})
    if not form.is_valid():
        return form, None
    values = {**defaults, **{k: v for k, v in form.cleaned_data.items() if v not in (None, "")}, "today": today}
    values.setdefault("customer", None)
    return form, values


def _export(part: str, v: dict):
    period = v["period"].strftime("%Y-%m")
    if part == "exposure":
        report = reports.exposure(v["period"], customer_id=v["customer"])
        return _csv(reports.exposure_csv(report), f"partnerdesk-exposure-{period}.csv")
    if part == "margin":
        periods = reports.margin_by_period(v["period"], customer_id=v["customer"])
        return _csv(reports.margin_csv(periods), f"partnerdesk-margin-{period}.csv")
    if part in reports.LEAKAGE_PARTS:
        report = reports.leakage(v["today"], stale_days=v["stale_days"])
        return _csv(reports.leakage_csv(report, part), f"partnerdesk-leakage-{part}-{v['today']}.csv")
    report = reports.cash_flow(v["today"], weeks=v["weeks"], opening_balance=v["opening_balance"])
    which = "items" if part == "cash_flow_items" else "weeks"
    return _csv(reports.cash_flow_csv(report, which), f"partnerdesk-cash-flow-{which}-{v['today']}.csv")


def _query(v: dict) -> str:
    query = f"?period={v['period'].strftime('%Y-%m')}&weeks={v['weeks']}&stale_days={v['stale_days']}"
    query += f"&opening_balance={v['opening_balance']}"
    return query + (f"&customer={v['customer']}" if v["customer"] else "")


@staff_page("finance.view")
def finance_dashboard(request):
    """The figures for a period (default: the latest operator billing period); with ?part=exposure, margin,
    not_rebilled, unbacked, unknown_subscriptions, cash_flow or cash_flow_items: that table as CSV."""
    form, values = _filters(request)
    part = request.GET.get("part")
    if part is not None:
        if values is None or part not in CSV_PARTS:
            return _bad_filters()
        try:
            return _export(part, values)
        except DomainError:
            return _bad_filters()
    context = {"form": form}
    if values is not None:
        try:
            exposure = reports.exposure(values["period"], customer_id=values["customer"])
        except DomainError as exc:
            form.add_error(None, exc.message)
            return render(request, "web/finance/dashboard.html", context)
        periods = reports.margin_by_period(values["period"], customer_id=values["customer"])
        cash = reports.cash_flow(values["today"], weeks=values["weeks"], opening_balance=values["opening_balance"])
        leaks = reports.leakage(values["today"], stale_days=values["stale_days"])
        context.update(
            v=values, q=_query(values), exposure=exposure, periods=periods, cash=cash, leaks=leaks,
            customer=Customer.objects.filter(pk=values["customer"]).first() if values["customer"] else None,
            margin_chart=charts.margin_chart(periods), cash_chart=charts.cash_flow_chart(cash),
            balance_chart=charts.balance_chart(cash), limit=LIST_LIMIT,
            not_rebilled=leaks.not_rebilled[:LIST_LIMIT], unbacked=leaks.unbacked[:LIST_LIMIT],
            unknown=leaks.unknown[:LIST_LIMIT], stale_days=values["stale_days"],
        )
    return render(request, "web/finance/dashboard.html", context)
