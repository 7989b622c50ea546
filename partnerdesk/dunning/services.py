"""Collections actions that people and events take: disputes, promises to pay, exemptions, carrying out
suspensions and reactivations at the operator, and reactivating when a payment clears the overdue balance."""

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.billing.models import OPEN_STATUSES, Invoice, InvoiceStatus
from partnerdesk.billing.money import ZERO
from partnerdesk.billing.services import apply_credit_on_account, open_invoices, overdue_balance, parse_amount
from partnerdesk.customers.models import Subscription, SubscriptionStatus, SuspensionReason
from partnerdesk.errors import Conflict, DomainError, InvalidInput, status_word

from .background import operator_request_done, operator_request_given_up, operator_requests_due
from .models import (
    MANUAL_CAUSE,
    ActionKind,
    CallTask,
    CollectionsAction,
    CollectionsProfile,
    Dispute,
    DisputeOutcome,
    HoldStatus,
    OperatorRequest,
    PolicyAcknowledgement,
    PromiseToPay,
    RequestStatus,
)
from .policies import policy_for

logger = logging.getLogger(__name__)

MAX_BACKOFF = dt.timedelta(hours=1)
PROMISE_HORIZON = dt.timedelta(days=366)
STALE_CLAIM = dt.timedelta(minutes=10)
# A request the operator refuses with an answer that will never change (a 404, say: it does not know the
# subscription) GIVE_UP_AFTER times in a row is given up and left to a person (escalations opens a case), not
# retried for ever. Not at once: just after a subscription is created or moved, the operator's copy may lag. An
# outage's 5xx in between does not count, and starts the count again.
GIVE_UP_AFTER = 3


# --- holds and exemptions ---------------------------------------------------------------------------------


# Collections resumes no sooner than this many days after a dispute is rejected (or upheld in part): the customer
# is told the date and has time to pay; end_dispute moves it on to the next working day of the China calendar.
RESUME_AFTER_DAYS = 7
# Outcomes that leave an amount to collect, from a stated date: the disputed amount not upheld is owed again.
RESUMING = (DisputeOutcome.REJECTED, DisputeOutcome.PARTLY_UPHELD)


def _disputed_amount(value, invoice, *, field: str = "amount"):
    """A disputed amount: more than zero and at most the invoice's open balance."""
    amount = parse_amount(value, field=field, currency=invoice.currency)
    if amount > invoice.balance:
        raise InvalidInput(_("the disputed amount is more than invoice %(number)s has open (%(balance)s)"), field=field,
                           number=str(invoice), balance=str(invoice.balance))
    return amount


