"""Who at the partner is responsible for a customer: assigning an owner, one customer or many at once."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.permissions import has_perm
from partnerdesk.audit.services import record
from partnerdesk.errors import InvalidInput

from .models import Customer


def _owner_name(user) -> str | None:
    return user.get_username() if user is not None else None


@transaction.atomic
def assign_owner(customers, *, owner, actor, reason: str = "") -> int:
    """Make `owner` (an active staff user, or None for nobody) responsible for each customer; each change is
    audited. All or nothing; returns how many customers changed owner."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    if owner is not None and not has_perm(owner, "customers.list"):
        raise InvalidInput(_("%(user)s is not an active staff member and cannot own customers"), field="owner",
                           user=owner.get_username())
    ids = [c.pk for c in customers]
    if not ids:
        raise InvalidInput(_("select at least one customer"), field="customers")
    changed = 0
    for customer in Customer.objects.select_for_update(of=("self",)).select_related("owner").filter(pk__in=ids).order_by("pk"):
        if customer.owner_id == (owner.pk if owner else None):
            continue
        before = {"owner": _owner_name(customer.owner)}
        customer.owner = owner
        customer.save(update_fields=["owner"])
        record(actor=actor, action="customer.owner_changed", obj=customer, before=before,
               after={"owner": _owner_name(owner)}, reason=reason)
        changed += 1
    return changed
