"""Staff lists of invoices and payments across customers: filters, pages, and the filtered list as CSV."""

import csv
import io

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.permissions import scope
from partnerdesk.billing.models import Invoice, Payment

from ..access import staff_page
from ..filters import InvoiceFilterForm, PaymentFilterForm

ROWS_PER_PAGE = 50
# A text cell a spreadsheet would run as a formula (a customer named "=HYPERLINK(...)"): quoted as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_response(header: list[str], rows, name: str) -> HttpResponse:
    """Rows as a CSV download: UTF-8 with a byte-order mark, so Excel reads Chinese (as the reports do)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    response = HttpResponse("\ufeff" + buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def bad_filters() -> HttpResponse:
    return HttpResponse(_("The filters are not valid: fix them on the list page and export again."),
                        status=400, content_type="text/plain; charset=utf-8")


def _stamp() -> str:
    return timezone.localdate().isoformat()


# --- invoices ---------------------------------------------------------------------------------------------


def _invoices(request):
    form = InvoiceFilterForm(request.GET or None)
    invoices = scope(Invoice.objects.select_related("customer"), request.user)
    return form, form.apply(invoices).order_by("-issue_date", "-id")


@staff_page("invoices.view")
def invoice_list(request):
    """Every customer's invoices, newest first, with filters; an open invoice past due shows as overdue."""
    form, invoices = _invoices(request)
    page = Paginator(invoices, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/lists/invoices.html", {"form": form, "page": page})


INVOICE_HEADER = ["number", "customer", "tenant_id", "issue_date", "due_date", "status", "currency", "total", "paid",
                  "balance"]


@staff_page("invoices.view")
def invoice_list_csv(request):
    form, invoices = _invoices(request)
    if form.is_bound and not form.is_valid():
        return bad_filters()
    rows = ([i.number or f"#{i.pk}", i.customer.name, str(i.customer.tenant_id), i.issue_date, i.due_date,
             i.display_status, i.currency, i.total, i.amount_paid, i.balance] for i in invoices.iterator(chunk_size=1000))
    return csv_response(INVOICE_HEADER, rows, f"partnerdesk-invoices-{_stamp()}.csv")


# --- payments ---------------------------------------------------------------------------------------------


def _payments(request):
    form = PaymentFilterForm(request.GET or None)
    payments = scope(Payment.objects.select_related("customer", "recorded_by"), request.user)
    return form, form.apply(payments).order_by("-received_on", "-id")


@staff_page("payments.view")
def payment_list(request):
    """Every customer's payments, newest first, with filters (method, dates, customer, credit left)."""
    form, payments = _payments(request)
    page = Paginator(payments, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/lists/payments.html", {"form": form, "page": page})


PAYMENT_HEADER = ["received_on", "customer", "tenant_id", "method", "reference", "currency", "amount", "allocated",
                  "refunded", "unallocated", "recorded_by"]


@staff_page("payments.view")
def payment_list_csv(request):
    form, payments = _payments(request)
    if form.is_bound and not form.is_valid():
        return bad_filters()
    rows = ([p.received_on, p.customer.name, str(p.customer.tenant_id), p.method, p.reference, p.currency, p.amount,
             p.allocated_amount, p.refunded_amount, p.unallocated, p.recorded_by.get_username() if p.recorded_by else ""]
            for p in payments.iterator(chunk_size=1000))
    return csv_response(PAYMENT_HEADER, rows, f"partnerdesk-payments-{_stamp()}.csv")
