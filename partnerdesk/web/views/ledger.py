"""Staff pages that change the ledger: invoice drafts (lines added and removed without JavaScript), issuing,
voiding, credit notes with lines, and a payment's page with its refund, reversal and moving an allocation.
Each calls billing.services, which validates and audits; a refusal comes back on the field (and line) it names."""

from decimal import Decimal

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, scope
from partnerdesk.billing.models import Invoice, InvoiceStatus, Payment
from partnerdesk.billing.services import (
    CreditLineInput,
    LineInput,
    create_invoice,
    issue_credit_note,
    issue_invoice,
    move_allocation,
    open_invoices,
    refund_payment,
    reverse_payment,
    update_draft,
    void_invoice,
)
from partnerdesk.customers.models import Subscription, SubscriptionStatus
from partnerdesk.errors import DomainError

from ..access import customer_zone, staff_page
from ..record_forms import (
    CreditLineFormSet,
    CreditNoteForm,
    InvoiceHeaderForm,
    InvoiceLineFormSet,
    LineRows,
    MoveAllocationForm,
    RefundForm,
    ReversePaymentForm,
    VoidInvoiceForm,
    add_service_error,
)
from ..templatetags.desk import money

LINE_KEYS = ("description", "unit_price")  # a row with neither is a blank row, dropped


def _staff_invoice(request, pk) -> Invoice:
    return get_scoped_or_404(Invoice.objects.select_related("customer"), request.user, pk)


def _line_inputs(rows) -> list[LineInput]:
    return [LineInput(description=row["description"], quantity=Decimal(row["quantity"]),
                      unit_price=Decimal(row["unit_price"]), tax_rate=Decimal(row["tax_rate"]),
                      subscription=row.get("subscription")) for row in rows]


def _draft_page(request, customer, invoice=None):
    """The draft form, new (invoice None) or editing a draft: save, or save and issue."""
    subscriptions = Subscription.objects.filter(customer=customer).exclude(status=SubscriptionStatus.DELETED)
    initial_lines = [{"description": line.description, "quantity": f"{line.quantity.normalize():f}",
                      "unit_price": f"{line.unit_price:.2f}", "tax_rate": f"{line.tax_rate.normalize():f}",
                      "subscription": line.subscription_id} for line in invoice.lines.all()] if invoice else []
    initial = {"issue_date": invoice.issue_date, "due_date": invoice.due_date, "notes": invoice.notes} if invoice else {}
    rows = LineRows(InvoiceLineFormSet, request, prefix="lines", initial=initial_lines, key_fields=LINE_KEYS,
                    form_kwargs={"subscriptions": subscriptions})
    if rows.changed:
        form = InvoiceHeaderForm(initial={k: request.POST.get(k, "") for k in InvoiceHeaderForm.base_fields})
    else:
        form = InvoiceHeaderForm(request.POST or None, initial=initial)
    if request.method == "POST" and not rows.changed and form.is_valid() & rows.is_valid():
        data, issue = form.cleaned_data, "issue" in request.POST
        lines = _line_inputs(rows.lines)
        try:
            if invoice is None:
                invoice = create_invoice(customer=customer, lines=lines, actor=request.user,
                                         issue_date=data["issue_date"], due_date=data["due_date"], notes=data["notes"],
                                         reason=data["reason"], issue=issue)
            else:
                with transaction.atomic():  # "save and issue" saves nothing if the issue is refused
                    invoice = update_draft(invoice, actor=request.user, lines=lines, issue_date=data["issue_date"],
                                           due_date=data["due_date"], notes=data["notes"], reason=data["reason"])
                    if issue:
                        invoice = issue_invoice(invoice, actor=request.user)
        except DomainError as exc:
            add_service_error(form, exc, rows.formset)
        else:
            if issue:
                messages.success(request, _("Invoice %(number)s issued.") % {"number": invoice.number})
            else:
                messages.success(request, _("Draft saved."))
            return redirect("invoice_detail", pk=invoice.pk)
    return render(request, "web/billing/invoice_form.html", {
        "customer": customer, "invoice": invoice, "form": form, "lines": rows.formset,
    })


