"""The re-billing API: reconciliation files (list, lines, upload, replace), unmatched lines and their mapping,
price rules, and a period's draft invoices (generate, list, adjust, issue in bulk).

Staff only: rebilling.view reads, rebilling.manage changes; a customer's user gets 403 on every route (its
issued invoices are in the invoice API and the portal). A bad file is a 400 naming the file, row and column.
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Router, Schema, UploadedFile
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_customer_or_404, require
from partnerdesk.api_schemas import BusinessDate, Code, Id, Pagination, Reason, SignedAmount, Text
from partnerdesk.billing.models import Invoice, InvoiceLine
from partnerdesk.customers.models import Subscription
from partnerdesk.errors import InvalidInput
from partnerdesk.payables.services import OperatorInvoiceInput

from . import drafts, importer, matching, pricing
from .models import PriceRule, ReconFile, ReconLine

router = Router(tags=["rebilling"])

MAX_IDS = 20000  # invoices or customers named in one request: a period's worth


# --- files ----------------------------------------------------------------------------------------------


class ReconFileOut(Schema):
    id: int
    operator_invoice_id: int
    operator_invoice_number: str
    period_start: dt.date
    period_end: dt.date
    kind: str  # license or usage
    filename: str
    sha256: str
    size: int
    row_count: int
    charges: Decimal
    tax: Decimal
    total: Decimal
    status: str  # active or replaced
    replaced_by_id: int | None
    replace_reason: str
    imported_by: str
    imported_at: dt.datetime
    matched: int
    unmatched: int

    @staticmethod
    def resolve_operator_invoice_number(obj):
        return obj.operator_invoice.number

    @staticmethod
    def resolve_period_start(obj):
        return obj.operator_invoice.period_start

    @staticmethod
    def resolve_period_end(obj):
        return obj.operator_invoice.period_end

    @staticmethod
    def resolve_imported_by(obj):
        return obj.imported_by.get_username() if obj.imported_by else ""

    @staticmethod
    def resolve_unmatched(obj):
        return _unmatched(obj)

    @staticmethod
    def resolve_matched(obj):
        return obj.row_count - _unmatched(obj)


class ReconImportOut(Schema):
    duplicate: bool  # true: nothing changed, `file` is the file imported before
    rows: int
    matched: int
    unmatched: int
    file: ReconFileOut


class ReconUploadIn(Schema):
    invoice_number: Text(40, min_length=1)
    billing_date: BusinessDate
    period_start: BusinessDate
    period_end: BusinessDate
    total: SignedAmount  # the operator invoice's total (a file of credits may total below zero)
    currency: Code = "CNY"
    kind: Code | None = None  # license or usage; told by the header if left out


class ReconReplaceIn(Schema):
    reason: Text(2000, min_length=1)


class ReconLineOut(Schema):
    id: int
    row_number: int
    kind: str
    customer_ref: str
    domain: str
    customer_name: str
    subscription_ref: str
    billing_subscription_ref: str
    product: str
    product_name: str
    service: str
    region: str
    charge_type: str
    charge_start: dt.date
    charge_end: dt.date
    usage_date: dt.date | None
    quantity: Decimal
    unit_price: Decimal
    charges: Decimal
    tax: Decimal
    total: Decimal
    customer_id: int | None
    subscription_id: int | None
    match_method: str
    invoice_line_id: int | None
    invoice_id: int | None


def _files():
    unmatched = (ReconLine.objects.filter(file=OuterRef("pk"), customer__isnull=True).order_by()
                 .values("file").annotate(n=Count("id")).values("n"))
    return (ReconFile.objects.select_related("operator_invoice", "imported_by")
            .annotate(unmatched_count=Coalesce(Subquery(unmatched, output_field=IntegerField()), Value(0))))


def _unmatched(f: ReconFile) -> int:
    unmatched = getattr(f, "unmatched_count", None)
    if unmatched is None:
        unmatched = f.unmatched_count = ReconLine.objects.filter(file=f, customer__isnull=True).count()
    return unmatched


def _import_out(result) -> dict:
    return {"duplicate": result.duplicate, "rows": result.rows, "matched": result.matched,
            "unmatched": result.unmatched, "file": _files().get(pk=result.file.pk)}


@router.get("/rebilling/files", response=list[ReconFileOut], summary="Reconciliation files, newest first")
@paginate(Pagination)
def list_files(request, status: Code | None = None, kind: Code | None = None, operator_invoice_id: Id | None = None):
    require(request.user, "rebilling.view")
    files = _files()
    if status:
        files = files.filter(status=status)
    if kind:
        files = files.filter(kind=kind)
    if operator_invoice_id:
        files = files.filter(operator_invoice_id=operator_invoice_id)
    return files


@router.get("/rebilling/files/{file_id}", response=ReconFileOut, summary="One reconciliation file with its counts")
def get_file(request, file_id: Id):
    require(request.user, "rebilling.view")
    return get_object_or_404(_files(), pk=file_id)


@router.get("/rebilling/files/{file_id}/lines", response=list[ReconLineOut],
            summary="A file's lines in row order (matched=false: the unmatched ones only)")
@paginate(Pagination)
def list_lines(request, file_id: Id, matched: bool | None = None):
    require(request.user, "rebilling.view")
    recon_file = get_object_or_404(ReconFile, pk=file_id)
    lines = ReconLine.objects.filter(file=recon_file).order_by("row_number")
    if matched is not None:
        lines = lines.filter(customer__isnull=not matched)
    return lines.annotate(invoice_id=F("invoice_line__invoice_id"))


@router.post("/rebilling/files", response={200: ReconImportOut, 201: ReconImportOut},
             summary="Upload a reconciliation file (multipart) for its operator invoice",
             description="Imported whole or not at all: a bad row is a 400 whose detail, file, row and column name "
                         "it. The same file again (or a second file of that kind for the invoice) changes nothing: "
                         "200 with duplicate=true. The operator invoice is recorded if new (same number, same "
                         "figures: the one recorded).")
def upload_file(request, payload: Form[ReconUploadIn], file: File[UploadedFile]):
    require(request.user, "rebilling.manage")
    invoice = OperatorInvoiceInput(number=payload.invoice_number, billing_date=payload.billing_date,
                                   period_start=payload.period_start, period_end=payload.period_end,
                                   amount=Decimal(payload.total), currency=payload.currency)
    result = importer.import_file(file, operator_invoice=invoice, actor=request.user, filename=file.name,
                                  kind=payload.kind or None)
    return (200 if result.duplicate else 201), _import_out(result)


@router.post("/rebilling/files/{file_id}/replace", response={200: ReconImportOut, 201: ReconImportOut},
             summary="Replace a file with the operator's corrected one (multipart: file and reason); audited",
             description="Refused (409) while a line of the old file is billed on an issued invoice.")
def replace_file(request, file_id: Id, payload: Form[ReconReplaceIn], file: File[UploadedFile]):
    require(request.user, "rebilling.manage")
    old = get_object_or_404(ReconFile.objects.select_related("operator_invoice"), pk=file_id)
    result = importer.import_file(file, operator_invoice=old.operator_invoice, actor=request.user,
                                  filename=file.name, kind=old.kind, replace=True, reason=payload.reason)
    return (200 if result.duplicate else 201), _import_out(result)


# --- matching -------------------------------------------------------------------------------------------


class ReconUnmatchedGroupOut(Schema):
    key_kind: str  # subscription, customer_id or domain: what a mapping of this group remembers
    key: str
    customer_name: str
    domain: str
    line_count: int
    charges: Decimal


class ReconMappingIn(Schema):
    key_kind: Code
    key: Text(253, min_length=1)
    customer_id: Id
    subscription_id: Id | None = None
    reason: Reason = ""


class ReconMatchOut(Schema):
    matched: int  # lines this call matched
    unmatched: int  # lines of active files still unmatched


@router.get("/rebilling/unmatched", response=list[ReconUnmatchedGroupOut],
            summary="Unmatched lines of active files, one group per key an agent can map, most charges first")
@paginate(Pagination)
def list_unmatched(request):
    require(request.user, "rebilling.view")
    return [g.__dict__ for g in matching.unmatched_groups()]


@router.post("/rebilling/mappings", response=ReconMatchOut,
             summary="Map a key (subscription number, billing subscription id, tenant id or domain) to a customer",
             description="Remembered for the next files, and applied at once to every unmatched line with that key.")
def map_key(request, payload: ReconMappingIn):
    require(request.user, "rebilling.manage")
    customer = get_customer_or_404(request.user, payload.customer_id)
    subscription = None
    if payload.subscription_id is not None:
        subscription = Subscription.objects.filter(pk=payload.subscription_id).first()
        if subscription is None:
            raise InvalidInput(_("No such subscription."), field="subscription_id")
    summary = matching.map_key(key_kind=payload.key_kind, key=payload.key, customer=customer,
                               subscription=subscription, actor=request.user, reason=payload.reason)
    return summary.__dict__


# --- price rules ----------------------------------------------------------------------------------------


class PriceRuleIn(Schema):
    customer_id: Id | None = None  # none: the default for every customer
    product: Text(100) = ""  # the offer (license) or meter (usage); empty: all
    kind: Code  # pass_through, markup, discount or fixed
    percent: Text(20) | None = None  # markup or discount, e.g. "8.5"
    unit_price: Text(30) | None = None  # fixed, e.g. "30.00"
    rounding: Code = "half_up"  # half_up, half_even, up or down
    note: Text(200) = ""


class PriceRulePatch(Schema):
    kind: Code | None = None
    percent: Text(20) | None = None
    unit_price: Text(30) | None = None
    rounding: Code | None = None
    note: Text(200) | None = None


class PriceRuleOut(Schema):
    id: int
    customer_id: int | None
    customer_name: str
    product: str
    kind: str
    percent: Decimal | None
    unit_price: Decimal | None
    rounding: str
    note: str
    created_at: dt.datetime


def rule_out(rule: PriceRule) -> dict:
    return {**{name: getattr(rule, name) for name in ("id", "customer_id", "product", "kind", "percent", "unit_price",
                                                      "rounding", "note", "created_at")},
            "customer_name": rule.customer.name if rule.customer_id else ""}


def _rule(request, rule_id: int, permission: str) -> PriceRule:
    require(request.user, permission)
    return get_object_or_404(PriceRule.objects.select_related("customer"), pk=rule_id)


@router.get("/rebilling/price-rules", response=list[PriceRuleOut], summary="Price rules (defaults first)")
def list_price_rules(request, customer_id: Id | None = None):
    require(request.user, "rebilling.view")
    rules = PriceRule.objects.select_related("customer").order_by("customer__name_sort", "customer_id", "product", "id")
    if customer_id is not None:
        rules = rules.filter(customer_id=customer_id)
    return [rule_out(r) for r in rules]


@router.post("/rebilling/price-rules", response=PriceRuleOut,
             summary="Set the price rule of a customer (or the default) for an offer or meter (or all): created or "
                     "changed")
def set_price_rule(request, payload: PriceRuleIn):
    require(request.user, "rebilling.manage")
    customer = get_customer_or_404(request.user, payload.customer_id) if payload.customer_id else None
    rule = pricing.set_price_rule(customer=customer, product=payload.product, kind=payload.kind,
                                  percent=payload.percent, unit_price=payload.unit_price, rounding=payload.rounding,
                                  note=payload.note, actor=request.user)
    return rule_out(rule)


@router.get("/rebilling/price-rules/{rule_id}", response=PriceRuleOut, summary="One price rule")
def get_price_rule(request, rule_id: Id):
    return rule_out(_rule(request, rule_id, "rebilling.view"))


@router.patch("/rebilling/price-rules/{rule_id}", response=PriceRuleOut, summary="Change a price rule")
def update_price_rule(request, rule_id: Id, payload: PriceRulePatch):
    rule = _rule(request, rule_id, "rebilling.manage")
    changes = payload.dict(exclude_unset=True)
    kind = changes.get("kind") or rule.kind
    rule = pricing.set_price_rule(
        customer=rule.customer, product=rule.product, kind=kind,
        percent=changes["percent"] if "percent" in changes else rule.percent,
        unit_price=changes["unit_price"] if "unit_price" in changes else rule.unit_price,
        rounding=changes.get("rounding") or rule.rounding,
        note=changes["note"] if changes.get("note") is not None else rule.note, actor=request.user)
    return rule_out(rule)


@router.delete("/rebilling/price-rules/{rule_id}", response={204: None}, summary="Delete a price rule")
def delete_price_rule(request, rule_id: Id):
    rule = _rule(request, rule_id, "rebilling.manage")
    pricing.delete_price_rule(rule, actor=request.user)
    return 204, None


# --- a period's drafts ----------------------------------------------------------------------------------


class RebillingGenerateIn(Schema):
    customer_ids: list[Id] | None = Field(None, max_length=MAX_IDS)  # only these customers (all if left out)


class RebillingGenerateOut(Schema):
    period: dt.date
    created: int
    updated: int
    lines_billed: int
    amount: Decimal  # priced, before tax
    tax: Decimal


class RebillingDraftOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    status: str
    number: str | None
    currency: str
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    line_count: int

    @staticmethod
    def resolve_customer_name(obj):
        return obj.customer.name

    @staticmethod
    def resolve_line_count(obj):
        count = getattr(obj, "line_count", None)
        return count if count is not None else obj.lines.count()


class RebillingDraftLineOut(Schema):
    id: int
    description: str
    subscription_id: int | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    recon_line_count: int  # the operator lines it bills (0: an adjustment)
    adjustment_reason: str | None


class RebillingDraftDetailOut(RebillingDraftOut):
    period: dt.date
    lines: list[RebillingDraftLineOut]

    @staticmethod
    def resolve_period(obj):
        return obj.rebilling.period

    @staticmethod
    def resolve_lines(obj):
        lines = (InvoiceLine.objects.filter(invoice=obj).select_related("adjustment")
                 .annotate(recon_line_count=Count("recon_lines")).order_by("id"))
        return [line_out(x) for x in lines]


def line_out(line: InvoiceLine) -> dict:
    adjustment = getattr(line, "adjustment", None) if hasattr(line, "adjustment") else None
    return {**{n: getattr(line, n) for n in ("id", "description", "subscription_id", "quantity", "unit_price", "amount",
                                              "tax_rate", "tax")},
            "recon_line_count": getattr(line, "recon_line_count", 0),
            "adjustment_reason": adjustment.reason if adjustment is not None else None}


class RebillingAdjustmentIn(Schema):
    description: Text(300, min_length=1)
    amount: SignedAmount  # negative: a reduction
    reason: Text(2000, min_length=1)
    tax_rate: Text(8) | None = None  # e.g. "0.06"; the draft's main rate if left out


class RebillingIssueIn(Schema):
    invoice_ids: list[Id] | None = Field(None, max_length=MAX_IDS)  # these drafts of the period (all if left out)
    issue_date: BusinessDate | None = None


class RebillingIssuedOut(Schema):
    id: int
    customer_id: int
    number: str
    total: Decimal
    due_date: dt.date


class RebillingIssueOut(Schema):
    issued: list[RebillingIssuedOut]
    skipped: list[int]  # named drafts left as they are (already issued, or a total not above zero)


@router.post("/rebilling/periods/{period}/generate", response=RebillingGenerateOut,
             summary="Generate the period's draft invoices from its matched, unbilled operator lines",
             description="The period is its first day (2026-11-01); any day names its month. A second run bills "
                         "nothing again; new lines join the customer's draft for the period.")
def generate(request, period: BusinessDate, payload: RebillingGenerateIn | None = None):
    require(request.user, "rebilling.manage")
    period = drafts.month_start(period)
    ids = payload.customer_ids if payload is not None else None
    result = drafts.generate_drafts(period, actor=request.user, customer_ids=ids)
    return {"period": period, "created": result.created, "updated": result.updated,
            "lines_billed": result.lines_billed, "amount": result.amount, "tax": result.tax}


@router.get("/rebilling/periods/{period}/drafts", response=list[RebillingDraftOut], summary="The period's draft invoices")
@paginate(Pagination)
def list_drafts(request, period: BusinessDate):
    require(request.user, "rebilling.view")
    return drafts.period_drafts(period)


@router.get("/rebilling/drafts/{invoice_id}", response=RebillingDraftDetailOut,
            summary="A generated invoice with its lines and, per line, the operator lines it bills")
def get_draft(request, invoice_id: Id):
    require(request.user, "rebilling.view")
    return get_object_or_404(Invoice.objects.select_related("customer", "rebilling").annotate(line_count=Count("lines")),
                             pk=invoice_id, rebilling__isnull=False)


@router.post("/rebilling/drafts/{invoice_id}/adjustments", response={201: RebillingDraftLineOut},
             summary="Add an adjustment line to a draft (its own audited line, with the reason)")
def add_adjustment(request, invoice_id: Id, payload: RebillingAdjustmentIn):
    require(request.user, "rebilling.manage")
    invoice = get_object_or_404(Invoice, pk=invoice_id, rebilling__isnull=False)
    rate = None
    if payload.tax_rate is not None:
        try:
            rate = Decimal(payload.tax_rate)
        except ArithmeticError:
            raise InvalidInput(_("tax rate must be between 0 and 1"), field="tax_rate") from None
    line = drafts.add_adjustment(invoice, description=payload.description, amount=payload.amount,
                                 reason=payload.reason, actor=request.user, tax_rate=rate)
    return 201, line_out(line)


@router.post("/rebilling/periods/{period}/issue", response=RebillingIssueOut,
             summary="Issue the period's drafts in bulk (ledger numbers; each emailed with its PDF)",
             description="Only drafts of the period are issued; a second call issues nothing again.")
def issue(request, period: BusinessDate, payload: RebillingIssueIn):
    require(request.user, "rebilling.manage")
    candidates = drafts.period_drafts(period)
    if payload.invoice_ids is not None:
        wanted = set(payload.invoice_ids)
        candidates = candidates.filter(pk__in=wanted)
    else:
        wanted = None
    issued = drafts.issue_drafts(list(candidates.values_list("pk", flat=True)), actor=request.user,
                                 issue_date=payload.issue_date)
    done = {inv.pk for inv in issued}
    skipped = sorted((wanted or set()) - done)
    return {"issued": [{"id": inv.pk, "customer_id": inv.customer_id, "number": inv.number, "total": inv.total,
                        "due_date": inv.due_date} for inv in issued], "skipped": skipped}

