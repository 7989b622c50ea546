"""The fraud and misuse API: alerts with their evidence, actions, rules and settings, credit limits, reports.

Alerts, rules and reports are the partner's own (fraud.view: all staff read; fraud.act: collections, finance and
administrators act; fraud.rules: administrators); customers' users get 403 there. Credit limits and budgets
(limits.view) a customer's user reads for its own customer only; limits.manage changes them. The rules are the
services': fraud.services (F-alerts), fraud.limits, fraud.rule_services; the routes parse, call and answer.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require, scope
from partnerdesk.api_schemas import BusinessDate, Id, Pagination, Reason
from partnerdesk.customers.models import Subscription
from partnerdesk.errors import InvalidInput

from . import reports
from .explain import of_alert
from .models import Alert, CreditLimit, CustomerRisk, ExpectedPattern, SignalRule
from .schemas import (
    CreditLimitIn,
    CreditLimitOut,
    FraudAlertDetailOut,
    FraudAlertOut,
    FraudExpectedIn,
    FraudExpectedPatternOut,
    FraudReasonIn,
    FraudReportIn,
    FraudReportOut,
    FraudRuleIn,
    FraudRuleOut,
    FraudRulesOut,
    FraudSettingsIn,
    FraudSettingsOut,
    FraudSuspendIn,
    SignalName,
    StatusName,
)

router = Router(tags=["fraud"])

CSV_DOC = {"responses": {200: {"description": "JSON, or CSV (UTF-8) with format=csv",
                               "content": {"text/csv": {"schema": {"type": "string"}}}}}}


class MappedRows:
    """A queryset whose rows the paginator takes as dicts: counted and sliced in the database, mapped a page at a
    time (`rows`: a page of objects -> their dicts)."""

    def __init__(self, queryset, rows):
        self.queryset, self.rows = queryset, rows

    def all(self):
        return self

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, part):
        return self.rows(list(self.queryset[part]))


# --- alerts ---------------------------------------------------------------------------------------------------


def alert_row(alert: Alert) -> dict:
    return {"id": alert.pk, "customer_id": alert.customer_id, "customer_name": alert.customer.name,
            "subscription_id": alert.subscription_id, "signal": alert.signal, "signal_name": alert.get_signal_display(),
            "subject": alert.subject, "status": alert.status, "verdict": alert.verdict, "score": alert.score,
            "amount": alert.amount, "first_seen_on": alert.first_seen_on, "last_seen_on": alert.last_seen_on,
            "times_seen": alert.times_seen, "opened_at": alert.opened_at, "acted_at": alert.acted_at,
            "closed_at": alert.closed_at, "case_id": alert.case_id}


def alert_detail(alert: Alert) -> dict:
    risk = CustomerRisk.objects.filter(customer_id=alert.customer_id).first()
    actions = [{"id": a.pk, "kind": a.kind, "kind_name": a.get_kind_display(), "subscription_id": a.subscription_id,
                "automatic": a.automatic, "actor": a.actor.get_username() if a.actor else "system",
                "reason": a.reason, "done_at": a.done_at, "undone_at": a.undone_at, "undo_reason": a.undo_reason,
                "service_request_id": a.service_request_id}
               for a in alert.actions.select_related("actor")]
    history = [{"at": e.at, "actor": e.actor_label, "action": e.action, "reason": e.reason}
               for e in reports.alert_history(alert)]
    return {**alert_row(alert), "explanation": of_alert(alert), "figures": alert.figures or {},
            "series": alert.series or [], "tripped": alert.tripped or None, "close_reason": alert.close_reason,
            "actions": actions, "history": history,
            "controls": {"prepayment_required": bool(risk and risk.prepayment_required),
                         "orders_held": bool(risk and risk.orders_held), "reason": risk.reason if risk else ""}}


def filter_alerts(alerts, *, status=None, signal=None, customer_id=None):
    """The alerts list's filters (the page uses the same)."""
    if status:
        alerts = alerts.filter(status=status)
    if signal:
        alerts = alerts.filter(signal=signal)
    if customer_id is not None:
        alerts = alerts.filter(customer_id=customer_id)
    return alerts


@router.get("/fraud/alerts", response=list[FraudAlertOut], summary="Fraud and misuse alerts, newest first (filters)")
@paginate(Pagination)
def list_alerts(request, status: StatusName | None = None, signal: SignalName | None = None,
                customer_id: Id | None = None):
    """Every alert, newest first; filter by status, signal and customer."""
    require(request.user, "fraud.view")
    alerts = filter_alerts(Alert.objects.select_related("customer"), status=status, signal=signal,
                           customer_id=customer_id)
    return MappedRows(alerts, lambda page: [alert_row(a) for a in page])


