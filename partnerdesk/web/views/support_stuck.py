"""From a case opened for an operator request that keeps failing: try the request again, or cancel it
(escalations.stuck). The panel itself is escalations' stuck_request_panel tag on the case page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.errors import DomainError
from partnerdesk.escalations import stuck as services
from partnerdesk.escalations.models import StuckRequest

from ..access import staff_page


def _stuck(pk) -> StuckRequest:
    try:
        return StuckRequest.objects.select_related("case", "operator_request").get(pk=pk)
    except (StuckRequest.DoesNotExist, ValueError, TypeError):
        raise Http404


@require_POST
@staff_page("subscriptions.suspend")
def support_stuck_retry(request, pk):
    """Try the request again now; the case shows the operator's answer when it comes."""
    stuck = _stuck(pk)
    try:
        services.retry_stuck_request(stuck, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        stuck.refresh_from_db()
        if stuck.outcome == services.DONE:
            messages.success(request, _("The operator accepted it."))
        else:
            messages.info(request, _("Tried again: the operator has not accepted it yet."))
    return redirect("support_case", pk=stuck.case_id)


@require_POST
@staff_page("subscriptions.suspend")
def support_stuck_cancel(request, pk):
    """Cancel the request (a reason is required)."""
    stuck = _stuck(pk)
    try:
        services.cancel_stuck_request(stuck, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The request is cancelled: nothing more is asked of the operator."))
    return redirect("support_case", pk=stuck.case_id)
