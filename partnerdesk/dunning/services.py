"""Collections actions that people and events take: disputes, promises to pay, exemptions, carrying out
suspensions and reactivations at the operator, and reactivating when a payment clears the overdue balance."""

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass

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

from .background import operator_requests_due
from .models import (
    MANUAL_CAUSE,
    ActionKind,
    CallTask,
    CollectionsAction,
    CollectionsProfile,
    Dispute,
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


# --- holds and exemptions ---------------------------------------------------------------------------------


@transaction.atomic
def open_dispute(*, invoice, reason: str, actor) -> Dispute:
    """Put an invoice on hold while the customer disputes it."""
    if not reason.strip():
        raise InvalidInput(_("a reason is required"), field="reason")
    invoice = type(invoice).objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if not invoice.is_open:
        raise Conflict(_("invoice %(number)s is %(status)s; only an open invoice can be disputed"), field="invoice_id",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    if Dispute.objects.filter(invoice=invoice, status=HoldStatus.OPEN).exists():
        raise Conflict(_("this invoice already has an open dispute"), field="invoice_id")
    dispute = Dispute.objects.create(customer=invoice.customer, invoice=invoice, reason=reason)
    record(actor=actor, action="dispute.opened", obj=dispute, customer=invoice.customer,
           after={"invoice": invoice.number}, reason=reason)
    return dispute


@transaction.atomic
def resolve_dispute(dispute: Dispute, *, resolution: str, actor) -> Dispute:
    """Close a dispute; collections resumes for the invoice from the stage it has reached."""
    dispute = Dispute.objects.select_for_update().select_related("customer").get(pk=dispute.pk)
    if dispute.status != HoldStatus.OPEN:
        raise Conflict(_("the dispute is not open"), field="status")
    if not resolution.strip():
        raise InvalidInput(_("a resolution is required"), field="resolution")
    dispute.status, dispute.resolved_at, dispute.resolution = HoldStatus.RESOLVED, timezone.now(), resolution
    dispute.save()
    record(actor=actor, action="dispute.resolved", obj=dispute, customer=dispute.customer, reason=resolution)
    # Credit on account held back from the invoice while it was disputed now applies to it.
    apply_credit_on_account(dispute.customer, actor=actor)
    return dispute


def invoices_under_open_dispute(customer) -> set[int]:
    """Held back from automatic cash application (see billing.services.hold_from_automatic_allocation)."""
    return set(Dispute.objects.filter(customer=customer, status=HoldStatus.OPEN).values_list("invoice_id", flat=True))


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
        counts[_carry_out(req)] += 1
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
        return _retry(req, str(exc))  # kept in English; shown in the reader's language (service_messages)
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


def _retry(req: OperatorRequest, error: str) -> str:
    attempts = req.attempts + 1
    # The exponent is capped too: after some 40 attempts (two days of outage) 2 ** n seconds overflows timedelta.
    delay = min(dt.timedelta(seconds=30 * 2 ** min(attempts - 1, 20)), MAX_BACKOFF)
    with transaction.atomic():
        _lock_customer(req.customer_id)
        next_attempt = timezone.now() + delay
        OperatorRequest.objects.filter(pk=req.pk).update(status=RequestStatus.PENDING, attempts=attempts,
                                                         last_error=error[:2000], next_attempt_at=next_attempt)
        _schedule_attempt(next_attempt)
        # Waiting for its next attempt, it no longer holds up the email for what other requests have done.
        _tell_customer_when_all_done(req, req.customer)
    return "retry"


# --- reactivation when the overdue balance is cleared ----------------------------------------------------------


def still_overdue(customer) -> bool:
    """Whether the customer has an overdue open invoice that is not under an open dispute."""
    disputed = Dispute.objects.filter(customer=customer, status=HoldStatus.OPEN).values("invoice_id")
    return open_invoices(customer).filter(due_date__lt=timezone.localdate(), balance__gt=0).exclude(
        pk__in=disputed).exists()


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
    outcome: str  # "done" (the operator made it), "queued" (retried with backoff), "skipped" (nothing left to do)

    @property
    def queued(self) -> bool:
        return self.outcome == "queued"


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
    return ByHand(req, sub, {"done": "done", "retry": "queued", "skipped": "skipped"}[outcome])


def pending_by_subscription(subscriptions) -> dict[int, str]:
    """{subscription id: "suspend" or "reactivate"} for those with a request waiting for the operator (the
    newest wins): the pages show "suspension pending" or "reactivation pending"."""
    ids = [s.pk for s in subscriptions]
    pending = {}
    for sub_id, action in (OperatorRequest.objects.filter(subscription_id__in=ids, status__in=[
            RequestStatus.PENDING, RequestStatus.IN_PROGRESS]).order_by("id").values_list("subscription_id", "action")):
        pending[sub_id] = action
    return pending