def _alert(request, alert_id: int, permission: str = "fraud.view") -> Alert:
    require(request.user, permission)
    return get_object_or_404(Alert.objects.select_related("customer"), pk=alert_id)


@router.get("/fraud/alerts/{alert_id}", response=FraudAlertDetailOut, summary="One alert with its evidence and history")
def get_alert(request, alert_id: Id):
    """The alert, its plain-language explanation (in the client's language) with the figures behind it, the
    series of its chart and the point that tripped it, the actions taken, the customer's controls, the case and
    the audit history."""
    return alert_detail(_alert(request, alert_id))


def _act(request, alert_id: int, do) -> dict:
    from . import services

    alert = _alert(request, alert_id, "fraud.act")
    do(services, alert)
    alert.refresh_from_db()
    return alert_detail(alert)


@router.post("/fraud/alerts/{alert_id}/confirm", response=FraudAlertDetailOut, summary="Confirm: fraud or misuse")
def confirm_alert(request, alert_id: Id, payload: FraudReasonIn):
    return _act(request, alert_id, lambda s, a: s.confirm(a, actor=request.user, reason=payload.reason))


@router.post("/fraud/alerts/{alert_id}/dismiss", response=FraudAlertDetailOut, summary="Dismiss: a false alarm")
def dismiss_alert(request, alert_id: Id, payload: FraudReasonIn):
    return _act(request, alert_id, lambda s, a: s.dismiss(a, actor=request.user, reason=payload.reason))


@router.post("/fraud/alerts/{alert_id}/expected", response=FraudAlertDetailOut,
             summary="Mark expected: a known cause, the same pattern stops alerting")
def mark_alert_expected(request, alert_id: Id, payload: FraudExpectedIn):
    return _act(request, alert_id, lambda s, a: s.mark_expected(a, actor=request.user, reason=payload.reason,
                                                                until=payload.until))


@router.post("/fraud/alerts/{alert_id}/clear", response=FraudAlertDetailOut,
             summary="Clear: reactivate what it suspended, lift the controls it set (a reason is required)")
def clear_alert(request, alert_id: Id, payload: FraudReasonIn):
    return _act(request, alert_id, lambda s, a: s.clear(a, actor=request.user, reason=payload.reason))


@router.post("/fraud/alerts/{alert_id}/suspend", response=FraudAlertDetailOut,
             summary="Suspend the customer's subscriptions for fraud through the operator")
def suspend_from_alert(request, alert_id: Id, payload: FraudSuspendIn):
    def do(services, alert):
        subscriptions = None
        if payload.subscription_ids is not None:  # ([] is refused by the service, naming the field)
            found = Subscription.objects.filter(customer_id=alert.customer_id, pk__in=payload.subscription_ids).in_bulk()
            for i, pk in enumerate(payload.subscription_ids):
                if pk not in found:
                    raise InvalidInput(_("no such subscription for this customer"), field=f"subscription_ids[{i}]")
            subscriptions = [found[pk] for pk in dict.fromkeys(payload.subscription_ids)]
        services.suspend(alert, actor=request.user, reason=payload.reason, subscriptions=subscriptions)
    return _act(request, alert_id, do)


@router.post("/fraud/alerts/{alert_id}/prepayment", response=FraudAlertDetailOut,
             summary="Require prepayment from the customer")
def require_prepayment(request, alert_id: Id, payload: FraudReasonIn):
    return _act(request, alert_id, lambda s, a: s.require_prepayment(a, actor=request.user, reason=payload.reason))


@router.post("/fraud/alerts/{alert_id}/hold-orders", response=FraudAlertDetailOut, summary="Hold the customer's new orders")
def hold_orders(request, alert_id: Id, payload: FraudReasonIn):
    return _act(request, alert_id, lambda s, a: s.hold_orders(a, actor=request.user, reason=payload.reason))


@router.post("/fraud/alerts/{alert_id}/report", response=FraudAlertDetailOut,
             summary="Report to 21Vianet: a service request on the alert's case, through the escalation flow")
def report_alert(request, alert_id: Id, payload: FraudReportIn):
    return _act(request, alert_id, lambda s, a: s.report_to_operator(
        a, actor=request.user, channel=payload.channel, severity=payload.severity, title=payload.title or None,
        description=payload.description or None))


