"""The ledger: invoices, payments, allocations, credit notes, refunds. Every change goes through here."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import Conflict, InvalidInput, status_word
from partnerdesk.notifications.services import queue_email

from .models import (
    INSTRUCTION_LANGUAGES,
    INSTRUCTION_TEXTS,
    OPEN_STATUSES,
    Allocation,
    CreditNote,
    CreditNoteLine,
    CreditNoteSequence,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    Payment,
    PaymentInstructions,
    PaymentMethod,
    Refund,
)
from .money import CURRENCIES, ZERO, has_more_places, to_money
from .signals import balance_increased, balance_reduced, credit_note_issued

OLDEST_PAYMENT = dt.timedelta(days=366)
INVOICE_FIELDS = ["number", "status", "issue_date", "due_date", "total", "amount_paid", "balance"]
PAYMENT_FIELDS = ["amount", "currency", "received_on", "method", "reference", "allocated_amount", "refunded_amount"]
INVOICE_ISSUED_EMAIL = "invoice.issued"  # the email template; it carries the invoice PDF
INVOICE_ATTACHMENT = "invoice_pdf"  # the kind of attachment it records (made by documents.invoice_attachment)


def parse_amount(value, *, field: str = "amount", currency: str = "CNY", positive: bool = True) -> Decimal:
    """Validate user-supplied money: a Decimal or string, positive, with no more places than the currency has."""
    if currency not in CURRENCIES:
        raise InvalidInput(_("unknown currency %(currency)s; PartnerDesk bills in %(currencies)s"), field="currency",
                           currency=repr(currency), currencies=", ".join(CURRENCIES))
    if isinstance(value, float):
        raise InvalidInput(_("amounts must be given as a decimal string, not a float"), field=field)
    if isinstance(value, str):  # Decimal() would also take "1_000", "１２３" and "1e3": not what anyone typed as money
        problem = bounds.amount_text_problem(value, signed=True)
        if problem:
            raise InvalidInput(problem, field=field)
    try:
        raw = Decimal(str(value)) if not isinstance(value, Decimal) else value
        if not raw.is_finite():
            raise ValueError
    except (ValueError, ArithmeticError):
        raise InvalidInput(_("%(value)s is not an amount"), field=field, value=repr(value))
    if raw.adjusted() >= 15:  # (before quantizing, which would overflow the context)
        bounds.check_amount(raw, field=field)
    if has_more_places(raw, currency):
        raise InvalidInput(_("%(currency)s amounts have at most %(places)s decimal places"), field=field, currency=currency,
                           places=CURRENCIES[currency])
    amount = to_money(raw, currency)
    if positive and amount <= 0:
        raise InvalidInput(_("the amount must be greater than zero"), field=field)
    return bounds.check_amount(amount, field=field)


# --- invoices -------------------------------------------------------------------------------------------


@dataclass
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = Decimal("0")
    subscription: object = None


@transaction.atomic
def create_invoice(*, customer, lines: list[LineInput], actor, issue_date: dt.date | None = None,
                   due_date: dt.date | None = None, notes: str = "", issue: bool = False, reason: str = "",
                   notify_customer: bool = True) -> Invoice:
    """Create a draft invoice with its lines (and issue it at once if asked: see issue_invoice)."""
    if not lines:
        raise InvalidInput(_("an invoice needs at least one line"), field="lines")
    bounds.check_date(issue_date, field="issue_date")
    bounds.check_date(due_date, field="due_date")
    notes = bounds.clean_text(notes, field="notes", max_length=bounds.NOTE_LENGTH)
    invoice = Invoice.objects.create(customer=customer, currency=customer.currency, notes=notes,
                                     issue_date=issue_date, due_date=due_date)
    _write_lines(invoice, lines, customer)
    record(actor=actor, action="invoice.created", obj=invoice, after=snapshot(invoice, INVOICE_FIELDS), reason=reason)
    if issue:
        invoice = issue_invoice(invoice, actor=actor, issue_date=issue_date, due_date=due_date,
                                notify_customer=notify_customer)
    return invoice


def _write_lines(invoice: Invoice, lines: list[LineInput], customer) -> None:
    """Check and write a draft's lines, and its totals (saved)."""
    subtotal = tax_total = ZERO
    for i, line in enumerate(lines):
        if line.quantity <= 0:
            raise InvalidInput(_("quantity must be greater than zero"), field=f"lines[{i}].quantity")
        if line.tax_rate < 0 or line.tax_rate > 1:
            raise InvalidInput(_("tax rate must be between 0 and 1"), field=f"lines[{i}].tax_rate")
        if line.subscription is not None and line.subscription.customer_id != customer.pk:
            raise InvalidInput(_("the subscription belongs to another customer"), field=f"lines[{i}].subscription_id")
        bounds.clean_text(line.description, field=f"lines[{i}].description", max_length=300)
        if line.quantity > bounds.MAX_QUANTITY:
            raise InvalidInput(_("the quantity is too large (at most %(max)s)"), field=f"lines[{i}].quantity",
                               max=str(bounds.MAX_QUANTITY))
        bounds.check_amount(line.unit_price, field=f"lines[{i}].unit_price")
        amount = bounds.check_amount(to_money(line.quantity * line.unit_price, customer.currency), field=f"lines[{i}].quantity")
        tax = to_money(amount * line.tax_rate, customer.currency)
        InvoiceLine.objects.create(invoice=invoice, subscription=line.subscription, description=line.description,
                                   quantity=line.quantity, unit_price=line.unit_price, amount=amount,
                                   tax_rate=line.tax_rate, tax=tax)
        subtotal += amount
        tax_total += tax
    invoice.subtotal, invoice.tax_total = subtotal, tax_total
    invoice.amount_paid = ZERO  # (a draft: nothing is applied to it)
    invoice.total = invoice.balance = bounds.check_amount(subtotal + tax_total, field="lines")
    if invoice.total <= 0:
        raise InvalidInput(_("an invoice total must be greater than zero"), field="lines")
    invoice.save()


