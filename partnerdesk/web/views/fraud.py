"""Fraud and misuse monitoring's pages: the alerts (by signal, status and customer, with the money at risk), one
alert with its explanation, figures, chart, actions and history, the rules and settings (administrators), the
report, and credit limits and budgets (a customer's page for staff, and the customer's own in the portal).

fraud.view reads alerts (every staff role), fraud.act acts on them, fraud.rules changes the rules; limits.view
reads limits (a customer's user: its own, in the portal), limits.manage changes them. Every change goes through
the fraud services; a refusal shows on its field (the page again, 400).
"""


from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, has_perm, require
from partnerdesk.billing.money import ZERO
from partnerdesk.customers.models import Subscription, SubscriptionStatus
from partnerdesk.errors import DomainError
from partnerdesk.fraud import charts, reports
from partnerdesk.fraud.explain import of_alert
from partnerdesk.fraud.models import (
    ACTIVE_ALERT_STATUSES,
    ActionKind,
    Alert,
    AlertStatus,
    CreditLimit,
    CustomerRisk,
    ExpectedPattern,
    SignalKind,
    SignalRule,
)

from ..access import portal_page, staff_page
from ..fraud_forms import (
    ACTION_FORMS,
    SWITCHES,
    AlertFilterForm,
    CustomerRuleForm,
    FraudReportForm,
    LimitForm,
    ReasonForm,
    RuleForm,
    SettingsForm,
    add_service_error,
)

ALERTS_PER_PAGE = 50
# The order of the alert's action forms: judging first, clearing (which undoes the others) last.
ACTION_ORDER = ["confirm", "dismiss", "expected", "prepayment", "hold_orders", "suspend", "report", "clear"]


def _title(action: str) -> str:
    return {
        "confirm": _("Confirm: fraud or misuse"), "dismiss": _("Dismiss: a false alarm"),
        "expected": _("Mark expected"), "clear": _("Clear the alert"), "suspend": _("Suspend subscriptions (fraud)"),
        "prepayment": _("Require prepayment"), "hold_orders": _("Hold new orders"),
        "report": _("Report to 21Vianet"),
    }[action]


# --- the alerts -----------------------------------------------------------------------------------------------


@staff_page("fraud.view")
def fraud_alerts(request):
    """The alerts, newest first: open or confirmed by default; by status, signal and customer."""
    form = AlertFilterForm(request.GET or None)
    values = form.cleaned_data if form.is_bound and form.is_valid() else {}
    alerts = Alert.objects.select_related("customer")
    status = values.get("status") or ""
    if status == "":
        alerts = alerts.filter(status__in=ACTIVE_ALERT_STATUSES)
    elif status != "all":
        alerts = alerts.filter(status=status)
    if values.get("signal"):
        alerts = alerts.filter(signal=values["signal"])
    customer = None
    if values.get("customer"):
        customer = get_customer_or_404(request.user, values["customer"])
        alerts = alerts.filter(customer=customer)
    totals = alerts.aggregate(n=Count("id"), amount=Sum("amount"))
    by_signal = {row["signal"]: row for row in alerts.order_by().values("signal").annotate(n=Count("id"),
                                                                                           amount=Sum("amount"))}
    signals = [{"signal": value, "label": label, "n": by_signal.get(value, {}).get("n", 0),
                "amount": by_signal.get(value, {}).get("amount") or ZERO} for value, label in SignalKind.choices]
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/fraud/alerts.html", {
        "form": form, "page": page, "customer": customer, "status": status, "signal": values.get("signal") or "",
        "count": totals["n"], "at_risk": totals["amount"] or ZERO, "signals": signals,
    }, status=200 if not form.is_bound or form.is_valid() else 400)


def _alert(pk) -> Alert:
    return get_object_or_404(Alert.objects.select_related("customer", "subscription", "case"), pk=pk)


def _subscriptions(alert: Alert):
    return list(Subscription.objects.filter(customer_id=alert.customer_id, status=SubscriptionStatus.ACTIVE)
                .order_by("offer_name", "pk"))


