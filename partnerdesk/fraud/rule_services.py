"""Changing the monitoring's thresholds and settings: a signal's rule (the default, or one customer's, which then
wins) and the one settings row (the team that gets fraud cases, what counts as a new customer, the baseline,
whether automatic actions are allowed). Each change is audited with the values before and after.

Reading them is fraud.rules' (rule_for, fraud_settings): this module only writes.
"""

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import InvalidInput

from .models import FraudSettings, SignalKind, SignalRule
from .rules import rule_for

RULE_FIELDS = ("enabled", "min_score", "min_amount", "window_days", "auto_suspend", "auto_prepayment")
SETTINGS_FIELDS = ("team", "new_customer_days", "baseline_days", "auto_actions")
MAX_SCORE = Decimal("99999999.99")  # the column holds 10 digits, 2 after the point
MAX_WINDOW_DAYS = 365
MAX_NEW_CUSTOMER_DAYS = 3650
MIN_BASELINE_DAYS, MAX_BASELINE_DAYS = 14, 365  # two weeks at least: the baseline is per weekday


def _check_signal(signal) -> str:
    if signal not in SignalKind.values:
        raise InvalidInput(_("unknown signal %(value)s"), field="signal", value=str(signal)[:40])
    return signal


def _decimal(value, *, field: str, places: int, maximum: Decimal) -> Decimal | None:
    """A threshold given as a Decimal, an int or a decimal string; None leaves it to the default."""
    if value is None or value == "":
        return None
    if isinstance(value, float | bool):
        raise InvalidInput(_('give amounts as decimal strings such as "1280.00"'), field=field)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("not a number"), field=field) from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(_("must be zero or more"), field=field)
    if number > maximum:
        raise InvalidInput(_("at most %(max)s"), field=field, max=str(maximum))
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise InvalidInput(_("at most %(count)s decimal places"), field=field, count=places)
    return number.quantize(Decimal(1).scaleb(-places))


def _whole(value, *, field: str, low: int, high: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(_("a whole number is required"), field=field)
    number = bounds.parse_id(value) if isinstance(value, str) else value
    if number is None or not low <= number <= high:
        raise InvalidInput(_("must be between %(low)s and %(high)s"), field=field, low=low, high=high)
    return number


def _flag(value, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(_("true or false is required"), field=field)
    return value


def clean_thresholds(thresholds: dict) -> dict:
    """The thresholds as stored, each checked against its bound (a refusal names the field)."""
    unknown = sorted(set(thresholds) - set(RULE_FIELDS))
    if unknown:
        raise InvalidInput(_("unknown threshold %(value)s"), field=unknown[0], value=unknown[0])
    cleaned = {}
    for name, value in thresholds.items():
        if name == "min_score":
            cleaned[name] = _decimal(value, field=name, places=2, maximum=MAX_SCORE)
        elif name == "min_amount":
            cleaned[name] = _decimal(value, field=name, places=2, maximum=bounds.MAX_AMOUNT)
        elif name == "window_days":
            cleaned[name] = _whole(value, field=name, low=1, high=MAX_WINDOW_DAYS)
        else:
            cleaned[name] = _flag(value, field=name)
    return cleaned


def set_rule(signal: str, *, customer=None, actor, reason: str = "", **thresholds) -> SignalRule:
    """Set a signal's thresholds, by default (customer None) or for one customer; fields not given keep their value
    (a new row: None, i.e. the next level's value, for the numbers; a new customer's row starts with the switches
    in force by default, from the default row or the built-in defaults, so raising one threshold for a customer
    does not switch its automatic actions off or a disabled signal on)."""
    _check_signal(signal)
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    cleaned = clean_thresholds(thresholds)
    with transaction.atomic():
        rows = SignalRule.objects.select_for_update().filter(signal=signal, customer=customer)
        rule = rows.first()
        created = rule is None
        if created:
            rule = SignalRule(signal=signal, customer=customer)
            if customer is not None:
                default = rule_for(signal)  # the default row's switches, else the built-in ones
                rule.enabled, rule.auto_suspend, rule.auto_prepayment = (
                    default.enabled, default.auto_suspend, default.auto_prepayment)
        before = None if created else snapshot(rule, list(RULE_FIELDS))
        for name, value in cleaned.items():
            setattr(rule, name, value)
        rule.updated_by = actor if actor is not None and actor.pk else None
        rule.updated_at = timezone.now()
        try:
            with transaction.atomic():  # two saving the same new rule at once: the second is told, not a 500
                rule.save()
        except IntegrityError:
            raise InvalidInput(_("this rule was just created by someone else: reload and try again"),
                               field="signal") from None
        after = snapshot(rule, list(RULE_FIELDS))
        if created or before != after:
            record(actor=actor, action="fraud.rule_set", obj=rule, customer=customer, before=before,
                   after={"signal": signal, **after}, reason=reason)
    return rule


def remove_rule(rule: SignalRule, *, actor, reason: str) -> None:
    """Remove a customer's rule (the default then applies) or the default row (the built-in defaults apply)."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("a reason is required"), field="reason")
    with transaction.atomic():
        before = {"signal": rule.signal, **snapshot(rule, list(RULE_FIELDS))}
        record(actor=actor, action="fraud.rule_removed", obj=rule, customer=rule.customer, before=before,
               reason=reason)
        SignalRule.objects.filter(pk=rule.pk).delete()


def _settings_row() -> FraudSettings:
    FraudSettings.objects.get_or_create(pk=1)
    return FraudSettings.objects.select_for_update().get(pk=1)


def update_fraud_settings(*, actor, reason: str = "", **fields) -> FraudSettings:
    """Change the monitoring's settings (fields not given keep their value); audited with before and after."""
    unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
    if unknown:
        raise InvalidInput(_("unknown setting %(value)s"), field=unknown[0], value=unknown[0])
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    cleaned = {}
    if "team" in fields:
        from partnerdesk.accounts.models import Team

        team = fields["team"]
        if team is not None and not isinstance(team, Team):
            team_id = bounds.parse_id(team)
            team = Team.objects.filter(pk=team_id).first() if team_id else None
            if team is None:
                raise InvalidInput(_("no such team"), field="team_id")
        cleaned["team"] = team
    if "new_customer_days" in fields:
        cleaned["new_customer_days"] = _whole(fields["new_customer_days"], field="new_customer_days", low=1,
                                              high=MAX_NEW_CUSTOMER_DAYS)
    if "baseline_days" in fields:
        cleaned["baseline_days"] = _whole(fields["baseline_days"], field="baseline_days", low=MIN_BASELINE_DAYS,
                                          high=MAX_BASELINE_DAYS)
    if "auto_actions" in fields:
        cleaned["auto_actions"] = _flag(fields["auto_actions"], field="auto_actions")
    cleaned = {k: v for k, v in cleaned.items() if v is not None or k == "team"}
    names = list(SETTINGS_FIELDS)
    with transaction.atomic():
        row = _settings_row()
        before = snapshot(row, names)
        for name, value in cleaned.items():
            setattr(row, name, value)
        after = snapshot(row, names)
        if before != after:
            row.updated_by = actor if actor is not None and actor.pk else None
            row.updated_at = timezone.now()
            row.save()
            record(actor=actor, action="fraud.settings_changed", obj=row, before=before, after=after, reason=reason)
    return row