@transaction.atomic
def open_dispute(*, invoice, reason: str, actor, amount=None, case=None) -> Dispute:
    """Open a dispute of an invoice, or of `amount` of it: collections leaves the disputed amount alone (the whole
    open balance without an amount) and goes on for the rest."""
    if not reason.strip():
        raise InvalidInput(_("a reason is required"), field="reason")
    invoice = type(invoice).objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if not invoice.is_open:
        raise Conflict(_("invoice %(number)s is %(status)s; only an open invoice can be disputed"), field="invoice_id",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    if amount is not None:
        amount = _disputed_amount(amount, invoice)
    if case is not None and case.customer_id != invoice.customer_id:
        raise InvalidInput(_("the case belongs to another customer"), field="case_id")
    if Dispute.objects.filter(invoice=invoice, status=HoldStatus.OPEN).exists():
        raise Conflict(_("this invoice already has an open dispute"), field="invoice_id")
    dispute = Dispute.objects.create(customer=invoice.customer, invoice=invoice, reason=reason, amount=amount, case=case)
    record(actor=actor, action="dispute.opened", obj=dispute, customer=invoice.customer,
           after={"invoice": invoice.number, "amount": amount if amount is not None else invoice.balance,
                  "whole_balance": amount is None, "case": case.pk if case is not None else None}, reason=reason)
    return dispute


def _locked_open(dispute: Dispute) -> Dispute:
    dispute = Dispute.objects.select_for_update().select_related("customer", "invoice").get(pk=dispute.pk)
    if dispute.status != HoldStatus.OPEN:
        raise Conflict(_("the dispute is not open"), field="status")
    return dispute


@transaction.atomic
def change_disputed_amount(dispute: Dispute, *, amount, actor, reason: str) -> Dispute:
    """The customer disputes more, or less, of the invoice than it first said (None: the whole open balance)."""
    if not reason.strip():
        raise InvalidInput(_("a reason is required"), field="reason")
    dispute = _locked_open(dispute)
    invoice = type(dispute.invoice).objects.select_for_update().get(pk=dispute.invoice_id)
    new = _disputed_amount(amount, invoice) if amount is not None else None
    before = {"amount": dispute.amount}
    dispute.amount = new
    dispute.save(update_fields=["amount"])
    record(actor=actor, action="dispute.amount_changed", obj=dispute, customer=dispute.customer, before=before,
           after={"amount": new, "whole_balance": new is None}, reason=reason)
    return dispute


def resume_date(after: dt.date, *, days: int = RESUME_AFTER_DAYS) -> dt.date:
    """The day collections resumes after a dispute ended on `after`: the first working day at least `days` on."""
    return working_day_on_or_after(after + dt.timedelta(days=days))


def working_day_on_or_after(day: dt.date) -> dt.date:
    """`day`, or the working day after it (China's calendar): a stage never runs before the date told."""
    from partnerdesk.workdays.services import is_working_day

    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def held_amount(dispute: Dispute, invoice=None) -> Decimal:
    """What an open dispute holds back today: its amount (the whole balance when it names none) capped at the
    invoice's open balance, since a payment or credit may have landed after it was opened; nothing once the
    invoice is settled. An ended dispute: the amount it named."""
    invoice = invoice or dispute.invoice
    if dispute.status != HoldStatus.OPEN:
        return dispute.amount if dispute.amount is not None else invoice.balance
    if not invoice.is_open or invoice.balance <= 0:
        return ZERO
    return invoice.balance if dispute.amount is None else min(dispute.amount, invoice.balance)


def _first_overdue_notice(policy):
    return policy.stages.filter(offset_days__gt=0, send_notice=True).order_by("position").first()


def collections_due_date(invoice, resume_on: dt.date) -> dt.date | None:
    """The date the invoice's stages count from so that the policy's first overdue notice falls on `resume_on`
    (later stages keep the policy's spacing from there): after a dispute, the customer hears about the amount
    again before anything else happens, whatever stage the undisputed rest had reached. None when that would be no
    later than the due date (the real schedule is then no sooner), the policy has no overdue notice, or the
    customer is exempt."""
    from .policies import due_date_threshold

    policy = policy_for(invoice.customer)
    if policy is None:
        return None
    first = _first_overdue_notice(policy)
    if first is None:
        return None
    restart = due_date_threshold(first, resume_on, policy.grace_days)
    return restart if restart > invoice.due_date else None


def _restart_collections(invoice, resume_on: dt.date) -> dt.date | None:
    """Collections starts over at the first overdue notice on `resume_on`: the invoice's stage goes back to the one
    before it (the engine keys this new round by the dispute, so its notices are sent again). Returns the
    collections due date, or None when the policy's own schedule already starts no sooner."""
    restart = collections_due_date(invoice, resume_on)
    if restart is not None:
        first = _first_overdue_notice(policy_for(invoice.customer))
        type(invoice).objects.filter(pk=invoice.pk).update(collections_stage=first.position - 1)
        invoice.collections_stage = first.position - 1
    return restart


@transaction.atomic
def end_dispute(dispute: Dispute, *, outcome: str, actor, resolution: str, upheld_amount=None, credit_note=None,
                refund=None, resume_on: dt.date | None = None, in_case: bool = False) -> Dispute:
    """End a dispute: upheld (in full, or in part with `upheld_amount`: the credit note of that amount issued
    through the ledger, or for an invoice already paid, the refund of it), rejected, or withdrawn.

    A dispute of a support case is decided in the case (disputes.services.uphold/reject, `in_case`), where the
    customer is told; ended anywhere else it is refused. When something is still owed after a stated `resume_on`
    (by default, rejected or upheld in part, the first working day RESUME_AFTER_DAYS on; a holiday moves it to
    the next working day), collections starts over with the first overdue notice on that day (see
    collections_due_date). Withdrawn or upheld in full, it goes on from the stage the invoice has reached.
    """
    if outcome not in DisputeOutcome.values:
        raise InvalidInput(_("the outcome must be one of %(choices)s"), field="outcome",
                           choices=", ".join(DisputeOutcome.values))
    resolution = bounds.clean_text(resolution, field="resolution", max_length=bounds.REASON_LENGTH).strip()
    if not resolution:
        raise InvalidInput(_("a resolution is required"), field="resolution")
    dispute = _locked_open(dispute)
    if dispute.case_id is not None and not in_case:
        raise Conflict(_("this dispute is decided in case %(case)s, where the customer is told: uphold or reject it "
                         "there"), field="case_id", case=dispute.case.token)
    invoice = type(dispute.invoice).objects.select_for_update().select_related("customer").get(pk=dispute.invoice_id)
    if outcome in (DisputeOutcome.UPHELD, DisputeOutcome.PARTLY_UPHELD):
        upheld_amount = _upheld(dispute, invoice, outcome, upheld_amount, credit_note, refund)
    elif upheld_amount is not None or credit_note is not None or refund is not None:
        raise InvalidInput(_("a rejected or withdrawn dispute upholds nothing"), field="upheld_amount")
    today = timezone.localdate()
    if resume_on is not None and resume_on < today:
        raise InvalidInput(_("collections cannot resume on a day that has passed"), field="resume_on")
    if resume_on is None and outcome in RESUMING:
        resume_on = resume_date(today)
    elif resume_on is not None:
        resume_on = working_day_on_or_after(resume_on)
    before = snapshot(dispute, ["status", "amount"])
    dispute.status, dispute.resolved_at, dispute.resolution = HoldStatus.RESOLVED, timezone.now(), resolution
    dispute.outcome, dispute.upheld_amount, dispute.credit_note = outcome, upheld_amount, credit_note
    dispute.resume_on = resume_on
    invoice.refresh_from_db()
    owed = invoice.is_open and invoice.balance > 0
    dispute.collections_due_date = _restart_collections(invoice, resume_on) if resume_on and owed else None
    dispute.save()
    record(actor=actor, action="dispute.resolved", obj=dispute, customer=dispute.customer, before=before,
           after={"invoice": invoice.number, "outcome": outcome, "upheld_amount": upheld_amount,
                  "credit_note": credit_note.pk if credit_note is not None else None,
                  "refund": refund.pk if refund is not None else None, "resume_on": resume_on,
                  "collections_due_date": dispute.collections_due_date,
                  "collections_stage": invoice.collections_stage}, reason=resolution)
    # Credit on account held back from the invoice while it was disputed now applies to it.
    apply_credit_on_account(dispute.customer, actor=actor)
    return dispute


def _upheld(dispute: Dispute, invoice, outcome: str, upheld_amount, credit_note, refund) -> Decimal:
    """The amount upheld, checked: in part less than the dispute claims, and backed by a credit note of exactly
    that amount on the invoice (or, for an invoice paid meanwhile, a refund of it to the customer)."""
    if credit_note is not None and refund is not None:
        raise InvalidInput(_("name the credit note or the refund, not both"), field="refund_id")
    backing = credit_note or refund
    if upheld_amount is None and outcome == DisputeOutcome.PARTLY_UPHELD:
        raise InvalidInput(_("say how much of the dispute is upheld"), field="upheld_amount")
    if upheld_amount is not None:
        upheld_amount = parse_amount(upheld_amount, field="upheld_amount", currency=invoice.currency)
        # What the dispute claims: the amount it named (the invoice's total when it named none). A credit note
        # has already lowered the balance, so the cap at the open balance is the caller's (disputes.uphold).
        claimed = dispute.amount if dispute.amount is not None else invoice.total
        if upheld_amount > claimed:
            raise InvalidInput(_("only %(amount)s is disputed"), field="upheld_amount", amount=str(claimed))
        if outcome == DisputeOutcome.PARTLY_UPHELD and dispute.amount is not None and upheld_amount >= dispute.amount:
            raise InvalidInput(_("an amount upheld in part is less than the disputed amount (%(amount)s)"),
                               field="upheld_amount", amount=str(dispute.amount))
    if backing is None:
        raise InvalidInput(_("an upheld dispute needs the credit note of the upheld amount (or, for an invoice "
                             "already paid, the refund of it)"), field="credit_note_id")
    if credit_note is not None and credit_note.invoice_id != invoice.pk:
        raise InvalidInput(_("the credit note is for another invoice"), field="credit_note_id")
    if refund is not None and refund.customer_id != dispute.customer_id:
        raise InvalidInput(_("the refund is another customer's"), field="refund_id")
    if upheld_amount is None:
        upheld_amount = backing.amount
    if backing.amount != upheld_amount:
        raise InvalidInput(_("the upheld amount is %(upheld)s but the credit note or refund is for %(amount)s"),
                           field="credit_note_id" if credit_note is not None else "refund_id",
                           upheld=str(upheld_amount), amount=str(backing.amount))
    return upheld_amount


def resolve_dispute(dispute: Dispute, *, resolution: str, actor) -> Dispute:
    """Close a dispute the customer no longer pursues: collections resumes for the invoice from the stage it has
    reached (end_dispute, withdrawn)."""
    return end_dispute(dispute, outcome=DisputeOutcome.WITHDRAWN, resolution=resolution, actor=actor)


def disputed_amounts(customer_or_ids) -> dict[int, Decimal]:
    """{invoice id: the amount under an open dispute} of a customer's (or customers') open invoices."""
    from .engine import open_dispute_amounts

    ids = [customer_or_ids.pk] if hasattr(customer_or_ids, "pk") else list(customer_or_ids)
    return {inv_id: amount for inv_id, _cust, amount, _balance, _due in open_dispute_amounts(ids)}


def undisputed_balance(invoice) -> Decimal:
    """What collections still counts on an invoice: its open balance less the amount under an open dispute."""
    if not invoice.is_open:
        return ZERO
    return max(ZERO, invoice.balance - disputed_amounts([invoice.customer_id]).get(invoice.pk, ZERO))


def invoices_under_open_dispute(customer) -> dict[int, Decimal]:
    """{invoice id: amount} held back from automatic cash application (see billing.services.
    hold_from_automatic_allocation): paying "the rest" never settles what the customer contests, but may settle
    the undisputed part of an invoice disputed in part."""
    return disputed_amounts(customer)


@transaction.atomic
def add_promise(*, customer, amount, promised_date: dt.date, actor, invoice=None, note: str = "") -> PromiseToPay:
    """Record a promise to pay (or a payment plan ending on `promised_date`): collections holds until then."""
    amount = parse_amount(amount)
    if promised_date < timezone.localdate():
        raise InvalidInput(_("the promised date is in the past"), field="promised_date")
    if promised_date > timezone.localdate() + PROMISE_HORIZON:
        raise InvalidInput(_("a promise to pay can hold collections for a year at most"), field="promised_date")
    if invoice is not None and invoice.customer_id != customer.pk:
        raise InvalidInput(_("the invoice belongs to another customer"), field="invoice_id")
    # More than is owed would hold nothing more, and reads like a typing mistake: say so.
    owed = invoice.balance if invoice is not None else open_invoices(customer).aggregate(s=Sum("balance"))["s"] or ZERO
    if amount > owed:
        raise InvalidInput(_("the promise is for more than is owed (%(owed)s)"), field="amount", owed=str(owed))
    promise = PromiseToPay.objects.create(customer=customer, invoice=invoice, amount=amount,
                                          promised_date=promised_date, note=note)
    record(actor=actor, action="promise.added", obj=promise, customer=customer,
           after={"amount": amount, "promised_date": promised_date, "invoice": invoice.number if invoice else None}, reason=note)
    return promise


@transaction.atomic
def set_profile(*, customer, actor, policy=None, exempt: bool = False, reason: str = "") -> CollectionsProfile:
    """Give a customer its own policy, or exempt it from collections (a reason is required)."""
    if exempt and not reason.strip():
        raise InvalidInput(_("a reason is required to exempt a customer"), field="reason")
    old_policy = policy_for(customer)
    profile, _created = CollectionsProfile.objects.get_or_create(customer=customer)
    before = snapshot(profile, ["policy", "exempt", "exempt_reason"])
    profile.policy, profile.exempt, profile.exempt_reason = policy, exempt, reason if exempt else ""
    profile.save()
    new_policy = policy_for(customer)
    if old_policy is not None and new_policy is not None and old_policy.pk != new_policy.pk:
        _carry_stages_over(customer, old_policy, new_policy)
    record(actor=actor, action="collections.profile_changed", obj=profile, customer=customer, before=before,
           after=snapshot(profile, ["policy", "exempt", "exempt_reason"]), reason=reason)
    return profile


def _carry_stages_over(customer, old_policy, new_policy) -> None:
    """Invoices part-way through the old policy keep their place in the new one: the stage reached becomes the
    number of new stages that fall on or before the day of the old stage, so none is skipped or repeated."""

    old_offsets = dict(old_policy.stages.values_list("position", "offset_days"))
    new_offsets = list(new_policy.stages.values_list("offset_days", flat=True))
    invoices = Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES, collections_stage__gt=0)
    for position in set(invoices.values_list("collections_stage", flat=True)):
        offset = old_offsets.get(position)
        reached = sum(1 for o in new_offsets if offset is not None and o <= offset)
        invoices.filter(collections_stage=position).update(collections_stage=reached)