@staff_page("invoices.manage")
def invoice_new(request, pk):
    """Draft an invoice for a customer, line by line; save it as a draft or issue it at once."""
    customer = get_customer_or_404(request.user, pk)
    with timezone.override(customer_zone(customer)):
        return _draft_page(request, customer)


@staff_page("invoices.manage")
def invoice_edit(request, pk):
    """Edit a draft invoice (an issued one is corrected by a credit note or voided)."""
    invoice = _staff_invoice(request, pk)
    if invoice.status != InvoiceStatus.DRAFT:
        messages.error(request, _("Only a draft can be edited; issue a credit note or void the invoice instead."))
        return redirect("invoice_detail", pk=invoice.pk)
    with timezone.override(customer_zone(invoice.customer)):
        return _draft_page(request, invoice.customer, invoice)


@require_POST
@staff_page("invoices.manage")
def invoice_issue(request, pk):
    """Issue a draft: it gets its number and dates and is owed."""
    invoice = _staff_invoice(request, pk)
    with timezone.override(customer_zone(invoice.customer)):
        try:
            invoice = issue_invoice(invoice, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Invoice %(number)s issued.") % {"number": invoice.number})
    return redirect("invoice_detail", pk=invoice.pk)


@staff_page("invoices.manage")
def invoice_void(request, pk):
    """Void an invoice nothing is applied to, with the reason."""
    invoice = _staff_invoice(request, pk)
    form = VoidInvoiceForm(request.POST or None)
    with timezone.override(customer_zone(invoice.customer)):
        if request.method == "POST" and form.is_valid():
            try:
                void_invoice(invoice, actor=request.user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Invoice %(number)s is void.") % {"number": invoice})
                return redirect("invoice_detail", pk=invoice.pk)
        return render(request, "web/billing/invoice_void.html", {
            "invoice": invoice, "customer": invoice.customer, "form": form})


@staff_page("credit.issue")
def credit_note_new(request, pk):
    """Credit an open invoice line by line (the credit note's amount is the sum of its lines)."""
    invoice = _staff_invoice(request, pk)
    rows = LineRows(CreditLineFormSet, request, prefix="lines", initial=[], key_fields=("description", "amount"))
    if rows.changed:
        form = CreditNoteForm(initial={"reason": request.POST.get("reason", "")})
    else:
        form = CreditNoteForm(request.POST or None)
    with timezone.override(customer_zone(invoice.customer)):
        if request.method == "POST" and not rows.changed and form.is_valid() & rows.is_valid():
            lines = [CreditLineInput(row["description"], row["amount"]) for row in rows.lines]
            try:
                note = issue_credit_note(invoice=invoice, lines=lines, reason=form.cleaned_data["reason"],
                                         actor=request.user)
            except DomainError as exc:
                add_service_error(form, exc, rows.formset)
            else:
                messages.success(request, _("Credit note %(number)s issued for %(amount)s.") % {
                    "number": note.number, "amount": money(note.amount, invoice.currency)})
                return redirect("invoice_detail", pk=invoice.pk)
        return render(request, "web/billing/credit_note_form.html", {
            "invoice": invoice, "customer": invoice.customer, "form": form, "lines": rows.formset})


# --- a payment ------------------------------------------------------------------------------------------------


def _staff_payment(request, pk) -> Payment:
    return get_scoped_or_404(Payment.objects.select_related("customer", "recorded_by"), request.user, pk)


@staff_page("payments.view")
def payment_detail(request, pk):
    """A payment: what it was applied to, its refunds, and (if reversed) when and why."""
    payment = _staff_payment(request, pk)
    with timezone.override(customer_zone(payment.customer)):
        return render(request, "web/billing/payment.html", {
            "payment": payment, "customer": payment.customer,
            "allocations": payment.allocations.select_related("invoice").order_by("id"),
            "refunds": payment.refunds.all(),
        })


USED_REFUND_KEYS = "refund_form_keys"  # forms already carried out in this session


@staff_page("credit.issue")
def payment_refund(request, pk):
    """Pay back part of a payment's credit on account."""
    payment = _staff_payment(request, pk)
    form = RefundForm(request.POST or None, initial={"method": payment.method})
    with timezone.override(customer_zone(payment.customer)):
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            used = request.session.get(USED_REFUND_KEYS, [])
            if data["form_key"] and data["form_key"] in used:  # the same form sent twice: one refund
                messages.info(request, _("This refund was already recorded."))
                return redirect("payment_detail", pk=payment.pk)
            try:
                refund = refund_payment(payment=payment, amount=data["amount"], reason=data["reason"],
                                        method=data["method"], reference=data["reference"].strip(), actor=request.user)
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                if data["form_key"]:
                    request.session[USED_REFUND_KEYS] = (used + [data["form_key"]])[-20:]
                messages.success(request, _("Refund of %(amount)s recorded.") % {
                    "amount": money(refund.amount, payment.currency)})
                return redirect("payment_detail", pk=payment.pk)
        return render(request, "web/billing/payment_action.html", {
            "payment": payment, "customer": payment.customer, "form": form, "action": "refund"})


def _reactivations_made(payment) -> list:
    """Subscriptions the operator already reactivated because of this payment: a reversal does not suspend
    them again by itself (see billing.services.reverse_payment)."""
    from partnerdesk.dunning.models import OperatorRequest, RequestStatus

    return [r.subscription for r in OperatorRequest.objects.filter(
        customer=payment.customer, action=OperatorRequest.REACTIVATE, cause=f"payment:{payment.pk}",
        status=RequestStatus.DONE).select_related("subscription")]


@staff_page("payments.record")
def payment_reverse(request, pk):
    """Reverse a payment recorded twice or against the wrong customer: the invoices it paid are owed again."""
    payment = _staff_payment(request, pk)
    form = ReversePaymentForm(request.POST or None)
    with timezone.override(customer_zone(payment.customer)):
        if request.method == "POST" and form.is_valid():
            try:
                reverse_payment(payment, reason=form.cleaned_data["reason"], actor=request.user)
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Payment reversed: the invoices it paid are owed again."))
                reactivated = _reactivations_made(payment)
                if reactivated:
                    messages.warning(request, _(
                        "This payment had reactivated %(subs)s at the operator. They stay active: suspend them by "
                        "hand if the customer should not keep them.") % {"subs": ", ".join(map(str, reactivated))})
                return redirect("payment_detail", pk=payment.pk)
        return render(request, "web/billing/payment_action.html", {
            "payment": payment, "customer": payment.customer, "form": form, "action": "reverse",
            "allocations": payment.allocations.select_related("invoice").order_by("id")})


@staff_page("payments.record")
def allocation_move(request, pk):
    """Move what a payment applied to one invoice to another open invoice of the same customer."""
    payment = _staff_payment(request, pk)
    sources = scope(Invoice.objects.filter(pk__in=payment.allocations.values("invoice_id")), request.user)
    targets = open_invoices(payment.customer)
    form = MoveAllocationForm(request.POST or None, sources=sources, targets=targets)
    with timezone.override(customer_zone(payment.customer)):
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                move_allocation(payment, from_invoice=data["from_invoice"], to_invoice=data["to_invoice"],
                                amount=data["amount"] or None, reason=data["reason"], actor=request.user)
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Payment moved from %(source)s to %(target)s.") % {
                    "source": data["from_invoice"], "target": data["to_invoice"]})
                return redirect("payment_detail", pk=payment.pk)
        return render(request, "web/billing/payment_action.html", {
            "payment": payment, "customer": payment.customer, "form": form, "action": "move"})

