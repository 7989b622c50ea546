"""The panel on a case opened for an operator request that keeps failing: what was asked, the operator's last
answer in the reader's language, and the forms to try again or cancel (escalations.stuck)."""

from django import template
from django.utils import timezone

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.billing.documents import customer_zone
from partnerdesk.service_messages import translate_system_text

from ..models import StuckRequest
from ..stuck import CANCELLED, DONE

register = template.Library()


@register.inclusion_tag("escalations/_stuck_panel.html", takes_context=True)
def stuck_request_panel(context, case):
    """Nothing for a case that is not about a stuck operator request."""
    user = context.get("user")
    if not has_perm(user, "collections.view"):
        return {"rows": []}
    rows = []
    zone = customer_zone(case.customer)
    for stuck in (StuckRequest.objects.filter(case=case)
                  .select_related("operator_request__subscription").order_by("id")):
        req = stuck.operator_request
        rows.append({
            "stuck": stuck, "request": req, "subscription": req.subscription,
            "created_at": timezone.localtime(req.created_at, zone),
            "answer": translate_system_text(req.last_error),
            "ended": stuck.outcome in (CANCELLED, DONE),
        })
    return {"rows": rows, "csrf_token": context.get("csrf_token"),
            "can_act": has_perm(user, "subscriptions.suspend")}
