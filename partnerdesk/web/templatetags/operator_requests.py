"""Template filters about the queue of operator requests."""

from django import template

register = template.Library()


@register.filter
def pending_operator_action(subscription) -> str:
    """"suspend" or "reactivate" while such a request for the subscription waits for the operator, else ""."""
    from partnerdesk.dunning.services import pending_by_subscription

    return pending_by_subscription([subscription]).get(subscription.pk, "")
