from django.dispatch import receiver

from partnerdesk.billing.signals import balance_increased, balance_reduced


@receiver(balance_reduced)
def reactivate_when_cleared(sender, customer, cause, **kwargs):
    from .services import close_calls_no_longer_needed, reactivate_if_cleared

    close_calls_no_longer_needed(customer=customer)
    reactivate_if_cleared(customer=customer, cause=cause)


@receiver(balance_increased)
def drop_reactivations_no_longer_deserved(sender, customer, cause, **kwargs):
    """A payment reversed (or moved off an invoice) may leave the customer overdue again: reactivations queued
    for it and not yet carried out are cancelled. One the operator already made stays (see reverse_payment)."""
    from django.utils import timezone

    from .models import OperatorRequest, RequestStatus
    from .services import _still_overdue

    if not _still_overdue(customer):
        return
    from django.db.models import Q

    # Only those the ledger caused (a reactivation an agent asked for by hand stays).
    automatic = Q()
    for prefix in ("payment:", "credit:", "credit_note:", "void:", "allocation:"):
        automatic |= Q(cause__startswith=prefix)
    OperatorRequest.objects.filter(automatic, customer=customer, action=OperatorRequest.REACTIVATE,
                                   status=RequestStatus.PENDING).update(
        status=RequestStatus.CANCELLED, done_at=timezone.now(), last_error=f"not needed: overdue again after {cause}")
