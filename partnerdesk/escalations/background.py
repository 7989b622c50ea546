"""Asking the background worker for work. The services send this signal after commit; escalations.tasks answers
it by enqueueing its task, so the operator is never called inside an agent's web request (a slow or failing
operator cannot make the agent retry, and no service imports its tasks back)."""

from django.dispatch import Signal

# A service request (`sr_id`) has something to send to the operator now; `claim` names the worker lease the
# service took for it, if any.
service_request_due = Signal()
