import datetime as dt
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require
from partnerdesk.api_schemas import Amount, BusinessDate, Code, Id, Pagination, Reason
from partnerdesk.billing.queries import visible_invoices
from partnerdesk.errors import Conflict, InvalidInput

from . import engine, services
from .models import CollectionsAction, CollectionsPolicy, CollectionsRun, Dispute, OperatorRequest
from .publication import published_policy
from .queries import filter_requests

router = Router(tags=["collections"])


class StageOut(Schema):
    position: int
    name: str
    offset_days: int
    day_kind: str
    send_notice: bool
    template_key: str
    call_task: bool
    suspend: bool
    suspend_scope: str
    cancel: bool


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    is_default: bool
    min_overdue_amount: Decimal
    grace_days: int
    invoice_scope: str
    deletion_warning_days: list[int]
    wait_for_fapiao: bool  # an invoice is not dunned until its fapiao was delivered
    version: int
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj):
        return list(obj.stages.order_by("position"))


class InvoiceDatesOut(Schema):
    invoice_id: int
    number: str
    due_date: dt.date
    balance: Decimal
    reminder_date: dt.date | None
    suspension_date: dt.date | None
    deletion_date: dt.date | None
    on_hold: bool
    awaiting_fapiao: bool  # the policy waits for the fapiao, not delivered yet: no dates until it is
    disputed: Decimal  # under an open dispute: not collected while it is open
    counts: Decimal  # what collections counts: the balance less the disputed part


class PublishedOut(Schema):
    customer_id: int
    exempt: bool
    policy: PolicyOut | None
    as_of: dt.date
    invoices: list[InvoiceDatesOut]
    acknowledged_at: dt.datetime | None


class ActionOut(Schema):
    id: int
    key: str
    kind: str
    as_of: dt.date
    invoice_id: int | None
    subscription_id: int | None
    detail: dict
    created_at: dt.datetime


class ProfileIn(Schema):
    policy_id: Id | None = None
    exempt: bool = False
    reason: Reason = ""


class DisputeIn(Schema):
    reason: Reason
    amount: Amount | None = None  # up to the open balance; none disputes the whole open balance


class ResolveIn(Schema):
    resolution: Reason


class DisputedAmountIn(Schema):
    amount: Amount | None = None  # none: the whole open balance
    reason: Reason


class EndDisputeIn(Schema):
    outcome: Code  # upheld, partly_upheld, rejected, withdrawn
    resolution: Reason
    upheld_amount: Amount | None = None  # partly_upheld: how much
    credit_note_id: Id | None = None  # the credit note issued for what is upheld
    refund_id: Id | None = None  # or, for an invoice already paid, the refund of it
    resume_on: BusinessDate | None = None  # rejected or partly upheld: by default the first working day a week on


class DisputeOut(Schema):
    id: int
    invoice_id: int
    status: str
    reason: str
    resolution: str
    opened_at: dt.datetime
    amount: Decimal | None  # none: the whole open balance is disputed
    case_id: int | None
    outcome: str  # once ended: upheld, partly_upheld, rejected, withdrawn
    upheld_amount: Decimal | None
    credit_note_id: int | None
    resolved_at: dt.datetime | None
    resume_on: dt.date | None  # what was not upheld is collected again from this day (told to the customer)


class PromiseIn(Schema):
    amount: Amount
    promised_date: BusinessDate
    invoice_id: Id | None = None
    note: Reason = ""


class PromiseOut(Schema):
    id: int
    customer_id: int
    invoice_id: int | None
    amount: Decimal
    promised_date: dt.date
    status: str
    note: str


class RunIn(Schema):
    as_of: BusinessDate | None = None
    dry_run: bool = False


class CollectionsRunOut(Schema):
    """A run as recorded (GET), or as just done (POST: a dry run has no id and no times)."""

    id: int | None
    as_of: dt.date
    dry_run: bool
    status: str  # running, finished, failed, interrupted (its process died), dry_run
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    counts: dict


class PreviewOut(Schema):
    date: dt.date
    customer_id: int
    customer_name: str
    invoice_number: str
    stage: str
    actions: list[str]


class OperatorRequestOut(Schema):
    id: int
    subscription_id: int
    customer_id: int
    action: str  # suspend, reactivate
    cause: str  # inv:…:st:… (collections), payment:… (a payment), manual:USER:… (asked for by hand)
    reason: str
    reason_code: str  # by hand: the suspension reason code
    requested_by_id: int | None  # by hand: who asked
    status: str  # pending (attempts > 0: failing, retried with backoff), in_progress, done, skipped, cancelled
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    done_at: dt.datetime | None


class RetriedOut(Schema):
    retried: int


