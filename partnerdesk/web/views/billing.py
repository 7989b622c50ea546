"""Staff pages about money: record a payment, a customer's statement, an invoice."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.billing.services import customer_balance, open_invoices, record_payment, statement
from partnerdesk.errors import DomainError

from ..access import customer_zone, staff_page
from ..forms import RecordPaymentForm, StatementForm, add_domain_error
from ..templatetags.desk import money


@staff_page("payments.record")
def payment_new(request, pk):
    """Record money received from a customer; it is applied to open invoices, oldest due first."""
    customer = get_customer_or_404(request.user, pk)
    same_reference = None
    with timezone.override(customer_zone(customer)):
        form = RecordPaymentForm(request.POST or None, today=timezone.localdate())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            same_reference = None if data["record_anyway"] else _same_reference(customer, data)
            if same_reference is not None:
                form.add_error("reference", _("This customer already has a payment with this reference: %(amount)s "
                                              "received on %(date)s. Is this the same money?") % {
                    "amount": money(same_reference.amount, same_reference.currency),
                    "date": same_reference.received_on.isoformat()})
            else:
                try:
                    result = record_payment(customer=customer, amount=data["amount"], received_on=data["received_on"],
                                            method=data["method"], reference=data["reference"].strip(),
                                            idempotency_key=data["idempotency_key"] or None, actor=request.user)
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    balance = money(customer_balance(customer), customer.currency)
                    if result.created:
                        messages.success(request, _("Payment of %(amount)s recorded. New balance: %(balance)s.") % {
                            "amount": money(result.payment.amount, result.payment.currency), "balance": balance})
                    else:
                        messages.info(request, _("This payment was already recorded (the form was sent twice); "
                                                 "nothing was added. Balance: %(balance)s.") % {"balance": balance})
                    return redirect("customer_detail", pk=customer.pk)
        return render(request, "web/billing/payment_new.html", {
            "customer": customer, "form": form, "balance": customer_balance(customer),
            "open_invoices": open_invoices(customer), "same_reference": same_reference,
        })


def _same_reference(customer, data):
    """An earlier payment of the customer with this bank reference: most often the same money entered again (in
    a new form, so with a new idempotency key). Asked before recording, as a recorded payment is applied at once.
    None for a form sent twice, which the idempotency key answers."""
    reference = data["reference"].strip()
    if not reference:
        return None
    key = data["idempotency_key"] or None
    if key and Payment.objects.filter(idempotency_key=key).exists():
        return None
    return Payment.objects.filter(customer=customer, reference__iexact=reference).order_by("-id").first()


def statement_context(request, customer) -> dict:
    """The statement form and, if its date is valid, the statement as of that day (default: today)."""
    form = StatementForm(request.GET if "as_of" in request.GET else None)
    as_of = None
    if not form.is_bound:
        as_of = timezone.localdate()
    elif form.is_valid():
        as_of = form.cleaned_data["as_of"] or timezone.localdate()
    return {
        "customer": customer,
        "form": form,
        "statement": statement(customer, as_of=as_of) if as_of else None,
    }


@staff_page("statement.view")
def customer_statement(request, pk):
    """A customer's statement: entries with a running balance, open items with days overdue, totals."""
    customer = get_customer_or_404(request.user, pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/billing/statement.html", statement_context(request, customer))


def invoice_context(invoice) -> dict:
    return {
        "invoice": invoice,
        "customer": invoice.customer,
        "lines": invoice.lines.select_related("subscription"),
        "allocations": invoice.allocations.select_related("payment", "credit_note"),
        "credit_notes": invoice.credit_notes.all(),
    }


@staff_page("invoices.view")
def invoice_detail(request, pk):
    """An invoice with its lines, the payments and credit notes applied to it."""
    invoice = get_scoped_or_404(Invoice.objects.select_related("customer"), request.user, pk)
    with timezone.override(customer_zone(invoice.customer)):
        return render(request, "web/billing/invoice.html", invoice_context(invoice))
