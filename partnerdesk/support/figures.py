"""A customer's figures as an agent quotes them: balance, overdue, the oldest overdue invoice, the next step of
collections, suspension and data-deletion dates, open disputes and promises; and canned replies filled with them.

Nothing is worked out twice: amounts come from the ledger (billing.services.balances), the next collections step
from the collections preview (dunning.engine.preview, the same simulation the collections page shows), planned
suspension dates from the published policy, and deletion dates from the subscriptions (21Vianet: 60 days).
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.documents import customer_zone
from partnerdesk.billing.models import Invoice
from partnerdesk.billing.services import balances, open_invoices
from partnerdesk.customers.models import DATA_DELETION_DAYS, DJANGO_LANGUAGE, Subscription, SubscriptionStatus
from partnerdesk.dunning import engine
from partnerdesk.dunning.models import Dispute, HoldStatus, PromiseToPay
from partnerdesk.dunning.publication import published_policy
from partnerdesk.notifications.rendering import format_amount, format_date

# The preview runs one decision per day: look a week ahead first (most answers are there), then further.
PREVIEW_WINDOWS = (7, 28, 56)
NONE_TEXT = _("(none)")
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass
class NextCollections:
    """The next thing collections would do if nothing is paid: its day, stage and invoice."""

    date: dt.date
    stage: str
    actions: list[str]
    invoice_number: str


@dataclass
class SuspendedSubscription:
    subscription: Subscription
    suspension_date: dt.date
    deletion_date: dt.date


@dataclass
class CustomerFigures:
    customer: object
    as_of: dt.date
    currency: str
    balance: Decimal
    overdue: Decimal
    oldest_overdue: Invoice | None
    next_collections: NextCollections | None
    exempt: bool
    suspended: list[SuspendedSubscription] = field(default_factory=list)
    # Actual dates once something is suspended; else the planned ones of the published policy (or None).
    suspension_date: dt.date | None = None
    deletion_date: dt.date | None = None
    suspension_planned: bool = False
    disputes: list = field(default_factory=list)
    promises: list = field(default_factory=list)

    @property
    def oldest_overdue_days(self) -> int | None:
        return (self.as_of - self.oldest_overdue.due_date).days if self.oldest_overdue else None


def next_collections_step(customer, as_of: dt.date, published=None, suspended=None) -> NextCollections | None:
    """The first action the collections runs would take for this customer from `as_of` on (None if none is
    ahead: exempt, nothing open, every stage done)."""
    published = published or published_policy(customer, as_of=as_of)
    suspended = _suspended(customer) if suspended is None else suspended
    if published.exempt:
        return None
    # Bound the preview by the last date anything could still happen: a stage not reached yet, or a deletion
    # warning before the data of a suspended subscription goes.
    ahead = [d.date for t in published.invoices for d in t.stages if d.stage.position > t.invoice.collections_stage]
    ahead += [sub.data_deletion_date for sub in suspended if sub.data_deletion_date]
    if not ahead:
        return None
    last = max(ahead)
    start = as_of
    for window in PREVIEW_WINDOWS:
        if start > last:
            break
        # Nothing happened before `start` (the earlier window found nothing), so a fresh preview from there
        # is exactly the continuation of the earlier one.
        items = engine.preview(start, window, customer_ids=[customer.pk])
        if items:
            item = items[0]
            return NextCollections(item.date, item.stage, list(item.actions), item.invoice_number)
        start += dt.timedelta(days=window)
    return None


def _suspended(customer) -> list[Subscription]:
    return list(Subscription.objects.filter(customer=customer, status=SubscriptionStatus.SUSPENDED,
                                            suspended_at__isnull=False).order_by("suspended_at", "id"))


def customer_figures(customer, *, as_of: dt.date | None = None) -> CustomerFigures:
    """Everything an agent quotes about a customer's account, as of a day in the customer's time zone."""
    as_of = as_of or timezone.localtime(timezone.now(), customer_zone(customer)).date()
    balance, overdue = balances(customer, as_of=as_of)
    oldest = open_invoices(customer).filter(due_date__lt=as_of).first()  # the one payments settle first
    published = published_policy(customer, as_of=as_of)
    suspended = _suspended(customer)
    figures = CustomerFigures(
        customer=customer, as_of=as_of, currency=customer.currency, balance=balance, overdue=overdue,
        oldest_overdue=oldest, next_collections=next_collections_step(customer, as_of, published, suspended),
        exempt=published.exempt,
        disputes=list(Dispute.objects.filter(customer=customer, status=HoldStatus.OPEN).select_related("invoice")
                      .order_by("opened_at", "id")),
        promises=list(PromiseToPay.objects.filter(customer=customer, status=HoldStatus.OPEN).select_related("invoice")
                      .order_by("promised_date", "id")),
    )
    for sub in suspended:
        deletion = sub.data_deletion_date
        figures.suspended.append(SuspendedSubscription(sub, deletion - dt.timedelta(days=DATA_DELETION_DAYS), deletion))
    if figures.suspended:
        figures.suspension_date = min(s.suspension_date for s in figures.suspended)
        figures.deletion_date = min(s.deletion_date for s in figures.suspended)
    else:
        planned = [t for t in published.invoices if t.suspension_date and not t.on_hold]
        if planned:
            first = min(planned, key=lambda t: t.suspension_date)
            figures.suspension_date, figures.deletion_date = first.suspension_date, first.deletion_date
            figures.suspension_planned = True
    return figures


def canned_values(figures: CustomerFigures, case, language: str) -> dict[str, str]:
    """The text each placeholder of a canned reply becomes, written for the language."""
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        none = str(NONE_TEXT)

    def day(value):
        return format_date(value, language) if value else none

    step = figures.next_collections
    oldest = figures.oldest_overdue
    return {
        "balance": format_amount(figures.balance),
        "overdue": format_amount(figures.overdue),
        "currency": figures.currency,
        "next_collections_date": day(step.date if step else None),
        "suspension_date": day(figures.suspension_date),
        "deletion_date": day(figures.deletion_date),
        "customer_name": figures.customer.name,
        "case_token": case.token,
        "oldest_overdue_invoice": (oldest.number or str(oldest.pk)) if oldest else none,
    }


def render_canned(reply, case, *, figures: CustomerFigures | None = None) -> str:
    """A canned reply with the case's customer's figures filled in; a placeholder it does not know stays as
    written (the agent sees it and fixes it before sending)."""
    figures = figures or customer_figures(case.customer)
    values = canned_values(figures, case, case.language)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), reply.body)