@transaction.atomic
def acknowledge_policy(*, customer, user, policy) -> PolicyAcknowledgement:
    """The customer's user acknowledges the collections policy as published."""
    ack = PolicyAcknowledgement.objects.create(customer=customer, user=user, policy=policy, policy_version=policy.version)
    record(actor=user, action="collections.policy_acknowledged", obj=ack, customer=customer,
           after={"policy": policy.name, "version": policy.version})
    return ack


@transaction.atomic
def complete_call(task: CallTask, *, actor, note: str) -> CallTask:
    """A collections agent made the call: record what was agreed."""
    task = CallTask.objects.select_for_update().get(pk=task.pk)  # two agents closing it at once: one wins
    return _complete_locked_call(task, actor=actor, note=note)


def _complete_locked_call(task: CallTask, *, actor, note: str) -> CallTask:
    """Mark done a call task the caller has already locked (select_for_update) and read afresh."""
    if task.done_at is not None:
        raise Conflict(_("this call is already done"), field="call_id")
    if not note.strip():
        raise InvalidInput(_("say what the customer said"), field="note")
    task.done_at, task.assigned_to = timezone.now(), actor
    task.note = f"{task.note}\n{note}".strip()
    task.save()
    record(actor=actor, action="collections.call_done", obj=task, customer=task.customer, reason=note)
    return task