# --- expected patterns ----------------------------------------------------------------------------------------


def pattern_row(pattern: ExpectedPattern, *, today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
    return {"id": pattern.pk, "customer_id": pattern.customer_id, "signal": pattern.signal,
            "signal_name": pattern.get_signal_display(), "subject": pattern.subject, "until": pattern.until,
            "in_force": pattern.until is None or pattern.until >= today, "reason": pattern.reason,
            "alert_id": pattern.alert_id,
            "created_by": pattern.created_by.get_username() if pattern.created_by else "system",
            "created_at": pattern.created_at}


@router.get("/fraud/patterns", response=list[FraudExpectedPatternOut],
            summary="Expected patterns (signals kept quiet for a known cause), newest first")
@paginate(Pagination)
def list_patterns(request, customer_id: Id | None = None, alert_id: Id | None = None,
                  in_force: bool | None = None):
    """Every expected pattern; filter by customer, by the alert it was marked from, and whether it holds today."""
    require(request.user, "fraud.view")
    rows = ExpectedPattern.objects.select_related("created_by").order_by("-created_at", "-id")
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if alert_id is not None:
        rows = rows.filter(alert_id=alert_id)
    today = timezone.localdate()
    if in_force is True:
        rows = rows.filter(Q(until__isnull=True) | Q(until__gte=today))
    elif in_force is False:
        rows = rows.filter(until__lt=today)
    return MappedRows(rows, lambda page: [pattern_row(p, today=today) for p in page])


@router.delete("/fraud/patterns/{pattern_id}", response={204: None},
               summary="Remove an expected pattern: the signal alerts again (a reason is required)")
def delete_pattern(request, pattern_id: Id, reason: Reason = ""):
    from . import services

    require(request.user, "fraud.act")
    pattern = get_object_or_404(ExpectedPattern.objects.select_related("customer"), pk=pattern_id)
    services.remove_expected_pattern(pattern, actor=request.user, reason=reason)
    return 204, None


# --- rules and settings ---------------------------------------------------------------------------------------


@router.get("/fraud/rules", response=FraudRulesOut, summary="The signals' thresholds: what applies, and the stored rules")
def list_rules(request, customer_id: Id | None = None):
    """effective: per signal, what applies (to `customer_id`, or to a customer without its own rule): the customer's
    row, else the default row, else the built-in defaults. rules: every stored row."""
    require(request.user, "fraud.view")
    if customer_id is not None:
        get_customer_or_404(request.user, customer_id)
    return reports.rules_overview(customer_id)


@router.put("/fraud/rules/{signal}", response=FraudRuleOut, summary="Set a signal's thresholds (default or a customer's)")
def put_rule(request, signal: SignalName, payload: FraudRuleIn):
    """Fields left out keep their value; a customer's rule wins over the default for that customer."""
    from .rule_services import set_rule

    require(request.user, "fraud.rules")
    customer = get_customer_or_404(request.user, payload.customer_id) if payload.customer_id is not None else None
    given = payload.model_dump(exclude_unset=True, exclude={"customer_id", "reason"})
    thresholds = {k: v for k, v in given.items() if v is not None or k in ("min_score", "min_amount", "window_days")}
    row = set_rule(signal, customer=customer, actor=request.user, reason=payload.reason, **thresholds)
    return reports.rule_row(row, signal=signal, row=row)


@router.delete("/fraud/rules/{signal}", response={204: None},
               summary="Remove a signal's stored rule, a customer's or the default (the next one then applies)")
def delete_rule(request, signal: SignalName, customer_id: Id | None = None, reason: Reason = ""):
    from .rule_services import remove_rule

    require(request.user, "fraud.rules")
    if customer_id is not None:
        get_customer_or_404(request.user, customer_id)
    remove_rule(get_object_or_404(SignalRule, signal=signal, customer_id=customer_id), actor=request.user,
                reason=reason)
    return 204, None


def settings_out(row) -> dict:
    return {"team_id": row.team_id, "team_name": row.team.name if row.team else "",
            "new_customer_days": row.new_customer_days, "baseline_days": row.baseline_days,
            "auto_actions": row.auto_actions, "updated_at": row.updated_at}


@router.get("/fraud/settings", response=FraudSettingsOut, summary="The monitoring's settings")
def get_settings(request):
    from . import rules

    require(request.user, "fraud.view")
    return settings_out(rules.fraud_settings())


@router.put("/fraud/settings", response=FraudSettingsOut, summary="Change the monitoring's settings")
def put_settings(request, payload: FraudSettingsIn):
    """Fields left out keep their value; team_id null: no team gets the cases."""
    from .rule_services import update_fraud_settings

    require(request.user, "fraud.rules")
    fields = {k: v for k, v in payload.model_dump(exclude_unset=True, exclude={"reason"}).items()
              if v is not None or k == "team_id"}
    if "team_id" in fields:
        fields["team"] = fields.pop("team_id")
    return settings_out(update_fraud_settings(actor=request.user, reason=payload.reason, **fields))


# --- credit limits and budgets --------------------------------------------------------------------------------


@router.get("/fraud/limits", response=list[CreditLimitOut], summary="Credit limits and budgets, with what is used "
                                                              "(a customer's user: its own)")
@paginate(Pagination)
def list_limits(request, customer_id: Id | None = None):
    require(request.user, "limits.view")
    rows = scope(CreditLimit.objects.select_related("customer", "subscription"), request.user)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    today = timezone.localdate()
    rows = rows.order_by("customer__name", "kind", "subscription_id", "pk")
    return MappedRows(rows, lambda page: reports.limit_rows(page, as_of=today))


@router.post("/fraud/limits", response={201: CreditLimitOut}, summary="Set a credit limit or budget (replaces the same kind)")
def post_limit(request, payload: CreditLimitIn):
    from . import limits

    require(request.user, "limits.manage")
    customer = get_customer_or_404(request.user, payload.customer_id)
    subscription = None
    if payload.subscription_id is not None:
        subscription = Subscription.objects.filter(customer=customer, pk=payload.subscription_id).first()
        if subscription is None:
            raise InvalidInput(_("no such subscription for this customer"), field="subscription_id")
    limit = limits.set_limit(customer, kind=payload.kind, amount=Decimal(payload.amount),
                             subscription=subscription, actor=request.user, reason=payload.reason)
    limit = CreditLimit.objects.select_related("customer", "subscription").get(pk=limit.pk)
    return 201, reports.limit_rows([limit], as_of=timezone.localdate())[0]


@router.delete("/fraud/limits/{limit_id}", response={204: None}, summary="Remove a credit limit or budget")
def delete_limit(request, limit_id: Id, reason: Reason = ""):
    from . import limits

    require(request.user, "limits.manage")
    limit = get_scoped_or_404(CreditLimit.objects.all(), request.user, limit_id)
    limits.remove_limit(limit, actor=request.user, reason=reason)
    return 204, None


# --- reports --------------------------------------------------------------------------------------------------


def _figures(row: reports.SignalFigures) -> dict:
    return {"signal": row.signal or "total", "signal_name": row.label, "alerts": row.alerts, "open": row.open,
            "confirmed": row.confirmed, "dismissed": row.dismissed, "expected": row.expected, "cleared": row.cleared,
            "precision_percent": row.precision, "money_at_risk": row.money_at_risk,
            "confirmed_money": row.confirmed_money, "acted_on": row.acted,
            "median_hours_to_act": row.median_hours_to_act}


def report_period(start, end):
    """The period asked for (default: the last 90 days to today), refused when it runs backwards or too long."""
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=reports.DEFAULT_REPORT_DAYS - 1)
    if start > end:
        raise InvalidInput(_("the start date is after the end date"), field="start")
    if (end - start).days > reports.MAX_DAYS:
        raise InvalidInput(_("at most %(days)s days"), field="start", days=reports.MAX_DAYS)
    return start, end


@router.get("/fraud/reports", response=FraudReportOut, openapi_extra=CSV_DOC,
            summary="Alerts by signal: confirmed, dismissed, precision, money at risk, time to act (format=csv)")
def alert_report(request, start: BusinessDate | None = None, end: BusinessDate | None = None,
                 customer_id: Id | None = None, format: Literal["json", "csv"] = "json"):
    """The alerts opened from `start` to `end` (default: the last 90 days), per signal and in total."""
    require(request.user, "fraud.view")
    start, end = report_period(start, end)
    report = reports.alert_report(start=start, end=end, customer_id=customer_id)
    if format == "csv":
        response = HttpResponse("\ufeff" + reports.report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="fraud-alerts-{start}-{end}.csv"'
        return response
    return {"start": start, "end": end, "currency": report.currency, "signals": [_figures(r) for r in report.rows],
            "total": _figures(report.total)}
