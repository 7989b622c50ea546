"""The panel "Escalation to 21Vianet" on the agents' case page: the case's service requests with their status,
reference, the operator's targets and whether they were met, the notes (the operator's answers and ours), the
text to paste into the operator's portal, and the agent's forms (web/views/support_escalations.py)."""

from django import template
from django.template.defaultfilters import floatformat

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.support.business_time import AROUND_THE_CLOCK

from .. import services, targets
from ..models import RequestChannel, ServiceRequestStatus

register = template.Library()

# Which forms a request in each status offers.
FORMS_OF_STATUS = {
    ServiceRequestStatus.DRAFT: ("reference",),
    ServiceRequestStatus.OPEN: ("answer", "note", "close"),
    ServiceRequestStatus.ATTENTION_NEEDED: ("answer", "note", "close"),
    ServiceRequestStatus.CLOSED: (),
}


def _measured(sr, settings) -> dict:
    """targets.measured, with each target in hours and whether it runs around the clock (A's first response)."""
    measured = targets.measured(sr, row=settings)
    for key, measure in measured.items():
        measure["hours"] = floatformat(measure["target_minutes"] / 60, -1)
        measure["around_the_clock"] = (key == "first_response"
                                       and targets.first_response_schedule(sr.severity) == AROUND_THE_CLOCK)
    return measured


def _offered(sr, bound: dict) -> list[str]:
    """The forms the request's status offers, and the one just refused on it (its error must show, say "record the
    reference first" on an answer to a request not filed yet)."""
    names = list(FORMS_OF_STATUS[sr.status])
    if sr.channel == RequestChannel.API:  # its answers and status come from the operator's API
        names = [name for name in names if name == "note"]
    if bound.get("sr_id") == sr.pk and bound["name"] not in names:
        names.append(bound["name"])
    return names


@register.inclusion_tag("escalations/_escalation_panel.html", takes_context=True)
def escalation_panel(context, case):
    """Nothing for a reader who may not see service requests (customers' users never do)."""
    from partnerdesk.web.escalation_forms import AnswerForm, CloseForm, EscalateForm, NoteForm, ReferenceForm

    request = context.get("request")
    user = getattr(request, "user", None)
    if not has_perm(user, "escalations.view"):
        return {"visible": False}
    bound = getattr(request, "escalation_form", None) or {}
    works = has_perm(user, "escalations.work") and case.is_active and not case.merged_into_id
    kinds = {"reference": ReferenceForm, "answer": AnswerForm, "note": NoteForm, "close": CloseForm}
    settings = targets.settings_row()

    def form(name, sr_id=None, **kwargs):
        if bound.get("name") == name and bound.get("sr_id") == sr_id:
            return bound["form"]
        return kinds[name](sr_id=sr_id, **kwargs) if sr_id else EscalateForm(
            case=case, default_channel=settings.default_channel, **kwargs)

    rows = []
    for sr in case.service_requests.prefetch_related("notes", "invoices", "subscriptions").order_by("-id"):
        rows.append({
            "sr": sr,
            "portal": sr.channel == RequestChannel.PORTAL,
            "portal_text": services.portal_text(sr) if sr.channel == RequestChannel.PORTAL else "",
            "measured": _measured(sr, settings),
            "notes": list(sr.notes.all()),
            "forms": {name: form(name, sr.pk) for name in _offered(sr, bound)} if works else {},
            "to_tell": sr.status == ServiceRequestStatus.CLOSED and sr.customer_told_at is None,
        })
    escalate = form("escalate") if works else None
    return {
        "visible": True, "case": case, "rows": rows, "works": works, "escalate_form": escalate,
        "escalate_open": not rows or bound.get("name") == "escalate",
        "to_tell": [row["sr"] for row in rows if row["to_tell"]],
        "contact_missing": not (settings.contact_name and settings.contact_email),
        "may_configure": has_perm(user, "desk.manage"),
        "csrf_token": context.get("csrf_token"),
    }
