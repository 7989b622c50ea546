"""The audit log for staff: filter, page through, export as CSV."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.permissions import visible_customers
from partnerdesk.audit.models import AuditEntry
from partnerdesk.audit.services import export_csv, filter_entries

from ..access import staff_page
from ..forms import AuditFilterForm

ENTRIES_PER_PAGE = 50


def _filtered(request):
    form = AuditFilterForm(request.GET or None, customers=visible_customers(request.user).only("id", "name"))
    entries = AuditEntry.objects.select_related("customer")
    if form.is_bound:
        form.is_valid()  # fields that are valid filter even when another is not; the bad one shows its error
        data = getattr(form, "cleaned_data", {})
        customer = data.get("customer")
        entries = filter_entries(entries, customer_id=customer.pk if customer else None,
                                 action=(data.get("action") or "").strip(), actor=(data.get("actor") or "").strip(),
                                 since=data.get("since"), until=data.get("until"))
    return form, entries


@staff_page("audit.view")
def audit_list(request):
    """Who changed what, when and why: newest first."""
    form, entries = _filtered(request)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/audit/list.html", {"form": form, "page": page})


@staff_page("audit.view")
def audit_export(request):
    """The entries matching the same filters, as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese)."""
    form, entries = _filtered(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(_("The filters are not valid: fix them on the audit page and export again."),
                            status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse("\ufeff" + export_csv(entries), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="partnerdesk-audit-{stamp}.csv"'
    return response
