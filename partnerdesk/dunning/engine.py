"""The collections run: decide which stage each open invoice has reached, and record each due action once.

Deciding is a few set-based queries (one per policy); recording is done in batches, each in one
transaction that writes the actions, the queued emails and operator requests, and moves the invoices'
stage forward. Every effect has a natural key with a unique constraint, so a rerun, or a run restarted
after a crash at any point, adds nothing that was already done. A lease (RunLock) keeps two runs apart.
"""

import datetime as dt
import os
import socket
import time
import uuid
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from partnerdesk.audit.services import record
from partnerdesk.batch_sql import id_list_condition, insert_ignoring_duplicates, placeholder, run_sql
from partnerdesk.billing.models import OPEN_STATUSES, Invoice
from partnerdesk.customers.models import Subscription, SubscriptionStatus

from .models import (
    ActionKind,
    CallTask,
    CollectionsAction,
    CollectionsPolicy,
    CollectionsProfile,
    CollectionsRun,
    Dispute,
    HoldStatus,
    OperatorRequest,
    PolicyStage,
    PromiseToPay,
    RunLock,
    SuspendScope,
)
from .policies import default_policy, due_date_threshold, stage_date

LOCK_NAME = "collections"
LOCK_TTL = dt.timedelta(minutes=10)


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


@dataclass
class RunResult:
    as_of: dt.date
    status: str  # finished, busy (another run holds the lock), dry_run
    due: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    run_id: int | None = None
    decide_seconds: float = 0.0
    record_seconds: float = 0.0


# --- holds ------------------------------------------------------------------------------------------------


def held_invoice_ids(as_of: dt.date, customer_ids=None) -> set[int]:
    """Invoices collections leaves alone today: under an open dispute, or covered by an open promise to pay."""
    disputes = Dispute.objects.filter(status=HoldStatus.OPEN)
    promises = PromiseToPay.objects.filter(status=HoldStatus.OPEN, promised_date__gte=as_of)
    if customer_ids is not None:
        disputes = disputes.filter(customer_id__in=customer_ids)
        promises = promises.filter(customer_id__in=customer_ids)
    held = set(disputes.values_list("invoice_id", flat=True))
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


def _policies_by_customer():
    """(policies with their stages, {customer_id: policy_id} for customers with their own, exempt customer ids)."""
    policies = {p.pk: p for p in CollectionsPolicy.objects.prefetch_related("stages")}
    if not any(p.is_default for p in policies.values()):
        p = default_policy()
        policies[p.pk] = CollectionsPolicy.objects.prefetch_related("stages").get(pk=p.pk)
    own, exempt = {}, set()
    for customer_id, policy_id, is_exempt in CollectionsProfile.objects.values_list("customer_id", "policy_id", "exempt"):
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
    parts, params = [], []
    for k, threshold in enumerate(thresholds):
        done = 0 if k == 0 else stages[k - 1].position
        parts.append(f"""SELECT i.id, i.customer_id, i.number, {balance}, i.due_date, i.collections_stage
                         FROM billing_invoice i
                         WHERE i.status IN ('issued', 'partially_paid'){scope}
                         AND i.collections_stage = %s AND i.due_date <= %s AND {' AND '.join(filters)}""")
        params += [done, as_param(threshold), *filter_params]
    return " UNION ALL ".join(parts), params