DRAFT_FIELDS = ["issue_date", "due_date", "notes", "subtotal", "tax_total", "total"]


def _line_snapshot(invoice: Invoice) -> list[dict]:
    return [{"description": line.description, "quantity": line.quantity, "unit_price": line.unit_price,
             "tax_rate": line.tax_rate, "subscription": line.subscription_id} for line in invoice.lines.all()]


@transaction.atomic
def update_draft(invoice: Invoice, *, actor, lines: list[LineInput], issue_date: dt.date | None = None,
                 due_date: dt.date | None = None, notes: str = "", reason: str = "") -> Invoice:
    """Replace a draft's lines, dates and notes (an issued invoice is changed only by a credit note or a void)."""
    if not lines:
        raise InvalidInput(_("an invoice needs at least one line"), field="lines")
    bounds.check_date(issue_date, field="issue_date")
    bounds.check_date(due_date, field="due_date")
    notes = bounds.clean_text(notes, field="notes", max_length=bounds.NOTE_LENGTH)
    invoice = Invoice.objects.select_for_update().select_related("customer").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(_("invoice %(number)s is %(status)s; only a draft can be edited"), field="status",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    before = {**snapshot(invoice, DRAFT_FIELDS), "lines": _line_snapshot(invoice)}
    invoice.lines.all().delete()
    invoice.issue_date, invoice.due_date, invoice.notes = issue_date, due_date, notes
    _write_lines(invoice, lines, invoice.customer)
    after = {**snapshot(invoice, DRAFT_FIELDS), "lines": _line_snapshot(invoice)}
    if after != before:
        record(actor=actor, action="invoice.draft_updated", obj=invoice, before=before, after=after, reason=reason)
    return invoice


def _next_number(sequence, prefix: str, year: int) -> str:
    # The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite), so two callers never share a number.
    sequence.objects.get_or_create(year=year)
    sequence.objects.filter(year=year).update(last=F("last") + 1)
    last = sequence.objects.get(year=year).last
    return f"{prefix}-{year}-{last:06d}"


def _next_invoice_number(year: int) -> str:
    return _next_number(InvoiceSequence, "INV", year)


@transaction.atomic
def issue_invoice(invoice: Invoice, *, actor, issue_date: dt.date | None = None, due_date: dt.date | None = None,
                  notify_customer: bool = True) -> Invoice:
    """Give a draft its number and dates, and make it owed; open credit on account is applied to it. The customer
    is emailed the invoice PDF unless notify_customer is False (an invoice already sent some other way, history
    being loaded)."""
    bounds.check_date(issue_date, field="issue_date")
    bounds.check_date(due_date, field="due_date")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.DRAFT:
        raise Conflict(_("invoice %(number)s is %(status)s; only a draft can be issued"), field="status",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    before = snapshot(invoice, INVOICE_FIELDS)
    invoice.issue_date = issue_date or invoice.issue_date or timezone.localdate()
    invoice.due_date = due_date or invoice.due_date or invoice.issue_date + dt.timedelta(days=invoice.customer.payment_terms_days)
    if invoice.due_date < invoice.issue_date:
        raise InvalidInput(_("the due date cannot be before the issue date"), field="due_date")
    invoice.number = _next_invoice_number(invoice.issue_date.year)
    invoice.status = InvoiceStatus.ISSUED
    invoice.save()
    record(actor=actor, action="invoice.issued", obj=invoice, before=before, after=snapshot(invoice, INVOICE_FIELDS))
    apply_credit_on_account(invoice.customer, actor=actor, on=invoice.issue_date)
    invoice.refresh_from_db(fields=["amount_paid", "balance", "status"])
    if notify_customer:
        _queue_invoice_issued(invoice, actor=actor)
    return invoice


def _queue_invoice_issued(invoice: Invoice, *, actor) -> None:
    """The "invoice issued" email, with the invoice PDF (made when the email is sent: documents.py)."""
    queue_email(customer=invoice.customer, template_key=INVOICE_ISSUED_EMAIL, actor=actor,
                context={"invoice_number": invoice.number, "amount_due": str(invoice.balance),
                         "currency": invoice.currency, "due_date": invoice.due_date.isoformat()},
                dedupe_key=f"{INVOICE_ISSUED_EMAIL}:{invoice.pk}",
                attachments=[{"kind": INVOICE_ATTACHMENT, "invoice_id": invoice.pk}])


@transaction.atomic
def void_invoice(invoice: Invoice, *, actor, reason: str) -> Invoice:
    """Cancel an invoice nothing has been applied to."""
    reason = _required_reason(reason, _("a reason is required to void an invoice"))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_("the invoice is already void"), field="status")
    if invoice.allocations.exists():
        raise Conflict(_("payments or credit notes are applied to this invoice; issue a credit note instead"), field="status")
    before = snapshot(invoice, INVOICE_FIELDS)
    invoice.status = InvoiceStatus.VOID
    invoice.balance = ZERO  # a void invoice owes nothing; its total stays for the record
    invoice.void_reason = reason
    invoice.voided_on = timezone.localdate()
    invoice.save()
    record(actor=actor, action="invoice.voided", obj=invoice, before=before, after=snapshot(invoice, INVOICE_FIELDS), reason=reason)
    _announce_credit(invoice.customer, cause=f"void:{invoice.pk}")
    return invoice


def _apply(invoice: Invoice, amount: Decimal, *, on: dt.date, payment: Payment | None = None,
           credit_note: CreditNote | None = None) -> Allocation:
    """Apply money to an invoice and keep its paid amount, balance and status in step."""
    allocation = Allocation.objects.create(invoice=invoice, payment=payment, credit_note=credit_note, amount=amount, allocated_on=on)
    invoice.amount_paid += amount
    invoice.balance = invoice.total - invoice.amount_paid
    invoice.status = InvoiceStatus.PAID if invoice.balance == 0 else InvoiceStatus.PARTIALLY_PAID
    invoice.save(update_fields=["amount_paid", "balance", "status"])
    if payment is not None:
        payment.allocated_amount += amount
        payment.save(update_fields=["allocated_amount"])
    return allocation


def open_invoices(customer):
    """Open invoices, oldest due first: the order payments are applied in."""
    return Invoice.objects.filter(customer=customer, status__in=OPEN_STATUSES).order_by("due_date", "issue_date", "id")


# Other areas may keep invoices out of automatic cash application: collections holds back the amount under an
# open dispute, so paying "the rest" never settles what the customer contests. Each hold is a function of the
# customer returning the ids of invoices held whole, or {invoice id: amount held back}, registered at start-up
# (billing does not import the areas built on it).
_allocation_holds: list = []


def hold_from_automatic_allocation(hold):
    """Register `hold(customer) -> ids of invoices, or {id: amount}` that payments and credit must not be applied
    to unasked."""
    _allocation_holds.append(hold)
    return hold


def _automatic_allocation_targets(customer) -> list[tuple[Invoice, Decimal]]:
    """(invoice, how much of it money may settle without being told to) for the open invoices, oldest due first,
    that have room (locked)."""
    held: dict[int, Decimal | None] = {}  # None: the whole invoice
    for hold in _allocation_holds:
        found = hold(customer)
        for pk, amount in (found if isinstance(found, dict) else dict.fromkeys(found)).items():
            whole = amount is None or (pk in held and held[pk] is None)
            held[pk] = None if whole else held.get(pk, ZERO) + amount
    targets = []
    for invoice in open_invoices(customer).select_for_update():
        room = invoice.balance if invoice.pk not in held else (
            ZERO if held[invoice.pk] is None else invoice.balance - held[invoice.pk])
        if room > 0:
            targets.append((invoice, room))
    return targets


@transaction.atomic
def apply_credit_on_account(customer, *, actor, on: dt.date | None = None) -> list[Allocation]:
    """Apply unallocated payment credit to open invoices, oldest due first."""
    made = []
    payments = list(Payment.objects.select_for_update().filter(customer=customer, reversed_on__isnull=True)
                    .order_by("received_on", "id"))
    payments = [p for p in payments if p.unallocated > 0]
    if not payments:
        return made
    for invoice, room in _automatic_allocation_targets(customer):
        for payment in payments:
            if room == 0:
                break
            amount = min(payment.unallocated, room)
            if amount > 0:
                made.append(_apply(invoice, amount, on=on or timezone.localdate(), payment=payment))
                room -= amount
                record(actor=actor, action="payment.allocated", obj=payment, after={"invoice": invoice.number, "amount": amount})
    if made:
        _announce_credit(customer, cause=f"credit:{made[0].pk}")
    return made


# --- payments -------------------------------------------------------------------------------------------


@dataclass
class PaymentResult:
    payment: Payment
    created: bool


def record_payment(*, customer, amount, received_on: dt.date, method: str, actor, reference: str = "",
                   currency: str = "CNY", idempotency_key: str | None = None,
                   allocations: list[tuple[Invoice, Decimal]] | None = None, reason: str = "") -> PaymentResult:
    """Record money received and apply it, oldest due first unless allocations are given.

    Explicit allocations are applied first, the rest oldest due first; what is left is credit on account.
    The same idempotency key twice records one payment: the second call returns the first payment.
    """
    if idempotency_key:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _replayed(existing, customer=customer, amount=amount, currency=currency)
    try:
        with transaction.atomic():
            payment = _record_payment(customer=customer, amount=amount, received_on=received_on, method=method,
                                      actor=actor, reference=reference, currency=currency,
                                      idempotency_key=idempotency_key, allocations=allocations, reason=reason)
        _announce_credit(customer, cause=f"payment:{payment.pk}")
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its payment.
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return _replayed(existing, customer=customer, amount=amount, currency=currency)
    return PaymentResult(payment, True)


def _announce_credit(customer, *, cause: str) -> None:
    """After commit, tell other areas that what the customer owes went down (collections may reactivate)."""
    transaction.on_commit(lambda: balance_reduced.send(sender=Invoice, customer=customer, cause=cause))


def _replayed(existing: Payment, *, customer, amount, currency) -> PaymentResult:
    if existing.customer_id != customer.pk or existing.amount != parse_amount(amount, currency=currency):
        raise Conflict(_("this idempotency key was already used for a different payment"), field="idempotency_key")
    return PaymentResult(existing, False)


def _record_payment(*, customer, amount, received_on, method, actor, reference, currency, idempotency_key,
                    allocations, reason) -> Payment:
    amount = parse_amount(amount, currency=currency)
    if currency != customer.currency:
        raise InvalidInput(_("this customer is billed in %(currency)s"), field="currency", currency=customer.currency)
    if method not in PaymentMethod.values:
        raise InvalidInput(_("method must be one of %(choices)s"), field="method", choices=", ".join(PaymentMethod.values))
    reference = bounds.clean_text(reference, field="reference", max_length=bounds.REFERENCE_LENGTH)
    if received_on > timezone.localdate() + dt.timedelta(days=1):
        raise InvalidInput(_("a payment cannot be received in the future"), field="received_on")
    if received_on < timezone.localdate() - OLDEST_PAYMENT:
        # Almost always a mistyped year; a payment that old belongs to periods long closed.
        raise InvalidInput(_("a payment received more than a year ago cannot be recorded"), field="received_on")
    # Lock the customer so two payments for it apply to invoices one after the other.
    type(customer).objects.select_for_update().filter(pk=customer.pk).first()
    payment = Payment.objects.create(customer=customer, amount=amount, currency=currency, received_on=received_on,
                                     method=method, reference=reference, idempotency_key=idempotency_key or None,
                                     recorded_by=actor if actor is not None and actor.pk else None)
    record(actor=actor, action="payment.recorded", obj=payment, after=snapshot(payment, PAYMENT_FIELDS), reason=reason)
    if allocations:
        total = ZERO
        for i, (invoice, part) in enumerate(allocations):
            part = parse_amount(part, field=f"allocations[{i}].amount", currency=currency)
            invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
            if invoice.customer_id != customer.pk:
                raise InvalidInput(_("the invoice belongs to another customer"), field=f"allocations[{i}].invoice_id")
            if not invoice.is_open:
                raise InvalidInput(_("invoice %(number)s is %(status)s"), field=f"allocations[{i}].invoice_id",
                                   number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
            if part > invoice.balance:
                raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field=f"allocations[{i}].amount",
                                   number=str(invoice), amount=str(invoice.balance))
            total += part
            if total > amount:
                raise InvalidInput(_("the allocations add up to more than the payment"), field="allocations")
            _apply(invoice, part, on=received_on, payment=payment)
            record(actor=actor, action="payment.allocated", obj=payment, after={"invoice": invoice.number, "amount": part})
    # What is left (all of it, without explicit allocations) goes to open invoices, oldest due first; what no
    # invoice may take (all are paid, or held back) stays as credit on account.
    if payment.unallocated > 0:
        for invoice, room in _automatic_allocation_targets(customer):
            if payment.unallocated == 0:
                break
            part = min(payment.unallocated, room)
            _apply(invoice, part, on=received_on, payment=payment)
            record(actor=actor, action="payment.allocated", obj=payment, after={"invoice": invoice.number, "amount": part})
    return payment


# --- credit notes and refunds ---------------------------------------------------------------------------


@dataclass
class CreditLineInput:
    description: str
    amount: object  # a decimal string or Decimal, checked by parse_amount


@transaction.atomic
def issue_credit_note(*, invoice: Invoice, reason: str, actor, amount=None, lines: list[CreditLineInput] | None = None,
                      issued_on: dt.date | None = None) -> CreditNote:
    """Reduce what is owed on an invoice, up to its open balance, line by line (an amount alone is one line)."""
    reason = _required_reason(reason, _("a reason is required for a credit note"))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if lines:
        parsed = []
        for i, line in enumerate(lines):
            description = bounds.clean_text(line.description, field=f"lines[{i}].description", max_length=300).strip()
            if not description:
                raise InvalidInput(_("each credit note line needs a description"), field=f"lines[{i}].description")
            parsed.append((description, parse_amount(line.amount, field=f"lines[{i}].amount", currency=invoice.currency)))
        total = bounds.check_amount(sum((a for _d, a in parsed), ZERO), field="lines")
        if amount not in (None, "") and parse_amount(amount, currency=invoice.currency) != total:
            raise InvalidInput(_("the lines add up to %(total)s, not %(amount)s"), field="amount",
                               total=str(total), amount=str(amount))
        amount = total
    else:
        amount = parse_amount(amount, currency=invoice.currency)
        parsed = [(reason.strip()[:300], amount)]
    if not invoice.is_open:
        raise Conflict(_("invoice %(number)s is %(status)s; only an open invoice can be credited"), field="invoice_id",
                       number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    if amount > invoice.balance:
        raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field="amount", number=str(invoice),
                           amount=str(invoice.balance))
    issued_on = issued_on or timezone.localdate()
    note = CreditNote.objects.create(customer=invoice.customer, invoice=invoice,
                                     number=_next_number(CreditNoteSequence, "CN", issued_on.year),
                                     amount=amount, issued_on=issued_on, reason=reason)
    CreditNoteLine.objects.bulk_create(CreditNoteLine(credit_note=note, description=d, amount=a) for d, a in parsed)
    before = snapshot(invoice, INVOICE_FIELDS)
    _apply(invoice, amount, on=issued_on, credit_note=note)
    record(actor=actor, action="credit_note.issued", obj=note, reason=reason,
           after={"invoice": invoice.number, "amount": amount,
                  "lines": [{"description": d, "amount": a} for d, a in parsed]})
    record(actor=actor, action="invoice.credited", obj=invoice, before=before, after=snapshot(invoice, INVOICE_FIELDS), reason=reason)
    credit_note_issued.send(sender=CreditNote, credit_note=note)
    _announce_credit(invoice.customer, cause=f"credit_note:{note.pk}")
    return note


@transaction.atomic
def refund_payment(*, payment: Payment, amount, reason: str, actor, method: str | None = None, reference: str = "",
                   refunded_on: dt.date | None = None) -> Refund:
    """Pay back part of a payment's unallocated credit to the customer."""
    reason = _required_reason(reason, _("a reason is required for a refund"))
    reference = bounds.clean_text(reference, field="reference", max_length=bounds.REFERENCE_LENGTH)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount = parse_amount(amount, currency=payment.currency)
    if payment.is_reversed:
        raise Conflict(_("this payment was reversed on %(date)s"), field="payment_id", date=payment.reversed_on.isoformat())
    if amount > payment.unallocated:
        raise InvalidInput(_("only %(amount)s of this payment is unallocated"), field="amount",
                           amount=str(payment.unallocated))
    method = method or payment.method
    if method not in PaymentMethod.values:
        raise InvalidInput(_("method must be one of %(choices)s"), field="method", choices=", ".join(PaymentMethod.values))
    before = snapshot(payment, PAYMENT_FIELDS)
    refund = Refund.objects.create(customer=payment.customer, payment=payment, amount=amount,
                                   refunded_on=refunded_on or timezone.localdate(), method=method,
                                   reference=reference, reason=reason)
    payment.refunded_amount += amount
    payment.save(update_fields=["refunded_amount"])
    record(actor=actor, action="payment.refunded", obj=payment, before=before, after=snapshot(payment, PAYMENT_FIELDS), reason=reason)
    return refund


# --- corrections: reversing a payment, moving an allocation ------------------------------------------------


def _unapply(allocation: Allocation, amount: Decimal) -> Invoice:
    """Take `amount` of an allocation back off its invoice (the allocation shrinks, or goes if all of it is taken);
    the invoice is open again, and the payment's allocated amount goes down with it."""
    invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
    invoice.amount_paid -= amount
    invoice.balance = invoice.total - invoice.amount_paid
    invoice.status = InvoiceStatus.ISSUED if invoice.amount_paid == 0 else InvoiceStatus.PARTIALLY_PAID
    invoice.save(update_fields=["amount_paid", "balance", "status"])
    if allocation.payment_id is not None:
        Payment.objects.filter(pk=allocation.payment_id).update(allocated_amount=F("allocated_amount") - amount)
    if amount == allocation.amount:
        allocation.delete()
    else:
        allocation.amount -= amount
        allocation.save(update_fields=["amount"])
    return invoice


def _required_reason(reason: str, message) -> str:
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    if not reason.strip():
        raise InvalidInput(message, field="reason")
    return reason


@transaction.atomic
def reverse_payment(payment: Payment, *, reason: str, actor, on: dt.date | None = None) -> Payment:
    """Undo a payment recorded twice or against the wrong customer: its allocations are taken off the invoices
    (which are owed again), and the payment stays on record as reversed, no longer credit on account.

    Collections: the customer may be overdue again; `balance_increased` is sent after commit, and collections
    cancels the reactivations this payment queued that have not been carried out yet. A reactivation the operator
    already made is not undone here: the invoices keep the collections stage they had reached, so the agent
    suspends again by hand if that is wanted (the reversal's page says so).
    """
    reason = _required_reason(reason, _("a reason is required to reverse a payment"))
    type(payment.customer).objects.select_for_update().filter(pk=payment.customer_id).first()
    payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment.pk)
    if payment.is_reversed:
        raise Conflict(_("this payment was reversed on %(date)s"), field="payment_id", date=payment.reversed_on.isoformat())
    if payment.refunded_amount > 0:
        raise Conflict(_("%(amount)s of this payment was refunded to the customer; a refunded payment cannot be "
                         "reversed"), field="payment_id", amount=str(payment.refunded_amount))
    before = snapshot(payment, PAYMENT_FIELDS)
    undone = []
    for allocation in list(payment.allocations.select_related("invoice").order_by("id")):
        invoice_before = snapshot(allocation.invoice, INVOICE_FIELDS)
        invoice = _unapply(allocation, allocation.amount)
        undone.append({"invoice": invoice.number, "amount": allocation.amount})
        record(actor=actor, action="invoice.reopened", obj=invoice, before=invoice_before,
               after=snapshot(invoice, INVOICE_FIELDS), reason=reason)
    payment.refresh_from_db()
    payment.reversed_on = on or timezone.localdate()
    payment.reversal_reason = reason
    payment.save(update_fields=["reversed_on", "reversal_reason"])
    record(actor=actor, action="payment.reversed", obj=payment, before=before,
           after={**snapshot(payment, PAYMENT_FIELDS + ["reversed_on"]), "allocations_undone": undone}, reason=reason)
    customer = payment.customer
    transaction.on_commit(lambda: balance_increased.send(sender=Payment, customer=customer, cause=f"payment:{payment.pk}"))
    return payment


