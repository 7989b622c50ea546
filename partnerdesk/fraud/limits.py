"""Credit limits and monthly budgets (issue 16, item 3): what a customer may owe or spend, and the warnings at 80%
and 100% to the customer and to the account's agent.

What counts against a limit (`used`, as of a day):

- credit limit (the customer as a whole): what the customer owes us. The ledger's balance now
  (billing.services.with_balances: open invoice balances less unallocated credit, so a customer in credit has more
  room) plus the usage the operator has charged for this customer that is not yet on an issued invoice: usage
  ReconLines of active files, matched to the customer, with usage_date up to the day, whose invoice_line is null
  or sits on a draft invoice (re-billing has priced it but the customer has not been invoiced). That is the
  latest operator period not yet invoiced, and any earlier line still waiting (matched late, say). Charges are the
  operator's pretax charges (what the partner owes 21Vianet for it), not the marked-up price. Never below zero.
- monthly budget (the customer, or one subscription): usage ReconLines of active files with usage_date in the
  calendar month of the day, up to the day, for the customer (or that subscription), invoiced or not; pretax
  charges.

Warnings: send_limit_warnings(as_of) looks at every limit; a limit at 80% or more of its amount gets the 80%
warning, at 100% or more the 100% one, each once per limit and month (LimitWarning, unique on limit + level +
period: the row is the claim, taken in the transaction that queues the emails, so a rerun or a second worker sends
nothing twice). A limit that jumps straight past 100% gets only the 100% warning (the 80% one is marked taken
with it). A changed amount keeps the month's warnings already sent. The customer's billing contacts get it in the
customer's language (templates limits.warning and limits.reached), the account's agent (customer.owner, active,
with an address) gets limits.agent_warning in the staff's language, all through notifications.queue_email.

limit_hits(as_of) gives detection an over_limit Hit for each limit at 100% or more (score: used / limit; amount:
what is past the limit). It applies no SignalRule threshold: the limit itself is the threshold.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record
from partnerdesk.billing.models import InvoiceStatus
from partnerdesk.billing.money import ZERO, to_money
from partnerdesk.billing.services import parse_amount, with_balances
from partnerdesk.customers.models import ContactKind, Customer, Language, Subscription
from partnerdesk.errors import InvalidInput
from partnerdesk.notifications.services import queue_email
from partnerdesk.rebilling.models import FileKind, FileStatus, ReconLine

from .hits import Hit
from .models import CreditLimit, LimitKind, LimitWarning, SignalKind

LEVELS = (80, 100)  # percent of the limit at which the customer and the agent are warned
CUSTOMER_TEMPLATES = {80: "limits.warning", 100: "limits.reached"}
AGENT_TEMPLATE = "limits.agent_warning"
STAFF_LANGUAGE = "zh-CN"  # staff emails, as the desk's SLA alerts and payables' warnings
CHUNK = 2000  # ids per IN list (SQLite's variable limit)
_EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]


# --- setting and removing -----------------------------------------------------------------------------------


def set_limit(customer, *, kind, amount, subscription=None, actor, reason: str = "") -> CreditLimit:
    """Set (or change) the customer's credit limit or monthly budget, for the customer or one subscription."""
    if kind not in LimitKind.values:
        raise InvalidInput(_("the kind must be one of %(choices)s"), field="kind", choices=", ".join(LimitKind.values))
    amount = parse_amount(amount, field="amount", currency=customer.currency)
    reason = bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH).strip()
    if subscription is not None:
        if kind != LimitKind.BUDGET:
            raise InvalidInput(_("a credit limit is for the customer as a whole; only a budget can be for one "
                                 "subscription"), field="subscription")
        if not isinstance(subscription, Subscription) or subscription.customer_id != customer.pk:
            raise InvalidInput(_("the subscription is not one of this customer's"), field="subscription")
    with transaction.atomic():
        limit = _existing(customer, kind, subscription, lock=True)
        if limit is None:
            try:
                with transaction.atomic():
                    limit = CreditLimit.objects.create(customer=customer, kind=kind, amount=amount,
                                                       subscription=subscription, created_by=_user(actor))
            except IntegrityError:  # set at the same moment by someone else: change theirs
                limit = _existing(customer, kind, subscription, lock=True)
            else:
                record(actor=actor, action="credit_limit.set", obj=limit, customer=customer,
                       after=_snapshot(limit), reason=reason)
                return limit
        before = _snapshot(limit)
        limit.amount, limit.updated_at = amount, timezone.now()
        limit.save(update_fields=["amount", "updated_at"])
        record(actor=actor, action="credit_limit.changed", obj=limit, customer=customer, before=before,
               after=_snapshot(limit), reason=reason)
    return limit


