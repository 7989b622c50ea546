"""The portal's "dispute this invoice": a customer disputes an amount of its own open invoice, which opens a
dispute case it then follows in its Support list. The invoice is looked up through permissions.scope: another
customer's invoice is not found."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.permissions import get_scoped_or_404
from partnerdesk.disputes.services import open_dispute_case
from partnerdesk.errors import DomainError
from partnerdesk.support.attachments import read_uploads
from partnerdesk.support.models import Channel

from ..access import customer_zone, portal_page
from ..dispute_forms import PortalDisputeForm
from ..forms import add_domain_error
from .portal import _invoices


@portal_page("invoices.view", "cases.open")
def portal_invoice_dispute(request, customer, pk):
    """Dispute an amount of the invoice (at most its open balance), with the reason and files."""
    invoice = get_scoped_or_404(_invoices(request, customer), request.user, pk)
    form = PortalDisputeForm(request.POST or None, request.FILES or None, initial={"amount": invoice.balance})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                case = open_dispute_case(customer=customer, actor=request.user, amounts=[(invoice, str(data["amount"]))],
                                         reason=data["reason"], channel=Channel.PORTAL,
                                         attachments=read_uploads(data["attachments"]))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Your dispute is case %(case)s. We will answer here and by email.")
                             % {"case": case.token})
            return redirect("portal_support_case", case.pk)
    with timezone.override(customer_zone(customer)):
        return render(request, "web/portal/invoice_dispute.html",
                      {"customer": customer, "zone": customer_zone(customer), "invoice": invoice, "form": form},
                      status=400 if request.method == "POST" else 200)
