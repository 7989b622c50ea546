"""Staff pages about customers: the list, one customer's page, CSV import, and its subscriptions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import DecimalField
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import (
    get_customer_or_404,
    get_scoped_or_404,
    has_perm,
    require,
    scope,
    visible_customers,
)
from partnerdesk.audit.models import AuditEntry
from partnerdesk.audit.services import filter_entries
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.billing.money import to_money
from partnerdesk.billing.services import balances, with_balances
from partnerdesk.customers.models import CustomerStatus, Subscription, SubscriptionStatus
from partnerdesk.customers.owners import assign_owner
from partnerdesk.customers.services import (
    IMPORT_COLUMNS,
    ImportFailed,
    import_customers_csv,
    sync_subscriptions,
)
from partnerdesk.dunning.services import (
    pending_by_subscription,
    reactivate_by_hand,
    set_profile,
    suspend_by_hand,
)
from partnerdesk.errors import DomainError, OperatorFailure

from ..access import customer_zone, staff_page
from ..filters import (
    BulkCustomersForm,
    CustomerFilterForm,
    ListChoices,
    annotate_customer_state,
    validate_ids,
)
from ..forms import ImportCustomersForm, ReactivateForm, SuspendForm, add_domain_error
from .collections_section import customer_collections_context
from .lists import bad_filters, csv_response

CUSTOMERS_PER_PAGE = 25
RECENT_ROWS = 20

_MONEY = DecimalField(max_digits=18, decimal_places=2)


def _listed_customers(request, choices=None):
    """The filter form and the customers it selects, annotated for the list (balances, suspended, exempt)."""
    form = CustomerFilterForm(request.GET or None, choices=choices)
    customers = annotate_customer_state(with_balances(visible_customers(request.user)))
    return form, form.apply(customers).select_related("owner", "collections_profile__policy")


def customer_flags(customer) -> list[tuple[str, str]]:
    """What matters about a listed customer, as (badge status, label): closed or on hold, suspended (a
    subscription is), overdue, exempt; "active" only when none of these holds."""
    flags = []
    if customer.status != CustomerStatus.ACTIVE:
        flags.append((customer.status, customer.get_status_display()))
    if customer.is_suspended:
        flags.append(("suspended", _("Suspended")))
    if customer.overdue and customer.overdue > 0:
        flags.append(("overdue", _("Overdue")))
    if customer.is_exempt:
        flags.append(("exempt", _("Exempt from collections")))
    return flags or [(CustomerStatus.ACTIVE, CustomerStatus.ACTIVE.label)]


def _policy_name(customer) -> str:
    profile = getattr(customer, "collections_profile", None)
    if profile is not None and profile.exempt:
        return _("Exempt from collections")
    if profile is not None and profile.policy is not None:
        return profile.policy.name
    return _("The default policy")


@staff_page("customers.list")
def customer_list(request):
    """All customers with search, filters (status, suspended, overdue, policy, owner), pinyin order, balances."""
    choices = ListChoices()
    form, customers = _listed_customers(request, choices)
    page = Paginator(customers.prefetch_related("contacts"), CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    for customer in page.object_list:
        customer.flags = customer_flags(customer)
        customer.policy_name = _policy_name(customer)
    bulk = BulkCustomersForm(choices=choices) if has_perm(request.user, "customers.manage") or has_perm(
        request.user, "collections.manage") else None
    return render(request, "web/customers/list.html", {
        "form": form, "page": page, "sort": form.chosen_sort, "total_customers": visible_customers(request.user).count(),
        "bulk_form": bulk, "matching": page.paginator.count,
    })


CSV_HEADER = ["name", "tenant_id", "primary_domain", "status", "owner", "collections_policy", "balance", "overdue",
              "contact_name", "contact_email", "contact_phone"]


@staff_page("customers.list")
def customer_list_csv(request):
    """The customers the list's filters select (all pages), as CSV."""
    form, customers = _listed_customers(request)
    if form.is_bound and not form.is_valid():
        return bad_filters()
    rows = []
    for customer in customers.prefetch_related("contacts").iterator(chunk_size=500):
        contact = customer.primary_contact
        rows.append([customer.name, str(customer.tenant_id), customer.primary_domain,
                     " / ".join(str(label) for _key, label in customer_flags(customer)),
                     customer.owner.get_username() if customer.owner else "", _policy_name(customer),
                     to_money(customer.balance, customer.currency), to_money(customer.overdue, customer.currency),
                     contact.name if contact else "", contact.email if contact else "", contact.phone if contact else ""])
    return csv_response(CSV_HEADER, rows, f"partnerdesk-customers-{timezone.localdate().isoformat()}.csv")


