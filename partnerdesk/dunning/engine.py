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
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from partnerdesk.audit.services import record
from partnerdesk.billing.models import OPEN_STATUSES, Invoice, InvoiceLine, InvoiceStatus
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
    for promise in promises:
        if promise.invoice_id:
            held.add(promise.invoice_id)
            continue
        # A promise for an amount covers the customer's open invoices, oldest due first, up to that amount.
        covered = Decimal(0)
        for inv_id, balance in (Invoice.objects.filter(customer_id=promise.customer_id, status__in=OPEN_STATUSES)
                                .order_by("due_date", "id").values_list("id", "balance")):
            if covered >= promise.amount:
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


def decide(as_of: dt.date, *, customer_ids=None, done_overrides: dict[int, int] | None = None) -> list[DueStage]:
    """Every open invoice whose highest reached stage is beyond the one last acted on."""
    policies, own, exempt = _policies_by_customer()
    held = held_invoice_ids(as_of, customer_ids)
    due: list[DueStage] = []
    for policy in policies.values():
        stages = sorted(policy.stages.all(), key=lambda s: s.position)
        if not stages:
            continue
        thresholds = [(s, due_date_threshold(s, as_of, policy.grace_days)) for s in stages]
        invoices = Invoice.objects.filter(
            status__in=[InvoiceStatus.ISSUED] if policy.invoice_scope == "unpaid_only" else OPEN_STATUSES,
            due_date__lte=max(t for _, t in thresholds),
            collections_stage__lt=stages[-1].position,
        )
        if policy.is_default:
            others = [c for c, p in own.items() if p != policy.pk]
            if others:
                invoices = invoices.exclude(customer_id__in=others)
        else:
            mine = [c for c, p in own.items() if p == policy.pk]
            if not mine:
                continue
            invoices = invoices.filter(customer_id__in=mine)
        if customer_ids is not None:
            invoices = invoices.filter(customer_id__in=customer_ids)
        target = Case(*[When(due_date__lte=t, then=Value(s.position)) for s, t in reversed(thresholds)],
                      default=Value(0), output_field=IntegerField())
        invoices = invoices.annotate(target=target).filter(target__gt=F("collections_stage"))
        minimum = policy.min_overdue_amount
        overdue_by_customer = _overdue_by_customer(as_of, customer_ids) if minimum > 0 else None
        by_position = {s.position: s for s in stages}
        rows = invoices.values_list("id", "customer_id", "customer__name", "number", "balance", "due_date",
                                    "collections_stage", "target").order_by("customer_id", "due_date", "id")
        for inv_id, cust_id, name, number, balance, due_date, done, tgt in rows.iterator(chunk_size=5000):
            if cust_id in exempt or inv_id in held:
                continue
            if done_overrides is not None and done_overrides.get(inv_id, done) >= tgt:
                continue
            if overdue_by_customer is not None:
                # Below the minimum, nothing happens: reminders look at the invoice, later stages at what is overdue.
                amount = balance if by_position[tgt].offset_days <= 0 else overdue_by_customer.get(cust_id, 0)
                if amount < minimum:
                    continue
            due.append(DueStage(inv_id, cust_id, name, number, balance, due_date,
                                done if done_overrides is None else done_overrides.get(inv_id, done), by_position[tgt], policy))
    return due


def _overdue_by_customer(as_of, customer_ids=None) -> dict[int, Decimal]:
    qs = Invoice.objects.filter(status__in=OPEN_STATUSES, due_date__lt=as_of)
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return dict(qs.values("customer_id").annotate(s=Sum("balance")).values_list("customer_id", "s"))


# --- recording ----------------------------------------------------------------------------------------------


