"""The collections run: decide which stage each open invoice has reached, and record each due action once.

Deciding is a few set-based queries (one per policy); recording is done in batches, each in one
transaction that writes the actions, the queued emails and operator requests, and moves the invoices'
stage forward. Every effect has a natural key with a unique constraint, so a rerun, or a run restarted
after a crash at any point, adds nothing that was already done. A lease (RunLock) keeps two runs apart.
"""

import datetime as dt
import hashlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from partnerdesk.audit.services import record
from partnerdesk.batch_sql import (
    id_list_condition,
    insert_ignoring_duplicates,
    json_array_agg_sql,
    json_object_sql,
    json_sql,
    load_scratch,
    placeholder,
    run_sql,
    sql_value,
)
from partnerdesk.billing.models import OPEN_STATUSES, Invoice
from partnerdesk.customers.models import Subscription, SubscriptionStatus
from partnerdesk.fapiao.queries import delivered_dates as fapiao_delivered_dates

from .background import operator_requests_due
from .models import (
    ActionKind,
    CollectionsAction,
    CollectionsPolicy,
    CollectionsProfile,
    CollectionsRun,
    Dispute,
    HoldStatus,
    OperatorRequest,
    PolicyStage,
    PromiseToPay,
    RequestStatus,
    RunLock,
    SuspendScope,
)
from .policies import default_policy, due_date_threshold, stage_date

logger = logging.getLogger(__name__)

LOCK_NAME = "collections"
LOCK_TTL = dt.timedelta(minutes=10)
# A run renews its lease after deciding, after each batch and after the deletion warnings, each a few seconds at
# most (a million invoices take three): a lease not renewed for this long is held by a process that died or hung.
HEARTBEAT_WINDOW = dt.timedelta(minutes=2)


@dataclass(slots=True)
class DueStage:
    """An open invoice that has reached a stage it has not been acted on for."""

    invoice_id: int
    customer_id: int
    customer_name: str
    number: str
    balance: Decimal
    due_date: dt.date
    done_position: int
    target: PolicyStage
    policy: CollectionsPolicy
    currency: str = "CNY"
    disputed: Decimal | None = None  # the part under an open dispute, not collected: `balance` is the rest
    # The date the stages count from when it is not the due date: after a dispute ended with collections resuming
    # on a stated day (see Dispute.collections_due_date). The suspension and deletion dates follow it.
    schedule_date: dt.date | None = None
    # The round of collections it belongs to: "" at first, ":r<dispute id>" after that dispute restarted it. Part
    # of every effect's key, so the restarted round's notices are sent although the first round sent them too.
    cycle: str = ""

    @property
    def counted_from(self) -> dt.date:
        return self.schedule_date or self.due_date


@dataclass
class RunResult:
    as_of: dt.date
    status: str  # finished, busy (another run holds the lock), dry_run, nothing_due (not recorded: see run_collections)
    due: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    run_id: int | None = None
    decide_seconds: float = 0.0
    record_seconds: float = 0.0
    tidy_seconds: float = 0.0
    held_by: str = ""  # when busy: the lease holder (host:pid:start:nonce) and since when it holds it
    held_since: dt.datetime | None = None


# --- holds ---------------------------------------------------------------------------------------------


@dataclass
class Holds:
    """What collections leaves alone today, read once per run (few rows): whole invoices (a dispute of all that is
    open, a promise to pay), the disputed part of others, and the dates the stages count from after a dispute."""

    held: set[int] = field(default_factory=set)
    disputed: dict[int, Decimal] = field(default_factory=dict)  # invoice id: disputed amount (< its balance)
    overdue_disputed: dict[int, Decimal] = field(default_factory=dict)  # customer id: disputed amount of overdue invoices
    restarted: dict[int, dt.date] = field(default_factory=dict)  # invoice id: collections due date after a dispute
    cycles: dict[int, str] = field(default_factory=dict)  # invoice id: the restarted round (see DueStage.cycle)


def open_dispute_amounts(customer_ids=None):
    """(invoice id, customer id, amount disputed, its balance, its due date) of every open dispute of an open invoice:
    the amount is the dispute's, at most the balance; a dispute without an amount disputes the whole balance."""
    disputes = Dispute.objects.filter(status=HoldStatus.OPEN, invoice__status__in=OPEN_STATUSES)
    if customer_ids is not None:
        disputes = disputes.filter(customer_id__in=customer_ids)
    for inv_id, cust_id, amount, balance, due_date in disputes.values_list(
            "invoice_id", "customer_id", "amount", "invoice__balance", "invoice__due_date"):
        yield inv_id, cust_id, balance if amount is None else min(amount, balance), balance, due_date


def restarted_due_dates(customer_ids=None) -> dict[int, dt.date]:
    """{invoice id: the date its stages count from} for open invoices whose latest dispute ended with collections
    resuming on a stated day (later than the due date: see Dispute.collections_due_date). A later dispute of the
    same invoice supersedes an earlier one; while one is open the invoice's disputed part is held anyway."""
    return {inv_id: restart for inv_id, (restart, _pk) in _restarts(customer_ids).items()}


def _restarts(customer_ids=None) -> dict[int, tuple[dt.date, int]]:
    """{invoice id: (its collections due date, the dispute that set it)}: see restarted_due_dates."""
    ended = Dispute.objects.filter(invoice__status__in=OPEN_STATUSES).exclude(status=HoldStatus.OPEN)
    if customer_ids is not None:
        ended = ended.filter(customer_id__in=customer_ids)
    # Few rows: only invoices that have had a dispute with a resume date at all.
    ended = ended.filter(invoice__disputes__collections_due_date__isnull=False).distinct()
    latest: dict[int, tuple] = {}
    for inv_id, opened_at, pk, restart, due_date in ended.values_list(
            "invoice_id", "opened_at", "pk", "collections_due_date", "invoice__due_date"):
        if inv_id not in latest or (opened_at, pk) > latest[inv_id][:2]:
            latest[inv_id] = (opened_at, pk, restart, due_date)
    return {inv_id: (restart, pk) for inv_id, (_, pk, restart, due_date) in latest.items()
            if restart and restart > due_date}