def decide(as_of: dt.date, *, customer_ids=None, done_overrides: dict[int, int] | None = None) -> list[DueStage]:
    """Every open invoice whose highest reached stage is beyond the one last acted on."""
    policies, _, _ = _policies_by_customer()
    held = held_invoice_ids(as_of, customer_ids)
    overdue_by_customer = None  # worked out once, when a policy has a minimum
    due: list[DueStage] = []
    for policy in policies.values():
        stages = _ordered_stages(policy)
        if not stages:
            continue
        thresholds = [due_date_threshold(s, as_of, policy.grace_days) for s in stages]
        minimum = policy.min_overdue_amount
        if minimum > 0 and overdue_by_customer is None:
            overdue_by_customer = _overdue_by_customer(as_of, customer_ids)
        dates: dict = {}
        sql, params = _due_rows_sql(policy, stages, thresholds, customer_ids=customer_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        latest_first = list(zip(reversed(thresholds), reversed(stages), strict=True))
        for inv_id, cust_id, number, balance, due_date, done in rows:
            if inv_id in held:
                continue
            if not isinstance(due_date, dt.date):  # SQLite returns text; many invoices share a due date
                due_date = dates.get(due_date) or dates.setdefault(due_date, dt.date.fromisoformat(due_date))
            target = next(s for t, s in latest_first if due_date <= t)
            if done_overrides is not None:
                done = done_overrides.get(inv_id, done)
                if done >= target.position:
                    continue
            if not isinstance(balance, Decimal):  # SQLite: the text of the amount; PostgreSQL: a Decimal already
                balance = Decimal(balance)
            if minimum > 0:
                # Below the minimum, nothing happens: reminders look at the invoice, later stages at what is overdue.
                amount = balance if target.offset_days <= 0 else overdue_by_customer.get(cust_id, 0)
                if amount < minimum:
                    continue
            due.append(DueStage(inv_id, cust_id, "", number, balance, due_date, done, target, policy))
    due.sort(key=lambda d: (d.customer_id, d.due_date, d.invoice_id))
    return due


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


def _overdue_by_customer(as_of, customer_ids=None) -> dict[int, Decimal]:
    qs = Invoice.objects.filter(status__in=OPEN_STATUSES, due_date__lt=as_of)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return dict(qs.values("customer_id").annotate(s=Sum("balance")).values_list("customer_id", "s"))


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


def _email_context(due: DueStage, as_of: dt.date, dates: _Dates) -> dict:
    suspension = dates.suspension(due.policy, due.due_date)
    # The customer's name is filled in when the email is rendered (notifications reads it from the customer).
    return {
        "invoice_number": due.number,
        "amount_due": str(due.balance),
        "currency": "CNY",
        "due_date": due.due_date.isoformat(),
        "days_overdue": max(0, (as_of - due.due_date).days),
        "suspension_date": suspension.isoformat() if suspension else "",
        "deletion_date": (suspension + dt.timedelta(days=60)).isoformat() if suspension else "",
        "stage": due.target.name,
    }


def _subscriptions_to_suspend(batch: list[tuple[DueStage, PolicyStage]]) -> dict[tuple[int, int], list[int]]:
    """(invoice id, stage id) -> active subscription ids to suspend, with one query per scope."""
    by_customer, by_invoice = defaultdict(list), defaultdict(list)
    all_customers = sorted({d.customer_id for d, s in batch if s.suspend_scope == SuspendScope.ALL})
    invoice_ids = sorted({d.invoice_id for d, s in batch if s.suspend_scope == SuspendScope.INVOICE})
    with connection.cursor() as cursor:
        if all_customers:
            in_ids, params = id_list_condition("customer_id", all_customers, marker="%s")
            cursor.execute(f"SELECT id, customer_id FROM customers_subscription WHERE status = 'active' AND {in_ids}", params)
            for sub_id, cust_id in cursor.fetchall():
                by_customer[cust_id].append(sub_id)
        if invoice_ids:
            in_ids, params = id_list_condition("l.invoice_id", invoice_ids, marker="%s")
            cursor.execute(f"""SELECT DISTINCT l.invoice_id, l.subscription_id FROM billing_invoiceline l
                               JOIN customers_subscription s ON s.id = l.subscription_id
                               WHERE s.status = 'active' AND {in_ids}""", params)
            for inv_id, sub_id in cursor.fetchall():
                by_invoice[inv_id].append(sub_id)
    return {(d.invoice_id, s.pk): (by_customer[d.customer_id] if s.suspend_scope == SuspendScope.ALL else by_invoice[d.invoice_id])
            for d, s in batch}


def _action(key, due: DueStage, stage, kind, as_of, now, detail=None, subscription_id=None) -> dict:
    return {"key": key, "customer_id": due.customer_id, "invoice_id": due.invoice_id, "subscription_id": subscription_id,
            "stage_id": stage.pk, "kind": kind, "as_of": as_of, "detail": detail or {}, "created_at": now}


def record_due(batch: list[DueStage], *, as_of: dt.date, dates: _Dates | None = None) -> dict:
    """Record the actions of a batch of due stages in one transaction; keys make it idempotent."""
    from partnerdesk.notifications.services import queue_emails_bulk

    dates = dates or _Dates()
    now = timezone.now()
    actions, emails, calls, suspensions = [], [], [], []
    for due in batch:
        inv = f"inv:{due.invoice_id}"
        stage = due.target
        if stage.send_notice:
            key = f"{inv}:st:{stage.pk}:notice"
            kind = ActionKind.REMINDER if stage.offset_days <= 0 else ActionKind.NOTICE
            actions.append(_action(key, due, stage, kind, as_of, now))
            emails.append({"customer_id": due.customer_id, "template_key": stage.template_key,
                           "context": _email_context(due, as_of, dates), "dedupe_key": key})
        # Phone calls, suspensions and cancellations of every stage newly reached are done, even if skipped over.
        for reached in _ordered_stages(due.policy):
            if not (due.done_position < reached.position <= stage.position):
                continue
            if reached.call_task:
                key = f"{inv}:st:{reached.pk}:call"
                calls.append({"key": key, "customer_id": due.customer_id, "invoice_id": due.invoice_id, "due_on": as_of,
                              "note": f"{due.number}: {reached.name}"})
                actions.append(_action(key, due, reached, ActionKind.CALL, as_of, now))
            if reached.suspend:
                suspensions.append((due, reached))
            if reached.cancel:
                actions.append(_action(f"{inv}:st:{reached.pk}:cancel", due, reached, ActionKind.CANCEL, as_of, now))
    requests = []
    if suspensions:
        targets = _subscriptions_to_suspend(suspensions)
        for due, reached in suspensions:
            cause = f"inv:{due.invoice_id}:st:{reached.pk}"
            subs = targets[(due.invoice_id, reached.pk)]
            actions.append(_action(f"{cause}:suspend", due, reached, ActionKind.SUSPEND, as_of, now, {"subscriptions": subs}))
            reason = f"Non-payment: invoice {due.number} unpaid {max(0, (as_of - due.due_date).days)} days after its due date"
            requests += [{"subscription_id": s, "customer_id": due.customer_id, "action": OperatorRequest.SUSPEND,
                          "cause": cause, "reason": reason, "status": "pending", "attempts": 0, "next_attempt_at": now,
                          "last_error": "", "claimed_by": "", "created_at": now} for s in subs]
    by_target = defaultdict(list)
    for due in batch:
        by_target[due.target.position].append(due.invoice_id)
    with transaction.atomic():
        insert_ignoring_duplicates(CollectionsAction, actions, key="key")
        insert_ignoring_duplicates(CallTask, calls, key="key")
        insert_ignoring_duplicates(OperatorRequest, requests)
        queue_emails_bulk(emails)
        p = placeholder()
        for position, ids in by_target.items():
            for i in range(0, len(ids), 900):
                in_chunk, id_params = id_list_condition("id", ids[i:i + 900])
                run_sql(f"UPDATE billing_invoice SET collections_stage = {p} WHERE collections_stage < {p} AND {in_chunk}",
                        [position, position, *id_params])
    return {"actions": len(actions), "emails": len(emails), "calls": len(calls), "operator_requests": len(requests)}


def deletion_warnings(as_of: dt.date) -> list[dict]:
    """Warn customers whose subscriptions are still suspended as the operator's 60-day deletion nears."""
    from partnerdesk.customers.models import DATA_DELETION_DAYS

    policies, own, exempt = _policies_by_customer()
    default = next(p for p in policies.values() if p.is_default)
    rows = []
    subs = Subscription.objects.filter(status=SubscriptionStatus.SUSPENDED, suspended_at__isnull=False)
    for sub in subs.iterator(chunk_size=2000):
        policy = policies.get(own.get(sub.customer_id), default)
        suspended_on = sub.data_deletion_date - dt.timedelta(days=DATA_DELETION_DAYS)
        reached = [w for w in policy.deletion_warning_days if suspended_on + dt.timedelta(days=w) <= as_of]
        if not reached or as_of >= sub.data_deletion_date or sub.customer_id in exempt:
            continue
        days = max(reached)
        key = f"sub:{sub.pk}:deletion:{days}:{suspended_on.isoformat()}"
        rows.append({"key": key, "sub": sub, "days": days})
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


def claim_lock(holder: str, *, now=None) -> bool:
    """Take the collections lease if it is free or expired (a conditional UPDATE: one winner)."""
    now = now or timezone.now()
    RunLock.objects.get_or_create(name=LOCK_NAME)
    won = RunLock.objects.filter(Q(name=LOCK_NAME) & (Q(holder="") | Q(expires_at__lt=now) | Q(holder=holder))).update(
        holder=holder, expires_at=now + LOCK_TTL)
    return won == 1


class LostLock(RuntimeError):
    """Another run took the lease (this one ran past its expiry): stop; the other run finishes the work."""


def renew_lock(holder: str) -> None:
    if not RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(expires_at=timezone.now() + LOCK_TTL):
        raise LostLock(holder)


def release_lock(holder: str) -> None:
    RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(holder="", expires_at=None)


# --- the run ------------------------------------------------------------------------------------------------


def run_collections(as_of: dt.date | None = None, *, dry_run: bool = False, batch_size: int = 10000,
                    on_batch=None) -> RunResult:
    """Perform every collections action due by `as_of`, each exactly once. `on_batch` is a test hook."""
    as_of = as_of or timezone.localdate()
    if dry_run:
        due = decide(as_of)
        _fill_customer_names(due)
        return RunResult(as_of, "dry_run", due=due, counts={"due": len(due), "deletion_warnings": len(deletion_warnings(as_of))})
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not claim_lock(holder):
        return RunResult(as_of, "busy")
    run = None
    try:
        run = CollectionsRun.objects.create(as_of=as_of)
        started = time.perf_counter()
        due = decide(as_of)
        decided = time.perf_counter()
        renew_lock(holder)
        totals = defaultdict(int)
        dates = _Dates()
        batches = [due[i:i + batch_size] for i in range(0, len(due), batch_size)]
        # One transaction per batch: a crash loses at most the batches in flight, which a rerun redoes.
        for i, counts in enumerate(_record_batches(batches, as_of=as_of, dates=dates)):
            for k, v in counts.items():
                totals[k] += v
            renew_lock(holder)
            if on_batch:
                on_batch(i)
        totals["deletion_warnings"] = record_deletion_warnings(deletion_warnings(as_of), as_of=as_of)
        totals["due"] = len(due)
        recorded = time.perf_counter()
        with transaction.atomic():
            run.status, run.finished_at, run.counts = "finished", timezone.now(), dict(totals)
            run.save()
            record(actor=None, action="collections.run", obj=run, after=dict(totals), reason=f"collections run for {as_of}")
        _schedule_background_work()
        return RunResult(as_of, "finished", due=due, counts=dict(totals), run_id=run.pk,
                         decide_seconds=decided - started, record_seconds=recorded - decided)
    except BaseException:
        if run is not None:  # the runs page shows it; a rerun finishes the work
            CollectionsRun.objects.filter(pk=run.pk).update(status="failed", finished_at=timezone.now())
        raise
    finally:
        release_lock(holder)


RECORDING_THREADS = 2


def _record_batches(batches: list[list[DueStage]], *, as_of: dt.date, dates: "_Dates"):
    """Record batches, two at a time when there are several: while one thread waits on the database the other
    builds its rows. Batches touch disjoint invoices, so they never contend for the same rows. Inside an outer
    transaction (tests, a caller's atomic block) other connections could not see its data: then one by one."""
    if len(batches) < 2 or connection.in_atomic_block:
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
    from . import tasks

    # Emails schedule their own sending when queued; operator requests are carried out by this task.
    transaction.on_commit(lambda: tasks.process_operator_requests_task.enqueue())


# --- preview -------------------------------------------------------------------------------------------------


@dataclass
class PreviewItem:
    date: dt.date
    customer_id: int
    customer_name: str
    invoice_number: str
    stage: str
    actions: list[str]


def preview(as_of: dt.date, days: int, *, customer_ids=None) -> list[PreviewItem]:
    """What the runs of the next `days` days would do if nothing is paid in the meantime."""
    done: dict[int, int] = {}
    items = []
    for n in range(days):
        day = as_of + dt.timedelta(days=n)
        due_today = decide(day, customer_ids=customer_ids, done_overrides=done)
        _fill_customer_names(due_today)
        for due in due_today:
            done[due.invoice_id] = due.target.position
            stage = due.target
            actions = [a for a, on in (("notice" if stage.offset_days > 0 else "reminder", stage.send_notice),
                                       ("call", stage.call_task), ("suspend", stage.suspend), ("cancel", stage.cancel)) if on]
            items.append(PreviewItem(day, due.customer_id, due.customer_name, due.number, stage.name, actions))
    return items
