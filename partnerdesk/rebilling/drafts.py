"""Draft customer invoices from the operator's lines of a billing period, their adjustments and their issue
(issue 15, item 3).

A period P (the first day of a month) bills the matched, unbilled lines of active files whose operator invoice's
period starts in month P. Each customer gets one draft per period (its existing draft is reused, never a
second): each license line its own invoice line (offer, charge type, charge period, quantity), usage summed per
subscription and service. A reconciliation line points at the invoice line that bills it, set in the
transaction that writes that line and only where it is still unbilled, so a second run bills nothing again.

Generation is set-based for 20,000 customers: customers are taken in chunks of a few thousand, each chunk in its
own transaction; their lines are read with one query, their invoices, period records and invoice lines written
with a few multi-row INSERTs, the reconciliation lines claimed with one UPDATE ... FROM a list of pairs
(bulk.py), and the audit entries (one per draft) written in one INSERT per chunk (audit.batched).
"""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from partnerdesk import bounds
from partnerdesk.audit.services import batched, record, snapshot
from partnerdesk.billing.models import Invoice, InvoiceLine, InvoiceStatus
from partnerdesk.billing.money import ZERO, to_money
from partnerdesk.billing.services import issue_invoice, parse_amount
from partnerdesk.customers.models import DJANGO_LANGUAGE, Customer
from partnerdesk.errors import Conflict, InvalidInput, status_word

from .bulk import Line, claim_lines, insert_rows, read_lines
from .models import Adjustment, FileKind, FileStatus, PeriodInvoice, ReconLine
from .pricing import PriceBook, price

CHUNK = 2000  # customers per transaction: bounded memory, short locks
QUANTITY = Decimal("0.0001")  # InvoiceLine.quantity's places
# China's VAT and levy rates: a line's rate is read from its rounded tax, so a tiny line's 0.01 on 0.17 is 6%.
VAT_RATES = (Decimal("0"), Decimal("0.01"), Decimal("0.03"), Decimal("0.05"), Decimal("0.06"), Decimal("0.09"),
             Decimal("0.13"))
DEFAULT_RATE = Decimal("0.06")  # a line with no charges carries no rate of its own: the operator's usual one
INVOICE_TOTALS = ["subtotal", "tax_total", "total", "balance"]


def _ct(word):
    return pgettext_lazy("charge type", word)


# Partner Center's charge types, by their letters only ("Prorate fees when cancel" = "prorateFeesWhenCancel").
CHARGE_TYPES = {
    "new": _ct("new"), "purchase": _ct("new"), "purchasefee": _ct("new"), "newfee": _ct("new"),
    "activation": _ct("new"), "activationfee": _ct("new"),
    "renew": _ct("renewal"), "renewal": _ct("renewal"), "renewfee": _ct("renewal"),
    "cyclefee": _ct("monthly charge"), "cyclecharge": _ct("monthly charge"), "recurring": _ct("monthly charge"),
    "proratefees": _ct("prorated charge"), "proratefeeswhenpurchase": _ct("prorated charge"),
    "proratefeewhenpurchase": _ct("prorated charge"), "proratefeeswhenconvert": _ct("prorated charge"),
    "proratefeewhenconvert": _ct("prorated charge"), "proration": _ct("prorated charge"),
    "cycleinstanceprorate": _ct("prorated charge"), "cancelinstanceprorate": _ct("cancellation credit"),
    "proratefeeswhencancel": _ct("cancellation credit"), "proratefeewhencancel": _ct("cancellation credit"),
    "cancel": _ct("cancellation credit"), "cancelimmediate": _ct("cancellation credit"),
    "cancellation": _ct("cancellation credit"), "refund": _ct("refund"), "refundfee": _ct("refund"),
    "credit": _ct("credit"),
}
LICENSE_LINE = _("%(offer)s (%(charge)s), %(start)s to %(end)s")
USAGE_LINE = _("%(service)s usage, %(start)s to %(end)s")


