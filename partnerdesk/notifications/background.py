"""Asking the background worker for work. The services send this signal; notifications.tasks, which calls the
services, answers it by enqueueing its task (connected at start-up), so no service imports its tasks back."""

from django.dispatch import Signal

# Emails were queued and committed: send what is due.
emails_due = Signal()

# A sent email came back (its row is now 'bounced'): sent inside the transaction that marked it, so what a
# receiver changes (a case reopened) commits with it.
email_bounced = Signal()