def holds(as_of: dt.date, customer_ids=None) -> Holds:
    """Everything collections holds back today (see Holds)."""
    restarts = _restarts(customer_ids)
    found = Holds(restarted={inv_id: restart for inv_id, (restart, _pk) in restarts.items()},
                  cycles={inv_id: f":r{pk}" for inv_id, (_restart, pk) in restarts.items()})
    for inv_id, cust_id, amount, balance, due_date in open_dispute_amounts(customer_ids):
        if balance - amount <= 0:
            found.held.add(inv_id)  # all that is open is disputed
        else:
            found.disputed[inv_id] = amount
        if due_date < as_of:
            found.overdue_disputed[cust_id] = found.overdue_disputed.get(cust_id, Decimal(0)) + amount
    found.held |= _promised_invoice_ids(as_of, customer_ids)
    return found


def held_invoice_ids(as_of: dt.date, customer_ids=None) -> set[int]:
    """Invoices collections leaves alone today: all their open balance under dispute, or covered by an open promise
    to pay. (An invoice disputed in part is dunned for the rest: see holds().)"""
    return holds(as_of, customer_ids).held


def _promised_invoice_ids(as_of: dt.date, customer_ids=None) -> set[int]:
    """Invoices covered by an open promise to pay."""
    promises = PromiseToPay.objects.filter(status=HoldStatus.OPEN, promised_date__gte=as_of)
    if customer_ids is not None:
        promises = promises.filter(customer_id__in=customer_ids)
    held = set()
    by_customer = defaultdict(list)
    for promise in promises:
        if promise.invoice_id:
            held.add(promise.invoice_id)
        else:
            by_customer[promise.customer_id].append(promise)
    if by_customer:
        open_invoices = defaultdict(list)
        for inv_id, cust_id, balance in (Invoice.objects.filter(customer_id__in=list(by_customer), status__in=OPEN_STATUSES)
                                         .order_by("customer_id", "due_date", "id").values_list("id", "customer_id", "balance")):
            open_invoices[cust_id].append((inv_id, balance))
        for cust_id, customer_promises in by_customer.items():
            # A promise for an amount covers the customer's open invoices, oldest due first, up to that amount.
            promised = sum((p.amount for p in customer_promises), Decimal(0))
            covered = Decimal(0)
            for inv_id, balance in open_invoices[cust_id]:
                if covered >= promised:
                    break
                held.add(inv_id)
                covered += balance
    return held


# --- deciding ---------------------------------------------------------------------------------------------


def _policies_by_customer(customer_ids=None):
    """(policies with their stages, {customer_id: policy_id} for customers with their own, exempt customer ids),
    for all customers or those of `customer_ids`."""
    policies = {p.pk: p for p in CollectionsPolicy.objects.prefetch_related("stages")}
    if not any(p.is_default for p in policies.values()):
        p = default_policy()
        policies[p.pk] = CollectionsPolicy.objects.prefetch_related("stages").get(pk=p.pk)
    own, exempt = {}, set()
    profiles = CollectionsProfile.objects.all() if customer_ids is None else CollectionsProfile.objects.filter(
        customer_id__in=customer_ids)
    for customer_id, policy_id, is_exempt in profiles.values_list("customer_id", "policy_id", "exempt"):
        if is_exempt:
            exempt.add(customer_id)
        elif policy_id:
            own[customer_id] = policy_id
    return policies, own, exempt


def _due_rows_sql(policy: CollectionsPolicy, stages: list[PolicyStage], thresholds: list[dt.date], *, customer_ids):
    """SQL for the open invoices of a policy's customers that have reached a stage beyond their last one.

    An invoice whose last stage is k is due for more exactly when its due date is on or before the threshold
    of stage k+1 (thresholds fall as stages rise). So the query is one index range per stage, UNION ALL:
    with the partial index on (collections_stage, due_date) of open invoices, only due rows are read, not
    every open invoice.
    """
    as_param = (lambda d: d.isoformat()) if connection.vendor == "sqlite" else (lambda d: d)
    # The first status test is the partial index's own predicate; the scope narrows it further if asked.
    scope = " AND i.status = 'issued'" if policy.invoice_scope == "unpaid_only" else ""
    filters, filter_params = ["i.customer_id NOT IN (SELECT customer_id FROM dunning_collectionsprofile WHERE exempt)"], []
    if policy.is_default:
        filters.append("i.customer_id NOT IN (SELECT customer_id FROM dunning_collectionsprofile "
                       "WHERE policy_id IS NOT NULL AND policy_id <> %s)")
    else:
        filters.append("i.customer_id IN (SELECT customer_id FROM dunning_collectionsprofile WHERE policy_id = %s)")
    filter_params.append(policy.pk)
    if customer_ids is not None:
        filters.append(f"i.customer_id IN ({', '.join(['%s'] * len(customer_ids))})")
        filter_params += list(customer_ids)
    # SQLite keeps decimals as floating point: have it format the two places, so no float reaches Python.
    balance = "printf('%.2f', i.balance)" if connection.vendor == "sqlite" else "i.balance"
    # And the date as plain text: decide() parses each distinct one once, not once per row.
    due_date = "CAST(i.due_date AS TEXT)" if connection.vendor == "sqlite" else "i.due_date"
    parts, params = [], []
    for k, threshold in enumerate(thresholds):
        done = 0 if k == 0 else stages[k - 1].position
        # The stage reached today: the latest one whose threshold the due date is on or before.
        later = list(zip(stages[k:], thresholds[k:], strict=True))[::-1]
        target = "CASE " + " ".join(f"WHEN i.due_date <= %s THEN {s.position}" for s, _ in later) + " END"
        parts.append(f"""SELECT i.id, i.customer_id, i.number, {balance}, {due_date}, i.collections_stage, i.currency, {target}
                         FROM billing_invoice i
                         WHERE i.status IN ('issued', 'partially_paid'){scope}
                         AND i.collections_stage = %s AND i.due_date <= %s AND {' AND '.join(filters)}""")
        params += [*(as_param(t) for _, t in later), done, as_param(threshold), *filter_params]
    return " UNION ALL ".join(parts), params


