"""What staff (and the automatic policy) do with a fraud alert: judge it, act on it, undo what it did.

Each action is an AlertAction row, unique per alert and kind (and subscription for a suspension): it is claimed
before anything is done, so no action is taken twice, even by two workers at once. Operator calls (suspending,
reactivating) run outside any transaction of ours, as dunning does: the claim is committed first, the operator
is called, then what it answered is recorded; a failed call gives the claim back so it can be tried again.
Every change is audited and leaves a line in the alert's case.
"""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.customers.models import Subscription, SubscriptionStatus, SuspensionReason
from partnerdesk.errors import Conflict, DomainError, InvalidInput, status_word

from .controls import check_reason, set_controls
from .models import (
    ACTIVE_ALERT_STATUSES,
    ActionKind,
    Alert,
    AlertAction,
    AlertStatus,
    ExpectedPattern,
    SignalKind,
    Verdict,
)

logger = logging.getLogger(__name__)

EXPECTED_DAYS = 90  # an expected pattern without an end date holds this long (then the signal alerts again)

ALERT_FIELDS = ["status", "verdict", "acted_at", "closed_at", "close_reason"]
# The operator's scale for fraud requests tops at B (moderate); staff speak of A, B and C.
SEVERITY_LETTERS = {"A": "critical", "B": "moderate", "C": "minimal"}
# What each control action sets on the customer (fraud.controls).
CONTROL_FIELD = {ActionKind.REQUIRE_PREPAYMENT: "prepayment_required", ActionKind.HOLD_ORDERS: "orders_held"}
# Lines in the alert's case, kept in English and shown in the reader's language (service_messages).
CONTROL_ON = {ActionKind.REQUIRE_PREPAYMENT: "prepayment required", ActionKind.HOLD_ORDERS: "new orders held"}
CONTROL_OFF = {ActionKind.REQUIRE_PREPAYMENT: "prepayment no longer required",
               ActionKind.HOLD_ORDERS: "new orders no longer held"}


def automatic_reason(alert: Alert) -> str:
    """The reason an automatic action gives (kept in English, shown translated: service_messages)."""
    return f"automatic action on fraud alert #{alert.pk}"


# --- small helpers ---------------------------------------------------------------------------------------------


def _user(actor):
    return actor if actor is not None and getattr(actor, "pk", None) else None


def _event(alert: Alert, text: str) -> None:
    """A line in the alert's case history (staff only)."""
    if alert.case_id:
        from partnerdesk.support.services import add_event

        add_event(alert.case, f"Fraud alert #{alert.pk}: {text}")


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("customer", "case").get(pk=alert.pk)


def _require_status(alert: Alert, allowed, field: str = "status") -> None:
    if alert.status not in allowed:
        raise Conflict(_("This alert is %(status)s."), field=field, status=status_word(AlertStatus, alert.status))


def _check_active(alert: Alert) -> None:
    _require_status(alert, ACTIVE_ALERT_STATUSES)


def _audit(alert: Alert, action: str, actor, *, before=None, reason: str = "", **extra) -> None:
    record(actor=actor, action=action, obj=alert, customer=alert.customer, before=before,
           after={**snapshot(alert, ALERT_FIELDS), **extra}, reason=reason)


def _mark_acted(alert: Alert, now: dt.datetime) -> None:
    """The first time a person acted on the alert (a verdict or an action): the report's time to act."""
    if alert.acted_at is None:
        alert.acted_at = now


# --- verdicts --------------------------------------------------------------------------------------------------


def confirm(alert: Alert, *, actor, reason) -> Alert:
    """Fraud or misuse confirmed: the alert stays active and what it did stays until it is cleared."""
    reason = check_reason(reason)
    with transaction.atomic():
        alert = _lock(alert)
        _require_status(alert, (AlertStatus.OPEN,))
        before = snapshot(alert, ALERT_FIELDS)
        now = timezone.now()
        alert.status, alert.verdict, alert.updated_at = AlertStatus.CONFIRMED, Verdict.FRAUD, now
        _mark_acted(alert, now)
        alert.save()
        _audit(alert, "fraud_alert.confirmed", actor, before=before, reason=reason)
        _event(alert, "confirmed as fraud or misuse")
    return alert


