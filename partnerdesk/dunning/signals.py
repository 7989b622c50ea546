from django.dispatch import receiver

from partnerdesk.billing.signals import payment_recorded


@receiver(payment_recorded)
def reactivate_when_cleared(sender, customer, payment, **kwargs):
    from .services import reactivate_if_cleared

    reactivate_if_cleared(customer=customer, cause=f"payment:{payment.pk}")
