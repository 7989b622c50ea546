"""The escalation panel's actions on a case (agents): escalate to 21Vianet, record the portal's reference number,
log the operator's answer, add our note, mark the request closed. Each goes through escalations.services; a
refusal shows on its field in the panel (the case page again, 400). The panel itself is escalations'
escalation_panel tag on the case page.

Customers' users get 404, as from the escalations API: they never learn that a request exists.
"""

import functools

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.permissions import get_scoped_or_404
from partnerdesk.errors import DomainError
from partnerdesk.escalations import services
from partnerdesk.escalations.models import ServiceRequest

from ..access import staff_page
from ..escalation_forms import AnswerForm, CloseForm, EscalateForm, NoteForm, ReferenceForm, add_service_error
from .support_case import get_case, render_case

# The escalation panel finds a form just submitted, with its errors, here on the request.
BOUND = "escalation_form"


def escalation_action(view):
    """A POST of the panel: agents (escalations.work) only; a customer's user gets 404."""
    guarded = require_POST(staff_page("escalations.work")(view))

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role == Role.CUSTOMER:
            raise Http404
        return guarded(request, *args, **kwargs)

    return wrapper


def _service_request(request, pk) -> ServiceRequest:
    return get_scoped_or_404(ServiceRequest.objects.select_related("case", "customer"), request.user, pk)


def _run(request, case_pk: int, form, act, done: str, sr_id: int | None = None):
    """Run the service with the form's data: back to the panel saying `done`, or the case page with the errors."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, done)
            return redirect(reverse("support_case", args=[case_pk]) + "#escalations")
    setattr(request, BOUND, {"name": form.NAME, "sr_id": sr_id, "form": form})
    return render_case(request, get_case(case_pk), status=400)


@escalation_action
def support_escalate(request, pk):
    """Escalate the case to 21Vianet on the customer's behalf."""
    case = get_case(pk)
    form = EscalateForm(request.POST, case=case)

    def act(data):
        services.escalate(case, actor=request.user, channel=data["channel"], topic=data["topic"],
                          severity=data["severity"], title=data["title"], description=data["description"],
                          language=data["language"], invoices=list(data["invoices"]),
                          subscriptions=list(data["subscriptions"]))

    return _run(request, case.pk, form, act, _("Escalated to 21Vianet: the case waits on the operator."))


@escalation_action
def support_escalation_reference(request, pk):
    """Portal: the number the operator's portal gave; the request is open and the operator's targets start."""
    sr = _service_request(request, pk)

    def act(data):
        services.record_reference(sr, data["reference"], actor=request.user)

    return _run(request, sr.case_id, ReferenceForm(request.POST, sr_id=sr.pk), act,
                _("Reference recorded: the operator's targets run from now."), sr.pk)


@escalation_action
def support_escalation_answer(request, pk):
    """Log the operator's answer (staff see it on the case; the customer never does), and its new status."""
    sr = _service_request(request, pk)

    def act(data):
        services.log_operator_answer(sr, data["text"], actor=request.user, author=data["author"],
                                     written_at=data["written_at"], status=data["status"] or None)

    return _run(request, sr.case_id, AnswerForm(request.POST, sr_id=sr.pk), act, _("The operator's answer is logged."),
                sr.pk)


@escalation_action
def support_escalation_note(request, pk):
    """Our note to the operator."""
    sr = _service_request(request, pk)

    def act(data):
        services.add_our_note(sr, data["text"], request.user)

    return _run(request, sr.case_id, NoteForm(request.POST, sr_id=sr.pk), act, _("Our note is added."), sr.pk)


@escalation_action
def support_escalation_close(request, pk):
    """The operator closed the request: the case is back with its agent, to tell the customer."""
    sr = _service_request(request, pk)

    def act(data):
        services.mark_closed(sr, actor=request.user)

    return _run(request, sr.case_id, CloseForm(request.POST, sr_id=sr.pk), act,
                _("The request is closed: tell the customer the outcome in a reply."), sr.pk)

