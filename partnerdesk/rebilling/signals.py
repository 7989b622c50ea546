"""What re-billing tells the areas above it (they listen; re-billing calls none of them)."""

from django.dispatch import Signal

# Sent after the transaction that imported a reconciliation file commits: file (a ReconFile), actor.
file_imported = Signal()
