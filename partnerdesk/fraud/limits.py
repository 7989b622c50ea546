"""Credit limits and monthly budgets (issue 16, item 3): what a customer may owe or spend, and the warnings at 80%
and 100% to the customer and to the account's agent.

What counts against a limit (`used`, as of a day), always at the customer's own price: each operator line priced
by re-billing's price rules (rebilling.pricing, the rule generation would use) plus tax at the line's VAT rate, as
rebilling.drafts puts it on a draft invoice. The operator's pretax charges (what the partner owes 21Vianet) are the
partner's cost: kept apart in Usage.cost for staff, never shown to a customer or put in a customer's email.

- credit limit (the customer as a whole): what the customer owes us. The ledger's balance now
  (billing.services.with_balances: open invoice balances less unallocated credit, so a customer in credit has more
  room) plus the usage the operator has charged for this customer that is not yet on an issued invoice: usage
  ReconLines of active files, matched to the customer, with usage_date up to the day, whose invoice_line is null
  or sits on a draft invoice (re-billing has priced it but the customer has not been invoiced). That is the
  latest operator period not yet invoiced, and any earlier line still waiting (matched late, say). Never below
  zero.
- monthly budget (the customer, or one subscription): usage ReconLines of active files with usage_date in the
  calendar month of the day, up to the day, for the customer (or that subscription), invoiced or not.

Warnings: send_limit_warnings(as_of) looks at every limit; a limit at 80% or more of its amount gets the 80%
warning, at 100% or more the 100% one, each once per limit and month (LimitWarning, unique on limit + level +
period: the row is the claim, taken in the transaction that queues the emails, so a rerun or a second worker sends
nothing twice). A limit that jumps straight past 100% gets only the 100% warning (the 80% one is marked taken
with it). A changed amount keeps the month's warnings already sent. The customer's billing contacts get it in the
customer's language (templates limits.warning and limits.reached), the account's agent (customer.owner, active,
with an address) gets limits.agent_warning in the staff's language, all through notifications.queue_email.

limit_hits(as_of) gives detection an over_limit Hit for each limit at 100% or more (score: used / limit, capped as
the other signals' scores; amount: what is past the limit), where the over_limit rule in force for the customer
also lets it through: its min_score on used / limit, its min_amount on the amount past the limit.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
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
from partnerdesk.rebilling.drafts import vat_on, vat_rate
from partnerdesk.rebilling.models import FileKind, FileStatus, ReconLine
from partnerdesk.rebilling.pricing import PriceBook, price

from .hits import Hit
from .models import CreditLimit, LimitKind, LimitWarning, SignalKind
from .rules import RuleBook
from .signals import SCORE_CAP

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
    """What counts against one limit on a day, at the customer's price with tax: used = balance + unbilled (credit
    limit) or the month's spend. `cost` is the same usage at the operator's pretax charges: staff only."""

    used: Decimal
    balance: Decimal = ZERO  # credit limits: the ledger's balance
    unbilled: Decimal = ZERO  # credit limits: usage not yet on an issued invoice
    cost: Decimal = ZERO  # the usage counted, at what the partner owes 21Vianet (never shown to the customer)


def used(limit: CreditLimit, *, as_of: dt.date) -> Decimal:
    """What counts against the limit on the day (see the module's docstring)."""
    return measure([limit], as_of=as_of)[limit.pk].used


def measure(limits, *, as_of: dt.date) -> dict[int, Usage]:
    """Usage of many limits in a few grouped queries (whatever their number), keyed by limit id."""
    limits = list(limits)
    credit = {lim.customer_id for lim in limits if lim.kind == LimitKind.CREDIT_LIMIT}
    budget_customers = {lim.customer_id for lim in limits if lim.kind == LimitKind.BUDGET and not lim.subscription_id}
    budget_subscriptions = {lim.subscription_id for lim in limits if lim.kind == LimitKind.BUDGET and lim.subscription_id}
    book = PriceBook() if limits else None
    balances, unbilled = _balances(credit), _unbilled_usage(credit, as_of, book)
    month = as_of.replace(day=1)
    by_customer = _month_spend("customer_id", budget_customers, month, as_of, book)
    by_subscription = _month_spend("subscription_id", budget_subscriptions, month, as_of, book)
    out = {}
    for lim in limits:
        if lim.kind == LimitKind.CREDIT_LIMIT:
            balance = balances.get(lim.customer_id, ZERO)
            pending, cost = unbilled.get(lim.customer_id, (ZERO, ZERO))
            out[lim.pk] = Usage(max(to_money(balance + pending), ZERO), to_money(balance), to_money(pending),
                                to_money(cost))
        else:
            spend, cost = (by_subscription.get(lim.subscription_id) if lim.subscription_id
                           else by_customer.get(lim.customer_id)) or (ZERO, ZERO)
            out[lim.pk] = Usage(to_money(spend), cost=to_money(cost))
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


class _Priced(NamedTuple):
    """What rebilling.pricing.price reads of an operator line."""

    quantity: Decimal
    unit_price: Decimal
    charges: Decimal


PRICED_FIELDS = ("customer_id", "subscription_id", "service", "product_name", "product", "quantity", "unit_price",
                 "charges", "tax")


def _at_customer_price(key: str, lines, book: PriceBook) -> dict[int, tuple[Decimal, Decimal]]:
    """(customer's price with tax, operator's pretax charges) of the lines, by `key`. Each line is priced by the
    rule draft generation would use; tax is put on each (subscription, service) group at the group's VAT rate, as a
    draft's usage line carries it."""
    groups: dict[tuple, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])  # amount, charges, operator tax
    for row in lines.values_list(key, *PRICED_FIELDS).iterator(chunk_size=CHUNK):
        group_key, customer_id, subscription_id, service, product_name, product = row[:6]
        quantity, unit_price, charges, tax = (Decimal(value or 0) for value in row[6:])
        _unit, amount = price(_Priced(quantity, unit_price, charges), book.rule_for(customer_id, product))
        sums = groups[(group_key, customer_id, subscription_id, service or product_name or product)]
        sums[0] += amount
        sums[1] += charges
        sums[2] += tax
    out: dict[int, tuple[Decimal, Decimal]] = {}
    for (group_key, *_rest), (amount, charges, tax) in groups.items():
        priced, cost = out.get(group_key, (ZERO, ZERO))
        out[group_key] = (priced + amount + vat_on(amount, vat_rate(charges, tax)), cost + charges)
    return out