def remove_limit(limit: CreditLimit, *, actor, reason: str) -> None:
    """Remove a credit limit or budget (its warnings go with it); the reason is required and audited."""
    reason = bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("say why the limit is removed"), field="reason")
    with transaction.atomic():
        limit = CreditLimit.objects.select_for_update().filter(pk=limit.pk).first()
        if limit is None:
            return  # already removed
        record(actor=actor, action="credit_limit.removed", obj=limit, customer=limit.customer,
               before=_snapshot(limit), reason=reason)
        limit.delete()


def _existing(customer, kind, subscription, *, lock: bool) -> CreditLimit | None:
    limits = CreditLimit.objects.filter(customer=customer, kind=kind, subscription=subscription)
    return (limits.select_for_update() if lock else limits).first()


def _snapshot(limit: CreditLimit) -> dict:
    return {"kind": limit.kind, "amount": limit.amount, "subscription_id": limit.subscription_id}


def _user(actor):
    return actor if actor is not None and getattr(actor, "pk", None) else None


# --- what is used -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """What counts against one limit on a day: used = balance + unbilled (credit limit) or the month's spend."""

    used: Decimal
    balance: Decimal = ZERO  # credit limits: the ledger's balance
    unbilled: Decimal = ZERO  # credit limits: usage not yet on an issued invoice


def used(limit: CreditLimit, *, as_of: dt.date) -> Decimal:
    """What counts against the limit on the day (see the module's docstring)."""
    return measure([limit], as_of=as_of)[limit.pk].used


def measure(limits, *, as_of: dt.date) -> dict[int, Usage]:
    """Usage of many limits in a few grouped queries (whatever their number), keyed by limit id."""
    limits = list(limits)
    credit = {lim.customer_id for lim in limits if lim.kind == LimitKind.CREDIT_LIMIT}
    budget_customers = {lim.customer_id for lim in limits if lim.kind == LimitKind.BUDGET and not lim.subscription_id}
    budget_subscriptions = {lim.subscription_id for lim in limits if lim.kind == LimitKind.BUDGET and lim.subscription_id}
    balances, unbilled = _balances(credit), _unbilled_usage(credit, as_of)
    month = as_of.replace(day=1)
    by_customer = _month_spend("customer_id", budget_customers, month, as_of)
    by_subscription = _month_spend("subscription_id", budget_subscriptions, month, as_of)
    out = {}
    for lim in limits:
        if lim.kind == LimitKind.CREDIT_LIMIT:
            balance, pending = balances.get(lim.customer_id, ZERO), unbilled.get(lim.customer_id, ZERO)
            out[lim.pk] = Usage(max(to_money(balance + pending), ZERO), to_money(balance), to_money(pending))
        elif lim.subscription_id:
            out[lim.pk] = Usage(to_money(by_subscription.get(lim.subscription_id, ZERO)))
        else:
            out[lim.pk] = Usage(to_money(by_customer.get(lim.customer_id, ZERO)))
    return out


def _chunks(ids):
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _usage_lines():
    return ReconLine.objects.filter(kind=FileKind.USAGE, file__status=FileStatus.ACTIVE)


def _balances(customer_ids) -> dict[int, Decimal]:
    out = {}
    for ids in _chunks(customer_ids):
        out.update(with_balances(Customer.objects.filter(pk__in=ids).order_by()).values_list("pk", "balance"))
    return {pk: Decimal(value or 0) for pk, value in out.items()}


