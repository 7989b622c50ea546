"""What the collections section of a customer's page shows: the published policy's timeline of each open
invoice, disputes, promises, calls, operator requests and emails. The customer page builds it; the
collections views that handle its forms render that page again."""

from dataclasses import dataclass, field

from django.apps import apps
from django.utils import timezone

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.billing.models import OPEN_STATUSES, Invoice
from partnerdesk.dunning import engine
from partnerdesk.dunning.models import (
    CallTask,
    CollectionsAction,
    CollectionsPolicy,
    CollectionsProfile,
    Dispute,
    HoldStatus,
    OperatorRequest,
    PromiseToPay,
    RequestStatus,
)
from partnerdesk.dunning.publication import published_policy

from ..forms import CallDoneForm, CollectionsProfileForm, DisputeForm, PromiseForm, ResolveDisputeForm

LOG_ROWS = 50
EMAIL_ROWS = 30


def emails_installed() -> bool:
    """The email app is a separate piece; its pages and sections appear once it is installed."""
    return apps.is_installed("partnerdesk.notifications")


@dataclass
class CallGroup:
    """One phone call to make: a customer's open call tasks of a day, one per invoice, done with one form."""

    customer: object
    due_on: object
    calls: list = field(default_factory=list)
    done_form: object = None

    @property
    def key(self) -> str:
        return f"{self.customer.pk}-{self.due_on:%Y%m%d}"

    @property
    def invoices(self) -> list:
        return [c.invoice for c in self.calls if c.invoice_id]


def call_groups(calls, bound_form=None, bound_for=None, limit=None) -> list[CallGroup]:
    """The open calls as one call per customer and day, each with its "mark done" form (the one just
    submitted, with its errors, if any), in the order of their first call."""
    groups: dict[tuple, CallGroup] = {}
    for call in calls:
        key = (call.customer_id, call.due_on)
        if key not in groups:
            if limit is not None and len(groups) >= limit:
                continue
            groups[key] = CallGroup(call.customer, call.due_on)
        groups[key].calls.append(call)
    for group in groups.values():
        group.done_form = (bound_form if bound_for == group.key and bound_form is not None
                           else CallDoneForm(prefix=f"calls-{group.key}"))
    return list(groups.values())


def open_invoices_of(customer):
    return Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES).order_by("due_date", "id")


def _invoice_rows(published):
    """Each open invoice with the stage it has reached and the next step, from the published policy."""
    rows = []
    for timeline in published.invoices:
        reached = timeline.invoice.collections_stage
        done = next((d for d in reversed(timeline.stages) if d.stage.position <= reached), None) if reached else None
        # The next run acts on the furthest stage already due (and the calls and suspensions of the stages it
        # skips); if none is due, the next step is the first stage still ahead.
        due = [d for d in timeline.stages if d.stage.position > reached and d.passed]
        upcoming = due[-1] if due else next((d for d in timeline.stages if d.stage.position > reached), None)
        rows.append({"timeline": timeline, "reached": done, "next": upcoming})
    return rows


def _add_deletion_warnings(customer, invoice_rows, today) -> None:
    """After an invoice's last stage, what still comes: the next data-deletion warning of the invoice's own
    suspended subscriptions (each invoice its own: two subscriptions suspended on different days are warned on
    different days). Looked up only if an invoice is there."""
    waiting = [row for row in invoice_rows if row["next"] is None and row["timeline"].suspended]
    for row in invoice_rows:
        row["deletion_warning"] = None
    if not waiting:
        return
    warnings = engine.preview_deletion_warnings(today, 61, customer_ids=[customer.pk])  # by date
    for row in waiting:
        own = {sub.pk for sub in row["timeline"].suspended}
        row["deletion_warning"] = next((w for w in warnings if w.subscription_id in own), None)


def _disputes(customer, bound_form=None, bound_for=None) -> list:
    """The customer's disputes, newest first; each open one carries its resolve form."""
    disputes = list(Dispute.objects.filter(customer=customer).select_related("invoice").order_by("-opened_at", "-id"))
    for dispute in disputes:
        # One of a support case is decided in the case, where the customer is told: no resolve form here.
        if dispute.status == HoldStatus.OPEN and dispute.case_id is None:
            dispute.resolve_form = (bound_form if bound_for == dispute.pk and bound_form is not None
                                    else ResolveDisputeForm(prefix=f"resolve-{dispute.pk}"))
    return disputes


def customer_collections_context(request, customer, **bound) -> dict:
    """What the collections section of the customer page shows. `bound` replaces a form with the one
    just submitted (with its errors); `resolve_for` names the dispute whose resolve form that is."""
    user = request.user
    if not has_perm(user, "collections.view"):
        return {"collections": None}
    today = timezone.localdate()
    published = published_policy(customer, as_of=today)
    profile = CollectionsProfile.objects.filter(customer=customer).select_related("policy").first()
    open_invoices = open_invoices_of(customer)
    undisputed = open_invoices.exclude(disputes__status=HoldStatus.OPEN)
    policies = CollectionsPolicy.objects.order_by("-is_default", "name")
    if profile is None or (not profile.exempt and profile.policy_id is None):
        mode = CollectionsProfileForm.DEFAULT
    else:
        mode = CollectionsProfileForm.EXEMPT if profile.exempt else CollectionsProfileForm.OWN
    invoice_rows = _invoice_rows(published)
    _add_deletion_warnings(customer, invoice_rows, today)
    section = {
        "published": published,
        "profile": profile,
        "invoice_rows": invoice_rows,
        "log": (CollectionsAction.objects.filter(customer=customer)
                .select_related("invoice", "subscription", "stage")[:LOG_ROWS]),
        "disputes": _disputes(customer, bound.get("resolve_form"), bound.get("resolve_for")),
        "promises": PromiseToPay.objects.filter(customer=customer).select_related("invoice").order_by("-created_at", "-id"),
        "requests": (OperatorRequest.objects.filter(customer=customer, status__in=[RequestStatus.PENDING,
                                                                                     RequestStatus.IN_PROGRESS])
                     .select_related("subscription").order_by("id")),
        "calls": call_groups(CallTask.objects.filter(customer=customer, done_at__isnull=True)
                              .select_related("customer", "invoice").order_by("due_on", "id"),
                              bound.get("call_form"), bound.get("call_for")),
        "emails": None,
        "dispute_form": bound.get("dispute_form") or DisputeForm(invoices=undisputed, prefix="dispute"),
        "promise_form": bound.get("promise_form") or PromiseForm(invoices=open_invoices, prefix="promise", today=today),
        "profile_form": bound.get("profile_form") or CollectionsProfileForm(
            policies=policies, prefix="profile",
            initial={"mode": mode, "policy": profile.policy_id if profile else None,
                     "reason": profile.exempt_reason if profile else ""}),
        "has_undisputed": undisputed.exists(),
    }
    if emails_installed():
        from partnerdesk.notifications.models import OutboundEmail

        section["emails"] = OutboundEmail.objects.filter(customer=customer).order_by("-queued_at", "-id")[:EMAIL_ROWS]
    return {"collections": section}
