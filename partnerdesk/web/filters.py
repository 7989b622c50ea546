"""The filter forms of the staff lists (customers, invoices, payments) and what each filter selects.

Each list page and its CSV export read the same form, so the export holds exactly the rows on screen (all
pages of them). Text is bounded by partnerdesk.bounds; dates by its business-date range.
"""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.models import User
from partnerdesk.billing.models import OPEN_STATUSES, InvoiceStatus, PaymentMethod
from partnerdesk.customers.models import BillingContact, CustomerStatus, Subscription, SubscriptionStatus
from partnerdesk.dunning.models import CollectionsPolicy, CollectionsProfile

from .forms import DateInput

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


class _Filters(forms.Form):
    """Common parts: storable text, business dates, and date ranges in order."""

    RANGES: list[tuple[str, str]] = []

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str):
                problem = bounds.text_problem(value, bounds.SEARCH_LENGTH)
                if problem:
                    self.add_error(name, problem)
            elif hasattr(value, "year") and not bounds.MIN_DATE <= value <= bounds.MAX_DATE:
                self.add_error(name, gettext("Enter a date between %(min)s and %(max)s.")
                               % {"min": bounds.MIN_DATE, "max": bounds.MAX_DATE})
        for since, until in self.RANGES:
            start, end = cleaned.get(since), cleaned.get(until)
            if start and end and start > end:
                self.add_error(until, gettext("The end date is before the start date."))
        return cleaned


def _customer_field():
    return forms.CharField(label=_("Customer"), required=False, max_length=bounds.SEARCH_LENGTH,
                           widget=forms.TextInput(attrs={"placeholder": _("Name or tenant id"), "type": "search"}))


def _customer_match(text: str, prefix: str = "customer__") -> Q:
    match = Q(**{f"{prefix}name__icontains": text})
    try:
        match |= Q(**{f"{prefix}tenant_id": uuid.UUID(text)})
    except ValueError:
        pass
    return match


def _date(label):
    return forms.DateField(label=label, required=False, widget=DateInput())


# --- invoices ---------------------------------------------------------------------------------------------


class InvoiceFilterForm(_Filters):
    OVERDUE = "overdue"
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *InvoiceStatus.choices, (OVERDUE, _("Overdue"))])
    customer = _customer_field()
    issued_from = _date(_("Issued from"))
    issued_to = _date(_("Issued to"))
    due_from = _date(_("Due from"))
    due_to = _date(_("Due to"))
    RANGES = [("issued_from", "issued_to"), ("due_from", "due_to")]

    def apply(self, invoices):
        """The invoices matching the valid filters (an invalid one filters nothing and shows its error)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        status = data.get("status")
        if status == self.OVERDUE:
            invoices = invoices.filter(status__in=OPEN_STATUSES, balance__gt=0, due_date__lt=timezone.localdate())
        elif status:
            invoices = invoices.filter(status=status)
        if text := (data.get("customer") or "").strip():
            invoices = invoices.filter(_customer_match(text))
        for name, lookup in [("issued_from", "issue_date__gte"), ("issued_to", "issue_date__lte"),
                             ("due_from", "due_date__gte"), ("due_to", "due_date__lte")]:
            if data.get(name):
                invoices = invoices.filter(**{lookup: data[name]})
        return invoices


# --- payments ---------------------------------------------------------------------------------------------


class PaymentFilterForm(_Filters):
    method = forms.ChoiceField(label=_("Method"), required=False, choices=[("", _("All methods")), *PaymentMethod.choices])
    customer = _customer_field()
    received_from = _date(_("Received from"))
    received_to = _date(_("Received to"))
    unallocated = forms.ChoiceField(label=_("Credit on account"), required=False,
                                    choices=[("", _("Any")), ("yes", _("Some left unapplied")), ("no", _("Fully applied"))])
    RANGES = [("received_from", "received_to")]

    def apply(self, payments):
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("method"):
            payments = payments.filter(method=data["method"])
        if text := (data.get("customer") or "").strip():
            payments = payments.filter(_customer_match(text))
        if data.get("received_from"):
            payments = payments.filter(received_on__gte=data["received_from"])
        if data.get("received_to"):
            payments = payments.filter(received_on__lte=data["received_to"])
        # Unapplied money: what is neither allocated nor refunded, on a payment not reversed.
        unapplied = Q(amount__gt=F("allocated_amount") + F("refunded_amount"))
        if _has_field(payments.model, "reversed_on"):
            unapplied &= Q(reversed_on__isnull=True)
        if data.get("unallocated") == "yes":
            payments = payments.filter(unapplied)
        elif data.get("unallocated") == "no":
            payments = payments.exclude(unapplied)
        return payments


def _has_field(model, name: str) -> bool:
    return any(f.name == name for f in model._meta.get_fields())


# --- customers --------------------------------------------------------------------------------------------


class ListChoices:
    """The policies and the possible owners, read once for both forms of the customer list."""

    def __init__(self):
        self.policies = [(str(p.pk), p.name) for p in CollectionsPolicy.objects.order_by("-is_default", "name")]
        self.owners = [(str(u.pk), u.get_username()) for u in staff_users()]


class CustomerFilterForm(_Filters):
    SORTS = {"name": ("name_sort", "name", "id"), "-balance": ("-balance", "name_sort", "id"),
             "-overdue": ("-overdue", "name_sort", "id")}
    NOBODY, DEFAULT, EXEMPT = "none", "default", "exempt"

    q = forms.CharField(label=_("Search"), required=False, max_length=bounds.SEARCH_LENGTH,
                        widget=forms.TextInput(attrs={"placeholder": _("Name, tenant id, domain or contact"),
                                                      "type": "search"}))
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *CustomerStatus.choices])
    suspended = forms.ChoiceField(label=_("Suspended"), required=False, choices=YES_NO)
    overdue = forms.ChoiceField(label=_("Overdue"), required=False, choices=YES_NO)
    policy = forms.ChoiceField(label=_("Collections policy"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[
        ("name", _("Name")), ("-balance", _("Balance owed, highest first")), ("-overdue", _("Overdue, highest first"))])

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = choices or ListChoices()
        self.fields["policy"].choices = [
            ("", _("Any policy")), (self.DEFAULT, _("The default policy")), (self.EXEMPT, _("Exempt from collections")),
            *choices.policies]
        self.fields["owner"].choices = [("", _("Anyone")), (self.NOBODY, _("Nobody")), *choices.owners]

    @property
    def chosen_sort(self) -> str:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return data.get("sort") or "name"

    def apply(self, customers):
        """Filter customers annotated by annotate_customer_state() (and with_balances for `overdue`)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if q := (data.get("q") or "").strip():
            customers = search_customers(customers, q)
        if data.get("status"):
            customers = customers.filter(status=data["status"])
        if data.get("suspended"):
            customers = customers.filter(is_suspended=data["suspended"] == "yes")
        if data.get("overdue") == "yes":
            customers = customers.filter(overdue__gt=0)
        elif data.get("overdue") == "no":
            customers = customers.filter(overdue__lte=0)
        policy = data.get("policy")
        if policy == self.EXEMPT:
            customers = customers.filter(is_exempt=True)
        elif policy == self.DEFAULT:
            own_terms = CollectionsProfile.objects.filter(Q(exempt=True) | Q(policy__isnull=False), customer=OuterRef("pk"))
            customers = customers.filter(~Exists(own_terms))
        elif policy:
            customers = customers.filter(collections_profile__policy_id=int(policy), collections_profile__exempt=False)
        owner = data.get("owner")
        if owner == self.NOBODY:
            customers = customers.filter(owner__isnull=True)
        elif owner:
            customers = customers.filter(owner_id=int(owner))
        return customers.order_by(*self.SORTS[self.chosen_sort])