def _unbilled_usage(customer_ids, as_of: dt.date) -> dict[int, Decimal]:
    out = {}
    not_invoiced = Q(invoice_line__isnull=True) | Q(invoice_line__invoice__status=InvoiceStatus.DRAFT)
    up_to_day = Q(usage_date__isnull=True) | Q(usage_date__lte=as_of)
    for ids in _chunks(customer_ids):
        rows = (_usage_lines().filter(not_invoiced, up_to_day, customer_id__in=ids)
                .values("customer_id").annotate(total=Sum("charges")).values_list("customer_id", "total"))
        out.update(rows)
    return {pk: Decimal(value or 0) for pk, value in out.items()}


def _month_spend(key: str, ids, month: dt.date, as_of: dt.date) -> dict[int, Decimal]:
    out = {}
    for chunk in _chunks(ids):
        rows = (_usage_lines().filter(**{f"{key}__in": chunk}, usage_date__gte=month, usage_date__lte=as_of)
                .values(key).annotate(total=Sum("charges")).values_list(key, "total"))
        out.update(rows)
    return {pk: Decimal(value or 0) for pk, value in out.items()}


def percent(used_amount: Decimal, limit_amount: Decimal) -> int:
    """Whole percent of the limit used, rounded down (79.99% is not yet 80%)."""
    if limit_amount <= 0:
        return 0
    return int((used_amount * 100 / limit_amount).to_integral_value(rounding=ROUND_FLOOR))


def _limits(customer_ids=None):
    limits = CreditLimit.objects.select_related("subscription").order_by("pk")
    if customer_ids is None:
        return list(limits)
    out = []
    for ids in _chunks(set(customer_ids)):
        out.extend(limits.filter(customer_id__in=ids))
    return out


def subject_of(limit: CreditLimit) -> str:
    """The incident's subject of a limit: "credit_limit", "budget" or "budget:<subscription operator id>"."""
    if limit.kind == LimitKind.BUDGET and limit.subscription_id:
        return f"budget:{limit.subscription.operator_id}"
    return limit.kind


# --- detection ----------------------------------------------------------------------------------------------


def limit_hits(*, as_of: dt.date, customer_ids=None) -> list[Hit]:
    """An over_limit Hit for each limit used to 100% or more on the day."""
    limits = _limits(customer_ids)
    usage = measure(limits, as_of=as_of)
    hits = []
    for lim in limits:
        spent = usage[lim.pk]
        if lim.amount <= 0 or spent.used < lim.amount:
            continue
        figures = {"kind": lim.kind, "limit": str(lim.amount), "used": str(spent.used),
                   "over": str(spent.used - lim.amount), "percent": percent(spent.used, lim.amount)}
        if lim.kind == LimitKind.CREDIT_LIMIT:
            figures.update(balance=str(spent.balance), unbilled=str(spent.unbilled))
        else:
            figures["month"] = as_of.replace(day=1).isoformat()
        if lim.subscription_id:
            figures["subscription"] = str(lim.subscription)
        hits.append(Hit(customer_id=lim.customer_id, signal=SignalKind.OVER_LIMIT.value, day=as_of,
                        score=(spent.used / lim.amount).quantize(Decimal("0.01")),
                        amount=to_money(spent.used - lim.amount), subject=subject_of(lim),
                        subscription_id=lim.subscription_id, figures=figures))
    return hits


# --- warnings -----------------------------------------------------------------------------------------------


def send_limit_warnings(*, as_of: dt.date | None = None) -> int:
    """Warn at 80% and 100% of each limit, once per level and month; returns how many warnings were sent."""
    as_of = as_of or timezone.localdate()
    period = as_of.replace(day=1)
    limits = _limits()
    usage = measure(limits, as_of=as_of)
    taken = set(LimitWarning.objects.filter(period=period).values_list("limit_id", "level"))
    sent = 0
    for lim in limits:
        spent = usage[lim.pk]
        reached = [level for level in LEVELS if percent(spent.used, lim.amount) >= level]
        if not reached or (lim.pk, reached[-1]) in taken:
            continue
        sent += _warn_once(lim, reached, spent, period, as_of)
    return sent


