"""The dispute panel's actions on a case (agents): dispute an amount of an invoice in the case, uphold a dispute
(a credit note for the upheld amount), reject the case's open disputes. Each goes through partnerdesk.disputes;
a refusal shows the service's own message on the case page."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.billing.models import Invoice, Refund
from partnerdesk.disputes import services
from partnerdesk.dunning.models import Dispute
from partnerdesk.errors import DomainError

from ..access import staff_page
from ..dispute_forms import AddDisputeForm, RejectForm, UpholdForm
from .support_case import get_case


def _form_problem(form) -> str:
    return " ".join(f"{form.fields[name].label if name in form.fields else ''}: {' '.join(errors)}".lstrip(": ")
                    for name, errors in form.errors.items())


def _act(request, case, form, act, done: str):
    if not form.is_valid():
        messages.error(request, _form_problem(form))
    else:
        try:
            act(form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
    return redirect(f"{case_url(case)}#disputes")


def case_url(case) -> str:
    from django.urls import reverse

    return reverse("support_case", args=[case.pk])


@require_POST
@staff_page("cases.work")
def support_dispute_add(request, pk):
    """Dispute an amount of one of the customer's open invoices in this case (or change the amount disputed)."""
    case = get_case(pk)
    form = AddDisputeForm(request.POST, invoices=Invoice.objects.filter(customer=case.customer))

    def act(data):
        services.dispute_in_case(case, data["invoice"], str(data["amount"]), actor=request.user, reason=data["reason"])

    return _act(request, case, form, act, _("The amount is disputed: collections leaves it alone until decided."))


@require_POST
@staff_page("cases.work", "credit.issue")
def support_dispute_uphold(request, pk):
    """Uphold one of the case's open disputes, in full or in part: the customer is told in the case."""
    case = get_case(pk)
    form = UpholdForm(request.POST)

    def act(data):
        dispute = get_object_or_404(Dispute, pk=data["dispute"], case=case)
        refund = Refund.objects.filter(customer=case.customer, pk=data["refund"]).first() if data.get("refund") else None
        services.uphold(dispute, amount=str(data["amount"]), actor=request.user, message=data["message"], refund=refund)

    return _act(request, case, form, act, _("Dispute upheld: the credit note is issued and the customer is told."))


@require_POST
@staff_page("cases.work")
def support_dispute_reject(request, pk):
    """Reject the case's open disputes: collections resume on the date the customer is told."""
    case = get_case(pk)
    form = RejectForm(request.POST)

    def act(data):
        services.reject(case, actor=request.user, resume_on=data["resume_on"], message=data["message"])

    return _act(request, case, form, act, _("Dispute rejected: the customer is told when collections resume."))

