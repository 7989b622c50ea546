"""The one permission rule: what each role may do, and which customers a user may see.

Every API route, web page, CLI command and service that acts for a user asks here. Customer users may
only ever see their own customer; any other customer's object is reported as not found.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from .models import Role

_ALL_STAFF = {Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS, Role.FINANCE, Role.AUDITOR}
_EVERYONE = _ALL_STAFF | {Role.CUSTOMER}

PERMISSIONS: dict[str, frozenset[str]] = {
    # reading (customer users: their own customer only, through scoping)
    "customers.view": frozenset(_EVERYONE),
    "customers.list": frozenset(_ALL_STAFF),
    "subscriptions.view": frozenset(_EVERYONE),
    "invoices.view": frozenset(_EVERYONE),
    "payments.view": frozenset(_EVERYONE),
    "statement.view": frozenset(_EVERYONE),
    "audit.view": frozenset(_ALL_STAFF),
    "search.use": frozenset(_ALL_STAFF),  # one search over customers, contacts, invoices, payments, subscriptions
    # changing
    "customers.manage": frozenset({Role.ADMIN, Role.BILLING_AGENT}),
    "subscriptions.sync": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS}),
    "subscriptions.suspend": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS}),
    "invoices.manage": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.FINANCE}),
    "payments.record": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS, Role.FINANCE}),
    "credit.issue": frozenset({Role.ADMIN, Role.FINANCE}),
    "users.manage": frozenset({Role.ADMIN}),
    # email, calendar and collections
    "emails.view": frozenset(_ALL_STAFF),
    "emails.manage": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS}),
    "templates.manage": frozenset({Role.ADMIN}),
    "payment_instructions.manage": frozenset({Role.ADMIN}),  # how customers pay: on every invoice and statement
    "calendar.view": frozenset(_ALL_STAFF),
    "calendar.manage": frozenset({Role.ADMIN}),
    "collections.view": frozenset(_ALL_STAFF),
    "collections.manage": frozenset({Role.ADMIN, Role.COLLECTIONS}),
    "collections.policy": frozenset({Role.ADMIN}),
    "collections.policy.view": frozenset(_EVERYONE),
    "collections.acknowledge": frozenset({Role.CUSTOMER}),
    "disputes.manage": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS}),
    "reports.view": frozenset({Role.ADMIN, Role.COLLECTIONS, Role.FINANCE, Role.AUDITOR}),
    # the support desk (customer users: their own customer's cases, never an internal note)
    "cases.view": frozenset(_EVERYONE),
    "cases.open": frozenset(_EVERYONE - {Role.AUDITOR}),
    "cases.reply": frozenset(_EVERYONE - {Role.AUDITOR}),  # customers answer on their own cases
    "cases.work": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS, Role.FINANCE}),
    "cases.internal": frozenset(_ALL_STAFF),  # internal notes, events, the unmatched mail
    "mail.manage": frozenset({Role.ADMIN, Role.BILLING_AGENT}),  # file unmatched mail; post raw mail in
    "desk.manage": frozenset({Role.ADMIN}),  # SLA targets, canned replies, support information, bots
    "desk.reports": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.FINANCE, Role.AUDITOR}),
    # service requests to the operator (customer users never see them: the contact is the partner's own)
    "escalations.view": frozenset(_ALL_STAFF),
    "escalations.work": frozenset({Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS, Role.FINANCE}),  # as cases.work
    # re-billing, payables to the operator, fapiao and finance's figures: finance edits, agents read
    "rebilling.view": frozenset(_ALL_STAFF),  # reconciliation files, their lines, price rules, drafts
    "rebilling.manage": frozenset({Role.ADMIN, Role.FINANCE}),  # import, map, price, generate, adjust, issue
    "payables.view": frozenset(_ALL_STAFF),
    "payables.manage": frozenset({Role.ADMIN, Role.FINANCE}),  # operator invoices, payments, finance settings
    "fapiao.view": frozenset(_EVERYONE),  # customer users: their own invoices' fapiao status
    "fapiao.manage": frozenset({Role.ADMIN, Role.FINANCE}),
    "finance.view": frozenset(_ALL_STAFF),  # exposure, margin, leakage, cash flow
    # fraud and misuse monitoring: staff read alerts; collections, finance and administrators act on them
    "fraud.view": frozenset(_ALL_STAFF),
    "fraud.act": frozenset({Role.ADMIN, Role.COLLECTIONS, Role.FINANCE}),  # judge, suspend, prepayment, report
    "fraud.rules": frozenset({Role.ADMIN}),  # thresholds, automatic actions, the team
    "limits.view": frozenset(_EVERYONE),  # customer users: their own credit limit and budgets
    "limits.manage": frozenset({Role.ADMIN, Role.FINANCE}),
}


def has_perm(user, action: str) -> bool:
    """True if this signed-in, active user's role allows the action."""
    if action not in PERMISSIONS:
        raise KeyError(f"unknown permission {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in PERMISSIONS[action]


def require(user, action: str) -> None:
    """Raise PermissionDenied unless the user may perform the action."""
    if not has_perm(user, action):
        raise PermissionDenied(action)


def visible_customers(user) -> QuerySet:
    """The customers this user may see: all for staff, its own for a customer user, none otherwise."""
    from partnerdesk.customers.models import Customer

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Customer.objects.none()
    if user.role == Role.CUSTOMER:
        return Customer.objects.filter(pk=user.customer_id)
    return Customer.objects.all()


def scope(queryset: QuerySet, user, customer_field: str = "customer") -> QuerySet:
    """Restrict a queryset of customer-owned rows to what the user may see."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.role == Role.CUSTOMER:
        queryset = queryset.filter(**{f"{customer_field}_id": user.customer_id})
        # Rows the partner keeps to itself though they concern the customer (an internal case, say).
        hidden = getattr(queryset.model, "hidden_from_customers", None)
        return queryset.exclude(hidden) if hidden is not None else queryset
    return queryset


def get_scoped_or_404(queryset: QuerySet, user, pk, customer_field: str = "customer"):
    """One object the user may see, or Http404: another customer's object is reported as not found."""
    from django.http import Http404

    try:
        return scope(queryset, user, customer_field).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404


def get_customer_or_404(user, pk):
    """A customer the user may see, or Http404."""
    from django.http import Http404

    customers = visible_customers(user)
    try:
        return customers.get(pk=pk)
    except (customers.model.DoesNotExist, ValueError, TypeError):
        raise Http404