@transaction.atomic
def complete_calls(tasks, *, actor, note: str) -> list[CallTask]:
    """One phone call about several invoices (a customer's calls of a day): each open task is marked done with
    the same note, each audited. Those someone else marked done meanwhile are left as they are; Conflict if
    none was still open."""
    note = bounds.clean_text(note, field="note", max_length=2000).strip()
    if not note:
        raise InvalidInput(_("say what the customer said"), field="note")
    ids = sorted({t.pk for t in tasks})
    open_tasks = list(CallTask.objects.select_for_update(of=("self",)).filter(pk__in=ids, done_at__isnull=True)
                      .select_related("customer").order_by("id"))
    if not open_tasks:
        raise Conflict(_("These calls are already done."), field="call_id")
    if len({t.customer_id for t in open_tasks}) > 1:
        raise InvalidInput(_("the calls must be to one customer"), field="call_id")
    return [_complete_locked_call(task, actor=actor, note=note) for task in open_tasks]


@transaction.atomic
def close_calls_no_longer_needed(*, customer) -> int:
    """Close the open calls about invoices that are no longer open (paid, credited or voided): nobody should
    phone a customer about an invoice it has paid."""
    calls = list(CallTask.objects.select_for_update(of=("self",)).filter(customer=customer, done_at__isnull=True,
                                                                        invoice__isnull=False)
                 .exclude(invoice__status__in=OPEN_STATUSES).select_related("invoice"))
    for call in calls:
        entry = record(actor=None, action="collections.call_closed", obj=call, customer=customer,
                       reason=f"invoice {call.invoice.number} is {call.invoice.status}: no call needed")
        call.done_at, call.note = timezone.now(), f"{call.note}\n{entry.reason}".strip()
        call.save(update_fields=["done_at", "note"])
    return len(calls)


# --- operator requests ------------------------------------------------------------------------------------


def _claim_requests(worker: str, limit: int) -> list[int]:
    now = timezone.now()
    due = OperatorRequest.objects.filter(
        Q(status=RequestStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=RequestStatus.IN_PROGRESS, next_attempt_at__lt=now - STALE_CLAIM)
    ).order_by("id").values_list("id", flat=True)[:limit]
    claimed = []
    for req_id in list(due):
        # The conditional UPDATE is the claim: of two workers, one wins each request.
        won = OperatorRequest.objects.filter(
            Q(pk=req_id) & (Q(status=RequestStatus.PENDING) | Q(status=RequestStatus.IN_PROGRESS, next_attempt_at__lt=now - STALE_CLAIM))
        ).update(status=RequestStatus.IN_PROGRESS, claimed_by=worker, next_attempt_at=now)
        if won:
            claimed.append(req_id)
    return claimed


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_operator_requests(*, limit: int = 100) -> dict:
    """Carry out pending suspensions and reactivations at the operator; failures are retried later."""
    worker = _worker_name()
    counts = {"done": 0, "skipped": 0, "retry": 0}
    for req_id in _claim_requests(worker, limit):
        req = OperatorRequest.objects.select_related("subscription__customer").get(pk=req_id)
        outcome = _carry_out(req)
        counts[outcome] = counts.get(outcome, 0) + 1  # (and "failed": given up, when any was)
    return counts