def _unbilled_usage(customer_ids, as_of: dt.date, book) -> dict[int, tuple[Decimal, Decimal]]:
    out = {}
    not_invoiced = Q(invoice_line__isnull=True) | Q(invoice_line__invoice__status=InvoiceStatus.DRAFT)
    up_to_day = Q(usage_date__isnull=True) | Q(usage_date__lte=as_of)
    for ids in _chunks(customer_ids):
        out.update(_at_customer_price("customer_id", _usage_lines().filter(not_invoiced, up_to_day,
                                                                           customer_id__in=ids), book))
    return out


def _month_spend(key: str, ids, month: dt.date, as_of: dt.date, book) -> dict[int, tuple[Decimal, Decimal]]:
    out = {}
    for chunk in _chunks(ids):
        lines = _usage_lines().filter(**{f"{key}__in": chunk}, customer_id__isnull=False, usage_date__gte=month,
                                      usage_date__lte=as_of)
        out.update(_at_customer_price(key, lines, book))
    return out


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
    """An over_limit Hit for each limit used to 100% or more on the day, that the customer's over_limit rule lets
    through (min_score on used / limit, min_amount on the amount past it)."""
    limits = _limits(customer_ids)
    usage = measure(limits, as_of=as_of)
    book = RuleBook() if limits else None
    hits = []
    for lim in limits:
        spent = usage[lim.pk]
        if lim.amount <= 0 or spent.used < lim.amount:
            continue
        ratio, over = spent.used / lim.amount, to_money(spent.used - lim.amount)
        rule = book.rule(SignalKind.OVER_LIMIT, lim.customer_id)
        if not rule.enabled or ratio < rule.min_score or over < rule.min_amount:
            continue
        figures = {"kind": lim.kind, "limit": str(lim.amount), "used": str(spent.used), "over": str(over),
                   "percent": percent(spent.used, lim.amount), "cost": str(spent.cost)}
        if lim.kind == LimitKind.CREDIT_LIMIT:
            figures.update(balance=str(spent.balance), unbilled=str(spent.unbilled))
        else:
            figures["month"] = as_of.replace(day=1).isoformat()
        if lim.subscription_id:
            figures["subscription"] = str(lim.subscription)
        # Capped as every signal's score: a limit of one fen would otherwise overflow Alert.score.
        score = min(ratio, Decimal(str(SCORE_CAP))).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
        hits.append(Hit(customer_id=lim.customer_id, signal=SignalKind.OVER_LIMIT.value, day=as_of, score=score,
                        amount=over, subject=subject_of(lim), subscription_id=lim.subscription_id, figures=figures))
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
