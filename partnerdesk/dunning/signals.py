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

    from .models import MANUAL_CAUSE, OperatorRequest, RequestStatus
    from .services import still_overdue

    if not still_overdue(customer):
        return
    # Only those the ledger caused (a reactivation an agent asked for by hand stays).
    OperatorRequest.objects.filter(customer=customer, action=OperatorRequest.REACTIVATE,
                                   status=RequestStatus.PENDING).exclude(cause__startswith=MANUAL_CAUSE).update(
        status=RequestStatus.CANCELLED, done_at=timezone.now(), last_error=f"not needed: overdue again after {cause}")
