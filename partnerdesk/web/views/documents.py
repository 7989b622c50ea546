"""Invoices and statements as documents: a PDF to download and a print-friendly page, in the customer's
language (billing.documents builds them). Staff open any customer's; a customer user only its own, issued
invoices (another customer's or a draft is not found)."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone

from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404
from partnerdesk.billing import documents
from partnerdesk.billing.models import Invoice

from ..access import customer_zone, portal_page, staff_page
from ..forms import StatementForm
from .portal import _invoices as portal_invoices


def pdf_response(document: documents.Document) -> HttpResponse:
    """A PDF as a response, downloaded under its file name."""
    response = HttpResponse(document.content, content_type=document.mimetype)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


def _html(text: str) -> HttpResponse:
    return HttpResponse(text, content_type="text/html; charset=utf-8")


def _as_of(request, customer):
    """The statement's day from ?as_of= (the customer's today if none); None if what was given is not a date."""
    if not request.GET.get("as_of"):
        with timezone.override(customer_zone(customer)):
            return timezone.localdate()
    form = StatementForm(request.GET)
    return form.cleaned_data["as_of"] if form.is_valid() and form.cleaned_data["as_of"] else None


def _bad_date() -> HttpResponse:
    return HttpResponseBadRequest("as_of is not a date (YYYY-MM-DD)", content_type="text/plain; charset=utf-8")


def _query(as_of) -> str:
    return f"?as_of={as_of.isoformat()}"


# --- staff ---------------------------------------------------------------------------------------------------


def _staff_invoice(request, pk) -> Invoice:
    return get_scoped_or_404(Invoice.objects.select_related("customer"), request.user, pk)


@staff_page("invoices.view")
def invoice_pdf(request, pk):
    """The invoice as a PDF in the customer's language (a draft is marked as one)."""
    return pdf_response(documents.invoice_pdf(_staff_invoice(request, pk)))


@staff_page("invoices.view")
def invoice_print(request, pk):
    invoice = _staff_invoice(request, pk)
    return _html(documents.invoice_print_html(invoice, request=request, extra={
        "back_url": reverse("invoice_detail", args=[invoice.pk]), "pdf_url": reverse("invoice_pdf", args=[invoice.pk])}))


@staff_page("statement.view")
def customer_statement_pdf(request, pk):
    customer = get_customer_or_404(request.user, pk)
    as_of = _as_of(request, customer)
    return pdf_response(documents.statement_pdf(customer, as_of=as_of)) if as_of else _bad_date()


@staff_page("statement.view")
def customer_statement_print(request, pk):
    customer = get_customer_or_404(request.user, pk)
    as_of = _as_of(request, customer)
    if as_of is None:
        return _bad_date()
    return _html(documents.statement_print_html(customer, as_of=as_of, request=request, extra={
        "back_url": reverse("customer_statement", args=[customer.pk]) + _query(as_of),
        "pdf_url": reverse("customer_statement_pdf", args=[customer.pk]) + _query(as_of)}))


# --- the customer portal ---------------------------------------------------------------------------------------


def _portal_invoice(request, customer, pk) -> Invoice:
    # Issued invoices of the user's own customer only: a draft or another customer's is simply not found.
    return get_scoped_or_404(portal_invoices(request, customer).select_related("customer"), request.user, pk)


@portal_page("invoices.view")
def portal_invoice_pdf(request, customer, pk):
    return pdf_response(documents.invoice_pdf(_portal_invoice(request, customer, pk)))


@portal_page("invoices.view")
def portal_invoice_print(request, customer, pk):
    invoice = _portal_invoice(request, customer, pk)
    return _html(documents.invoice_print_html(invoice, request=request, extra={
        "back_url": reverse("portal_invoice_detail", args=[invoice.pk]),
        "pdf_url": reverse("portal_invoice_pdf", args=[invoice.pk])}))


@portal_page("statement.view")
def portal_statement_pdf(request, customer):
    as_of = _as_of(request, customer)
    return pdf_response(documents.statement_pdf(customer, as_of=as_of)) if as_of else _bad_date()


@portal_page("statement.view")
def portal_statement_print(request, customer):
    as_of = _as_of(request, customer)
    if as_of is None:
        return _bad_date()
    return _html(documents.statement_print_html(customer, as_of=as_of, request=request, extra={
        "back_url": reverse("portal_statement") + _query(as_of), "pdf_url": reverse("portal_statement_pdf") + _query(as_of)}))