def dismiss(alert: Alert, *, actor, reason) -> Alert:
    """A false alarm: the alert closes and what it did is undone (reactivated, controls lifted), with the reason."""
    return _close(alert, status=AlertStatus.DISMISSED, verdict=Verdict.FALSE_ALARM, actor=actor, reason=reason,
                  action="fraud_alert.dismissed", event="dismissed as a false alarm")


def clear(alert: Alert, *, actor, reason) -> Alert:
    """Close the alert: reactivate what it suspended and lift the controls it set, each with the reason."""
    return _close(alert, status=AlertStatus.CLEARED, verdict=None, actor=actor, reason=reason,
                  action="fraud_alert.cleared", event="alert cleared")


def mark_expected(alert: Alert, *, actor, reason, until: dt.date | None = None) -> ExpectedPattern:
    """A known cause: the alert closes (what it did is undone) and the same pattern stops alerting until `until`
    (default: EXPECTED_DAYS from today) or until the pattern is removed. The close and the pattern are one
    transaction."""
    reason = check_reason(reason)
    until = _check_until(until)
    made = []
    _close(alert, status=AlertStatus.EXPECTED, verdict=Verdict.FALSE_ALARM, actor=actor, reason=reason,
           action="fraud_alert.expected", event="marked as expected",
           also=lambda locked: made.append(add_expected_pattern(
               locked.customer, signal=locked.signal, subject=locked.subject, until=until, actor=actor,
               reason=reason, alert=locked)))
    return made[0]


def _close(alert: Alert, *, status: str, verdict: str | None, actor, reason, action: str, event: str,
           also=None) -> Alert:
    """Close the alert; `also(alert)`, if given, runs in the same transaction (so both happen or neither)."""
    reason = check_reason(reason)
    _check_active(alert)
    # The operator calls first, outside any transaction; a failure leaves the alert as it was, to try again.
    undone = undo_actions(alert, actor=actor, reason=reason)
    with transaction.atomic():
        alert = _lock(alert)
        _check_active(alert)  # (closed by someone else meanwhile)
        before = snapshot(alert, ALERT_FIELDS)
        now = timezone.now()
        alert.status, alert.updated_at, alert.closed_at = status, now, now
        alert.closed_by, alert.close_reason = _user(actor), reason
        if verdict is not None:
            alert.verdict = verdict
        _mark_acted(alert, now)
        alert.save()
        _audit(alert, action, actor, before=before, reason=reason, undone=[a.kind for a in undone])
        _event(alert, event)
        if also is not None:
            also(alert)
    return alert


# --- undoing what an alert did ---------------------------------------------------------------------------------


def undo_actions(alert: Alert, *, actor, reason: str) -> list[AlertAction]:
    """Reactivate what the alert suspended and lift the controls it set; returns the actions undone. An operator
    failure is raised after what could be undone was recorded (clearing again finishes the rest)."""
    from partnerdesk.customers.services import reactivate_subscription

    undone = []
    for action in alert.actions.filter(undone_at__isnull=True).exclude(kind=ActionKind.REPORT).order_by("id"):
        if action.kind == ActionKind.SUSPEND:
            sub = Subscription.objects.select_related("customer").filter(pk=action.subscription_id).first()
            event = ""  # (reactivated since by someone else, or gone: nothing to ask the operator)
            holder = _other_suspender(alert, action.subscription_id)
            if holder is not None and sub is not None:
                # Another active alert still wants it suspended: it stays so (that alert's clearing reactivates).
                event = f"subscription {sub} left suspended for fraud alert #{holder}"
            elif (sub is not None and sub.status == SubscriptionStatus.SUSPENDED
                    and sub.suspension_reason == SuspensionReason.FRAUD):
                reactivate_subscription(sub, actor=actor, reason=reason)  # audited there, with the reason
                event = f"subscription {sub} reactivated"
            if _record_undone(alert, action, actor=actor, reason=reason, event=event):
                undone.append(action)
        else:
            with transaction.atomic():
                if _record_undone(alert, action, actor=actor, reason=reason, event=CONTROL_OFF[action.kind]):
                    field = CONTROL_FIELD[action.kind]
                    # Lifted only when no other alert of the customer still holds the same control.
                    if not AlertAction.objects.filter(alert__customer_id=alert.customer_id, kind=action.kind,
                                                      undone_at__isnull=True).exists():
                        set_controls(alert.customer, actor=actor, reason=reason, **{field: False})
                    undone.append(action)
    return undone