def decide(as_of: dt.date, *, customer_ids=None, done_overrides: dict[int, int] | None = None) -> list[DueStage]:
    """Every open invoice whose highest reached stage is beyond the one last acted on, in no particular order.

    An invoice disputed in part is dunned for the undisputed rest (its DueStage balance); one whose latest dispute
    ended with collections resuming on a stated day has its stages counted from that dispute's collections due
    date: the query finds it by its real, earlier due date (a superset), and the stage is worked out again here.
    So is one under a policy that waits for the fapiao (CollectionsPolicy.wait_for_fapiao): held until its buyer
    has the fapiao, then counted from the later of its due date and the delivery.
    """
    policies, _, _ = _policies_by_customer()
    hold = holds(as_of, customer_ids)
    held, disputed, restarted = hold.held, hold.disputed, hold.restarted
    overdue_by_customer = None  # worked out once, when a policy has a minimum
    due: list[DueStage] = []
    for policy in policies.values():
        stages = _ordered_stages(policy)
        if not stages:
            continue
        thresholds = [due_date_threshold(s, as_of, policy.grace_days) for s in stages]
        minimum = policy.min_overdue_amount
        if minimum > 0 and overdue_by_customer is None:
            overdue_by_customer = _overdue_by_customer(as_of, customer_ids, hold=hold)
        dates: dict = {}
        sql, params = _due_rows_sql(policy, stages, thresholds, customer_ids=customer_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        by_position = {s.position: s for s in stages}
        sqlite = connection.vendor == "sqlite"
        # A policy that waits for the fapiao: one query for the rows found, none for the other policies.
        delivered = fapiao_delivered_dates([row[0] for row in rows]) if policy.wait_for_fapiao and rows else None
        for inv_id, cust_id, number, balance, due_date, done, currency, position in rows:
            if inv_id in held:
                continue
            if done_overrides is not None:
                done = done_overrides.get(inv_id, done)
            schedule_date = restarted.get(inv_id)
            if delivered is not None:
                if inv_id not in delivered:
                    continue  # held until the buyer has its fapiao
                schedule_date = _after_fapiao(delivered[inv_id], due_date, schedule_date, dates)
            if schedule_date is not None:
                # The stage reached counting from the collections due date: the latest whose threshold it is on or before.
                position = max((s.position for s, t in zip(stages, thresholds, strict=True) if schedule_date <= t),
                               default=0)
            if done >= position:
                continue
            target = by_position[position]
            if sqlite:  # the amount and the date come as text (many invoices share a due date)
                balance = Decimal(balance)
                due_date = dates.get(due_date) or dates.setdefault(due_date, dt.date.fromisoformat(due_date))
            part = disputed.get(inv_id)
            if part is not None:
                balance -= part  # collections goes on for the undisputed rest only
                if balance <= 0:
                    continue
            if minimum > 0:
                # Below the minimum, nothing happens: reminders look at the invoice, later stages at what is overdue.
                amount = balance if target.offset_days <= 0 else overdue_by_customer.get(cust_id, 0)
                if amount < minimum:
                    continue
            due.append(DueStage(inv_id, cust_id, "", number, balance, due_date, done, target, policy, currency,
                                part, schedule_date, hold.cycles.get(inv_id, "")))
    return due


def _after_fapiao(delivered_on: dt.date, due_date, schedule_date: dt.date | None, dates: dict) -> dt.date | None:
    """Under a policy that waits for the fapiao, the date the stages count from once the buyer has it: the delivery,
    if later than the due date and any collections due date after a dispute (None: the due date itself)."""
    if isinstance(due_date, str):  # (SQLite gives the date as text)
        due_date = dates.get(due_date) or dates.setdefault(due_date, dt.date.fromisoformat(due_date))
    if delivered_on > due_date and (schedule_date is None or delivered_on > schedule_date):
        return delivered_on
    return schedule_date


def in_customer_order(due: list[DueStage]) -> list[DueStage]:
    """As people read them: by customer, then oldest due date first."""
    return sorted(due, key=lambda d: (d.customer_id, d.due_date, d.invoice_id))


def _fill_customer_names(batch: list[DueStage]) -> None:
    """Customer names for a batch, in one query (kept out of the decision query, which reads invoices only)."""
    ids = list({d.customer_id for d in batch if not d.customer_name})
    names = {}
    with connection.cursor() as cursor:
        for i in range(0, len(ids), 900):
            in_ids, params = id_list_condition("id", ids[i:i + 900], marker="%s")
            cursor.execute(f"SELECT id, name FROM customers_customer WHERE {in_ids}", params)
            names.update(cursor.fetchall())
    for d in batch:
        d.customer_name = d.customer_name or names.get(d.customer_id, "")


def _overdue_by_customer(as_of, customer_ids=None, *, hold: Holds | None = None) -> dict[int, Decimal]:
    """{customer id: its overdue open balance, less what is under an open dispute}."""
    qs = Invoice.objects.filter(status__in=OPEN_STATUSES, due_date__lt=as_of)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    overdue = dict(qs.values("customer_id").annotate(s=Sum("balance")).values_list("customer_id", "s"))
    hold = hold if hold is not None else holds(as_of, customer_ids)
    for cust_id, amount in hold.overdue_disputed.items():
        if cust_id in overdue:
            overdue[cust_id] -= amount
    return overdue


# --- recording ----------------------------------------------------------------------------------------------


def _ordered_stages(policy: CollectionsPolicy) -> list[PolicyStage]:
    stages = getattr(policy, "_ordered", None)
    if stages is None:
        stages = policy._ordered = sorted(policy.stages.all(), key=lambda s: s.position)
    return stages


class _Dates:
    """Suspension dates per (policy, due date): many invoices share a due date, so each is worked out once."""

    def __init__(self):
        self._cache: dict[tuple[int, dt.date], dt.date | None] = {}

    def suspension(self, policy: CollectionsPolicy, due_date: dt.date) -> dt.date | None:
        key = (policy.pk, due_date)
        if key not in self._cache:
            stage = next((s for s in _ordered_stages(policy) if s.suspend), None)
            self._cache[key] = stage_date(due_date, stage, policy.grace_days) if stage else None
        return self._cache[key]


# The due stages of a batch, as the recording statements read them from a scratch table.
DUE_COLUMNS = [("invoice_id", "bigint"), ("customer_id", "bigint"), ("policy_id", "bigint"), ("number", "text"),
               ("balance", "text"), ("currency", "text"), ("due_date", "text"), ("days_overdue", "integer"),
               ("done", "integer"), ("target", "integer"), ("suspension_date", "text"), ("deletion_date", "text"),
               ("disputed", "text"), ("cycle", "text")]
# The stages of the batch's policies, as decide() read them (not re-read: an edit mid-run cannot mix in).
STAGE_COLUMNS = [("id", "bigint"), ("policy_id", "bigint"), ("position", "integer"), ("offset_days", "integer"),
                 ("name", "text"), ("template_key", "text"), ("send_notice", "integer"), ("call_task", "integer"),
                 ("suspend", "integer"), ("suspend_scope", "text"), ("cancel", "integer")]
# The subscriptions each newly reached suspension stage suspends.
TARGET_COLUMNS = [("invoice_id", "bigint"), ("stage_id", "bigint"), ("subscription_id", "bigint")]

# Stages an invoice has newly reached: after the one last acted on, up to the one reached today.
REACHED = "s.policy_id = d.policy_id AND s.position > d.done AND s.position <= d.target"
TODAY = "s.policy_id = d.policy_id AND s.position = d.target"
# Flags are 0/1 integers in the scratch table, on both databases.
NOTICE, CALL, SUSPEND, CANCEL = "s.send_notice = 1", "s.call_task = 1", "s.suspend = 1", "s.cancel = 1"


def _key(kind: str) -> str:
    """The natural key of an effect, as SQL: inv:INVOICE:st:STAGE:KIND (inv:INVOICE:rDISPUTE:st:… in a round
    restarted after a dispute)."""
    return f"'inv:' || d.invoice_id || d.cycle || ':st:' || s.id || ':{kind}'"


def _due_rows(batch: list[DueStage], as_of: dt.date, dates: _Dates) -> list[tuple]:
    """The scratch rows of a batch. Built in full before the batch's transaction: working out a suspension date
    may read the working-day calendar, which cannot happen on a connection that is busy copying rows."""
    rows = []
    for due in batch:
        suspension = dates.suspension(due.policy, due.counted_from)
        rows.append((due.invoice_id, due.customer_id, due.policy.pk, due.number or "", str(due.balance), due.currency,
                     due.due_date.isoformat(), max(0, (as_of - due.due_date).days), due.done_position, due.target.position,
                     suspension.isoformat() if suspension else "",
                     (suspension + dt.timedelta(days=60)).isoformat() if suspension else "",
                     str(due.disputed) if due.disputed else "", due.cycle))
    return rows


def _stage_rows(batch: list[DueStage]) -> list[tuple]:
    policies = {d.policy.pk: d.policy for d in batch}
    return [(s.pk, s.policy_id, s.position, s.offset_days, s.name, s.template_key, int(s.send_notice), int(s.call_task),
             int(s.suspend), s.suspend_scope, int(s.cancel)) for policy in policies.values() for s in _ordered_stages(policy)]


def record_due(batch: list[DueStage], *, as_of: dt.date, dates: _Dates | None = None) -> dict:
    """Record the actions of a batch of due stages in one transaction; keys make it idempotent.

    Set-based: the batch goes into a scratch table, and one INSERT ... SELECT per kind of effect writes the
    log, the call tasks, the operator requests and the emails; then one UPDATE moves the invoices' stage.
    Each row's natural key has a unique constraint and conflicts are skipped, so a rerun adds nothing.
    """
    from partnerdesk.notifications.services import queue_emails_select

    if not batch:
        return {"actions": 0, "emails": 0, "calls": 0, "operator_requests": 0, "moved": 0}
    dates = dates or _Dates()
    p = placeholder()
    as_of_value = sql_value(CollectionsAction, "as_of", as_of)
    now = sql_value(CollectionsAction, "created_at", timezone.now())
    empty = json_sql("'{}'")
    log = "INSERT INTO dunning_collectionsaction (key, customer_id, invoice_id, subscription_id, stage_id, kind, as_of, detail, created_at)"
    template_keys = {d.target.template_key for d in batch if d.target.send_notice}
    due_rows, stage_rows = _due_rows(batch, as_of, dates), _stage_rows(batch)
    with transaction.atomic():
        due = load_scratch("collections_due", DUE_COLUMNS, due_rows)
        stage = load_scratch("collections_stages", STAGE_COLUMNS, stage_rows)
        # Notices for the stage reached today; calls and cancellations of every stage newly reached, even if
        # skipped over (a run missed for a week still flags the call).
        actions = run_sql(f"""{log}
            SELECT {_key('notice')}, d.customer_id, d.invoice_id, CAST(NULL AS bigint), s.id,
                   CASE WHEN s.offset_days <= 0 THEN '{ActionKind.REMINDER}' ELSE '{ActionKind.NOTICE}' END, {p}, {empty}, {p}
            FROM {due} d JOIN {stage} s ON {TODAY} WHERE {NOTICE}
            UNION ALL
            SELECT {_key('call')}, d.customer_id, d.invoice_id, CAST(NULL AS bigint), s.id, '{ActionKind.CALL}', {p}, {empty}, {p}
            FROM {due} d JOIN {stage} s ON {REACHED} WHERE {CALL}
            UNION ALL
            SELECT {_key('cancel')}, d.customer_id, d.invoice_id, CAST(NULL AS bigint), s.id, '{ActionKind.CANCEL}', {p}, {empty}, {p}
            FROM {due} d JOIN {stage} s ON {REACHED} WHERE {CANCEL}
            ON CONFLICT DO NOTHING""", [as_of_value, now] * 3)
        calls = run_sql(f"""INSERT INTO dunning_calltask (customer_id, invoice_id, key, due_on, done_at, assigned_to_id, note)
            SELECT d.customer_id, d.invoice_id, {_key('call')}, {p}, NULL, NULL, d.number || ': ' || s.name
            FROM {due} d JOIN {stage} s ON {REACHED} WHERE {CALL}
            ON CONFLICT DO NOTHING""", [as_of_value])
        requests = 0
        if any(s.suspend for d in batch for s in _ordered_stages(d.policy) if d.done_position < s.position <= d.target.position):
            actions_added, requests = _record_suspensions(due, stage, now=now, as_of_value=as_of_value, log=log)
            actions += actions_added
        emails = queue_emails_select(f"""
            SELECT d.customer_id AS customer_id, s.template_key AS template_key,
                   {json_object_sql("'invoice_number'", "d.number", "'amount_due'", "d.balance", "'currency'", "d.currency",
                                    "'due_date'", "d.due_date", "'days_overdue'", "d.days_overdue",
                                    "'suspension_date'", "d.suspension_date", "'deletion_date'", "d.deletion_date",
                                    "'amount_disputed'", "d.disputed", "'stage'", "s.name")} AS context,
                   {_key('notice')} AS dedupe_key
            FROM {due} d JOIN {stage} s ON {TODAY} WHERE {NOTICE}""", [], template_keys=template_keys)
        moved = _move_stages(batch, due)
    # What this batch added: a rerun after a crash counts only what the crashed run had not done.
    return {"actions": actions, "emails": emails, "calls": calls, "operator_requests": requests, "moved": moved}


def _move_stages(batch: list[DueStage], due: str) -> int:
    """Each invoice's stage moves to the one reached today (never back: a concurrent rerun may be ahead).
    Returns how many invoices moved."""
    if connection.vendor != "postgresql":
        return run_sql(f"""UPDATE billing_invoice SET collections_stage = d.target FROM {due} d
                           WHERE billing_invoice.id = d.invoice_id AND billing_invoice.collections_stage < d.target""")
    # PostgreSQL would join a scratch table by reading the whole invoice table: look the invoices up by id instead.
    by_target = defaultdict(list)
    for d in batch:
        by_target[d.target.position].append(d.invoice_id)
    return sum(run_sql("UPDATE billing_invoice SET collections_stage = %s WHERE id = ANY(%s) AND collections_stage < %s",
                       [position, ids, position]) for position, ids in by_target.items())


def _record_suspensions(due: str, stage: str, *, now, as_of_value, log: str) -> tuple[int, int]:
    """The operator requests of the suspension stages newly reached, and their log entries naming the subscriptions.

    Which subscriptions: the customer's active ones, or the active ones billed on the overdue invoice.
    """
    p = placeholder()
    targets = load_scratch("collections_suspend", TARGET_COLUMNS, [])
    run_sql(f"""INSERT INTO {targets} (invoice_id, stage_id, subscription_id)
        SELECT d.invoice_id, s.id, sub.id FROM {due} d JOIN {stage} s ON {REACHED}
        JOIN customers_subscription sub ON sub.customer_id = d.customer_id
        WHERE {SUSPEND} AND s.suspend_scope = '{SuspendScope.ALL}' AND sub.status = '{SubscriptionStatus.ACTIVE}'
        UNION
        SELECT d.invoice_id, s.id, sub.id FROM {due} d JOIN {stage} s ON {REACHED}
        JOIN billing_invoiceline l ON l.invoice_id = d.invoice_id
        JOIN customers_subscription sub ON sub.id = l.subscription_id
        WHERE {SUSPEND} AND s.suspend_scope = '{SuspendScope.INVOICE}' AND sub.status = '{SubscriptionStatus.ACTIVE}'""")
    requests = run_sql(f"""INSERT INTO dunning_operatorrequest (subscription_id, customer_id, action, cause, reason, status,
            attempts, next_attempt_at, last_error, claimed_by, created_at, done_at)
        SELECT t.subscription_id, d.customer_id, '{OperatorRequest.SUSPEND}', 'inv:' || d.invoice_id || d.cycle || ':st:' || t.stage_id,
               'Non-payment: invoice ' || d.number || ' unpaid ' || d.days_overdue || ' days after its due date',
               '{RequestStatus.PENDING}', 0, {p}, '', '', {p}, NULL
        FROM {targets} t JOIN {due} d ON d.invoice_id = t.invoice_id
        WHERE true ON CONFLICT DO NOTHING""", [now, now])
    # SQLite aggregates in the order rows arrive: the subquery sorts them (SQLite never flattens a subquery with
    # ORDER BY into an aggregate query, so the order holds; 3.44's json_group_array(x ORDER BY x) would say it outright).
    actions = run_sql(f"""{log}
        SELECT {_key('suspend')}, d.customer_id, d.invoice_id, CAST(NULL AS bigint), s.id, '{ActionKind.SUSPEND}', {p},
               {json_object_sql("'subscriptions'", json_sql("COALESCE(g.subscriptions, '[]')"))}, {p}
        FROM {due} d JOIN {stage} s ON {REACHED}
        LEFT JOIN (SELECT invoice_id, stage_id, {json_array_agg_sql('subscription_id')} AS subscriptions
                   FROM (SELECT * FROM {targets} ORDER BY invoice_id, stage_id, subscription_id) ordered
                   GROUP BY invoice_id, stage_id) g ON g.invoice_id = d.invoice_id AND g.stage_id = s.id
        WHERE {SUSPEND} ON CONFLICT DO NOTHING""", [as_of_value, now])
    return actions, requests


def _deletion_warning_due(sub, warning_days, day: dt.date) -> tuple[int, str] | None:
    """The data-deletion warning a run on `day` sends for a suspended subscription, as (days after suspension,
    its log key): the latest one reached (one a missed run skipped is not sent late as well), none once the
    operator has deleted the data."""
    from partnerdesk.customers.models import DATA_DELETION_DAYS

    suspended_on = sub.data_deletion_date - dt.timedelta(days=DATA_DELETION_DAYS)
    reached = [w for w in warning_days if suspended_on + dt.timedelta(days=w) <= day]
    if not reached or day >= sub.data_deletion_date:
        return None
    return max(reached), f"sub:{sub.pk}:deletion:{max(reached)}:{suspended_on.isoformat()}"


def _suspended_with_warning_days(customer_ids=None):
    """Each suspended subscription of a customer that is not exempt, with its policy's warning days."""
    policies, own, exempt = _policies_by_customer(customer_ids)
    default = next(p for p in policies.values() if p.is_default)
    subs = Subscription.objects.filter(status=SubscriptionStatus.SUSPENDED, suspended_at__isnull=False)
    if customer_ids is not None:
        subs = subs.filter(customer_id__in=customer_ids)
    for sub in subs.select_related("customer").order_by("customer__name", "id").iterator(chunk_size=2000):
        if sub.customer_id not in exempt:
            yield sub, policies.get(own.get(sub.customer_id), default).deletion_warning_days


def deletion_warnings(as_of: dt.date) -> list[dict]:
    """Warn customers whose subscriptions are still suspended as the operator's 60-day deletion nears."""
    rows = []
    for sub, warning_days in _suspended_with_warning_days():
        due = _deletion_warning_due(sub, warning_days, as_of)
        if due is not None:
            rows.append({"key": due[1], "sub": sub, "days": due[0]})
    done = set(CollectionsAction.objects.filter(key__in=[r["key"] for r in rows]).values_list("key", flat=True))
    return [r for r in rows if r["key"] not in done]


def record_deletion_warnings(rows: list[dict], *, as_of: dt.date) -> int:
    """Log each warning per subscription; tell each customer once per warning, naming all its subscriptions."""
    from partnerdesk.notifications.services import queue_emails_bulk

    if not rows:
        return 0
    actions, letters = [], defaultdict(list)
    now = timezone.now()
    for row in rows:
        sub = row["sub"]
        actions.append({"key": row["key"], "customer_id": sub.customer_id, "invoice_id": None, "subscription_id": sub.pk,
                        "stage_id": None, "kind": ActionKind.DELETION_WARNING, "as_of": as_of,
                        "detail": {"days_after_suspension": row["days"]}, "created_at": now})
        letters[(sub.customer_id, row["days"], sub.data_deletion_date)].append(sub)
    emails = [{"customer_id": customer_id, "template_key": "collections.deletion_warning",
               "dedupe_key": f"cust:{customer_id}:deletion:{days}:{deletion.isoformat()}",
               "context": {"subscriptions": [str(s) for s in subs], "deletion_date": deletion.isoformat(),
                           "suspension_date": (deletion - dt.timedelta(days=60)).isoformat()}}
              for (customer_id, days, deletion), subs in letters.items()]
    with transaction.atomic():
        insert_ignoring_duplicates(CollectionsAction, actions, key="key")
        queue_emails_bulk(emails)
    return len(actions)


# --- the lease ----------------------------------------------------------------------------------------------


def holder_for(pid: int) -> str:
    """A lease holder name for process `pid` of this host: host:pid:start:nonce. `start` tells the process from a
    later one given the same pid: its start time (/proc/PID/stat field 22), and this boot and PID namespace."""
    stat, system = _proc_stat(pid), _this_system()
    start = f"{stat[1]}@{system}" if stat and system else ""
    return f"{socket.gethostname()}:{pid}:{start}:{uuid.uuid4().hex[:8]}"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks after boot) of a process; None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()  # the name, before ")", may hold spaces
    except OSError:
        return None
    return fields[0], fields[19]