@transaction.atomic
def move_allocation(payment: Payment, *, from_invoice: Invoice, to_invoice: Invoice, actor, reason: str,
                    amount=None) -> Allocation:
    """Move what a payment applied to one invoice (all of it, or `amount`) to another open invoice of the same
    customer; the first invoice is owed that much again."""
    reason = _required_reason(reason, _("a reason is required to move an allocation"))
    payment = Payment.objects.select_for_update().select_related("customer").get(pk=payment.pk)
    if payment.is_reversed:
        raise Conflict(_("this payment was reversed on %(date)s"), field="payment_id", date=payment.reversed_on.isoformat())
    allocations = list(payment.allocations.select_for_update().filter(invoice_id=from_invoice.pk).order_by("-id"))
    applied = sum((a.amount for a in allocations), ZERO)
    if not allocations:
        raise InvalidInput(_("this payment is not applied to invoice %(number)s"), field="from_invoice_id",
                           number=str(from_invoice))
    target = Invoice.objects.select_for_update().get(pk=to_invoice.pk)
    if target.customer_id != payment.customer_id:
        raise InvalidInput(_("invoice %(number)s belongs to another customer"), field="to_invoice_id", number=str(target))
    if target.pk == from_invoice.pk:
        raise InvalidInput(_("the payment is already applied to invoice %(number)s"), field="to_invoice_id",
                           number=str(target))
    if not target.is_open:
        raise InvalidInput(_("invoice %(number)s is %(status)s; only an open invoice can take a payment"),
                           field="to_invoice_id", number=str(target), status=status_word(InvoiceStatus, target.status))
    amount = applied if amount in (None, "") else parse_amount(amount, currency=payment.currency)
    if amount > applied:
        raise InvalidInput(_("only %(amount)s of this payment is applied to invoice %(number)s"), field="amount",
                           amount=str(applied), number=str(from_invoice))
    if amount > target.balance:
        raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field="amount", number=str(target),
                           amount=str(target.balance))
    source_before = snapshot(allocations[0].invoice, INVOICE_FIELDS)
    left = amount
    for allocation in allocations:  # newest first
        part = min(left, allocation.amount)
        source = _unapply(allocation, part)
        left -= part
        if left == 0:
            break
    payment.refresh_from_db()
    moved = _apply(target, amount, on=timezone.localdate(), payment=payment)
    record(actor=actor, action="invoice.reopened", obj=source, before=source_before,
           after=snapshot(source, INVOICE_FIELDS), reason=reason)
    record(actor=actor, action="payment.allocation_moved", obj=payment, reason=reason,
           after={"from_invoice": source.number, "to_invoice": target.number, "amount": amount})
    customer = payment.customer
    # The first invoice is owed again (collections may act on it); the other owes less.
    transaction.on_commit(lambda: balance_increased.send(sender=Allocation, customer=customer,
                                                         cause=f"allocation:{moved.pk}"))
    _announce_credit(customer, cause=f"allocation:{moved.pk}")
    return moved