def _email_context(due: DueStage, as_of: dt.date) -> dict:
    policy = due.policy
    suspend_stage = next((s for s in sorted(policy.stages.all(), key=lambda s: s.position) if s.suspend), None)
    suspension = stage_date(due.due_date, suspend_stage, policy.grace_days) if suspend_stage else None
    return {
        "customer_name": due.customer_name,
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
    all_customers = {d.customer_id for d, s in batch if s.suspend_scope == SuspendScope.ALL}
    invoice_ids = {d.invoice_id for d, s in batch if s.suspend_scope == SuspendScope.INVOICE}
    for sub_id, cust_id in Subscription.objects.filter(customer_id__in=all_customers, status=SubscriptionStatus.ACTIVE).values_list("id", "customer_id"):
        by_customer[cust_id].append(sub_id)
    for inv_id, sub_id in (InvoiceLine.objects.filter(invoice_id__in=invoice_ids, subscription__status=SubscriptionStatus.ACTIVE)
                           .values_list("invoice_id", "subscription_id").distinct()):
        by_invoice[inv_id].append(sub_id)
    return {(d.invoice_id, s.pk): (by_customer[d.customer_id] if s.suspend_scope == SuspendScope.ALL else by_invoice[d.invoice_id])
            for d, s in batch}


def record_due(batch: list[DueStage], *, as_of: dt.date) -> dict:
    """Record the actions of a batch of due stages in one transaction; keys make it idempotent."""
    from partnerdesk.notifications.services import queue_emails_bulk

    actions, emails, calls, suspensions = [], [], [], []
    for due in batch:
        inv = f"inv:{due.invoice_id}"
        stage = due.target
        if stage.send_notice:
            key = f"{inv}:st:{stage.pk}:notice"
            kind = ActionKind.REMINDER if stage.offset_days <= 0 else ActionKind.NOTICE
            context = _email_context(due, as_of)
            actions.append(CollectionsAction(key=key, customer_id=due.customer_id, invoice_id=due.invoice_id, stage=stage,
                                             kind=kind, as_of=as_of, detail={"template": stage.template_key, "stage": stage.name}))
            emails.append({"customer_id": due.customer_id, "template_key": stage.template_key, "context": context, "dedupe_key": key})
        # Phone calls, suspensions and cancellations of every stage newly reached are done, even if skipped over.
        for reached in sorted(due.policy.stages.all(), key=lambda s: s.position):
            if not (due.done_position < reached.position <= stage.position):
                continue
            if reached.call_task:
                key = f"{inv}:st:{reached.pk}:call"
                calls.append(CallTask(key=key, customer_id=due.customer_id, invoice_id=due.invoice_id, due_on=as_of))
                actions.append(CollectionsAction(key=key, customer_id=due.customer_id, invoice_id=due.invoice_id,
                                                 stage=reached, kind=ActionKind.CALL, as_of=as_of))
            if reached.suspend:
                suspensions.append((due, reached))
            if reached.cancel:
                key = f"{inv}:st:{reached.pk}:cancel"
                actions.append(CollectionsAction(key=key, customer_id=due.customer_id, invoice_id=due.invoice_id,
                                                 stage=reached, kind=ActionKind.CANCEL, as_of=as_of))
    requests = []
    if suspensions:
        targets = _subscriptions_to_suspend(suspensions)
        for due, reached in suspensions:
            cause = f"inv:{due.invoice_id}:st:{reached.pk}"
            subs = targets[(due.invoice_id, reached.pk)]
            actions.append(CollectionsAction(key=f"{cause}:suspend", customer_id=due.customer_id, invoice_id=due.invoice_id,
                                             stage=reached, kind=ActionKind.SUSPEND, as_of=as_of, detail={"subscriptions": subs}))
            reason = f"Non-payment: invoice {due.number} unpaid {max(0, (as_of - due.due_date).days)} days after its due date"
            requests += [OperatorRequest(subscription_id=s, customer_id=due.customer_id, action=OperatorRequest.SUSPEND,
                                         cause=cause, reason=reason) for s in subs]
    by_target = defaultdict(list)
    for due in batch:
        by_target[due.target.position].append(due.invoice_id)
    with transaction.atomic():
        CollectionsAction.objects.bulk_create(actions, ignore_conflicts=True, batch_size=1000)
        CallTask.objects.bulk_create(calls, ignore_conflicts=True, batch_size=1000)
        OperatorRequest.objects.bulk_create(requests, ignore_conflicts=True, batch_size=1000)
        queue_emails_bulk(emails)
        for position, ids in by_target.items():
            for i in range(0, len(ids), 900):
                Invoice.objects.filter(pk__in=ids[i:i + 900], collections_stage__lt=position).update(collections_stage=position)
    return {"actions": len(actions), "emails": len(emails), "calls": len(calls), "operator_requests": len(requests)}


def deletion_warnings(as_of: dt.date) -> list[dict]:
    """Warn customers whose subscriptions are still suspended as the operator's 60-day deletion nears."""
    from partnerdesk.customers.models import DATA_DELETION_DAYS

    policies, own, exempt = _policies_by_customer()
    default = next(p for p in policies.values() if p.is_default)
    rows = []
    subs = Subscription.objects.filter(status=SubscriptionStatus.SUSPENDED, suspended_at__isnull=False).select_related("customer")
    for sub in subs.iterator(chunk_size=2000):
        policy = policies.get(own.get(sub.customer_id), default)
        suspended_on = sub.data_deletion_date - dt.timedelta(days=DATA_DELETION_DAYS)
        reached = [w for w in policy.deletion_warning_days if suspended_on + dt.timedelta(days=w) <= as_of]
        if not reached or as_of >= sub.data_deletion_date or sub.customer_id in exempt:
            continue
        days = max(reached)
        key = f"sub:{sub.pk}:deletion:{days}:{suspended_on.isoformat()}"
        rows.append({"key": key, "sub": sub, "days": days})
    return rows


def record_deletion_warnings(rows: list[dict], *, as_of: dt.date) -> int:
    from partnerdesk.notifications.services import queue_emails_bulk

    if not rows:
        return 0
    actions, emails = [], []
    for row in rows:
        sub = row["sub"]
        actions.append(CollectionsAction(key=row["key"], customer_id=sub.customer_id, subscription=sub,
                                         kind=ActionKind.DELETION_WARNING, as_of=as_of, detail={"days_after_suspension": row["days"]}))
        emails.append({"customer_id": sub.customer_id, "template_key": "collections.deletion_warning", "dedupe_key": row["key"],
                       "context": {"customer_name": sub.customer.name, "subscriptions": [str(sub)],
                                   "deletion_date": sub.data_deletion_date.isoformat(),
                                   "suspension_date": (sub.data_deletion_date - dt.timedelta(days=60)).isoformat()}})
    with transaction.atomic():
        CollectionsAction.objects.bulk_create(actions, ignore_conflicts=True)
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


def renew_lock(holder: str) -> None:
    RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(expires_at=timezone.now() + LOCK_TTL)


def release_lock(holder: str) -> None:
    RunLock.objects.filter(name=LOCK_NAME, holder=holder).update(holder="", expires_at=None)


# --- the run ------------------------------------------------------------------------------------------------


def run_collections(as_of: dt.date | None = None, *, dry_run: bool = False, batch_size: int = 5000,
                    on_batch=None) -> RunResult:
    """Perform every collections action due by `as_of`, each exactly once. `on_batch` is a test hook."""
    as_of = as_of or timezone.localdate()
    if dry_run:
        due = decide(as_of)
        return RunResult(as_of, "dry_run", due=due, counts={"due": len(due), "deletion_warnings": len(deletion_warnings(as_of))})
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not claim_lock(holder):
        return RunResult(as_of, "busy")
    try:
        run = CollectionsRun.objects.create(as_of=as_of)
        started = time.perf_counter()
        due = decide(as_of)
        decided = time.perf_counter()
        totals = defaultdict(int)
        for i in range(0, len(due), batch_size):
            for k, v in record_due(due[i:i + batch_size], as_of=as_of).items():
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
    finally:
        release_lock(holder)


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
        for due in decide(day, customer_ids=customer_ids, done_overrides=done):
            done[due.invoice_id] = due.target.position
            stage = due.target
            actions = [a for a, on in (("notice" if stage.offset_days > 0 else "reminder", stage.send_notice),
                                       ("call", stage.call_task), ("suspend", stage.suspend), ("cancel", stage.cancel)) if on]
            items.append(PreviewItem(day, due.customer_id, due.customer_name, due.number, stage.name, actions))
    return items