def _this_system() -> str:
    """This boot and PID namespace, in short: another host, or a container, of the same name has other pids."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return hashlib.sha256(f"{boot} {namespace}".encode()).hexdigest()[:8]


def holder_is_gone(holder: str) -> bool:
    """Whether a holder's process no longer exists. Known only on its own host, boot and PID namespace; elsewhere
    (False) its heartbeat tells."""
    try:
        host, pid, start, _ = holder.split(":")
        pid = int(pid)
    except ValueError:
        return False  # not a name holder_for() gives
    ticks, _, system = start.partition("@")
    if pid <= 0 or host != socket.gethostname() or system != _this_system():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, as another user's
    stat = _proc_stat(pid)
    # A zombie has died; another start time is a later process given the same pid.
    return stat is not None and (stat[0] == "Z" or (ticks != "" and stat[1] != ticks))


def _free(now) -> Q:
    """A lease anyone may take: released, expired, or its holder's heartbeat stopped."""
    return Q(holder="") | Q(expires_at__lt=now) | Q(renewed_at__lt=now - HEARTBEAT_WINDOW)


def claim_lock(holder: str, *, now=None) -> bool:
    """Take the collections lease if it is free or its holder is gone, and mark the runs left running interrupted.

    One conditional UPDATE, so of two claimants one wins: a holder found gone is named in it, so the lease is
    taken only if no one else took it since.
    """
    now = now or timezone.now()
    lock, _ = RunLock.objects.get_or_create(name=LOCK_NAME)
    takeable = _free(now) | Q(holder=holder)
    if lock.holder and lock.holder != holder and holder_is_gone(lock.holder):
        takeable |= Q(holder=lock.holder)
    won = RunLock.objects.filter(Q(name=LOCK_NAME) & takeable).update(
        holder=holder, expires_at=now + LOCK_TTL, taken_at=now, renewed_at=now) == 1
    if won:
        # Whoever holds the lease is the only run: any other still "running" died, or stops at its next renewal.
        left = CollectionsRun.objects.filter(status="running").exclude(holder=holder).update(status="interrupted")
        if left or lock.holder not in ("", holder):
            logger.warning("collections: took over the lease of %r (last renewed %s); %d run(s) marked interrupted",
                           lock.holder, lock.renewed_at, left)
    return won