def _other_suspender(alert: Alert, subscription_id) -> int | None:
    """Another open or confirmed alert of the customer holding a suspension of the subscription (its id)."""
    if subscription_id is None:
        return None
    return (AlertAction.objects.filter(kind=ActionKind.SUSPEND, subscription_id=subscription_id,
                                       undone_at__isnull=True, alert__customer_id=alert.customer_id,
                                       alert__status__in=ACTIVE_ALERT_STATUSES)
            .exclude(alert_id=alert.pk).order_by("id").values_list("alert_id", flat=True).first())


def _record_undone(alert: Alert, action: AlertAction, *, actor, reason: str, event: str) -> bool:
    with transaction.atomic():
        now = timezone.now()
        if not AlertAction.objects.filter(pk=action.pk, undone_at__isnull=True).update(undone_at=now,
                                                                                       undo_reason=reason):
            return False  # undone by another request meanwhile
        action.undone_at, action.undo_reason = now, reason
        record(actor=actor, action="fraud_alert.action_undone", obj=alert, customer=alert.customer, reason=reason,
               after={"action": action.kind, "subscription": action.subscription_id})
        if event:
            _event(alert, event)
    return True


# --- actions ---------------------------------------------------------------------------------------------------


def _claim(alert: Alert, kind: str, *, actor, reason: str, automatic: bool, subscription=None) -> AlertAction | None:
    """The action's row, or None if the alert already took this action (the unique constraints decide)."""
    try:
        with transaction.atomic():
            return AlertAction.objects.create(alert=alert, kind=kind, subscription=subscription, automatic=automatic,
                                              actor=_user(actor), reason=reason)
    except IntegrityError:
        return None


def _taken(alert: Alert, action: AlertAction, *, actor, event: str, **extra) -> None:
    """Record an action done (inside the caller's transaction): audit, the case's history, time to act."""
    now = timezone.now()
    if not action.automatic:
        updated = Alert.objects.filter(pk=alert.pk, acted_at__isnull=True).update(acted_at=now, updated_at=now)
        if updated:
            alert.acted_at = now
    record(actor=actor, action="fraud_alert.action_taken", obj=alert, customer=alert.customer, reason=action.reason,
           after={"action": action.kind, "subscription": action.subscription_id, "automatic": action.automatic,
                  **extra})
    _event(alert, event)


def require_prepayment(alert: Alert, *, actor, reason, automatic: bool = False) -> AlertAction | None:
    """Require prepayment from the alert's customer (lifted when the alert is cleared)."""
    return _control(alert, ActionKind.REQUIRE_PREPAYMENT, actor=actor, reason=reason, automatic=automatic)


def hold_orders(alert: Alert, *, actor, reason) -> AlertAction | None:
    """Hold the alert's customer's new orders (released when the alert is cleared)."""
    return _control(alert, ActionKind.HOLD_ORDERS, actor=actor, reason=reason, automatic=False)


def _control(alert: Alert, kind: str, *, actor, reason, automatic: bool) -> AlertAction | None:
    from .controls import risk_of

    reason = check_reason(reason)
    _check_active(alert)
    field = CONTROL_FIELD[kind]
    with transaction.atomic():
        alert = _lock(alert)
        _check_active(alert)
        risk = risk_of(alert.customer)
        held_by_alerts = AlertAction.objects.filter(alert__customer_id=alert.customer_id, kind=kind,
                                                    undone_at__isnull=True).exists()
        if risk is not None and getattr(risk, field) and not held_by_alerts:
            # Set by hand, outside any alert: clearing this alert must not lift it, so it is not this alert's.
            if automatic:
                return None
            raise Conflict(_("This control is already in force for the customer."), field=field)
        action = _claim(alert, kind, actor=actor, reason=reason, automatic=automatic)
        if action is None:
            if automatic:
                return None
            raise Conflict(_("This alert has already taken this action."), field="kind")
        set_controls(alert.customer, actor=actor, reason=reason, **{field: True})
        _taken(alert, action, actor=actor, event=CONTROL_ON[kind])
    return action


