"""Disputes listen to the desk's email in: a new case whose mail disputes an invoice becomes a dispute case."""

from django.dispatch import receiver

from partnerdesk.support.services import case_opened_from_mail


@receiver(case_opened_from_mail, dispatch_uid="disputes.from_mail")
def _dispute_from_mail(sender, case, text, **kwargs):
    from .mail import dispute_from_message, read_dispute

    if read_dispute(text) is not None:  # most mail is no dispute: no savepoint, no query for it
        dispute_from_message(case, text)
