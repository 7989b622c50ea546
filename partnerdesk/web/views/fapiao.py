"""The fapiao pages. Staff: the list of fapiao requests and records with filters, and finance's actions on them
(request one for an invoice, record it issued and delivered, ask for and record its red-letter reversal), the
requests as CSV for the tax platform and its results uploaded back; a customer's invoicing details. The portal:
the customer's own invoices with their fapiao status (requested; issued, with number and date; delivered).

Every change goes through partnerdesk.fapiao.services; a refusal is shown as it is raised, in the reader's language.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import get_customer_or_404, has_perm, scope
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.customers.services import ImportFailed
from partnerdesk.errors import DomainError, NotFound
from partnerdesk.fapiao import exchange, queries, services
from partnerdesk.fapiao.models import FapiaoRecord, FapiaoStatus

from ..access import customer_zone, portal_page, staff_page
from ..fapiao_forms import (
    BuyerDetailsForm,
    DeliveredForm,
    FapiaoFilterForm,
    IssuedForm,
    RequestForm,
    ResultsUploadForm,
    ReversalDoneForm,
    ReversalForm,
)
from ..forms import add_domain_error

ROWS_PER_PAGE = 50
WAITING_SHOWN = 20  # issued invoices without a fapiao request, newest first


def _records(request):
    form = FapiaoFilterForm(request.GET or None)
    records = scope(FapiaoRecord.objects.select_related("invoice", "customer", "credit_note"), request.user)
    return form, form.apply(records)


def _waiting_for_request():
    """Issued invoices of customers with invoicing details that have no fapiao at all yet."""
    return (Invoice.objects.filter(status__in=services.REQUESTABLE, customer__fapiao_details__isnull=False)
            .exclude(Exists(FapiaoRecord.objects.filter(invoice=OuterRef("pk"))))
            .select_related("customer").order_by("-issue_date", "-id"))


@staff_page("fapiao.view")
def fapiao_list(request):
    """Fapiao requests and records, newest first, with filters; finance acts on each from here."""
    return _list_page(request)


def _list_page(request, *, import_form=None, import_errors=None, status=200):
    form, records = _records(request)
    page = Paginator(records, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    manage = has_perm(request.user, "fapiao.manage")
    waiting = _waiting_for_request()
    return render(request, "web/fapiao/list.html", {
        "form": form, "page": page, "manage": manage,
        "waiting": waiting[:WAITING_SHOWN] if manage else [], "waiting_count": waiting.count() if manage else 0,
        "request_form": RequestForm(), "import_form": import_form or ResultsUploadForm(),
        "import_errors": import_errors, "reasons": ReversalForm().fields["reason"].choices,
        "requested_count": FapiaoRecord.objects.filter(status=FapiaoStatus.REQUESTED).count(),
    }, status=status)


def _back(request):
    """Back to the list as it was (its filters and page), or to where the form said."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect("fapiao_list")