def _warn_once(limit: CreditLimit, reached: list[int], spent: Usage, period: dt.date, as_of: dt.date) -> int:
    """Take the highest level reached (and any lower one not yet sent) and queue its emails; 0 if already taken."""
    level = reached[-1]
    with transaction.atomic():
        try:
            with transaction.atomic():
                LimitWarning.objects.create(limit=limit, level=level, period=period, used=spent.used)
        except IntegrityError:
            return 0  # another run took it first
        for lower in reached[:-1]:  # jumped past it: no 80% warning after the 100% one
            try:
                with transaction.atomic():
                    LimitWarning.objects.create(limit=limit, level=lower, period=period, used=spent.used)
            except IntegrityError:
                pass
        customer = Customer.objects.select_related("owner").get(pk=limit.customer_id)
        to = _queue_warnings(limit, customer, level, spent, period)
        record(actor=None, action="credit_limit.warning_sent", obj=limit, customer=customer,
               after={"level": level, "period": period, "used": spent.used, "limit": limit.amount, "as_of": as_of,
                      "to": to})
    return 1


def _queue_warnings(limit: CreditLimit, customer: Customer, level: int, spent: Usage, period: dt.date) -> list[str]:
    """Queue the warning to the customer's billing contacts and to the agent; the addresses it went to."""
    key = f"limit-{limit.pk}-{level}-{period.isoformat()}"
    language = customer.language
    context = _context(limit, customer, level, spent, period, language)
    contacts = [c for c in customer.contacts.all() if c.kind == ContactKind.BILLING and c.email]
    to = []
    if contacts:
        for contact in contacts:
            queue_email(customer=customer, to=contact.email, language=language, template_key=CUSTOMER_TEMPLATES[level],
                        context=context, dedupe_key=f"{key}-c{contact.pk}")
            to.append(contact.email)
    else:  # kept as failed (no recipient) if the customer has no contact: the gap shows on its page
        email = queue_email(customer=customer, language=language, template_key=CUSTOMER_TEMPLATES[level],
                            context=context, dedupe_key=f"{key}-c")
        to.append(email.to_address)
    agent = customer.owner
    if agent is not None and agent.is_active and agent.email:
        agent_context = {**_context(limit, customer, level, spent, period, STAFF_LANGUAGE),
                         "customer_url": _site() + reverse("customer_detail", args=[customer.pk])}
        queue_email(customer=None, to=agent.email, language=STAFF_LANGUAGE, template_key=AGENT_TEMPLATE,
                    context=agent_context, dedupe_key=f"{key}-u{agent.pk}")
        to.append(agent.email)
    return [address for address in to if address]


def _context(limit: CreditLimit, customer: Customer, level: int, spent: Usage, period: dt.date, language: str) -> dict:
    context = {
        "customer_name": customer.name,
        "limit_kind": limit.kind,
        "limit_level": level,
        "subscription": str(limit.subscription) if limit.subscription_id else "",
        "amount_limit": str(limit.amount),
        "amount_used": str(spent.used),
        "percent_used": percent(spent.used, limit.amount),
        "currency": customer.currency,
        "limit_month": month_text(period, language),
    }
    if limit.kind == LimitKind.CREDIT_LIMIT:
        context.update(amount_balance=str(spent.balance), amount_unbilled=str(spent.unbilled))
    return context


def month_text(period: dt.date, language: str) -> str:
    """A month as a reader of the language writes it: 2026年11月, November 2026."""
    if language == Language.EN:
        return f"{_EN_MONTHS[period.month - 1]} {period.year}"
    return f"{period.year}年{period.month}月"


def _site() -> str:
    return ((getattr(settings, "NOTIFICATIONS", {}) or {}).get("SITE_URL") or "").rstrip("/")