def retry_failing_requests_now(*, actor, customer=None, request_ids=None) -> int:
    """Try the requests that failed at the operator again now, rather than at their next attempt: staff do this
    once the operator is back after an outage (all of them, a customer's, or those of `request_ids`). Returns
    how many are tried again."""
    failing = OperatorRequest.objects.filter(status=RequestStatus.PENDING, attempts__gt=0).select_related("customer")
    if customer is not None:
        failing = failing.filter(customer=customer)
    if request_ids is not None:
        failing = failing.filter(pk__in=list(request_ids))
    retried = 0
    for req in failing.order_by("id"):
        # One request per transaction: holding many request rows at once could deadlock with a payment that
        # cancels a customer's suspensions. One a worker has taken meanwhile is left to it.
        with transaction.atomic():
            now = timezone.now()
            if OperatorRequest.objects.filter(pk=req.pk, status=RequestStatus.PENDING).update(next_attempt_at=now):
                record(actor=actor, action="operator_request.retried", obj=req, customer=req.customer,
                       before={"next_attempt_at": req.next_attempt_at.isoformat()},
                       after={"next_attempt_at": now.isoformat()}, reason="tried again now")
                retried += 1
    if retried:
        operator_requests_due.send(sender=__name__)
    return retried


def _carry_out(req: OperatorRequest) -> str:
    from partnerdesk.customers.services import (
        reactivate_subscription,
        suspend_subscription,
        sync_subscriptions,
    )

    sub = req.subscription
    wanted = SubscriptionStatus.SUSPENDED if req.action == OperatorRequest.SUSPEND else SubscriptionStatus.ACTIVE
    needed = SubscriptionStatus.ACTIVE if req.action == OperatorRequest.SUSPEND else SubscriptionStatus.SUSPENDED
    if sub.status != needed and sub.status != wanted:
        return _skip(req, sub.customer, note=f"subscription is {sub.status}")
    if req.action == OperatorRequest.SUSPEND and not req.by_hand and not still_overdue(sub.customer):
        # Paid (or disputed) since the run queued this: suspending now would be wrong. (One asked for by hand is
        # the agent's decision, for fraud say: it stands.)
        return _skip(req, sub.customer, note="nothing overdue any more")
    # The audit names whoever asked for it by hand, even when the worker carries it out later.
    actor = req.requested_by if req.by_hand else None
    try:
        if sub.status == needed:
            if req.action == OperatorRequest.SUSPEND:
                sub = suspend_subscription(sub, actor=actor, reason=req.reason,
                                           reason_code=req.reason_code or SuspensionReason.NON_PAYMENT)
            else:
                sub = reactivate_subscription(sub, actor=actor, reason=req.reason)
    except DomainError as exc:
        if isinstance(exc, Conflict):
            try:  # the operator's copy changed: read it again before the next attempt
                sync_subscriptions(sub.customer, actor=None)
            except DomainError:
                pass
        permanent = getattr(exc, "permanent", False)
        if permanent and req.refusals + 1 >= GIVE_UP_AFTER:
            return _give_up(req, str(exc))
        # kept in English; shown in the reader's language (service_messages)
        return _retry(req, str(exc), refusals=req.refusals + 1 if permanent else 0)
    except Exception:
        # The operator made the change but the local write failed, say: the service has then put the operator's
        # state on the subscription and audited the failure. If that shows the change, this request did it and is
        # recorded as done below. If not, it is left claimed, as after a crash, and carried out again once its
        # claim is stale (the gateway does not repeat a change the operator already shows).
        current = Subscription.objects.select_related("customer").get(pk=sub.pk)
        if current.status != wanted:
            raise
        logger.warning("Operator request %s: the operator made the change, recording it failed; the subscription "
                       "shows the operator's state", req.pk, exc_info=True)
        sub = current
    if sub.status != wanted:
        return _retry(req, f"the operator reports the subscription as {sub.status}")
    with transaction.atomic():
        _lock_customer(req.customer_id)
        # Two overdue invoices reaching suspension together queue a request each for the same subscription, and
        # two workers may carry them out at once. Under the subscription's lock, one of them records it.
        sub = Subscription.objects.select_for_update(of=("self",)).select_related("customer").get(pk=sub.pk)
        if req.action == OperatorRequest.SUSPEND and _suspended_by_another(req, sub):
            return _skip(req, sub.customer, note="already suspended for another overdue invoice")
        kind = ActionKind.SUSPENDED if req.action == OperatorRequest.SUSPEND else ActionKind.REACTIVATED
        CollectionsAction.objects.get_or_create(
            key=f"opreq:{req.pk}:{kind}",
            defaults={"customer_id": req.customer_id, "subscription": sub, "kind": kind, "as_of": timezone.localdate(),
                      "detail": {"cause": req.cause, "reason": req.reason}})
        _finish(req, RequestStatus.DONE)
        _tell_customer_when_all_done(req, sub.customer)
        if req.attempts:  # it had failed before: a case may be waiting for it (escalations)
            transaction.on_commit(lambda: operator_request_done.send(sender=__name__, request=req), robust=True)
    return "done"