class LostLock(RuntimeError):
    """Another run took the lease (this one looked gone): stop; the other run finishes the work."""


def renew_lock(holder: str) -> None:
    """The heartbeat: extend the lease and note the time on the run; LostLock if another run took it over."""
    now = timezone.now()
    if not RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(expires_at=now + LOCK_TTL, renewed_at=now):
        raise LostLock(holder)
    CollectionsRun.objects.filter(holder=holder, status="running").update(last_seen_at=now)


def release_lock(holder: str) -> None:
    RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(holder="", expires_at=None)


def mark_interrupted_runs(*, now=None) -> int:
    """Mark interrupted the runs left "running" by a holder that is gone, for pages that list runs; how many.

    Gone: it does not hold a live lease, and its heartbeat is older than HEARTBEAT_WINDOW or its process has
    died. (A run just started has a fresh heartbeat, so one that claimed the lease after it was read is safe.)
    """
    now = now or timezone.now()
    live = RunLock.objects.filter(name=LOCK_NAME).exclude(_free(now)).values_list("holder", flat=True).first()
    running = CollectionsRun.objects.filter(status="running")
    if live and not holder_is_gone(live):
        running = running.exclude(holder=live)
    stale = now - HEARTBEAT_WINDOW
    gone = [pk for pk, holder, seen in running.values_list("pk", "holder", "last_seen_at")
            if seen is None or seen < stale or holder_is_gone(holder)]
    return CollectionsRun.objects.filter(pk__in=gone, status="running").update(status="interrupted") if gone else 0