@router.get("/collections/policies", response=list[PolicyOut], summary="Collections policies")
def list_policies(request):
    require(request.user, "collections.view")
    return CollectionsPolicy.objects.order_by("-is_default", "name")


@router.get("/customers/{customer_id}/collections-policy", response=PublishedOut,
            summary="The collections policy as published to a customer, with its invoices' dates")
def customer_policy(request, customer_id: Id, as_of: BusinessDate | None = None):
    require(request.user, "collections.policy.view")
    pub = published_policy(get_customer_or_404(request.user, customer_id), as_of=as_of)
    return {"customer_id": customer_id, "exempt": pub.exempt, "policy": pub.policy, "as_of": pub.as_of,
            "acknowledged_at": pub.acknowledged.at if pub.acknowledged else None,
            "invoices": [{"invoice_id": t.invoice.pk, "number": t.invoice.number, "due_date": t.invoice.due_date,
                          "balance": t.invoice.balance, "reminder_date": t.reminder_date, "suspension_date": t.suspension_date,
                          "deletion_date": t.deletion_date, "on_hold": t.on_hold, "awaiting_fapiao": t.awaiting_fapiao,
                          "disputed": t.disputed,
                          "counts": t.counts} for t in pub.invoices]}


@router.post("/customers/{customer_id}/collections-policy/acknowledge", response={201: PublishedOut},
             summary="The customer's user acknowledges its collections policy")
def acknowledge(request, customer_id: Id):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "collections.acknowledge")
    pub = published_policy(customer)
    if pub.policy is None:
        raise InvalidInput(_("this customer is exempt from collections"), field="customer_id")
    services.acknowledge_policy(customer=customer, user=request.user, policy=pub.policy)
    return 201, customer_policy(request, customer_id)


@router.get("/customers/{customer_id}/collections/log", response=list[ActionOut], summary="The customer's collections log")
@paginate(Pagination)
def collections_log(request, customer_id: Id):
    require(request.user, "collections.view")
    return CollectionsAction.objects.filter(customer=get_customer_or_404(request.user, customer_id))


@router.put("/customers/{customer_id}/collections/profile", response=PublishedOut,
            summary="Give a customer its own policy, or exempt it")
def set_profile(request, customer_id: Id, payload: ProfileIn):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "collections.manage")
    policy = None
    if payload.policy_id is not None:
        policy = CollectionsPolicy.objects.filter(pk=payload.policy_id).first()
        if policy is None:
            raise InvalidInput(_("no such policy"), field="policy_id")
    services.set_profile(customer=customer, actor=request.user, policy=policy, exempt=payload.exempt, reason=payload.reason)
    return customer_policy(request, customer_id)


@router.post("/invoices/{invoice_id}/disputes", response={201: DisputeOut}, summary="Open a dispute: collections holds the invoice")
def open_dispute(request, invoice_id: Id, payload: DisputeIn):
    invoice = get_scoped_or_404(visible_invoices(request.user).select_related("customer"), request.user, invoice_id)
    require(request.user, "disputes.manage")
    return 201, services.open_dispute(invoice=invoice, reason=payload.reason, amount=payload.amount, actor=request.user)


@router.post("/disputes/{dispute_id}/resolve", response=DisputeOut, summary="Resolve a dispute")
def resolve_dispute(request, dispute_id: Id, payload: ResolveIn):
    dispute = get_scoped_or_404(Dispute.objects.select_related("customer"), request.user, dispute_id)
    require(request.user, "disputes.manage")
    return services.resolve_dispute(dispute, resolution=payload.resolution, actor=request.user)


@router.post("/disputes/{dispute_id}/amount", response=DisputeOut, summary="Change the amount an open dispute holds")
def change_disputed_amount(request, dispute_id: Id, payload: DisputedAmountIn):
    dispute = get_scoped_or_404(Dispute.objects.select_related("customer"), request.user, dispute_id)
    require(request.user, "disputes.manage")
    return services.change_disputed_amount(dispute, amount=payload.amount, reason=payload.reason, actor=request.user)


@router.post("/disputes/{dispute_id}/end", response=DisputeOut,
             summary="End a dispute: upheld (in full or in part), rejected (collections resumes on a stated day) or withdrawn")
def end_dispute(request, dispute_id: Id, payload: EndDisputeIn):
    from partnerdesk.billing.models import CreditNote, Refund

    dispute = get_scoped_or_404(Dispute.objects.select_related("customer"), request.user, dispute_id)
    require(request.user, "disputes.manage")
    credit_note = None
    if payload.credit_note_id is not None:
        credit_note = CreditNote.objects.filter(pk=payload.credit_note_id, invoice_id=dispute.invoice_id).first()
        if credit_note is None:
            raise InvalidInput(_("no such credit note for the disputed invoice"), field="credit_note_id")
    refund = None
    if payload.refund_id is not None:
        refund = Refund.objects.filter(pk=payload.refund_id, customer_id=dispute.customer_id).first()
        if refund is None:
            raise InvalidInput(_("no such refund to this customer"), field="refund_id")
    return services.end_dispute(dispute, outcome=payload.outcome, resolution=payload.resolution,
                                upheld_amount=payload.upheld_amount, credit_note=credit_note, refund=refund,
                                resume_on=payload.resume_on, actor=request.user)


