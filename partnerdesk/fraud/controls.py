"""The controls in force on a customer because of fraud or misuse: prepayment required, new orders held."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import InvalidInput

from .models import CustomerRisk

RISK_FIELDS = ["prepayment_required", "orders_held", "reason"]


def risk_of(customer) -> CustomerRisk | None:
    """The customer's controls, or None if none was ever set."""
    return CustomerRisk.objects.filter(customer=customer).first()


def check_reason(reason, *, field: str = "reason") -> str:
    """A reason as stored: required, storable, not too long."""
    reason = bounds.clean_text(reason, field=field, max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("a reason is required"), field=field)
    return reason


def set_controls(customer, *, actor, reason, prepayment_required: bool | None = None,
                 orders_held: bool | None = None) -> CustomerRisk:
    """Require prepayment and/or hold new orders (or lift them); None leaves a control as it is. Audited."""
    reason = check_reason(reason)
    for field, value in (("prepayment_required", prepayment_required), ("orders_held", orders_held)):
        if value is not None and not isinstance(value, bool):
            raise InvalidInput(_("Enter true or false."), field=field)
    with transaction.atomic():
        risk, _created = CustomerRisk.objects.select_for_update().get_or_create(customer=customer)
        before = snapshot(risk, RISK_FIELDS)
        if prepayment_required is not None:
            risk.prepayment_required = prepayment_required
        if orders_held is not None:
            risk.orders_held = orders_held
        if (risk.prepayment_required, risk.orders_held) == (before["prepayment_required"], before["orders_held"]):
            return risk  # nothing changes: nothing to record
        risk.reason = reason
        risk.updated_by = actor if actor is not None and actor.pk else None
        risk.updated_at = timezone.now()
        risk.save()
        record(actor=actor, action="customer_risk.changed", obj=risk, customer=customer, before=before,
               after=snapshot(risk, RISK_FIELDS), reason=reason)
    return risk
