"""An agent logs a case: a phone call, a chat, a mail forwarded by hand, or an internal case."""

import uuid

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from partnerdesk import bounds
from partnerdesk.accounts.permissions import visible_customers
from partnerdesk.billing.models import Invoice
from partnerdesk.errors import DomainError
from partnerdesk.support import services

from ..access import staff_page
from ..forms import add_domain_error
from ..support_forms import NewCaseForm, split_list

MAX_MATCHES = 5


def find_customer(user, text: str):
    """The one customer a text names (number, tenant id, or name), or (None, the problem)."""
    customers = visible_customers(user)
    text = text.strip()
    if text.isascii() and text.isdigit():
        found = customers.filter(pk=bounds.parse_id(text) or 0)
    else:
        try:
            found = customers.filter(tenant_id=uuid.UUID(text))
        except ValueError:
            found = customers.filter(name__iexact=text)
            if not found.exists():
                found = customers.filter(name__icontains=text)
    matches = list(found.order_by("name")[:MAX_MATCHES + 1])
    if len(matches) == 1:
        return matches[0], None
    if not matches:
        return None, _("No customer matches “%(text)s”.") % {"text": text}
    return None, _("Several customers match: %(names)s. Give the tenant id.") % {
        "names": ", ".join(c.name for c in matches[:MAX_MATCHES])}


def _initial(request) -> dict:
    initial = {"assign_to_me": True}
    customer_id = bounds.parse_id(request.GET.get("customer"))
    if customer_id is not None:
        customer = visible_customers(request.user).filter(pk=customer_id).first()
        if customer is not None:
            initial["customer"] = customer.name
            contact = customer.primary_contact
            if contact is not None:
                initial.update(requester_email=contact.email, requester_name=contact.name)
    return initial


@staff_page("cases.open", "cases.work")
def support_case_new(request):
    """Open a case for a customer as an agent; the requester is matched to the customer's contacts."""
    form = NewCaseForm(request.POST or None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        customer, problem = find_customer(request.user, data["customer"])
        if customer is None:
            form.add_error("customer", problem)
        else:
            email = data["requester_email"].strip().lower()
            contact = customer.contacts.filter(email__iexact=email).first() if email else None
            numbers = split_list(data["invoices"])
            invoices = list(Invoice.objects.filter(customer=customer, number__in=numbers))
            missing = sorted(set(numbers) - {i.number for i in invoices})
            if missing:
                form.add_error("invoices", _("%(customer)s has no invoice %(numbers)s.")
                               % {"customer": customer.name, "numbers": ", ".join(missing)})
            else:
                try:
                    case = services.open_case(
                        customer=customer, subject=data["subject"], description=data["description"],
                        actor=request.user, type=data["type"], severity=data["severity"], channel=data["channel"],
                        requester_contact=contact, requester_email=email, requester_name=data["requester_name"],
                        invoices=invoices, tags=split_list(data["tags"]),
                        assignee=request.user if data["assign_to_me"] else None)
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    messages.success(request, _("Case %(case)s is open.") % {"case": case.token})
                    return redirect("support_case", pk=case.pk)
    return render(request, "web/support/new_case.html", {"form": form})
