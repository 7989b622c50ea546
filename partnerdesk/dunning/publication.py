"""The collections policy as published to one customer: the process, and for each open invoice the concrete
days on which a reminder goes out, access is suspended, and data would be deleted (none yet for an invoice whose
fapiao a policy waits for)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from partnerdesk.billing.models import OPEN_STATUSES, Invoice
from partnerdesk.customers.models import (
    DATA_DELETION_DAYS,
    Subscription,
    SubscriptionStatus,
    SuspensionReason,
)
from partnerdesk.fapiao.queries import delivered_dates as fapiao_delivered_dates

from .models import CollectionsPolicy, PolicyAcknowledgement, PolicyStage
from .policies import policy_for, stage_date


@dataclass
class StageDate:
    stage: PolicyStage
    date: dt.date
    passed: bool


@dataclass
class InvoiceTimeline:
    invoice: Invoice
    stages: list[StageDate]
    reminder_date: dt.date | None
    suspension_date: dt.date | None
    deletion_date: dt.date | None
    on_hold: bool = False
    # Under a policy that waits for the fapiao: none delivered yet, so collections has not started (on hold, no dates).
    awaiting_fapiao: bool = False
    # The part under an open dispute, not collected while it is open, and what collections counts: the rest.
    disputed: Decimal = Decimal(0)
    counts: Decimal = Decimal(0)
    # The invoice's own subscriptions suspended for non-payment (those billed on it; all the customer's if it
    # names none): its actual suspension and deletion dates, and its deletion warnings, are theirs.
    suspended: list = field(default_factory=list)


@dataclass
class PublishedPolicy:
    customer: object
    policy: CollectionsPolicy | None  # None: the customer is exempt from collections
    as_of: dt.date
    stages: list[PolicyStage] = field(default_factory=list)
    invoices: list[InvoiceTimeline] = field(default_factory=list)
    deletion_days: int = DATA_DELETION_DAYS
    acknowledged: PolicyAcknowledgement | None = None

    @property
    def exempt(self) -> bool:
        return self.policy is None

    @property
    def any_disputed(self) -> bool:
        """Whether an open invoice has an amount under an open dispute (the pages then show that column)."""
        return any(t.disputed for t in self.invoices)


def published_policy(customer, *, as_of: dt.date | None = None) -> PublishedPolicy:
    """The policy that applies to the customer, with each open invoice's dates worked out."""
    from .engine import holds, open_dispute_amounts

    as_of = as_of or timezone.localdate()
    policy = policy_for(customer)
    published = PublishedPolicy(customer=customer, policy=policy, as_of=as_of)
    if policy is None:
        return published
    stages = list(policy.stages.order_by("position"))
    published.stages = stages
    hold = holds(as_of, [customer.pk])
    disputed = {inv_id: amount for inv_id, _c, amount, _b, _d in open_dispute_amounts([customer.pk])}
    # Once access is actually suspended, its real dates replace the planned ones (a run can be late, the
    # operator slow): the day the subscriptions were suspended, and the operator's deletion date from it.
    suspended = list(Subscription.objects.filter(customer=customer, status=SubscriptionStatus.SUSPENDED,
                                                 suspension_reason=SuspensionReason.NON_PAYMENT).order_by("id"))
    invoices = list(Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES).order_by("due_date", "id"))
    billed = _subscriptions_billed(invoices)
    delivered = fapiao_delivered_dates([i.pk for i in invoices]) if policy.wait_for_fapiao else None
    for invoice in invoices:
        own = billed.get(invoice.pk)
        subs = [sub for sub in suspended if own is None or sub.pk in own]
        actual_deletion = min((sub.data_deletion_date for sub in subs if sub.data_deletion_date), default=None)
        # After a dispute ended with collections resuming on a stated day, the stages count from its date.
        counted_from = hold.restarted.get(invoice.pk, invoice.due_date)
        part = disputed.get(invoice.pk, Decimal(0))
        if delivered is not None:
            if invoice.pk not in delivered:
                published.invoices.append(InvoiceTimeline(invoice, [], None, None, None, True, awaiting_fapiao=True,
                                                          disputed=part, counts=max(Decimal(0), invoice.balance - part)))
                continue
            # The stages count from the day the buyer received the fapiao, if that is later.
            counted_from = max(counted_from, delivered[invoice.pk])
        dates = [StageDate(s, stage_date(counted_from, s, policy.grace_days), False) for s in stages]
        for d in dates:
            if d.stage.suspend and actual_deletion and invoice.collections_stage >= d.stage.position:
                d.date = actual_deletion - dt.timedelta(days=DATA_DELETION_DAYS)
            d.passed = d.date <= as_of
        reminder = next((d.date for d in dates if d.stage.send_notice), None)
        suspension = next((d.date for d in dates if d.stage.suspend), None)
        deletion = suspension + dt.timedelta(days=DATA_DELETION_DAYS) if suspension else None
        published.invoices.append(InvoiceTimeline(invoice, dates, reminder, suspension, deletion, invoice.pk in hold.held,
                                                  suspended=subs if actual_deletion else [], disputed=part,
                                                  counts=max(Decimal(0), invoice.balance - part)))
    published.acknowledged = (PolicyAcknowledgement.objects.filter(customer=customer, policy=policy, policy_version=policy.version)
                              .select_related("user").order_by("-at").first())
    return published


def _subscriptions_billed(invoices) -> dict[int, set[int]]:
    """{invoice id: the subscriptions its lines bill}, for the invoices that name any."""
    from partnerdesk.billing.models import InvoiceLine

    billed: dict[int, set[int]] = {}
    for invoice_id, sub_id in InvoiceLine.objects.filter(invoice__in=[i.pk for i in invoices],
                                                         subscription__isnull=False).values_list("invoice_id",
                                                                                                 "subscription_id"):
        billed.setdefault(invoice_id, set()).add(sub_id)
    return billed