def _act(request, form_class, act, done):
    """Check a POSTed form, run the service, and say what happened (or why not) on the page it came from."""
    form = form_class(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
        return _back(request)
    try:
        result = act(form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done(result))
    return _back(request)


def _record(pk) -> FapiaoRecord:
    return get_object_or_404(FapiaoRecord.objects.select_related("invoice"), pk=pk)


@require_POST
@staff_page("fapiao.manage")
def fapiao_request(request):
    """Request a fapiao for an issued invoice, named by its number (or picked from the invoices waiting)."""
    def act(data):
        invoice = Invoice.objects.filter(number=data["invoice"].strip()).first()
        if invoice is None:
            raise NotFound(gettext_lazy("there is no invoice %(number)s"), field="invoice",
                           number=data["invoice"].strip())
        return services.request_fapiao(invoice, actor=request.user)

    return _act(request, RequestForm, act,
                lambda r: _("Fapiao requested for invoice %(number)s: %(amount)s plus %(tax)s tax.")
                % {"number": r.invoice.number, "amount": r.amount, "tax": r.tax})


@require_POST
@staff_page("fapiao.manage")
def fapiao_issue(request, pk):
    record = _record(pk)
    return _act(request, IssuedForm,
                lambda d: services.record_issued(record, number=d["number"], issued_on=d["issued_on"], actor=request.user),
                lambda r: _("Fapiao %(number)s recorded as issued for invoice %(invoice)s.")
                % {"number": r.number, "invoice": r.invoice.number})


@require_POST
@staff_page("fapiao.manage")
def fapiao_deliver(request, pk):
    record = _record(pk)
    return _act(request, DeliveredForm,
                lambda d: services.record_delivered(record, delivered_on=d["delivered_on"], actor=request.user),
                lambda r: _("Fapiao %(number)s recorded as delivered on %(date)s.")
                % {"number": r.number, "date": r.delivered_on.isoformat()})


@require_POST
@staff_page("fapiao.manage")
def fapiao_reversal(request, pk):
    record = _record(pk)
    return _act(request, ReversalForm,
                lambda d: services.request_reversal(record, reason_code=d["reason"], actor=request.user, note=d["note"]),
                lambda r: _("Red-letter reversal of fapiao %(number)s requested.") % {"number": r.number})


@require_POST
@staff_page("fapiao.manage")
def fapiao_reversal_reason(request, pk):
    record = _record(pk)
    return _act(request, ReversalForm,
                lambda d: services.change_reversal_reason(record, reason_code=d["reason"], actor=request.user,
                                                          note=d["note"]),
                lambda r: _("The red-letter reason of fapiao %(number)s is now: %(reason)s.")
                % {"number": r.number, "reason": r.get_reversal_reason_display()})


@require_POST
@staff_page("fapiao.manage")
def fapiao_reversal_done(request, pk):
    record = _record(pk)
    return _act(request, ReversalDoneForm,
                lambda d: services.record_reversal_done(record, red_letter_number=d["red_letter_number"],
                                                        reversed_on=d["reversed_on"], actor=request.user),
                lambda r: _("Fapiao %(number)s reversed by red-letter fapiao %(red)s.")
                % {"number": r.number, "red": r.red_letter_number})


@staff_page("fapiao.manage")
def fapiao_export(request):
    """The requested fapiao (or those of the status filtered on) as CSV for the tax platform."""
    form, records = _records(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("The filters are not valid: fix them on the list page and export again."),
                            status=400, content_type="text/plain; charset=utf-8")
    if not (form.is_bound and form.cleaned_data.get("status")):
        records = records.filter(status=FapiaoStatus.REQUESTED)
    response = HttpResponse(exchange.export_requests(records), content_type="text/csv; charset=utf-8")
    stamp = services.china_today().isoformat()
    response["Content-Disposition"] = f'attachment; filename="fapiao-requests-{stamp}.csv"'
    return response


@require_POST
@staff_page("fapiao.manage")
def fapiao_import(request):
    """The tax platform's results: all or nothing; every problem is listed by row and column."""
    form = ResultsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = exchange.import_results(upload.read(), actor=request.user, file=upload.name)
    except ImportFailed as failed:
        return _list_page(request, import_form=form, import_errors=failed, status=400)
    except DomainError as exc:
        add_domain_error(form, exc)
        return _list_page(request, import_form=form, status=400)
    messages.success(request, _("%(file)s: %(rows)s rows; %(issued)s issued, %(delivered)s delivered, %(reversed)s "
                                "reversed, %(unchanged)s already recorded.")
                     % {"file": upload.name, **result.__dict__})
    return redirect("fapiao_list")


# --- a customer's invoicing details ---------------------------------------------------------------------------------


@staff_page("fapiao.view")
def fapiao_buyer_details(request, pk):
    """What the customer's fapiao carry; finance edits them. The customer's fapiao are listed below."""
    customer = get_customer_or_404(request.user, pk)
    details = services.buyer_details_of(customer)
    manage = has_perm(request.user, "fapiao.manage")
    initial = {name: getattr(details, name) for name in services.BUYER_FIELDS} if details else {"fapiao_type": "general"}
    form = BuyerDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not manage:
            raise PermissionDenied("fapiao.manage")
        if form.is_valid():
            try:
                services.set_buyer_details(customer, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Invoicing details of %(customer)s saved.") % {"customer": customer.name})
                return redirect("fapiao_buyer_details", pk=customer.pk)
    records = FapiaoRecord.objects.filter(customer=customer).select_related("invoice", "credit_note")[:50]
    return render(request, "web/fapiao/buyer_details.html", {
        "customer": customer, "details": details, "form": form, "manage": manage, "records": records,
        "list_url": reverse("fapiao_list") + f"?customer={customer.tenant_id}",
    }, status=400 if request.method == "POST" else 200)


# --- the portal ---------------------------------------------------------------------------------------------------


@portal_page("fapiao.view")
def portal_fapiao(request, customer):
    """The customer's invoices with the fapiao of each: requested, issued (number and date), delivered."""
    invoices = (scope(Invoice.objects.filter(customer=customer), request.user).exclude(status=InvoiceStatus.DRAFT)
                .prefetch_related(Prefetch("fapiao_records", queryset=FapiaoRecord.objects.order_by("id"))))
    page = Paginator(invoices, 25).get_page(request.GET.get("page"))
    with timezone.override(customer_zone(customer)):
        return render(request, "web/fapiao/portal.html", {
            "customer": customer, "zone": customer_zone(customer), "page": page,
            "details": services.buyer_details_of(customer), "standing": queries.STANDING,
        })
