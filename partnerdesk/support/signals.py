"""The desk listens to the email path: a bounced reply shows on its case, a bounced resolution reopens it."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from partnerdesk.notifications.background import email_bounced


@receiver(email_bounced, dispatch_uid="support.resolution_bounced")
def _on_bounce(sender, email, **kwargs):
    from .services import resolution_bounced

    resolution_bounced(email)


# The full-text index follows every saved case and message (bulk writes call fulltext.index_rows).
@receiver(post_save, sender="support.Case", dispatch_uid="support.index_case")
def _index_case(sender, instance, **kwargs):
    from .fulltext import index_case

    index_case(instance)


@receiver(post_save, sender="support.CaseMessage", dispatch_uid="support.index_message")
def _index_message(sender, instance, **kwargs):
    from .fulltext import index_message

    index_message(instance)
