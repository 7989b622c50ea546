"""Signals the ledger sends after its changes commit, for other areas (collections) to react to."""

from django.dispatch import Signal

# Sent after a transaction that lowered what a customer owes commits (a payment, a credit note, credit on
# account applied, a void); kwargs: customer, cause (a natural key such as "payment:42").
balance_reduced = Signal()

# Sent after a transaction that raised what a customer owes commits (a payment reversed, an allocation moved
# off an invoice); kwargs: customer, cause. Collections drops reactivations that are no longer deserved.
balance_increased = Signal()

# Sent INSIDE the transaction of issue_credit_note, after the credit is applied, so a receiver's changes commit or
# roll back with the credit note; kwargs: credit_note. The fapiao records ask for a red-letter reversal.
credit_note_issued = Signal()