# --- the run ------------------------------------------------------------------------------------------------


def run_collections(as_of: dt.date | None = None, *, dry_run: bool = False, batch_size: int = 10000,
                    on_batch=None) -> RunResult:
    """Perform every collections action due by `as_of`, each exactly once. `on_batch` is a test hook."""
    as_of = as_of or timezone.localdate()
    if dry_run:
        due = in_customer_order(decide(as_of))
        _fill_customer_names(due)
        return RunResult(as_of, "dry_run", due=due, counts={"due": len(due), "deletion_warnings": len(deletion_warnings(as_of))})
    holder = holder_for(os.getpid())
    for _ in range(2):  # twice: the lease may be released between a failed claim and reading who held it
        if claim_lock(holder):
            break
        lock = RunLock.objects.get(name=LOCK_NAME)
        if lock.holder:
            return RunResult(as_of, "busy", held_by=lock.holder, held_since=lock.taken_at)
    else:
        return RunResult(as_of, "busy")
    run = None
    try:
        run = CollectionsRun.objects.create(as_of=as_of, holder=holder, last_seen_at=timezone.now())
        started = time.perf_counter()
        due = decide(as_of)
        decided = time.perf_counter()
        renew_lock(holder)
        totals = defaultdict(int)
        dates = _Dates()
        by_invoice = sorted(due, key=attrgetter("invoice_id"))  # a batch then touches one stretch of the invoice table
        batches = _batches(by_invoice, batch_size)
        # One transaction per batch: a crash loses at most the batches in flight, which a rerun redoes.
        for i, counts in enumerate(_record_batches(batches, as_of=as_of, dates=dates)):
            for k, v in counts.items():
                totals[k] += v
            renew_lock(holder)
            if on_batch:
                on_batch(i)
        totals["deletion_warnings"] = record_deletion_warnings(deletion_warnings(as_of), as_of=as_of)
        renew_lock(holder)
        totals["due"] = len(due)
        moved = totals.pop("moved", 0)
        recorded = time.perf_counter()
        if _nothing_done(totals) and CollectionsRun.objects.filter(
                as_of=as_of, dry_run=False, status="finished").exclude(pk=run.pk).exists():
            # A day's run that found nothing due after one that finished: not recorded again (each click of "Run
            # now" would add a row of zeros). What the day's runs did stays on the first.
            CollectionsRun.objects.filter(pk=run.pk).delete()
            return RunResult(as_of, "nothing_due", due=due, counts=dict(totals), decide_seconds=decided - started,
                             record_seconds=recorded - decided)
        with transaction.atomic():
            run.status, run.finished_at, run.counts = "finished", timezone.now(), dict(totals)
            run.save()
            record(actor=None, action="collections.run", obj=run, after=dict(totals), reason=f"collections run for {as_of}")
        _schedule_background_work()
    except BaseException:
        if run is not None:  # the runs page shows it; a rerun finishes the work
            CollectionsRun.objects.filter(pk=run.pk).update(status="failed", finished_at=timezone.now())
        raise
    finally:
        release_lock(holder)
    # The run is done and committed: housekeeping after it cannot fail it.
    tidy_seconds = _tidy_invoice_table(moved=moved)
    return RunResult(as_of, "finished", due=due, counts=dict(totals), run_id=run.pk,
                     decide_seconds=decided - started, record_seconds=recorded - decided, tidy_seconds=tidy_seconds)