@require_POST
@staff_page("customers.list")
def customer_bulk(request):
    """Assign an owner to, or move to a collections policy, the customers selected in the list: all or none,
    each change audited (the policy through the collections service, with the reason given)."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("customer_list")
    form = BulkCustomersForm(request.POST)
    try:
        ids = validate_ids(request.POST.getlist("customers"))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(back)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    action = form.cleaned_data["action"]
    require(request.user, "customers.manage" if action == form.OWNER else "collections.manage")
    customers = list(visible_customers(request.user).filter(pk__in=ids))
    if not customers:
        messages.error(request, _("Select customers from the list."))
        return redirect(back)
    reason = form.cleaned_data["reason"].strip()
    try:
        if action == form.OWNER:
            owner = form.owner_user()
            changed = assign_owner(customers, owner=owner, actor=request.user, reason=reason)
            messages.success(request, ngettext(
                "%(count)d customer now has the owner %(owner)s.", "%(count)d customers now have the owner %(owner)s.",
                changed) % {"count": changed, "owner": owner.get_username() if owner else _("nobody")})
        else:
            policy, exempt = form.chosen_policy()
            with transaction.atomic():  # all or none
                for customer in customers:
                    set_profile(customer=customer, actor=request.user, policy=policy, exempt=exempt, reason=reason)
            target = _("Exempt from collections") if exempt else policy.name if policy else _("The default policy")
            messages.success(request, ngettext("%(count)d customer moved to “%(policy)s”.",
                                               "%(count)d customers moved to “%(policy)s”.", len(customers))
                             % {"count": len(customers), "policy": target})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(back)


@staff_page("customers.view")
def customer_detail(request, pk):
    """One customer: details, balance, subscriptions, invoices, payments, collections and recent audit entries."""
    return render_customer_detail(request, get_customer_or_404(request.user, pk))


def render_customer_detail(request, customer, **bound):
    """The customer page; `bound` carries a collections form just submitted with its errors."""
    user = request.user
    with timezone.override(customer_zone(customer)):
        subscriptions = list(scope(Subscription.objects.filter(customer=customer), user))
        pending = pending_by_subscription(subscriptions)  # one query for the whole table, not one a row
        for sub in subscriptions:
            sub.pending_request = pending.get(sub.pk, "")
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
            # The customer's recent support cases, for staff who work the desk (the case page has the rest).
            "cases": (customer.cases.select_related("assignee").order_by("-updated_at", "-id")[:RECENT_ROWS]
                      if has_perm(user, "cases.internal") else None),
            "suspend_form": SuspendForm(),
            "reactivate_form": ReactivateForm(),
            "zone": customer_zone(customer),
            **customer_collections_context(request, customer, **bound),
        }
        # The heading shows what matters, as the list does: suspended, overdue, exempt (not "Active" regardless).
        customer.is_suspended = bool(context["suspended"])
        customer.overdue = overdue
        profile = getattr(customer, "collections_profile", None)
        customer.is_exempt = bool(profile is not None and profile.exempt)
        context["flags"] = customer_flags(customer)
        return render(request, "web/customers/detail.html", context)


@staff_page("customers.manage")
def customer_import(request):
    """Upload a CSV of customers: all rows or none; every bad row is listed."""
    form = ImportCustomersForm(request.POST or None, request.FILES or None)
    row_errors, file_name = None, ""
    if request.method == "POST" and form.is_valid():
        file_name = request.FILES["file"].name
        try:
            result = import_customers_csv(form.cleaned_data["file"], actor=request.user, file=file_name,
                                          reason=f"CSV import from {file_name}")
        except ImportFailed as exc:
            row_errors = [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Import finished: %(created)s customer(s) created, %(updated)s updated.")
                             % {"created": len(result.created), "updated": len(result.updated)})
            return redirect("customer_list")
    return render(request, "web/customers/import.html", {
        "form": form, "row_errors": row_errors, "file_name": file_name, "columns": IMPORT_COLUMNS,
    })


def _operator_text(exc: DomainError) -> str:
    if isinstance(exc, OperatorFailure):
        return _("The operator did not accept the change: %(detail)s") % {"detail": exc.message}
    return exc.message


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
    """Suspend a subscription at the operator (reason code and reason required), through the queue of operator
    requests: done at once if the operator answers, else queued and retried, and the page says which."""
    customer, sub = _subscription(request, pk, sub_pk)
    form = SuspendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = suspend_by_hand(sub, actor=request.user, reason_code=form.cleaned_data["reason_code"],
                                   reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)  # the form again, with the reason typed
        else:
            _tell_by_hand_outcome(request, customer, done)
            return redirect("customer_detail", pk=customer.pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/customers/subscription_action.html", {
            "customer": customer, "sub": sub, "form": form, "action": "suspend",
        })


@staff_page("subscriptions.suspend")
def subscription_reactivate(request, pk, sub_pk):
    """Reactivate a suspended subscription at the operator (reason required), through the queue as a suspension."""
    customer, sub = _subscription(request, pk, sub_pk)
    form = ReactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = reactivate_by_hand(sub, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            _tell_by_hand_outcome(request, customer, done)
            return redirect("customer_detail", pk=customer.pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/customers/subscription_action.html", {
            "customer": customer, "sub": sub, "form": form, "action": "reactivate",
            "suspended": [sub] if sub.status == SubscriptionStatus.SUSPENDED else [],
        })


def _tell_by_hand_outcome(request, customer, done) -> None:
    """What became of a suspension or reactivation asked for by hand, in plain words."""
    sub, suspending = done.subscription, done.request.action == "suspend"
    if done.outcome == "done" and suspending:
        with timezone.override(customer_zone(customer)):
            deletion = sub.data_deletion_date
        messages.warning(request, _("%(sub)s: suspended at the operator. Its data will be deleted on %(date)s unless "
                                    "it is reactivated before then.") % {"sub": sub, "date": deletion.isoformat()}
                         if deletion else _("%(sub)s: suspended at the operator.") % {"sub": sub})
    elif done.outcome == "done":
        messages.success(request, _("%(sub)s: reactivated at the operator; it is active again.") % {"sub": sub})
    elif done.queued:
        messages.warning(request, (
            _("The operator cannot be reached just now. The suspension of %(sub)s is queued and will be retried "
              "until the operator confirms it; meanwhile it shows as “suspension pending”.") if suspending else
            _("The operator cannot be reached just now. The reactivation of %(sub)s is queued and will be retried "
              "until the operator confirms it; meanwhile it shows as “reactivation pending”.")) % {"sub": sub})
    else:
        messages.info(request, _("Nothing was changed: %(sub)s is %(status)s at the operator now.")
                      % {"sub": sub, "status": sub.get_status_display()})
