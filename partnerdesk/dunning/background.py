"""Asking the background worker for work. The services send this signal; dunning.tasks, which calls the
services, answers it by enqueueing its task (connected at start-up), so no service imports its tasks back."""

from django.dispatch import Signal

# Operator requests are waiting: carry them out now, or from `run_after` (a datetime) where the backend defers.
operator_requests_due = Signal()

# Sent after commit, with `request` (an OperatorRequest): the operator refused it with an answer that will never
# change and it was given up (status failed); or it went through at last (done). Escalations opens a case for
# the collections team on the first, and closes the loop on the second; collections knows nothing of cases.
operator_request_given_up = Signal()
operator_request_done = Signal()