@dataclass
class GenerateResult:
    """What one generation did: drafts created and updated, reconciliation lines billed, their priced amount
    (before tax) and tax."""

    created: int = 0
    updated: int = 0
    lines_billed: int = 0
    amount: Decimal = ZERO
    tax: Decimal = ZERO
    invoice_ids: list = field(default_factory=list)


def month_start(period) -> dt.date:
    """The period a date falls in: the first day of its month."""
    if isinstance(period, dt.datetime) or not isinstance(period, dt.date):
        raise InvalidInput(_("Give the billing period as a date such as 2026-11-01."), field="period")
    bounds.check_date(period, field="period")
    return period.replace(day=1)


def _next_month(period: dt.date) -> dt.date:
    return (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def period_lines(period: dt.date):
    """The lines of a period: of active files whose operator invoice's period starts in that month."""
    period = month_start(period)
    return ReconLine.objects.filter(file__status=FileStatus.ACTIVE,
                                    file__operator_invoice__period_start__gte=period,
                                    file__operator_invoice__period_start__lt=_next_month(period))


def billable_lines(period: dt.date, customer_ids=None):
    """The matched lines of the period not billed yet."""
    lines = period_lines(period).filter(customer__isnull=False, invoice_line__isnull=True)
    if customer_ids is not None:
        lines = lines.filter(customer_id__in=list(customer_ids))
    return lines


def period_drafts(period):
    """The period's draft invoices (not yet issued), with their line counts, by customer."""
    period = month_start(period)
    return (Invoice.objects.filter(rebilling__period=period, status=InvoiceStatus.DRAFT)
            .select_related("customer").annotate(line_count=Count("lines"))
            .order_by("customer__name_sort", "customer__name", "id"))


def period_invoices(period):
    """Every invoice generated for the period, drafts and issued."""
    period = month_start(period)
    return Invoice.objects.filter(rebilling__period=period).select_related("customer").order_by("customer__name_sort", "id")


# --- generation ---------------------------------------------------------------------------------------


def vat_rate(charges: Decimal, tax: Decimal) -> Decimal:
    """The VAT rate the operator applied to a line: the known rate nearest its tax / charges."""
    if not charges:
        return DEFAULT_RATE
    ratio = abs(tax / charges)
    return min(VAT_RATES, key=lambda rate: abs(rate - ratio))


def vat_on(amount: Decimal, rate: Decimal) -> Decimal:
    """VAT on an amount at a rate, to the fen (half up)."""
    return (amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Texts:
    """The words of invoice lines in one customer language, translated once per run."""

    def __init__(self, language: str):
        with translation.override(DJANGO_LANGUAGE.get(language, "zh-hans")):
            self.license = str(LICENSE_LINE)
            self.usage = str(USAGE_LINE)
            self.charge_types = {key: str(label) for key, label in CHARGE_TYPES.items()}
            self.credit = pgettext("charge type", "credit")
            self.charge = pgettext("charge type", "charge")

    def charge_label(self, charge_type: str, charges: Decimal) -> str:
        known = self.charge_types.get(re.sub(r"[^a-z]", "", (charge_type or "").lower()))
        if known is not None:
            return known
        return charge_type or (self.credit if charges < 0 else self.charge)


class _Draft:
    """One customer's invoice being written in this run: new, or its existing draft for the period."""

    def __init__(self, customer: Customer, invoice_id: int | None):
        self.customer = customer
        self.invoice_id = invoice_id
        self.created = invoice_id is None
        # each invoice line as (subscription_id, description, quantity, unit_price, amount, tax_rate, tax), and the
        # reconciliation lines it bills
        self.lines: list[tuple[tuple, list[int]]] = []

    @property
    def amount(self) -> Decimal:
        return sum((line[4] for line, _ids in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((line[6] for line, _ids in self.lines), ZERO)


def _build_lines(draft: _Draft, rows: list[Line], book: PriceBook, texts: _Texts) -> None:
    """Price one customer's rows into invoice lines (not written yet)."""
    usage: dict[tuple, list] = defaultdict(list)
    for row in rows:
        if row.kind == FileKind.USAGE:
            usage[(row.subscription_id, row.service or row.product_name or row.product)].append(row)
            continue
        unit, amount = price(row, book.rule_for(row.customer_id, row.product))
        rate = vat_rate(row.charges, row.tax)
        text = texts.license % {"offer": (row.product_name or row.product)[:200],
                                "charge": texts.charge_label(row.charge_type, row.charges),
                                "start": row.charge_start, "end": row.charge_end}
        draft.lines.append(((row.subscription_id, text[:300], row.quantity.quantize(QUANTITY, rounding=ROUND_HALF_UP),
                             to_money(unit), amount, rate, vat_on(amount, rate)), [row.id]))
    for (subscription_id, service), group in usage.items():
        amount = charges = tax = ZERO
        for row in group:
            amount += price(row, book.rule_for(row.customer_id, row.product))[1]
            charges += row.charges
            tax += row.tax
        rate = vat_rate(charges, tax)
        text = texts.usage % {"service": service[:200], "start": min(r.charge_start for r in group),
                              "end": max(r.charge_end for r in group)}
        draft.lines.append(((subscription_id, text[:300], Decimal("1"), amount, amount, rate, vat_on(amount, rate)),
                            [r.id for r in group]))


def _totals(invoice: Invoice, amounts) -> None:
    subtotal = tax_total = ZERO
    for amount, tax in amounts:
        subtotal += amount
        tax_total += tax
    invoice.subtotal, invoice.tax_total = subtotal, tax_total
    invoice.total = invoice.balance = subtotal + tax_total
    invoice.amount_paid = ZERO


def _totals_of(subtotal: Decimal, tax: Decimal) -> dict:
    return {"subtotal": subtotal, "tax_total": tax, "total": subtotal + tax, "balance": subtotal + tax}


def _generate_chunk(period: dt.date, customer_ids: list[int], lines_qs, book: PriceBook, texts: dict, actor,
                    result: GenerateResult) -> None:
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids).only("id", "name", "currency", "language")}
    existing = dict(PeriodInvoice.objects.filter(period=period, customer_id__in=customer_ids,
                                                 invoice__status=InvoiceStatus.DRAFT)
                    .order_by("invoice_id").values_list("customer_id", "invoice_id"))
    rows_by_customer: dict[int, list] = defaultdict(list)
    for row in read_lines(lines_qs.filter(customer_id__in=customer_ids)):
        rows_by_customer[row.customer_id].append(row)
    drafts = []
    for customer_id, rows in rows_by_customer.items():
        customer = customers[customer_id]
        if customer.language not in texts:
            texts[customer.language] = _Texts(customer.language)
        draft = _Draft(customer, existing.get(customer_id))
        _build_lines(draft, rows, book, texts[customer.language])
        drafts.append(draft)
    if not drafts:
        return
    now = timezone.now()
    new = [d for d in drafts if d.created]
    # The new drafts, their period records, then every invoice line; the lines billed are claimed last.
    new_totals = [_totals_of(d.amount, d.tax) for d in new]
    ids = insert_rows(Invoice, {"status": InvoiceStatus.DRAFT, "created_at": now},
                  ["customer_id", "currency", "subtotal", "tax_total", "total", "balance"],
                  [(d.customer.pk, d.customer.currency, t["subtotal"], t["tax_total"], t["total"], t["balance"])
                   for d, t in zip(new, new_totals, strict=True)])
    for d, invoice_id in zip(new, ids, strict=True):
        d.invoice_id = invoice_id
    insert_rows(PeriodInvoice, {"period": period, "generated_at": now}, ["invoice_id", "customer_id"],
            [(d.invoice_id, d.customer.pk) for d in new])
    line_rows = [(d.invoice_id, *line) for d in drafts for line, _ids in d.lines]
    line_ids = insert_rows(InvoiceLine, {}, ["invoice_id", "subscription_id", "description", "quantity", "unit_price",
                                         "amount", "tax_rate", "tax"], line_rows)
    billed = [recon_ids for d in drafts for _line, recon_ids in d.lines]
    claim_lines([(recon_id, line_id) for recon_ids, line_id in zip(billed, line_ids, strict=True) for recon_id in recon_ids])

    updated = [d for d in drafts if not d.created]
    before, after = {}, {}
    if updated:
        invoices = {inv.pk: inv for inv in Invoice.objects.filter(pk__in=[d.invoice_id for d in updated])}
        amounts = defaultdict(list)
        for invoice_id, amount, tax in InvoiceLine.objects.filter(invoice_id__in=list(invoices)) \
                .values_list("invoice_id", "amount", "tax"):
            amounts[invoice_id].append((amount, tax))
        for invoice in invoices.values():
            before[invoice.pk] = snapshot(invoice, INVOICE_TOTALS)
            _totals(invoice, amounts[invoice.pk])
            after[invoice.pk] = snapshot(invoice, INVOICE_TOTALS)
        Invoice.objects.bulk_update(list(invoices.values()), INVOICE_TOTALS + ["amount_paid"], batch_size=1000)
        PeriodInvoice.objects.filter(invoice_id__in=list(invoices)).update(generated_at=now)
    for d, totals in zip(new, new_totals, strict=True):
        after[d.invoice_id] = totals
    for d in drafts:
        lines_billed = sum(len(ids) for _line, ids in d.lines)
        amount, tax = d.amount, d.tax
        record(actor=actor, action="rebilling.draft_created" if d.created else "rebilling.draft_updated",
               obj=Invoice(pk=d.invoice_id, customer_id=d.customer.pk), customer=d.customer,
               before=before.get(d.invoice_id),
               after={**after[d.invoice_id], "period": period, "lines_billed": lines_billed, "amount": amount})
        result.lines_billed += lines_billed
        result.amount += amount
        result.tax += tax
        result.invoice_ids.append(d.invoice_id)
    result.created += len(new)
    result.updated += len(updated)


def generate_drafts(period, *, actor, customer_ids=None) -> GenerateResult:
    """Bill the period's matched, unbilled lines on each customer's draft for the period (created if none)."""
    period = month_start(period)
    lines = billable_lines(period, customer_ids)
    ids = list(lines.order_by("customer_id").values_list("customer_id", flat=True).distinct())
    book = PriceBook()
    texts: dict[str, _Texts] = {}
    result = GenerateResult()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        with transaction.atomic(), batched():
            _generate_chunk(period, chunk, lines, book, texts, actor, result)
    return result


# --- review: adjustments, releasing lines, issuing ----------------------------------------------------


def _recompute(invoice: Invoice) -> None:
    _totals(invoice, invoice.lines.values_list("amount", "tax"))
    invoice.save(update_fields=INVOICE_TOTALS + ["amount_paid"])


def _locked_draft(invoice: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(_("invoice %(number)s is %(status)s; only a draft can be changed"), field="status",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    return invoice


def _main_rate(invoice: Invoice) -> Decimal:
    """The tax rate of the draft's largest line: an adjustment to its price carries the same VAT."""
    biggest = max(invoice.lines.values_list("amount", "tax_rate"), key=lambda x: abs(x[0]), default=None)
    return biggest[1] if biggest else Decimal("0")


def add_adjustment(invoice: Invoice, *, description: str, amount, reason: str, actor, tax_rate=None) -> InvoiceLine:
    """Add finance's own line to a draft (negative: a reduction), with its reason; audited. The tax rate is the
    draft's main rate unless given."""
    description = bounds.clean_text((description or "").strip(), field="description", max_length=300)
    if not description:
        raise InvalidInput(_("Describe the adjustment."), field="description")
    reason = bounds.clean_text((reason or "").strip(), field="reason", max_length=bounds.REASON_LENGTH)
    if not reason:
        raise InvalidInput(_("Give the reason for the adjustment."), field="reason")
    amount = parse_amount(amount, positive=False)
    if amount == 0:
        raise InvalidInput(_("An adjustment of zero changes nothing."), field="amount")
    with transaction.atomic():
        invoice = _locked_draft(invoice)
        if tax_rate is None:
            tax_rate = _main_rate(invoice)
        elif not isinstance(tax_rate, Decimal) or not (0 <= tax_rate <= 1):
            raise InvalidInput(_("tax rate must be between 0 and 1"), field="tax_rate")
        before = snapshot(invoice, INVOICE_TOTALS)
        line = InvoiceLine.objects.create(invoice=invoice, description=description, quantity=Decimal("1"),
                                          unit_price=amount, amount=amount, tax_rate=tax_rate,
                                          tax=vat_on(amount, tax_rate))
        Adjustment.objects.create(invoice_line=line, reason=reason,
                                  created_by=actor if getattr(actor, "pk", None) else None)
        _recompute(invoice)
        if invoice.total <= 0:
            raise InvalidInput(_("After this adjustment the invoice total would be %(total)s; it must stay above "
                                 "zero."), field="amount", total=str(invoice.total))
        record(actor=actor, action="rebilling.adjustment_added", obj=invoice, customer=invoice.customer,
               before=before, after={**snapshot(invoice, INVOICE_TOTALS), "description": description,
                                     "amount": amount, "tax": line.tax}, reason=reason)
    return line


def release_lines(lines_qs, *, actor, reason: str = "") -> int:
    """Take these reconciliation lines off the drafts that bill them: their invoice lines are removed, those
    drafts recomputed (deleted when left empty). Refused if one is billed on an issued invoice. Returns the
    number of invoice lines removed. (Other lines summed on a removed usage line are billed again next time.)"""
    with transaction.atomic():
        line_ids = set(lines_qs.filter(invoice_line__isnull=False).values_list("invoice_line_id", flat=True))
        if not line_ids:
            return 0
        invoice_ids = set(InvoiceLine.objects.filter(pk__in=line_ids).values_list("invoice_id", flat=True))
        invoices = list(Invoice.objects.select_for_update().select_related("customer").filter(pk__in=invoice_ids)
                        .order_by("pk"))
        billed = next((inv for inv in invoices if inv.status != InvoiceStatus.DRAFT), None)
        if billed is not None:
            raise Conflict(_("These operator lines are billed on invoice %(number)s, which is %(status)s: credit "
                             "or void it first."), field="invoice", number=str(billed),
                           status=status_word(InvoiceStatus, billed.status))
        with batched():
            removed = 0
            for invoice in invoices:
                before = snapshot(invoice, INVOICE_TOTALS)
                mine = InvoiceLine.objects.filter(invoice=invoice, pk__in=line_ids)
                count = mine.count()
                ReconLine.objects.filter(invoice_line__in=mine).update(invoice_line=None)
                mine.delete()
                removed += count
                if not invoice.lines.exists():
                    record(actor=actor, action="rebilling.draft_deleted", obj=invoice, customer=invoice.customer,
                           before=before, after={"lines_removed": count}, reason=reason)
                    invoice.delete()
                    continue
                _recompute(invoice)
                record(actor=actor, action="rebilling.lines_released", obj=invoice, customer=invoice.customer,
                       before=before, after={**snapshot(invoice, INVOICE_TOTALS), "lines_removed": count},
                       reason=reason)
    return removed


def issue_drafts(invoices, *, actor, issue_date: dt.date | None = None) -> list[Invoice]:
    """Issue each draft (ledger number, "invoice issued" email with its PDF); already issued ones and drafts
    whose total is not above zero are left as they are, so a second call issues nothing again."""
    bounds.check_date(issue_date, field="issue_date")
    ids = [inv.pk if isinstance(inv, Invoice) else int(inv) for inv in invoices]
    issued = []
    for invoice in Invoice.objects.filter(pk__in=ids, status=InvoiceStatus.DRAFT, total__gt=0).order_by("pk"):
        try:
            issued.append(issue_invoice(invoice, actor=actor, issue_date=issue_date))
        except Conflict:
            continue  # issued by someone else meanwhile: idempotent
    return issued
