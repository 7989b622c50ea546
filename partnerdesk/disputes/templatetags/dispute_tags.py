"""The dispute panel on the agents' case page, and the "dispute this invoice" link on the portal's invoice page."""

from django import template
from django.utils import timezone

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.dunning.models import Dispute, HoldStatus
from partnerdesk.dunning.services import resume_date, undisputed_balance

from ..services import disputed_amount

register = template.Library()


@register.inclusion_tag("disputes/_panel.html", takes_context=True)
def dispute_panel(context, case):
    """The case's disputes with their amounts and what collections still counts; the agent's forms."""
    from partnerdesk.billing.models import Invoice

    user = context["request"].user
    disputes = list(Dispute.objects.filter(case=case).select_related("invoice", "credit_note").order_by("id"))
    for dispute in disputes:
        dispute.held = disputed_amount(dispute) if dispute.status == HoldStatus.OPEN else None
        dispute.still_counts = undisputed_balance(dispute.invoice)
    works = has_perm(user, "cases.work") and case.is_active
    # An invoice paid in full while disputed is upheld with a refund made in billing: the agent names it.
    refunds = []
    if works and any(d.held == 0 for d in disputes):
        from partnerdesk.billing.models import Refund

        refunds = list(Refund.objects.filter(customer=case.customer).order_by("-refunded_on", "-id")[:20])
    open_invoices = Invoice.objects.filter(customer=case.customer, balance__gt=0).exclude(status__in=["draft", "void", "paid"])
    return {
        "case": case, "disputes": disputes, "works": works,
        "may_uphold": works and has_perm(user, "credit.issue"),
        "refunds": refunds,
        "any_open": any(d.status == HoldStatus.OPEN for d in disputes),
        "open_invoices": list(open_invoices.order_by("issue_date", "id")) if works else [],
        "resume_on": resume_date(timezone.localdate()),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("disputes/_portal_link.html", takes_context=True)
def portal_dispute_link(context, invoice):
    """"Dispute this invoice" for a customer's user who may open cases, while the invoice has something open and
    no dispute of it is open."""
    user = context["request"].user
    disputed = Dispute.objects.filter(invoice=invoice, status=HoldStatus.OPEN).select_related("case").first()
    return {"invoice": invoice, "disputed": disputed,
            "may_dispute": has_perm(user, "cases.open") and invoice.is_open and invoice.balance > 0 and disputed is None}
