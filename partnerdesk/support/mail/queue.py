"""An agent's actions on mail that waits (unmatched, held, too large, unreadable): file it to a customer (a new
case), to a case (a reply), or discard it. Each is audited; the raw message stays kept whatever is decided."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record
from partnerdesk.errors import Conflict, InvalidInput, status_word

from ..models import NEEDS_AGENT, Case, InboundMail, MailStatus
from . import threading as mail_threading
from .filing import file_on_case, open_case_from_mail
from .parsing import MalformedMail, ParsedAttachment, ParsedMail, parse_message

# Mail an agent may still file: what waits for one, and what was set aside as automatic (it may be wrong).
FILEABLE = (*NEEDS_AGENT, MailStatus.AUTO_REPLY)
UNREADABLE_TEXT = "The email could not be read; the original message is attached."


def waiting():
    """The mail that waits for an agent, oldest first."""
    return InboundMail.objects.filter(status__in=NEEDS_AGENT).order_by("received_at", "id")


def _lock(mail: InboundMail) -> InboundMail:
    mail = InboundMail.objects.select_for_update().get(pk=mail.pk)
    if mail.status not in FILEABLE:
        raise Conflict(_("this email is %(status)s; only mail waiting for an agent can be filed or discarded"),
                       field="mail_id", status=status_word(MailStatus, mail.status))
    return mail


def parsed_for_agent(mail: InboundMail) -> ParsedMail:
    """The kept message, read again; one that cannot be read becomes a note with the original attached."""
    with mail.raw.open("rb") as f:
        raw = f.read()
    try:
        return parse_message(raw)
    except MalformedMail:
        return ParsedMail(message_id=mail.message_id, from_address=mail.from_address, subject=mail.subject,
                          text=UNREADABLE_TEXT, size=len(raw),
                          attachments=[ParsedAttachment("original.eml", "message/rfc822", raw)])


def _snapshot(mail: InboundMail) -> dict:
    return {"status": mail.status, "case_id": mail.case_id, "customer_id": mail.customer_id}


@transaction.atomic
def file_to_customer(mail: InboundMail, customer, *, actor, reason: str = "") -> Case:
    """Open a case for the customer from a waiting message (the sender becomes the requester)."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    mail = _lock(mail)
    before = _snapshot(mail)
    parsed = parsed_for_agent(mail)
    sender, _why = mail_threading.match_sender(parsed.from_address)
    contact = sender.contact if sender is not None and sender.customer.pk == customer.pk else None
    user = sender.user if sender is not None and sender.customer.pk == customer.pk else None
    case = open_case_from_mail(mail, parsed, customer, contact=contact, user=user, actor=actor, now=timezone.now())
    _done(mail, actor, before, reason)
    return case


@transaction.atomic
def file_to_case(mail: InboundMail, case: Case, *, actor, reason: str = "") -> Case:
    """Add a waiting message to a case as the customer's message (it reopens the case as a reply would)."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    mail = _lock(mail)
    before = _snapshot(mail)
    # The customer's words, not the agent's: the message has no author; the agent is in the audit record.
    message = file_on_case(mail, parsed_for_agent(mail), case, now=timezone.now())
    _done(mail, actor, before, reason)
    return message.case


@transaction.atomic
def discard(mail: InboundMail, *, actor, reason: str) -> InboundMail:
    """Set a waiting message aside (spam, a duplicate): it stays kept, with who discarded it and why."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("say why the email is discarded"), field="reason")
    mail = _lock(mail)
    before = _snapshot(mail)
    mail.status = MailStatus.DISCARDED
    mail.handled_by = actor if actor is not None and actor.pk else None
    mail.handled_at = timezone.now()
    mail.save(update_fields=["status", "handled_by", "handled_at"])
    record(actor=actor, action="mail.discarded", obj=mail, customer=mail.customer, before=before,
           after=_snapshot(mail), reason=reason)
    return mail


def _done(mail: InboundMail, actor, before: dict, reason: str) -> None:
    mail.handled_by = actor if actor is not None and actor.pk else None
    mail.handled_at = timezone.now()
    mail.save(update_fields=["status", "case", "customer", "handled_by", "handled_at"])
    record(actor=actor, action="mail.filed", obj=mail, customer=mail.customer, before=before, after=_snapshot(mail),
           reason=reason)