def _tell_customer_when_all_done(req: OperatorRequest, customer) -> None:
    """One email for the subscriptions suspended (or restored) since the customer was last told: what happened,
    why, what to do.

    It goes once no request of the same kind for the customer is being carried out or due to be: two invoices
    reaching suspension together queue requests that one worker, or two at once, carry out; the customer gets
    one email naming every subscription. A request failing at the operator, waiting for its next attempt, does
    not hold the email up; it gets its own once it succeeds. Every way a request ends comes here, so nothing
    done is left untold; a subscription no longer in the state the request left it in (reactivated since, say)
    is not told of.
    """
    from partnerdesk.notifications.services import queue_email

    # The callers hold the customer's lock (_lock_customer): workers check this one after another.
    if req.by_hand:  # the agent who asked tells the customer, as before this went through the queue
        OperatorRequest.objects.filter(pk=req.pk, told_at__isnull=True).exclude(
            status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS]).update(told_at=timezone.now())
        return
    same_kind = OperatorRequest.objects.filter(customer=customer, action=req.action).exclude(
        cause__startswith=MANUAL_CAUSE)
    untold = list(same_kind.filter(status=RequestStatus.DONE, told_at__isnull=True).select_related("subscription")
                  .order_by("id"))
    if not untold:
        return
    if same_kind.filter(Q(status=RequestStatus.IN_PROGRESS)
                        | Q(status=RequestStatus.PENDING, next_attempt_at__lte=timezone.now())).exists():
        return
    suspending = req.action == OperatorRequest.SUSPEND
    wanted = SubscriptionStatus.SUSPENDED if suspending else SubscriptionStatus.ACTIVE
    subs = list({r.subscription_id: r.subscription for r in untold if r.subscription.status == wanted}.values())
    if subs:
        deletion = min((s.data_deletion_date for s in subs if s.data_deletion_date), default=None)
        # Keyed by the first request told of: a worker that crashed before committing finds the same set again.
        queue_email(customer=customer, template_key="collections.suspended" if suspending else "collections.reactivated",
                    dedupe_key=f"opreq:{untold[0].pk}:{req.action}:email",
                    context={"customer_name": customer.name, "subscriptions": [str(s) for s in subs],
                             "reason": untold[0].reason, "deletion_date": deletion.isoformat() if deletion else "",
                             "amount_due": str(overdue_balance(customer)), "currency": customer.currency})
    OperatorRequest.objects.filter(pk__in=[r.pk for r in untold]).update(told_at=timezone.now())


def _suspended_by_another(req: OperatorRequest, sub) -> bool:
    """Whether another request carried out the subscription's current suspension. (Not this one: a request that
    suspended it and crashed before recording so finds none, and finishes its own work.)"""
    return sub.suspended_at is not None and OperatorRequest.objects.filter(
        subscription=sub, action=OperatorRequest.SUSPEND, status=RequestStatus.DONE, done_at__gte=sub.suspended_at,
    ).exclude(pk=req.pk).exists()


def _lock_customer(customer_id: int) -> None:
    """Workers finishing requests of one customer take turns, so the last to finish sees the others' work and
    tells the customer. Taken first in those transactions, as a payment's transaction takes it before it cancels
    queued suspensions: one order, no deadlock."""
    from partnerdesk.customers.models import Customer

    Customer.objects.select_for_update().filter(pk=customer_id).exists()


def _skip(req: OperatorRequest, customer, note: str) -> str:
    """End a request that had nothing to do; it may have been the last one an email waited for."""
    with transaction.atomic():
        _lock_customer(customer.pk)
        _finish(req, RequestStatus.SKIPPED, note=note)
        _tell_customer_when_all_done(req, customer)
    return "skipped"


def _finish(req: OperatorRequest, status: str, note: str = "") -> str:
    OperatorRequest.objects.filter(pk=req.pk).update(status=status, done_at=timezone.now(), last_error=note)
    return "skipped" if status == RequestStatus.SKIPPED else "done"


def _retry(req: OperatorRequest, error: str, *, refusals: int = 0) -> str:
    attempts = req.attempts + 1
    # The exponent is capped too: after some 40 attempts (two days of outage) 2 ** n seconds overflows timedelta.
    delay = min(dt.timedelta(seconds=30 * 2 ** min(attempts - 1, 20)), MAX_BACKOFF)
    with transaction.atomic():
        _lock_customer(req.customer_id)
        next_attempt = timezone.now() + delay
        OperatorRequest.objects.filter(pk=req.pk).update(status=RequestStatus.PENDING, attempts=attempts,
                                                         refusals=refusals, last_error=error[:2000],
                                                         next_attempt_at=next_attempt)
        _schedule_attempt(next_attempt)
        # Waiting for its next attempt, it no longer holds up the email for what other requests have done.
        _tell_customer_when_all_done(req, req.customer)
    return "retry"


def _give_up(req: OperatorRequest, error: str) -> str:
    """Stop trying a request the operator keeps refusing with an answer that will never change: failed (shown as
    "given up"), its last error kept, audited; escalations opens a case for the collections team."""
    attempts = req.attempts + 1
    with transaction.atomic():
        _lock_customer(req.customer_id)
        OperatorRequest.objects.filter(pk=req.pk).update(status=RequestStatus.FAILED, attempts=attempts,
                                                         last_error=error[:2000], claimed_by="")
        record(actor=None, action="operator_request.given_up", obj=req, customer=req.customer,
               before={"status": RequestStatus.IN_PROGRESS, "attempts": req.attempts},
               after={"status": RequestStatus.FAILED, "attempts": attempts}, reason=error[:2000])
        # Given up, it no longer holds up the email for what other requests have done.
        _tell_customer_when_all_done(req, req.customer)
        transaction.on_commit(lambda: operator_request_given_up.send(sender=__name__, request=req), robust=True)
    return "failed"


