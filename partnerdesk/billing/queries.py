"""Reads of the ledger shared by the API routes of several apps."""

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.permissions import scope

from .models import Invoice, InvoiceStatus


def visible_invoices(user):
    """Invoices the user may see; a customer's users never see drafts (they are not sent yet), so a draft's id
    answers 404 to them, as any invoice they may not see does."""
    invoices = scope(Invoice.objects.all(), user)
    if user.role == Role.CUSTOMER:
        invoices = invoices.exclude(status=InvoiceStatus.DRAFT)
    return invoices