# --- balances and statements ----------------------------------------------------------------------------


def _sum(qs, field: str) -> Decimal:
    return qs.aggregate(s=Sum(field))["s"] or ZERO


def customer_balance(customer) -> Decimal:
    """What the customer owes now: open invoice balances less unallocated credit (negative = in credit)."""
    return balances(customer)[0]


def with_balances(customers, *, as_of: dt.date | None = None):
    """The customers queryset annotated, for lists, with what customer_balance() and overdue_balance() return:
    `balance` (open invoice balances less unallocated credit) and `overdue`, in one query."""
    as_of = as_of or timezone.localdate()
    money = models.DecimalField(max_digits=18, decimal_places=2)
    zero = models.Value(ZERO, output_field=money)
    open_invoices = Invoice.objects.filter(customer=models.OuterRef("pk"), status__in=OPEN_STATUSES)

    def total(queryset, expression):
        summed = queryset.order_by().values("customer").annotate(s=Sum(expression)).values("s")
        return Coalesce(models.Subquery(summed, output_field=money), zero)

    credit = total(Payment.objects.filter(customer=models.OuterRef("pk"), reversed_on__isnull=True),
                   models.F("amount") - models.F("allocated_amount") - models.F("refunded_amount"))
    return customers.annotate(
        balance=models.ExpressionWrapper(total(open_invoices, "balance") - credit, output_field=money),
        overdue=total(open_invoices.filter(due_date__lt=as_of), "balance"),
    )


