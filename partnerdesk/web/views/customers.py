"""Staff pages about customers: the list, one customer's page, CSV import, and its subscriptions."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import DecimalField, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import (
    get_customer_or_404,
    get_scoped_or_404,
    has_perm,
    scope,
    visible_customers,
)
from partnerdesk.audit.models import AuditEntry
from partnerdesk.audit.services import filter_entries
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.billing.services import balances, with_balances
from partnerdesk.customers.models import BillingContact, Subscription, SubscriptionStatus
from partnerdesk.customers.services import (
    IMPORT_COLUMNS,
    ImportFailed,
    import_customers_csv,
    reactivate_subscription,
    suspend_subscription,
    sync_subscriptions,
)
from partnerdesk.errors import Conflict, DomainError, OperatorFailure
from partnerdesk.service_messages import translate_service_message

from ..access import customer_zone, staff_page
from ..forms import CustomerSearchForm, ImportCustomersForm, ReactivateForm, SuspendForm, add_domain_error

CUSTOMERS_PER_PAGE = 25
RECENT_ROWS = 20
SORTS = {"name": ("name", "id"), "-balance": ("-balance", "name", "id"), "-overdue": ("-overdue", "name", "id")}

_MONEY = DecimalField(max_digits=18, decimal_places=2)


def _search(customers, q: str):
    match = (Q(name__icontains=q) | Q(primary_domain__icontains=q)
             | Q(pk__in=BillingContact.objects.filter(email__icontains=q).values("customer_id")))
    try:
        match |= Q(tenant_id=uuid.UUID(q))
    except ValueError:
        match |= Q(tenant_id__icontains=q)
    return customers.filter(match)


@staff_page("customers.list")
def customer_list(request):
    """All customers with search, a status filter and their open and overdue balances."""
    form = CustomerSearchForm(request.GET or None)
    customers = visible = visible_customers(request.user)
    if form.is_valid():
        if q := form.cleaned_data["q"].strip():
            customers = _search(customers, q)
        if status := form.cleaned_data["status"]:
            customers = customers.filter(status=status)
    # The same balance as the customer's page (unallocated credit counts), in one query for the whole page.
    customers = with_balances(customers).prefetch_related("contacts")
    sort = request.GET.get("sort") if request.GET.get("sort") in SORTS else "name"
    page = Paginator(customers.order_by(*SORTS[sort]), CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/customers/list.html", {
        "form": form, "page": page, "sort": sort, "total_customers": visible.count(),
    })


@staff_page("customers.view")
def customer_detail(request, pk):
    """One customer: details, balance, subscriptions, invoices, payments, collections and recent audit entries."""
    return render_customer_detail(request, get_customer_or_404(request.user, pk))


def render_customer_detail(request, customer, **bound):
    """The customer page; `bound` carries a collections form just submitted with its errors."""
    from .collections import customer_collections_context

    user = request.user
    with timezone.override(customer_zone(customer)):
        subscriptions = list(scope(Subscription.objects.filter(customer=customer), user))
        owed, overdue = balances(customer, as_of=timezone.localdate())
        context = {
            "customer": customer,
            "contact": customer.primary_contact,
            "balance": owed,
            "overdue": overdue,
            "subscriptions": subscriptions,
            "suspended": [s for s in subscriptions if s.status == SubscriptionStatus.SUSPENDED],
            "invoices": scope(Invoice.objects.filter(customer=customer), user)[:RECENT_ROWS],
            "invoice_count": scope(Invoice.objects.filter(customer=customer), user).count(),
            "payments": scope(Payment.objects.filter(customer=customer), user).select_related("recorded_by")[:RECENT_ROWS],
            "audit_entries": (filter_entries(AuditEntry.objects.all(), customer_id=customer.pk)[:RECENT_ROWS]
                              if has_perm(user, "audit.view") else None),
            "suspend_form": SuspendForm(),
            "reactivate_form": ReactivateForm(),
            "zone": customer_zone(customer),
            **customer_collections_context(request, customer, **bound),
        }
        return render(request, "web/customers/detail.html", context)


@staff_page("customers.manage")
def customer_import(request):
    """Upload a CSV of customers: all rows or none; every bad row is listed."""
    form = ImportCustomersForm(request.POST or None, request.FILES or None)
    row_errors = None
    if request.method == "POST" and form.is_valid():
        try:
            result = import_customers_csv(form.cleaned_data["file"], actor=request.user)
        except ImportFailed as exc:
            row_errors = [{"row": e.row, "column": e.column, "message": translate_service_message(e.message)}
                          for e in exc.errors]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Import finished: %(created)s customer(s) created, %(updated)s updated.")
                             % {"created": len(result.created), "updated": len(result.updated)})
            return redirect("customer_list")
    return render(request, "web/customers/import.html", {
        "form": form, "row_errors": row_errors, "columns": IMPORT_COLUMNS,
    })


def _operator_text(exc: DomainError) -> str:
    if isinstance(exc, OperatorFailure):
        return _("The operator did not accept the change: %(detail)s") % {"detail": translate_service_message(exc.message)}
    return translate_service_message(exc.message)


def _operator_message(request, exc: DomainError) -> None:
    messages.error(request, _operator_text(exc))


@require_POST
@staff_page("subscriptions.sync")
def customer_sync(request, pk):
    """Mirror the customer's subscriptions from the operator."""
    customer = get_customer_or_404(request.user, pk)
    try:
        synced = sync_subscriptions(customer, actor=request.user)
    except DomainError as exc:
        _operator_message(request, exc)
    else:
        messages.success(request, ngettext("Synced %(count)d subscription from the operator.",
                                           "Synced %(count)d subscriptions from the operator.", len(synced))
                         % {"count": len(synced)})
    return redirect("customer_detail", pk=customer.pk)