def retry_operator_request(req: OperatorRequest, *, actor) -> OperatorRequest:
    """Try one request again now: a failing one at once rather than at its next attempt; one given up goes back
    to pending. Its count of refusals is kept, not reset: if the operator still gives an answer that will never change,
    it is given up again at once and back with the person who retried it, rather than three attempts later."""
    with transaction.atomic():
        _lock_customer(req.customer_id)
        current = OperatorRequest.objects.select_for_update().get(pk=req.pk)
        if current.status not in (RequestStatus.PENDING, RequestStatus.FAILED):
            raise Conflict(_("Only a pending or given-up request can be tried again; this one is %(status)s."),
                           field="status", status=status_word(RequestStatus, current.status))
        now = timezone.now()
        before = {"status": current.status, "attempts": current.attempts,
                  "next_attempt_at": current.next_attempt_at.isoformat()}
        current.status, current.next_attempt_at, current.done_at = RequestStatus.PENDING, now, None
        current.save(update_fields=["status", "next_attempt_at", "done_at"])
        record(actor=actor, action="operator_request.retried", obj=current, customer=current.customer, before=before,
               after={"status": current.status, "attempts": current.attempts, "next_attempt_at": now.isoformat()},
               reason="tried again now")
        transaction.on_commit(lambda: operator_requests_due.send(sender=__name__))
    return current


def cancel_operator_request(req: OperatorRequest, *, actor, reason: str) -> OperatorRequest:
    """Drop a request that is waiting for the operator or was given up (a person decided it is not wanted, or
    did it another way); one a worker is carrying out right now cannot be called back."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("a reason is required to cancel an operator request"), field="reason")
    with transaction.atomic():
        _lock_customer(req.customer_id)
        current = OperatorRequest.objects.select_for_update().get(pk=req.pk)
        if current.status == RequestStatus.IN_PROGRESS:
            raise Conflict(_("The operator is being asked to change this subscription right now; try again in a "
                             "minute."), field="status")
        if current.status not in (RequestStatus.PENDING, RequestStatus.FAILED):
            raise Conflict(_("Only a pending or given-up request can be cancelled; this one is %(status)s."),
                           field="status", status=status_word(RequestStatus, current.status))
        before = {"status": current.status}
        current.status, current.done_at = RequestStatus.CANCELLED, timezone.now()
        current.save(update_fields=["status", "done_at"])
        record(actor=actor, action="operator_request.cancelled", obj=current, customer=current.customer,
               before=before, after={"status": current.status}, reason=reason)
        # It may have been the last one the customer's email waited for.
        _tell_customer_when_all_done(current, current.customer)
    return current


# --- reactivation when the overdue balance is cleared ----------------------------------------------------------


def still_overdue(customer) -> bool:
    """Whether the customer has an overdue open invoice with an amount that is not under an open dispute."""
    disputed = disputed_amounts(customer)
    overdue = open_invoices(customer).filter(due_date__lt=timezone.localdate(), balance__gt=0)
    return any(balance > disputed.get(pk, ZERO) for pk, balance in overdue.values_list("pk", "balance"))


def reactivate_if_cleared(*, customer, cause: str, actor=None) -> list[OperatorRequest]:
    """If nothing is overdue any more, ask the operator to restore subscriptions suspended for non-payment.

    Invoices under an open dispute do not count: collections leaves them alone, and so does this check.
    """
    if still_overdue(customer):
        return []
    # Suspensions queued but not yet carried out (the operator was down) are no longer wanted; and the customer
    # is not told now of suspensions about to be undone: the "access restored" email closes the loop.
    # (A suspension asked for by hand, for fraud say, is not the collections' to drop.)
    suspensions = OperatorRequest.objects.filter(customer=customer, action=OperatorRequest.SUSPEND).exclude(
        cause__startswith=MANUAL_CAUSE)
    suspensions.filter(status=RequestStatus.PENDING).update(
        status=RequestStatus.CANCELLED, done_at=timezone.now(), last_error=f"not needed: {cause}")
    suspensions.filter(status=RequestStatus.DONE, told_at__isnull=True).update(told_at=timezone.now())
    subs = list(Subscription.objects.filter(customer=customer, status=SubscriptionStatus.SUSPENDED,
                                            suspension_reason=SuspensionReason.NON_PAYMENT))
    if not subs:
        return []
    requests = []
    with transaction.atomic():
        for sub in subs:
            req, created = OperatorRequest.objects.get_or_create(
                subscription=sub, action=OperatorRequest.REACTIVATE, cause=cause,
                defaults={"customer": customer, "reason": "Overdue balance paid in full"})
            if created:
                CollectionsAction.objects.get_or_create(
                    key=f"{cause}:sub:{sub.pk}:reactivate",
                    defaults={"customer": customer, "subscription": sub, "kind": ActionKind.REACTIVATE,
                              "as_of": timezone.localdate(), "detail": {"cause": cause}})
                requests.append(req)
        if requests:
            transaction.on_commit(lambda: operator_requests_due.send(sender=__name__))
    return requests


def _schedule_attempt(at: dt.datetime) -> None:
    """Have the worker come back for a retry at its time, where the task backend can defer (the database one);
    `collections process-requests` and every run pick up what is due as well."""
    transaction.on_commit(lambda: operator_requests_due.send(sender=__name__, run_after=at))


# --- suspensions and reactivations asked for by hand --------------------------------------------------------


@dataclass
class ByHand:
    """What became of a suspension or reactivation asked for by hand."""

    request: OperatorRequest
    subscription: Subscription
    outcome: str  # "done" (the operator made it), "queued" (retried with backoff), "skipped" (nothing left to do),
    # "failed" (given up: the operator's answer will never change; see GIVE_UP_AFTER)

    @property
    def queued(self) -> bool:
        """Not made at the operator: the request (pending or given up) says what became of it."""
        return self.outcome in ("queued", "failed")


def suspend_by_hand(subscription, *, actor, reason_code: str, reason: str) -> ByHand:
    """Suspend a subscription at the operator through the queue of operator requests: carried out at once if
    the operator answers, else left pending (the subscription shows "suspension pending") and retried with
    backoff like the collections' own. Every input is checked before anything is queued."""
    from partnerdesk.customers.services import check_suspension

    reason = check_suspension(subscription, actor=actor, reason_code=reason_code, reason=reason)
    return _by_hand(subscription, OperatorRequest.SUSPEND, actor=actor, reason=reason, reason_code=reason_code)


