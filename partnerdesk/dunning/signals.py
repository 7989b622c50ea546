from django.dispatch import receiver

from partnerdesk.billing.signals import balance_reduced


@receiver(balance_reduced)
def reactivate_when_cleared(sender, customer, cause, **kwargs):
    from .services import reactivate_if_cleared

    reactivate_if_cleared(customer=customer, cause=cause)