def search_customers(customers, q: str):
    """Customers whose name, domain, tenant id, or a contact's name, email or phone contains `q`."""
    contacts = BillingContact.objects.filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(phone__icontains=q))
    match = Q(name__icontains=q) | Q(primary_domain__icontains=q) | Q(pk__in=contacts.values("customer_id"))
    try:
        match |= Q(tenant_id=uuid.UUID(q))
    except ValueError:
        match |= Q(tenant_id__icontains=q)
    return customers.filter(match)


def staff_users():
    """Who may own a customer: active staff."""
    from partnerdesk.accounts.permissions import PERMISSIONS

    return User.objects.filter(is_active=True, role__in=PERMISSIONS["customers.list"]).order_by("username")


def annotate_customer_state(customers):
    """`is_suspended` (a subscription is suspended) and `is_exempt` (exempt from collections), for the list's
    status and filters: one query for the whole page."""
    return customers.annotate(
        is_suspended=Exists(Subscription.objects.filter(customer=OuterRef("pk"), status=SubscriptionStatus.SUSPENDED)),
        is_exempt=Exists(CollectionsProfile.objects.filter(customer=OuterRef("pk"), exempt=True)),
    )


class BulkCustomersForm(forms.Form):
    """Bulk actions on the customers selected in the list."""

    OWNER, POLICY = "owner", "policy"
    action = forms.ChoiceField(label=_("Action"), choices=[(OWNER, _("Assign an owner")),
                                                          (POLICY, _("Move to a collections policy"))])
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    policy = forms.ChoiceField(label=_("Collections policy"), required=False)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=bounds.REASON_LENGTH,
                             help_text=_("Recorded in the audit log of each customer. Required to move a policy."))

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = choices or ListChoices()
        self.fields["owner"].choices = [("", _("Choose an owner")), (CustomerFilterForm.NOBODY, _("Nobody")),
                                        *choices.owners]
        self.fields["policy"].choices = [
            ("", _("Choose a policy")), (CustomerFilterForm.DEFAULT, _("The default policy")),
            (CustomerFilterForm.EXEMPT, _("Exempt from collections")), *choices.policies]

    def clean(self):
        cleaned = super().clean()
        action = cleaned.get("action")
        problem = bounds.text_problem(cleaned.get("reason") or "", bounds.REASON_LENGTH)
        if problem:
            self.add_error("reason", problem)
        if action == self.OWNER and not cleaned.get("owner"):
            self.add_error("owner", gettext("Choose the owner."))
        if action == self.POLICY:
            if not cleaned.get("policy"):
                self.add_error("policy", gettext("Choose the policy."))
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", gettext("Give the reason for the change."))
        return cleaned

    def owner_user(self):
        value = self.cleaned_data["owner"]
        return None if value == CustomerFilterForm.NOBODY else staff_users().get(pk=int(value))

    def chosen_policy(self):
        """(policy or None, exempt)."""
        value = self.cleaned_data["policy"]
        if value == CustomerFilterForm.EXEMPT:
            return None, True
        if value == CustomerFilterForm.DEFAULT:
            return None, False
        return CollectionsPolicy.objects.get(pk=int(value)), False


def validate_ids(values) -> list[int]:
    """The selected customer ids: positive 64-bit integers, or a ValidationError."""
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(gettext("Select customers from the list."))
        if not 1 <= number <= bounds.MAX_ID:
            raise ValidationError(gettext("Select customers from the list."))
        ids.append(number)
    return ids
