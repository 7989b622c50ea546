"""Signals the ledger sends after its changes commit, for other areas (collections) to react to."""

from django.dispatch import Signal

# Sent after the transaction that recorded a new payment commits; kwargs: customer, payment.
payment_recorded = Signal()
