"""Staff pages that change a customer's record: create, edit, close (deactivate), and its contacts. Each calls
the customers service, which validates and audits; a refusal comes back on the field it names."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import get_customer_or_404
from partnerdesk.customers.models import BillingContact, CustomerStatus
from partnerdesk.customers.services import (
    add_contact,
    create_customer,
    remove_contact,
    update_contact,
    update_customer,
)
from partnerdesk.errors import DomainError

from ..access import staff_page
from ..record_forms import (
    ContactForm,
    DeactivateCustomerForm,
    EditCustomerForm,
    NewCustomerForm,
    add_service_error,
)

CUSTOMER_FIELDS = ["name", "tenant_id", "primary_domain", "payment_terms_days", "credit_limit", "language", "time_zone"]
CONTACT_FIELDS = ["name", "email", "phone", "kind", "is_primary", "language", "time_zone"]


@staff_page("customers.manage")
def customer_new(request):
    """A new customer, with its primary billing contact."""
    form = NewCustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = None
        if data["contact_email"]:
            contact = {"name": data["contact_name"] or data["contact_email"], "email": data["contact_email"],
                       "phone": data["contact_phone"]}
        try:
            customer = create_customer(actor=request.user, contact=contact, **{f: data[f] for f in CUSTOMER_FIELDS})
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "web/customers/customer_form.html", {"form": form, "customer": None})


@staff_page("customers.manage")
def customer_edit(request, pk):
    """Change a customer's details (and status); audited with the reason given."""
    customer = get_customer_or_404(request.user, pk)
    form = EditCustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            update_customer(customer, actor=request.user, reason=data["reason"],
                            status=data["status"], **{f: data[f] for f in CUSTOMER_FIELDS})
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Customer details saved."))
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "web/customers/customer_form.html", {"form": form, "customer": customer})


@staff_page("customers.manage")
def customer_deactivate(request, pk):
    """Close a customer (status "closed"), with the reason; its records stay."""
    customer = get_customer_or_404(request.user, pk)
    form = DeactivateCustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            update_customer(customer, actor=request.user, status=CustomerStatus.CLOSED,
                            reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(name)s is closed.") % {"name": customer.name})
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "web/customers/deactivate.html", {"form": form, "customer": customer})


def _contact(request, pk, contact_pk):
    customer = get_customer_or_404(request.user, pk)
    contact = BillingContact.objects.filter(customer=customer, pk=contact_pk).first()
    if contact is None:
        raise Http404
    return customer, contact


@staff_page("customers.manage")
def contact_new(request, pk):
    """Add a contact (billing or technical) to a customer."""
    customer = get_customer_or_404(request.user, pk)
    form = ContactForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = add_contact(customer, actor=request.user, reason=data["reason"],
                                  **{f: data[f] for f in CONTACT_FIELDS})
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Contact %(name)s added.") % {"name": contact.name})
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "web/customers/contact_form.html", {"form": form, "customer": customer, "contact": None})


@staff_page("customers.manage")
def contact_edit(request, pk, contact_pk):
    """Change a contact: its email, role, language, time zone, or make it the primary billing contact."""
    customer, contact = _contact(request, pk, contact_pk)
    form = ContactForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            update_contact(contact, actor=request.user, reason=data["reason"], **{f: data[f] for f in CONTACT_FIELDS})
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": data["name"]})
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "web/customers/contact_form.html", {"form": form, "customer": customer, "contact": contact})


@require_POST
@staff_page("customers.manage")
def contact_remove(request, pk, contact_pk):
    """Remove a contact (not the primary billing contact while others remain)."""
    customer, contact = _contact(request, pk, contact_pk)
    try:
        remove_contact(contact, actor=request.user, reason=request.POST.get("reason", "")[:2000])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("contact_edit", pk=customer.pk, contact_pk=contact.pk)
    messages.success(request, _("Contact %(name)s removed.") % {"name": contact.name})
    return redirect("customer_detail", pk=customer.pk)