def _targets(alert: Alert, subscriptions) -> tuple[list[Subscription], bool]:
    """The subscriptions to suspend and whether they were named: those given, else the alert's own, else every
    active subscription of the customer."""
    if subscriptions is not None:
        subs = list(subscriptions)
        if not subs:
            raise InvalidInput(_("name at least one subscription"), field="subscription_ids")
        for i, sub in enumerate(subs):
            if sub.customer_id != alert.customer_id:
                raise InvalidInput(_("no such subscription for this customer"), field=f"subscription_ids[{i}]")
        return subs, True
    if alert.subscription_id:
        return [alert.subscription], False
    # (and those already suspended for fraud by another active alert: this one then holds them too)
    held = AlertAction.objects.filter(kind=ActionKind.SUSPEND, undone_at__isnull=True, alert__customer_id=alert.customer_id,
                                      alert__status__in=ACTIVE_ALERT_STATUSES).exclude(alert_id=alert.pk)
    return list(Subscription.objects.filter(customer_id=alert.customer_id)
                .filter(Q(status=SubscriptionStatus.ACTIVE) | Q(status=SubscriptionStatus.SUSPENDED,
                                                               suspension_reason=SuspensionReason.FRAUD,
                                                               pk__in=held.values("subscription_id")))
                .order_by("id")), False


def suspend(alert: Alert, *, actor, reason, subscriptions=None, automatic: bool = False) -> list[AlertAction]:
    """Suspend subscriptions at the operator with the reason fraud (customers.services.suspend_subscription), at
    most once per subscription and alert. Returns the suspensions done now. A manual suspension refuses what
    cannot be done; an automatic one skips it (and records an operator failure, to try again next time)."""
    from partnerdesk.customers.services import check_suspension, suspend_subscription

    reason = check_reason(reason)
    _check_active(alert)
    subs, named = _targets(alert, subscriptions)
    # Fresh rows: the status the checks read is the one now.
    subs = list(Subscription.objects.select_related("customer").filter(pk__in=[s.pk for s in subs]).order_by("id"))
    if not automatic:
        if named:
            for sub in subs:  # every input checked before anything is sent
                check_suspension(sub, actor=actor, reason_code=SuspensionReason.FRAUD, reason=reason)
        elif not any(s.status == SubscriptionStatus.ACTIVE or _other_suspender(alert, s.pk) for s in subs):
            raise Conflict(_("The customer has no active subscription to suspend."), field="subscription_ids")
    done = []
    for sub in subs:
        if (sub.status == SubscriptionStatus.SUSPENDED and sub.suspension_reason == SuspensionReason.FRAUD
                and _other_suspender(alert, sub.pk) is not None):
            # Already suspended for another alert: this one claims it too, so clearing that one alone does not
            # reactivate what this alert also wants suspended. Nothing to ask the operator.
            action = _claim(alert, ActionKind.SUSPEND, actor=actor, reason=reason, automatic=automatic,
                            subscription=sub)
            if action is not None:
                with transaction.atomic():
                    _taken(alert, action, actor=actor, event=f"subscription {sub} suspended (fraud)",
                           status=sub.status)
                done.append(action)
            continue
        if sub.status != SubscriptionStatus.ACTIVE:
            continue
        action = _claim(alert, ActionKind.SUSPEND, actor=actor, reason=reason, automatic=automatic, subscription=sub)
        if action is None:
            if named and not automatic:
                raise Conflict(_("This alert has already suspended %(subscription)s."), field="subscription_ids",
                               subscription=str(sub))
            continue
        try:
            sub = suspend_subscription(sub, actor=actor, reason_code=SuspensionReason.FRAUD, reason=reason)
        except DomainError as exc:
            _give_back(alert, action, actor=actor, error=exc)
            if automatic:
                logger.warning("Fraud alert %s: the automatic suspension of %s failed: %s", alert.pk, sub, exc)
                continue
            raise
        except Exception:
            # The operator may have made the change with the local write failing: the subscription then shows
            # the operator's state (customers.services). Keep the claim if it shows suspended.
            current = Subscription.objects.get(pk=sub.pk)
            if current.status != SubscriptionStatus.SUSPENDED:
                _give_back(alert, action, actor=actor, error=None)
            raise
        with transaction.atomic():
            if alert.case_id:
                alert.case.subscriptions.add(sub)
            _taken(alert, action, actor=actor, event=f"subscription {sub} suspended (fraud)",
                   status=sub.status)
        done.append(action)
    return done