def _forms(alert: Alert, bound=None) -> list[tuple[str, str, object]]:
    """The actions that make sense for the alert now, each with its form; `bound`, (action, form) just posted and
    refused, is shown whatever the alert's state, so its error is seen."""
    active = alert.status in ACTIVE_ALERT_STATUSES
    taken = {a.kind for a in alert.actions.all() if a.undone_at is None and a.subscription_id is None}
    once = {"prepayment": ActionKind.REQUIRE_PREPAYMENT, "hold_orders": ActionKind.HOLD_ORDERS,
            "report": ActionKind.REPORT}
    available = []
    for action in ACTION_ORDER:
        if bound is not None and bound[0] == action:
            available.append((action, _title(action), bound[1]))
            continue
        if not active or (action == "confirm" and alert.status != AlertStatus.OPEN) or once.get(action) in taken:
            continue
        if action == "report" and not alert.case_id:
            continue
        if action == "suspend":
            form = ACTION_FORMS[action](subscriptions=_subscriptions(alert), prefix=action)
        else:
            form = ACTION_FORMS[action](prefix=action)
        available.append((action, _title(action), form))
    return available


def render_alert(request, alert: Alert, *, bound=None, status=200):
    actions = list(alert.actions.select_related("actor", "subscription", "service_request"))
    figures = [(key, value) for key, value in (alert.figures or {}).items()
               if isinstance(value, str | int | float | bool) or value is None]
    return render(request, "web/fraud/alert.html", {
        "alert": alert, "explanation": of_alert(alert), "figures": figures,
        "chart": charts.series_chart(alert.series, alert.tripped or None),
        "actions": actions, "risk": CustomerRisk.objects.filter(customer_id=alert.customer_id).first(),
        "forms": _forms(alert, bound) if has_perm(request.user, "fraud.act") else [],
        "entries": reports.alert_history(alert),
        # The expected patterns that keep this signal quiet for the customer (or did), with a way to remove them.
        "patterns": list(ExpectedPattern.objects.filter(customer_id=alert.customer_id, signal=alert.signal)
                         .select_related("created_by").order_by("-created_at", "-id")),
        "today": timezone.localdate(), "can_act": has_perm(request.user, "fraud.act"),
        "pattern_form": ReasonForm(prefix="pattern"),
        "others": Alert.objects.filter(customer_id=alert.customer_id).exclude(pk=alert.pk).order_by("-opened_at")[:10],
    }, status=status)


@staff_page("fraud.view")
def fraud_alert(request, pk):
    """One alert: the explanation in the reader's language, the figures, the chart with the tripped point, the
    actions (fraud.act), what was done and the history."""
    return render_alert(request, _alert(pk))


@require_POST
@staff_page("fraud.act")
def fraud_alert_action(request, pk, action):
    """Judge or act on the alert through fraud.services; a refusal shows on the form (400)."""
    from partnerdesk.fraud import services

    if action not in ACTION_FORMS:
        raise Http404
    alert = _alert(pk)
    if action == "suspend":
        form = ACTION_FORMS[action](request.POST, subscriptions=_subscriptions(alert), prefix=action)
    else:
        form = ACTION_FORMS[action](request.POST, prefix=action)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "confirm":
                services.confirm(alert, actor=request.user, reason=data["reason"])
            elif action == "dismiss":
                services.dismiss(alert, actor=request.user, reason=data["reason"])
            elif action == "expected":
                services.mark_expected(alert, actor=request.user, reason=data["reason"], until=data["until"])
            elif action == "clear":
                services.clear(alert, actor=request.user, reason=data["reason"])
            elif action == "prepayment":
                services.require_prepayment(alert, actor=request.user, reason=data["reason"])
            elif action == "hold_orders":
                services.hold_orders(alert, actor=request.user, reason=data["reason"])
            elif action == "suspend":
                chosen = [s for s in _subscriptions(alert) if str(s.pk) in set(data["subscriptions"])]
                services.suspend(alert, actor=request.user, reason=data["reason"], subscriptions=chosen or None)
            else:
                services.report_to_operator(alert, actor=request.user, channel=data["channel"],
                                            severity=data["severity"], title=data["title"] or None,
                                            description=data["description"] or None)
        except DomainError as exc:
            add_service_error(form, exc, fields={"subscriptions": "subscriptions"})
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": _title(action)})
            return redirect("fraud_alert", pk=alert.pk)
    alert = _alert(pk)
    return render_alert(request, alert, bound=(action, form), status=400)