def _nothing_done(totals: dict) -> bool:
    return not any(totals.get(k) for k in ("due", "actions", "emails", "calls", "operator_requests", "deletion_warnings"))


def _batches(due: list[DueStage], batch_size: int) -> list[list[DueStage]]:
    """Batches of at most batch_size, of equal size, and as many as keep every recording thread busy to the end."""
    threads = RECORDING_THREADS if connection.vendor == "postgresql" else 1
    rounds = -(-len(due) // (batch_size * threads))
    count = max(1, rounds * threads)
    size = -(-len(due) // count) or 1
    return [due[i:i + size] for i in range(0, len(due), size)]


# Moving this many invoices a stage leaves enough dead index entries behind to slow the next run's decision.
TIDY_AFTER = 10_000


def _tidy_invoice_table(*, moved: int) -> float:
    """On PostgreSQL, after a run that moved many invoices a stage, VACUUM the invoice table; returns the seconds.

    Each move leaves the old entry in the (collections_stage, due_date) index until a vacuum removes it, and
    the next run's index scan reads every such entry's row to find it dead: a rerun the same day would take as
    long as reading all open invoices. Autovacuum would get there only after a fifth of the table changed.
    Housekeeping, so it never gets in anyone's way: skipped unless the database user owns the table; it gives
    up rather than wait more than a few seconds for its lock; it does not shrink the file (which would lock out
    readers); and a failure is logged, never raised.
    """
    if connection.vendor != "postgresql" or moved < TIDY_AFTER or connection.in_atomic_block or not connection.get_autocommit():
        return 0.0
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = 'billing_invoice'::regclass")
            if not cursor.fetchone()[0]:
                logger.info("collections: not vacuuming the invoice table: the database user does not own it")
                return 0.0
            cursor.execute("SET lock_timeout = '5s'")
            try:
                cursor.execute("VACUUM (TRUNCATE false) billing_invoice")
            finally:
                cursor.execute("RESET lock_timeout")
    except DatabaseError as exc:
        logger.warning("collections: could not vacuum the invoice table: %s", exc)
    return time.perf_counter() - started


RECORDING_THREADS = 2


def _record_batches(batches: list[list[DueStage]], *, as_of: dt.date, dates: "_Dates"):
    """Record batches, two at a time on PostgreSQL: the server works on both at once. SQLite has one writer, so
    there one by one. Batches touch disjoint invoices, so they never contend for the same rows. Inside an outer
    transaction (tests, a caller's atomic block) other connections could not see its data: then one by one too."""
    if len(batches) < 2 or connection.in_atomic_block or connection.vendor != "postgresql":
        for batch in batches:
            yield record_due(batch, as_of=as_of, dates=dates)
        return

    def work(batch):
        try:
            return record_due(batch, as_of=as_of, dates=dates)
        finally:
            connection.close()  # this thread's own connection

    # At most RECORDING_THREADS batches in flight: should one fail, the run stops after the other finishes.
    with ThreadPoolExecutor(max_workers=RECORDING_THREADS) as pool:
        in_flight = deque()
        for batch in batches:
            in_flight.append(pool.submit(work, batch))
            if len(in_flight) >= RECORDING_THREADS:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


def _schedule_background_work():
    # Emails schedule their own sending when queued; operator requests are carried out by the worker.
    transaction.on_commit(lambda: operator_requests_due.send(sender=__name__))


# --- preview -------------------------------------------------------------------------------------------------


@dataclass
class PreviewItem:
    date: dt.date
    customer_id: int
    customer_name: str
    invoice_number: str
    stage: str
    actions: list[str]
    subscription_id: int | None = None  # a data-deletion warning's subscription


def preview(as_of: dt.date, days: int, *, customer_ids=None) -> list[PreviewItem]:
    """What the runs of the next `days` days would do if nothing is paid in the meantime."""
    done: dict[int, int] = {}
    items = []
    for n in range(days):
        day = as_of + dt.timedelta(days=n)
        due_today = in_customer_order(decide(day, customer_ids=customer_ids, done_overrides=done))
        _fill_customer_names(due_today)
        for due in due_today:
            done[due.invoice_id] = due.target.position
            stage = due.target
            actions = [a for a, on in (("notice" if stage.offset_days > 0 else "reminder", stage.send_notice),
                                       ("call", stage.call_task), ("suspend", stage.suspend), ("cancel", stage.cancel)) if on]
            items.append(PreviewItem(day, due.customer_id, due.customer_name, due.number, stage.name, actions))
    items.extend(preview_deletion_warnings(as_of, days, customer_ids=customer_ids))
    items.sort(key=lambda item: item.date)  # (stable: within a day, in customer order)
    return items


def preview_deletion_warnings(as_of: dt.date, days: int, *, customer_ids=None) -> list[PreviewItem]:
    """The data-deletion warnings the runs of the next days would send, for subscriptions suspended now.
    (Subscriptions that the preview itself suspends are warned 45 days on at the earliest: past any preview of
    a few weeks.)"""
    from partnerdesk.customers.models import DATA_DELETION_DAYS

    end = as_of + dt.timedelta(days=days)
    ahead = []
    for sub, warning_days in _suspended_with_warning_days(customer_ids):
        suspended_on = sub.data_deletion_date - dt.timedelta(days=DATA_DELETION_DAYS)
        # What a run sends changes only on the days a warning is reached: the first run, and those days.
        for day in sorted({as_of} | {suspended_on + dt.timedelta(days=w) for w in warning_days}):
            due = _deletion_warning_due(sub, warning_days, day) if as_of <= day < end else None
            if due is not None:
                ahead.append((day, sub, due[1]))
    done = set(CollectionsAction.objects.filter(key__in=[key for _, _, key in ahead]).values_list("key", flat=True))
    items = []
    for day, sub, key in ahead:
        if key not in done:
            done.add(key)  # sent by the first run it is due on
            items.append(PreviewItem(day, sub.customer_id, sub.customer.name, str(sub), "Data deletion warning",
                                     ["deletion_warning"], sub.pk))
    return items
