from django.dispatch import receiver

from partnerdesk.billing.signals import balance_reduced


@receiver(balance_reduced)
def reactivate_when_cleared(sender, customer, cause, **kwargs):
    from .services import close_calls_no_longer_needed, reactivate_if_cleared

    close_calls_no_longer_needed(customer=customer)
    reactivate_if_cleared(customer=customer, cause=cause)
