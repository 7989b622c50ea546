"""The side panel of a case: the customer's ledger and collections state, so an agent answers without leaving
the case. The figures are support.figures' (the same ones a canned reply quotes); nothing is worked out here."""

from partnerdesk.billing.models import Payment
from partnerdesk.customers.models import Subscription
from partnerdesk.support.figures import customer_figures

from .collections_section import open_invoices_of

PANEL_ROWS = 5


def ledger_panel(customer) -> dict:
    """Balance, overdue, the next collections step, suspension and deletion dates, open invoices, recent
    payments and subscriptions."""
    figures = customer_figures(customer)
    subscriptions = list(Subscription.objects.filter(customer=customer).order_by("status", "id"))
    for sub in subscriptions:
        sub.deletion_on = sub.data_deletion_date
    return {
        "customer": customer,
        "figures": figures,
        "invoices": list(open_invoices_of(customer)[:PANEL_ROWS * 2]),
        "payments": list(Payment.objects.filter(customer=customer).order_by("-received_on", "-id")[:PANEL_ROWS]),
        "subscriptions": subscriptions,
    }