def _give_back(alert: Alert, action: AlertAction, *, actor, error) -> None:
    """The operator did not suspend: the claim goes, so the suspension can be tried again; the failure is kept."""
    with transaction.atomic():
        AlertAction.objects.filter(pk=action.pk).delete()
        record(actor=actor, action="fraud_alert.action_failed", obj=alert, customer=alert.customer,
               reason=action.reason, after={"action": action.kind, "subscription": action.subscription_id,
                                            "error": str(error)[:500] if error is not None else "unexpected error"})


def report_to_operator(alert: Alert, *, actor, channel: str = "portal", severity: str = "B", title=None,
                       description=None):
    """Report the customer to 21Vianet through the escalation flow, on the alert's case, once per alert."""
    from partnerdesk.customers.models import Language
    from partnerdesk.escalations.models import Topic
    from partnerdesk.escalations.services import escalate

    from .explain import of_alert

    _check_active(alert)
    if alert.case_id is None:
        raise Conflict(_("This alert has no case to escalate."), field="case_id")
    severity = SEVERITY_LETTERS.get(str(severity).upper(), severity) if isinstance(severity, str) else severity
    # Written for the operator, in Chinese (the operator's language), unless the agent wrote it.
    with translation.override("zh-hans"):
        if not title:
            title = gettext("Suspected fraud or misuse: %(customer)s") % {"customer": alert.customer.name}
        if not description:
            description = of_alert(alert)
    with transaction.atomic():
        alert = _lock(alert)
        _check_active(alert)
        action = _claim(alert, ActionKind.REPORT, actor=actor, reason=str(title)[:bounds.REASON_LENGTH],
                        automatic=False)
        if action is None:
            raise Conflict(_("This alert has already been reported to 21Vianet."), field="alert_id")
        suspended = [a.subscription for a in alert.actions.filter(kind=ActionKind.SUSPEND, undone_at__isnull=True)
                     .select_related("subscription") if a.subscription is not None]
        sr = escalate(alert.case, actor=actor, channel=channel, topic=Topic.FRAUD, severity=severity, title=title,
                      description=description, language=Language.ZH_CN, subscriptions=suspended)
        action.service_request = sr
        action.save(update_fields=["service_request"])
        _taken(alert, action, actor=actor, event="reported to 21Vianet", service_request=sr.pk)
    return sr


# --- expected patterns -----------------------------------------------------------------------------------------


def _check_until(until: dt.date | None) -> dt.date:
    if until is None:
        return timezone.localdate() + dt.timedelta(days=EXPECTED_DAYS)
    if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
        raise InvalidInput(_("Enter a date as YYYY-MM-DD."), field="until")
    bounds.check_date(until, field="until")
    if until < timezone.localdate():
        raise InvalidInput(_("the date cannot be in the past"), field="until")
    return until


def add_expected_pattern(customer, *, signal: str, subject: str = "", until: dt.date | None = None, actor, reason,
                         alert: Alert | None = None) -> ExpectedPattern:
    """A known cause: while it holds (until `until`, default EXPECTED_DAYS from today, or its removal), the signal
    (for this subject, or any subject if blank) does not alert."""
    reason = check_reason(reason)
    if signal not in SignalKind.values:
        raise InvalidInput(_("%(value)s is not one of the choices"), field="signal", value=repr(signal))
    subject = bounds.clean_text(subject, field="subject", max_length=200).strip()
    until = _check_until(until)
    with transaction.atomic():
        pattern = ExpectedPattern.objects.create(customer=customer, signal=signal, subject=subject, until=until,
                                                 reason=reason, alert=alert, created_by=_user(actor))
        record(actor=actor, action="fraud_pattern.added", obj=pattern, customer=customer, reason=reason,
               after={"signal": signal, "subject": subject, "until": until, "alert": alert.pk if alert else None})
    return pattern


def remove_expected_pattern(pattern: ExpectedPattern, *, actor, reason) -> None:
    """The cause no longer explains the pattern: it alerts again."""
    reason = check_reason(reason)
    with transaction.atomic():
        record(actor=actor, action="fraud_pattern.removed", obj=pattern, customer=pattern.customer, reason=reason,
               before={"signal": pattern.signal, "subject": pattern.subject, "until": pattern.until})
        pattern.delete()