@router.post("/customers/{customer_id}/promises", response={201: PromiseOut}, summary="Record a promise to pay")
def add_promise(request, customer_id: Id, payload: PromiseIn):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "collections.manage")
    invoice = None
    if payload.invoice_id is not None:
        invoice = visible_invoices(request.user).filter(pk=payload.invoice_id, customer=customer).first()
        if invoice is None:
            raise InvalidInput(_("no such invoice for this customer"), field="invoice_id")
    return 201, services.add_promise(customer=customer, amount=payload.amount, promised_date=payload.promised_date,
                                     invoice=invoice, note=payload.note, actor=request.user)


@router.get("/collections/preview", response=list[PreviewOut], summary="What the next days' runs will do")
def preview(request, days: int = 7, customer_id: Id | None = None, as_of: BusinessDate | None = None):
    require(request.user, "collections.view")
    if not 1 <= days <= 60:
        raise InvalidInput(_("days must be between 1 and 60"), field="days")
    customer_ids = [get_customer_or_404(request.user, customer_id).pk] if customer_id else None
    return engine.preview(as_of or timezone.localdate(), days, customer_ids=customer_ids)


@router.post("/collections/runs", response=CollectionsRunOut,
             summary="Run collections now (each due action exactly once); 409 while another run holds the lease")
def run(request, payload: RunIn):
    require(request.user, "collections.manage")
    if payload.as_of is not None and payload.as_of > timezone.localdate() and not payload.dry_run:
        # A future day would make every later stage due at once, suspensions included; preview it instead.
        raise InvalidInput(_("a collections run cannot be for a future day (use dry_run or the preview)"), field="as_of")
    result = engine.run_collections(payload.as_of, dry_run=payload.dry_run)
    if result.status == "busy":
        since = timezone.localtime(result.held_since).strftime("%Y-%m-%d %H:%M:%S") if result.held_since else "?"
        raise Conflict(_("another collections run is in progress (held by %(holder)s since %(since)s); nothing was done"),
                       field="as_of", code="run_in_progress", holder=result.held_by, since=since)
    if result.run_id:
        return CollectionsRun.objects.get(pk=result.run_id)
    return {"id": None, "as_of": result.as_of, "dry_run": payload.dry_run, "status": result.status, "started_at": None,
            "finished_at": None, "last_seen_at": None, "counts": result.counts}


@router.get("/collections/runs", response=list[CollectionsRunOut], summary="Past collections runs")
@paginate(Pagination)
def list_runs(request):
    require(request.user, "collections.view")
    engine.mark_interrupted_runs()  # a run whose process died shows as interrupted, not running for ever
    return CollectionsRun.objects.all()


@router.get("/collections/operator-requests", response=list[OperatorRequestOut],
            summary="Suspensions and reactivations queued for the operator (failures are retried)")
@paginate(Pagination)
def operator_requests(request, status: Code | None = None, action: Code | None = None, customer_id: Id | None = None,
                      cause: Code | None = None):
    """Newest first; `cause` is manual (asked for by hand) or collections (the runs and payments)."""
    require(request.user, "collections.view")
    return filter_requests(OperatorRequest.objects.order_by("-id"), status=status, action=action,
                           customer=get_customer_or_404(request.user, customer_id) if customer_id else None, cause=cause)


@router.post("/collections/operator-requests/retry", response=RetriedOut,
             summary="Try the requests that failed at the operator again now (after an outage)")
def retry_requests(request, customer_id: Id | None = None):
    require(request.user, "collections.manage")
    customer = get_customer_or_404(request.user, customer_id) if customer_id is not None else None
    return {"retried": services.retry_failing_requests_now(actor=request.user, customer=customer)}


@router.post("/collections/operator-requests/process", summary="Carry out due operator requests now")
def process_requests(request):
    require(request.user, "collections.manage")
    return services.process_operator_requests()


# After the routes under /collections/operator-requests/ with their own names (process, retry), which it would match.
@router.get("/collections/operator-requests/{request_id}", response=OperatorRequestOut,
            summary="One operator request (a 202 from suspend or reactivate names it)")
def operator_request(request, request_id: Id):
    require(request.user, "collections.view")
    return get_scoped_or_404(OperatorRequest.objects.all(), request.user, request_id)
