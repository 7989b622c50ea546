"""Escalations listen to the desk: the agent's next public reply on a case whose operator request closed is the
task "tell the customer" done."""

from django.dispatch import receiver

from partnerdesk.support.services import public_reply_sent


@receiver(public_reply_sent, dispatch_uid="escalations.customer_told")
def _on_public_reply(sender, case, message, actor=None, now=None, **kwargs):
    from .services import customer_told

    customer_told(case, actor=actor, now=now)
