"""The customer portal: a customer user sees its own company only, and nothing in the URL can change that.

Every page receives the customer from access.portal_page (visible_customers of the signed-in user), and
every object is looked up through permissions.scope, so another customer's id is simply not found.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from partnerdesk.accounts.permissions import get_scoped_or_404, scope
from partnerdesk.billing.documents import site_payment_details
from partnerdesk.billing.models import Invoice, InvoiceStatus, Payment
from partnerdesk.billing.services import balances
from partnerdesk.customers.models import Subscription, SubscriptionStatus
from partnerdesk.dunning.publication import published_policy
from partnerdesk.dunning.services import pending_by_subscription

from ..access import customer_zone, portal_page
from .billing import invoice_context, statement_context

PER_PAGE = 25


def _invoices(request, customer):
    # Drafts are the partner's work in progress, not yet the customer's business.
    return scope(Invoice.objects.filter(customer=customer), request.user).exclude(status=InvoiceStatus.DRAFT)


def _subscriptions(request, customer):
    return list(scope(Subscription.objects.filter(customer=customer), request.user))


def _render(request, customer, template, context):
    with timezone.override(customer_zone(customer)):
        return render(request, template, {"customer": customer, "zone": customer_zone(customer), **context})


@portal_page("customers.view")
def portal_home(request, customer):
    """The customer's account at a glance: balance, suspended subscriptions, recent invoices."""
    subscriptions = _subscriptions(request, customer)
    with timezone.override(customer_zone(customer)):
        published = published_policy(customer)
    owed, overdue = balances(customer)
    return _render(request, customer, "web/portal/home.html", {
        "policy_to_acknowledge": published.policy is not None and published.acknowledged is None,
        "balance": owed,
        "overdue": overdue,
        "suspended": [s for s in subscriptions if s.status == SubscriptionStatus.SUSPENDED],
        "subscription_count": len(subscriptions),
        "invoices": _invoices(request, customer)[:5],
    })


@portal_page("invoices.view")
def portal_invoices(request, customer):
    page = Paginator(_invoices(request, customer), PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, customer, "web/portal/invoices.html", {"page": page})


@portal_page("invoices.view")
def portal_invoice_detail(request, customer, pk):
    invoice = get_scoped_or_404(_invoices(request, customer).select_related("customer"), request.user, pk)
    # How to pay, in the reader's language, with the invoice number to quote.
    return _render(request, customer, "web/portal/invoice.html", {**invoice_context(invoice),
                                                                   "payment": site_payment_details()})


@portal_page("payments.view")
def portal_payments(request, customer):
    payments = scope(Payment.objects.filter(customer=customer), request.user)
    page = Paginator(payments, PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, customer, "web/portal/payments.html", {"page": page})


@portal_page("statement.view")
def portal_statement(request, customer):
    with timezone.override(customer_zone(customer)):
        context = statement_context(request, customer)
    return _render(request, customer, "web/portal/statement.html", context)


@portal_page("subscriptions.view")
def portal_subscriptions(request, customer):
    subscriptions = _subscriptions(request, customer)
    pending = pending_by_subscription(subscriptions)  # one query for the whole table, not one a row
    for sub in subscriptions:
        sub.pending_request = pending.get(sub.pk, "")
    return _render(request, customer, "web/portal/subscriptions.html", {
        "subscriptions": subscriptions,
        "suspended": [s for s in subscriptions if s.status == SubscriptionStatus.SUSPENDED],
    })
