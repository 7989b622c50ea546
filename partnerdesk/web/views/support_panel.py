"""The side panel of a case: the customer's ledger and collections state, so an agent answers without leaving
the case. Every figure comes from the ledger and collections functions the customer page uses."""

from django.utils import timezone

from partnerdesk.billing.models import Payment
from partnerdesk.billing.services import balances
from partnerdesk.customers.models import Subscription, SubscriptionStatus
from partnerdesk.dunning.publication import published_policy

from ..access import customer_zone
from .collections_section import _invoice_rows

PANEL_ROWS = 5


def ledger_panel(customer) -> dict:
    """Balance, overdue, open invoices with their collections stage and dates, recent payments, subscriptions."""
    with timezone.override(customer_zone(customer)):
        today = timezone.localdate()
        owed, overdue = balances(customer, as_of=today)
        published = published_policy(customer, as_of=today)
        rows = _invoice_rows(published)
        subscriptions = list(Subscription.objects.filter(customer=customer).order_by("status", "id"))
        for sub in subscriptions:
            sub.deletion_on = sub.data_deletion_date
        upcoming = [row["next"].date for row in rows if row["next"] is not None and not row["timeline"].on_hold]
        return {
            "customer": customer,
            "balance": owed,
            "overdue": overdue,
            "exempt": published.exempt,
            "invoice_rows": rows,
            "next_collections_date": min(upcoming) if upcoming else None,
            "suspension_dates": sorted({r["timeline"].suspension_date for r in rows if r["timeline"].suspension_date}),
            "payments": list(Payment.objects.filter(customer=customer).order_by("-received_on", "-id")[:PANEL_ROWS]),
            "subscriptions": subscriptions,
            "suspended": [s for s in subscriptions if s.status == SubscriptionStatus.SUSPENDED],
        }