def overdue_balance(customer, *, as_of: dt.date | None = None) -> Decimal:
    """The open balance of invoices past their due date."""
    return balances(customer, as_of=as_of)[1]


def balances(customer, *, as_of: dt.date | None = None) -> tuple[Decimal, Decimal]:
    """(customer_balance, overdue_balance) in one query: the customer list's, so the two never disagree."""
    balance, overdue = with_balances(type(customer).objects.filter(pk=customer.pk), as_of=as_of).values_list(
        "balance", "overdue").get()
    return to_money(balance, customer.currency), to_money(overdue, customer.currency)


@dataclass
class StatementLine:
    date: dt.date
    kind: str  # invoice, payment, credit_note, refund, payment_reversal
    reference: str
    debit: Decimal
    credit: Decimal
    balance: Decimal = ZERO


@dataclass
class OpenItem:
    invoice: Invoice
    total: Decimal
    paid: Decimal
    balance: Decimal
    days_overdue: int


@dataclass
class Statement:
    customer: object
    as_of: dt.date
    lines: list[StatementLine]
    open_items: list[OpenItem]
    balance: Decimal
    credit_on_account: Decimal

    @property
    def open_total(self) -> Decimal:
        return sum((i.balance for i in self.open_items), ZERO)

    @property
    def overdue_total(self) -> Decimal:
        return sum((i.balance for i in self.open_items if i.days_overdue > 0), ZERO)