def _subscription(request, pk, sub_pk):
    customer = get_customer_or_404(request.user, pk)
    sub = get_scoped_or_404(Subscription.objects.filter(customer=customer).select_related("customer"), request.user, sub_pk)
    return customer, sub


@staff_page("subscriptions.suspend")
def subscription_suspend(request, pk, sub_pk):
    """Suspend a subscription at the operator (reason code and reason required)."""
    customer, sub = _subscription(request, pk, sub_pk)
    form = SuspendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sub = suspend_subscription(sub, actor=request.user, reason_code=form.cleaned_data["reason_code"],
                                       reason=form.cleaned_data["reason"])
        except (OperatorFailure, Conflict) as exc:
            form.add_error(None, _operator_text(exc))  # the form again, with the reason typed: try again later
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            with timezone.override(customer_zone(customer)):
                deletion = sub.data_deletion_date
            if deletion:
                messages.warning(request, _("%(sub)s is suspended. Its data will be deleted on %(date)s unless it is "
                                            "reactivated before then.") % {"sub": sub, "date": deletion.isoformat()})
            else:
                messages.success(request, _("%(sub)s: suspension sent to the operator.") % {"sub": sub})
            return redirect("customer_detail", pk=customer.pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/customers/subscription_action.html", {
            "customer": customer, "sub": sub, "form": form, "action": "suspend",
        })


@staff_page("subscriptions.suspend")
def subscription_reactivate(request, pk, sub_pk):
    """Reactivate a suspended subscription at the operator (reason required)."""
    customer, sub = _subscription(request, pk, sub_pk)
    form = ReactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sub = reactivate_subscription(sub, actor=request.user, reason=form.cleaned_data["reason"])
        except (OperatorFailure, Conflict) as exc:
            form.add_error(None, _operator_text(exc))  # the form again, with the reason typed: try again later
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("%(sub)s is active again.") % {"sub": sub})
            return redirect("customer_detail", pk=customer.pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/customers/subscription_action.html", {
            "customer": customer, "sub": sub, "form": form, "action": "reactivate",
            "suspended": [sub] if sub.status == SubscriptionStatus.SUSPENDED else [],
        })