@require_POST
@staff_page("fraud.act")
def fraud_pattern_remove(request, pk):
    """Remove an expected pattern (with a reason): the signal alerts again. Back to the alert it came from."""
    from partnerdesk.fraud import services

    pattern = get_object_or_404(ExpectedPattern.objects.select_related("customer"), pk=pk)
    back = request.POST.get("alert", "")
    alert_id = int(back) if back.isdigit() and len(back) < 12 else pattern.alert_id
    form = ReasonForm(request.POST, prefix="pattern")
    if form.is_valid():
        try:
            services.remove_expected_pattern(pattern, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The expected pattern is removed: the signal alerts again."))
    else:
        messages.error(request, _("Say why the pattern is removed."))
    if alert_id and Alert.objects.filter(pk=alert_id, customer_id=pattern.customer_id).exists():
        return redirect("fraud_alert", pk=alert_id)
    return redirect(f"{reverse('fraud_alerts')}?customer={pattern.customer_id}&status=all")


# --- rules and settings (administrators) ----------------------------------------------------------------------


def _in_row_form(form, form_id: str) -> None:
    """A rule's fields sit in the cells of its table row; the form attribute ties them to the row's form."""
    form.fields["signal"].widget = forms.HiddenInput()
    for field in form.fields.values():
        field.widget.attrs["form"] = form_id


def render_rules(request, *, rule_form=None, settings_form=None, status=200):
    from partnerdesk.fraud import rules

    overview = reports.rules_overview()
    row = rules.fraud_settings()
    stored = SignalRule.objects.select_related("customer", "updated_by").order_by("signal", "customer__name", "pk")
    defaults = []
    for item in overview["effective"]:
        initial = {k: item[k] for k in ("enabled", "min_score", "min_amount", "window_days", "auto_suspend",
                                        "auto_prepayment")}
        form = RuleForm(initial={**initial, "signal": item["signal"]}, prefix=item["signal"])
        _in_row_form(form, f"rule-{item['signal']}")
        defaults.append({"rule": item, "form": form})
    return render(request, "web/fraud/rules.html", {
        "defaults": defaults, "customer_rules": [r for r in stored if r.customer_id],
        "rule_form": rule_form or CustomerRuleForm(prefix="new"),
        "settings_form": settings_form or SettingsForm(initial={
            "team": row.team_id, "new_customer_days": row.new_customer_days, "baseline_days": row.baseline_days,
            "auto_actions": row.auto_actions}),
        "settings": row, "signal_choices": SignalKind.choices, "remove_form": ReasonForm(prefix="remove"),
    }, status=status)


@staff_page("fraud.rules")
def fraud_rules(request):
    """Each signal's thresholds (the default, and customers' own), and the monitoring's settings."""
    return render_rules(request)


@require_POST
@staff_page("fraud.rules")
def fraud_rule_set(request):
    """Set a signal's default thresholds (the form of its row), or a customer's (the new rule's form)."""
    from partnerdesk.fraud.rule_services import set_rule

    prefix = request.POST.get("prefix", "")
    if prefix != "new" and prefix not in SignalKind.values:
        return render_rules(request, status=400)
    form = (CustomerRuleForm if prefix == "new" else RuleForm)(request.POST, prefix=prefix)
    if form.is_valid():
        data = form.cleaned_data
        signal = data["signal"] if prefix == "new" else prefix
        customer = get_customer_or_404(request.user, data["customer"]) if data["customer"] else None
        thresholds = {k: data[k] for k in ("enabled", "min_score", "min_amount", "window_days", "auto_suspend",
                                           "auto_prepayment")}
        # A switch left "as the default rule": not given, so a new customer's rule takes the default's.
        thresholds = {k: v for k, v in thresholds.items() if v is not None or k not in SWITCHES}
        try:
            set_rule(signal, customer=customer, actor=request.user, reason=data["reason"], **thresholds)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The rule for %(signal)s is saved.") % {"signal": SignalKind(signal).label})
            return redirect("fraud_rules")
    if prefix != "new":
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
    return render_rules(request, rule_form=form if prefix == "new" else None, status=400)


@require_POST
@staff_page("fraud.rules")
def fraud_rule_remove(request, pk):
    from partnerdesk.fraud.rule_services import remove_rule

    rule = get_object_or_404(SignalRule, pk=pk)
    form = ReasonForm(request.POST, prefix="remove")
    if form.is_valid():
        try:
            remove_rule(rule, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The rule is removed: the default applies again."))
        return redirect("fraud_rules")
    messages.error(request, _("Say why the rule is removed."))
    return redirect("fraud_rules")


@require_POST
@staff_page("fraud.rules")
def fraud_settings(request):
    from partnerdesk.fraud.rule_services import update_fraud_settings

    form = SettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            update_fraud_settings(actor=request.user, reason=data["reason"], team=data["team"],
                                  new_customer_days=data["new_customer_days"], baseline_days=data["baseline_days"],
                                  auto_actions=data["auto_actions"])
        except DomainError as exc:
            add_service_error(form, exc, fields={"team_id": "team"})
        else:
            messages.success(request, _("The settings are saved."))
            return redirect("fraud_rules")
    return render_rules(request, settings_form=form, status=400)


# --- the report -----------------------------------------------------------------------------------------------


@staff_page("fraud.view")
def fraud_report(request):
    """Alerts by signal for a period (default: the last 90 days): confirmed, dismissed, precision, money at risk,
    time to act, with a chart; ?format=csv: the same as CSV."""
    from partnerdesk.fraud.api import report_period

    form = FraudReportForm(request.GET or None)
    start = end = None
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if not form.is_bound or form.is_valid():
        try:  # the API's rules: a start alone ends today, so a start after today runs backwards
            start, end = report_period(start, end)
        except DomainError as exc:
            add_service_error(form, exc)
    if form.is_bound and not form.is_valid():
        if request.GET.get("format") == "csv":
            return HttpResponse(_("The filters are not valid: fix them on the report page and export again."),
                                status=400, content_type="text/plain; charset=utf-8")
        return render(request, "web/fraud/report.html", {"form": form}, status=400)
    report = reports.alert_report(start=start, end=end)
    if request.GET.get("format") == "csv":
        response = HttpResponse("\ufeff" + reports.report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="partnerdesk-fraud-alerts-{start}-{end}.csv"'
        return response
    return render(request, "web/fraud/report.html", {
        "form": form, "report": report, "chart": charts.signals_chart(report) if report.total.alerts else None,
        "csv_query": f"?start={start}&end={end}&format=csv",
    })


# --- credit limits and budgets --------------------------------------------------------------------------------


def _customer_subscriptions(customer):
    return list(Subscription.objects.filter(customer=customer).exclude(status=SubscriptionStatus.DELETED)
                .order_by("offer_name", "pk"))


def _limits(customer):
    page = list(CreditLimit.objects.filter(customer=customer).select_related("customer", "subscription")
                .order_by("kind", "subscription_id", "pk"))
    return reports.limit_rows(page, as_of=timezone.localdate())


def render_limits(request, customer, *, form=None, status=200):
    can_manage = has_perm(request.user, "limits.manage")
    return render(request, "web/fraud/limits.html", {
        "customer": customer, "limits": _limits(customer), "can_manage": can_manage,
        "form": form or (LimitForm(subscriptions=_customer_subscriptions(customer)) if can_manage else None),
        "remove_form": ReasonForm(prefix="remove"),
        "alerts": Alert.objects.filter(customer=customer, status__in=ACTIVE_ALERT_STATUSES).count(),
        "risk": CustomerRisk.objects.filter(customer=customer).first(),
    }, status=status)


@staff_page("limits.view")
def fraud_limits(request, pk):
    """A customer's credit limit and budgets with what each has used, and the forms to set and remove them."""
    return render_limits(request, get_customer_or_404(request.user, pk))


@require_POST
@staff_page("limits.manage")
def fraud_limit_set(request, pk):
    from partnerdesk.fraud import limits

    customer = get_customer_or_404(request.user, pk)
    form = LimitForm(request.POST, subscriptions=_customer_subscriptions(customer))
    if form.is_valid():
        data = form.cleaned_data
        try:
            limits.set_limit(customer, kind=data["kind"], amount=data["amount"], subscription=data["subscription"],
                             actor=request.user, reason=data["reason"])
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The limit is saved."))
            return redirect("fraud_limits", pk=customer.pk)
    return render_limits(request, customer, form=form, status=400)


@require_POST
@staff_page("limits.manage")
def fraud_limit_remove(request, pk):
    from partnerdesk.fraud import limits

    limit = get_scoped_or_404(CreditLimit.objects.select_related("customer"), request.user, pk)
    form = ReasonForm(request.POST, prefix="remove")
    if form.is_valid():
        try:
            limits.remove_limit(limit, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The limit is removed."))
    else:
        messages.error(request, _("Say why the limit is removed."))
    return redirect("fraud_limits", pk=limit.customer_id)


@portal_page("limits.view")
def portal_limits(request, customer):
    """The customer's own credit limit and budgets, with what is used this month (or owed now)."""
    require(request.user, "limits.view")
    return render(request, "web/fraud/portal_limits.html", {"customer": customer, "limits": _limits(customer),
                                                            "today": timezone.localdate()})
