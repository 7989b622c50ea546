"""Escalations listen to the desk: the agent's next public reply on a case whose operator request closed is the
task "tell the customer" done; a colleague's mail into a case with a filed request is the operator's answer
forwarded."""

from django.dispatch import receiver

from partnerdesk.support.services import mail_naming_a_case, public_reply_sent


@receiver(public_reply_sent, dispatch_uid="escalations.customer_told")
def _on_public_reply(sender, case, message, actor=None, now=None, **kwargs):
    from .services import customer_told

    customer_told(case, actor=actor, now=now)


@receiver(mail_naming_a_case, dispatch_uid="escalations.forwarded_answer")
def _on_mail_naming_a_case(sender, case, mail, text, address, name="", **kwargs):
    """A colleague forwards 21Vianet's answer into the case (the case token in the subject): it is logged on the
    case's request as the operator's answer, by that colleague (staff only, never shown to the customer). True
    when taken; mail from anyone else waits for an agent as before."""
    from partnerdesk.accounts.models import STAFF_ROLES, User

    from .models import ServiceRequestStatus
    from .services import log_forwarded_mail

    if not address or not case.service_requests.exclude(status=ServiceRequestStatus.DRAFT).exists():
        return False
    colleague = User.objects.filter(email__iexact=address, is_active=True, role__in=STAFF_ROLES).first()
    if colleague is None:
        return False
    return log_forwarded_mail(case, mail, text, actor=colleague) is not None
