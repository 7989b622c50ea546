"""One search over what a billing team looks things up by: customers (name, tenant id, domain), contacts (name,
email, phone), invoices (number), payments (reference), subscriptions (operator id, name) and support cases
(words of their subject and messages, through support.search's full-text index).

Staff only (`search.use`), and every query still goes through accounts.permissions' scoping. Matching is
Django's icontains, which escapes % and _ for LIKE on SQLite and PostgreSQL alike; the query is bounded by
bounds.SEARCH_LENGTH.
"""

import re
import uuid
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.permissions import has_perm, require, scope, visible_customers
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.customers.models import BillingContact, Subscription

KINDS = ["customer", "contact", "invoice", "payment", "subscription", "case"]
KIND_LABELS = {
    "customer": _("Customer"),
    "contact": _("Contact"),
    "invoice": _("Invoice"),
    "payment": _("Payment"),
    "subscription": _("Subscription"),
    "case": _("Case"),
}
PER_KIND = 20
MAX_PER_KIND = 50
# A query that could be part of a tenant id (a GUID): hex digits and hyphens only.
_TENANT_PART = re.compile(r"^[0-9a-fA-F-]{4,36}$")


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    customer_id: int
    customer_name: str
    title: str  # the invoice number, the payment reference, the contact's name...
    obj: object = field(compare=False, repr=False)  # the row itself, for pages that show more of it

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    more: set[str] = field(default_factory=set)  # kinds with more hits than were returned

    def of_kind(self, kind: str) -> list[Hit]:
        return [h for h in self.hits if h.kind == kind]


def _exact_first(column: str, q: str):
    """Order rows whose `column` equals the query (ignoring case) before those that only contain it."""
    return Case(When(**{f"{column}__iexact": q}, then=Value(0)), default=Value(1), output_field=IntegerField())


def _take(queryset, limit: int) -> tuple[list, bool]:
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


def search(user, q: str, *, limit: int = PER_KIND) -> Results:
    """Everything of each kind the user may see that matches `q`, at most `limit` hits per kind (exact matches
    first). An empty query finds nothing."""
    require(user, "search.use")
    q = bounds.clean_text(q, field="q", max_length=bounds.SEARCH_LENGTH).strip()
    limit = max(1, min(int(limit), MAX_PER_KIND))
    results = Results(query=q)
    if not q:
        return results

    def add(kind, rows_more, make):
        rows, more = rows_more
        results.hits.extend(make(row) for row in rows)
        if more:
            results.more.add(kind)

    customer_match = Q(name__icontains=q) | Q(primary_domain__icontains=q)
    try:
        customer_match |= Q(tenant_id=uuid.UUID(q))
    except ValueError:
        if _TENANT_PART.match(q):
            customer_match |= Q(tenant_id__icontains=q)
    customers = visible_customers(user).filter(customer_match).order_by(_exact_first("name", q), "name_sort", "id")
    add("customer", _take(customers, limit),
        lambda c: Hit("customer", c.pk, c.pk, c.name, c.name, c))

    contacts = (scope(BillingContact.objects.all(), user)
                .filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(phone__icontains=q))
                .select_related("customer").order_by(_exact_first("name", q), "customer__name_sort", "name", "id"))
    add("contact", _take(contacts, limit),
        lambda c: Hit("contact", c.pk, c.customer_id, c.customer.name, c.name, c))

    invoices = (scope(Invoice.objects.filter(number__isnull=False), user).filter(number__icontains=q)
                .select_related("customer").order_by(_exact_first("number", q), "-issue_date", "-id"))
    add("invoice", _take(invoices, limit),
        lambda i: Hit("invoice", i.pk, i.customer_id, i.customer.name, i.number, i))

    payments = (scope(Payment.objects.exclude(reference=""), user).filter(reference__icontains=q)
                .select_related("customer").order_by(_exact_first("reference", q), "-received_on", "-id"))
    add("payment", _take(payments, limit),
        lambda p: Hit("payment", p.pk, p.customer_id, p.customer.name, p.reference, p))

    subscriptions = (scope(Subscription.objects.all(), user)
                     .filter(Q(operator_id__icontains=q) | Q(friendly_name__icontains=q) | Q(offer_name__icontains=q))
                     .select_related("customer")
                     .order_by(_exact_first("operator_id", q), "customer__name_sort", "offer_name", "id"))
    add("subscription", _take(subscriptions, limit),
        lambda s: Hit("subscription", s.pk, s.customer_id, s.customer.name, str(s), s))

    if has_perm(user, "cases.internal"):
        from partnerdesk.support.search import search_cases

        # obj is the support.search hit: the case and the snippet of the message that matched.
        add("case", search_cases(user, q, limit=limit),
            lambda h: Hit("case", h.case.pk, h.case.customer_id, h.case.customer.name,
                          f"{h.case.token} {h.case.subject}", h))
    return results
