"""Asking the background worker for work. The services send this signal; dunning.tasks, which calls the
services, answers it by enqueueing its task (connected at start-up), so no service imports its tasks back."""

from django.dispatch import Signal

# Operator requests are waiting: carry them out now, or from `run_after` (a datetime) where the backend defers.
operator_requests_due = Signal()