def statement(customer, *, as_of: dt.date | None = None) -> Statement:
    """The customer's account as it stood at the end of a day: every entry, the balance and the open items."""
    as_of = as_of or timezone.localdate()
    # An invoice voided after the day was still owed on it; one voided on or before the day never shows.
    voided_later = Q(status=InvoiceStatus.VOID, voided_on__gt=as_of)
    # A draft voided before it was issued (no number) was never owed: it never shows.
    invoices = list(Invoice.objects.filter(customer=customer, issue_date__lte=as_of, number__isnull=False)
                    .exclude(status=InvoiceStatus.DRAFT).filter(~Q(status=InvoiceStatus.VOID) | voided_later))
    lines = [StatementLine(i.issue_date, "invoice", i.number, i.total, ZERO) for i in invoices]
    lines += [StatementLine(p.received_on, "payment", p.reference or f"#{p.pk}", ZERO, p.amount)
              for p in Payment.objects.filter(customer=customer, received_on__lte=as_of)]
    lines += [StatementLine(p.reversed_on, "payment_reversal", p.reference or f"#{p.pk}", p.amount, ZERO)
              for p in Payment.objects.filter(customer=customer, reversed_on__lte=as_of)]
    lines += [StatementLine(c.issued_on, "credit_note", c.number, ZERO, c.amount)
              for c in CreditNote.objects.filter(customer=customer, issued_on__lte=as_of)]
    lines += [StatementLine(r.refunded_on, "refund", r.reference or f"#{r.pk}", r.amount, ZERO)
              for r in Refund.objects.filter(customer=customer, refunded_on__lte=as_of)]
    order = {"invoice": 0, "credit_note": 1, "payment": 2, "refund": 3, "payment_reversal": 4}
    lines.sort(key=lambda line: (line.date, order[line.kind], line.reference))
    running = ZERO
    for line in lines:
        running += line.debit - line.credit
        line.balance = running
    applied = {
        row["invoice_id"]: row["s"]
        for row in Allocation.objects.filter(invoice__customer=customer, allocated_on__lte=as_of)
        .values("invoice_id").annotate(s=Sum("amount"))
    }
    open_items = []
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.id)):
        paid = applied.get(inv.id, ZERO)
        if inv.total - paid > 0:
            open_items.append(OpenItem(inv, inv.total, paid, inv.total - paid, max(0, (as_of - inv.due_date).days)))
    open_total = sum((i.balance for i in open_items), ZERO)
    return Statement(customer, as_of, lines, open_items, running, open_total - running)