def reactivate_by_hand(subscription, *, actor, reason: str) -> ByHand:
    """Reactivate a subscription at the operator through the queue, as suspend_by_hand."""
    from partnerdesk.customers.services import check_reactivation

    reason = check_reactivation(subscription, actor=actor, reason=reason)
    return _by_hand(subscription, OperatorRequest.REACTIVATE, actor=actor, reason=reason)


def _by_hand(subscription, action: str, *, actor, reason: str, reason_code: str = "") -> ByHand:
    suspending = action == OperatorRequest.SUSPEND
    needed = SubscriptionStatus.ACTIVE if suspending else SubscriptionStatus.SUSPENDED
    user = actor if getattr(actor, "pk", None) is not None else None
    with transaction.atomic():
        _lock_customer(subscription.customer_id)  # the order every request transaction takes its locks in
        sub = Subscription.objects.select_for_update(of=("self",)).select_related("customer").get(pk=subscription.pk)
        if sub.status != needed:  # changed since the form was shown
            from partnerdesk.customers.services import check_reactivation, check_suspension

            if suspending:
                check_suspension(sub, actor=actor, reason_code=reason_code, reason=reason)
            else:
                check_reactivation(sub, actor=actor, reason=reason)
        waiting = OperatorRequest.objects.filter(subscription=sub, status__in=[RequestStatus.PENDING,
                                                                               RequestStatus.IN_PROGRESS])
        if waiting.filter(action=action, cause__startswith=MANUAL_CAUSE).exists():
            raise Conflict(_("This subscription already has a suspension asked for by hand waiting for the operator.")
                           if suspending else
                           _("This subscription already has a reactivation asked for by hand waiting for the operator."),
                           field="status")
        # The agent's decision overrides a queued request the other way (a reactivation after a payment, say);
        # one a worker is carrying out right now cannot be called back.
        opposite = waiting.exclude(action=action)
        if opposite.filter(status=RequestStatus.IN_PROGRESS).exists():
            raise Conflict(_("The operator is being asked to change this subscription right now; try again in a "
                             "minute."), field="status")
        overridden = list(opposite.values_list("pk", flat=True))
        opposite.update(status=RequestStatus.CANCELLED, done_at=timezone.now(),
                        last_error=f"not needed: {action} asked for by hand")
        req = OperatorRequest.objects.create(
            subscription=sub, customer=sub.customer, action=action,
            cause=f"{MANUAL_CAUSE}{user.pk if user else 0}:{uuid.uuid4().hex[:12]}", reason=reason,
            reason_code=reason_code, requested_by=user,
            # Claimed by this process from the start: no worker takes it while this request tries it at once.
            status=RequestStatus.IN_PROGRESS, claimed_by=_worker_name(), next_attempt_at=timezone.now())
        record(actor=actor, action="operator_request.queued", obj=req, customer=sub.customer, reason=reason,
               after={"action": action, "subscription": str(sub), "reason_code": reason_code,
                      "cancelled_requests": overridden})
    try:
        outcome = _carry_out(OperatorRequest.objects.select_related("subscription__customer", "requested_by")
                             .get(pk=req.pk))
    except Exception:
        # Left claimed, as after a crash: a worker carries it out again once the claim is stale.
        logger.exception("Operator request %s (by hand): the first attempt failed unexpectedly", req.pk)
        outcome = "retry"
    req.refresh_from_db()
    sub.refresh_from_db()
    return ByHand(req, sub, {"done": "done", "retry": "queued", "skipped": "skipped", "failed": "failed"}[outcome])


def pending_by_subscription(subscriptions) -> dict[int, str]:
    """{subscription id: "suspend" or "reactivate"} for those with a request waiting for the operator (the
    newest wins): the pages show "suspension pending" or "reactivation pending"."""
    ids = [s.pk for s in subscriptions]
    pending = {}
    for sub_id, action in (OperatorRequest.objects.filter(subscription_id__in=ids, status__in=[
            RequestStatus.PENDING, RequestStatus.IN_PROGRESS]).order_by("id").values_list("subscription_id", "action")):
        pending[sub_id] = action
    return pending
