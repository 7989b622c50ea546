"""What the fapiao records do when the ledger changes: a credit note asks for the red-letter reversal of its
invoice's fapiao, in the credit note's own transaction."""

from django.dispatch import receiver

from partnerdesk.billing.signals import credit_note_issued

from .services import on_credit_note_issued


@receiver(credit_note_issued, dispatch_uid="fapiao.red_letter_on_credit_note")
def _red_letter_on_credit_note(sender, credit_note, **kwargs):
    on_credit_note_issued(credit_note)