# --- the partner's payment instructions (on invoices and statements) --------------------------------------------

PAYMENT_INSTRUCTION_LENGTHS = {"notes": bounds.REASON_LENGTH, "bank_account_number": 60, "alipay_account": 120}


@transaction.atomic
def update_payment_instructions(*, values: dict, actor, reason: str = "") -> PaymentInstructions:
    """Change how customers are told to pay: any of PaymentInstructions.editable_fields(); blank falls back."""
    editable = PaymentInstructions.editable_fields()
    unknown = sorted(set(values) - set(editable))
    if unknown:
        raise InvalidInput(_("there is no payment instruction %(name)s"), field=unknown[0], name=unknown[0])
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    cleaned = {}
    kinds = {f"{text}_{suffix}": text for text in INSTRUCTION_TEXTS for suffix in INSTRUCTION_LANGUAGES.values()}
    for name, value in values.items():
        kind = kinds.get(name, name)
        text = bounds.clean_text(value, field=name, max_length=PAYMENT_INSTRUCTION_LENGTHS.get(kind, bounds.NAME_LENGTH))
        cleaned[name] = text.replace("\r\n", "\n").strip()
        if kind != "notes" and "\n" in cleaned[name]:
            raise InvalidInput(_("one line only"), field=name)
    row, _created = PaymentInstructions.objects.select_for_update().get_or_create(pk=1)
    before = snapshot(row, editable)
    for name, value in cleaned.items():
        setattr(row, name, value)
    after = snapshot(row, editable)
    if after == before:
        return row  # nothing changed: nothing to record
    row.updated_by = actor if actor is not None and actor.pk else None
    row.updated_at = timezone.now()
    row.save()
    record(actor=actor, action="payment_instructions.updated", obj=row, before=before, after=after, reason=reason)
    return row
