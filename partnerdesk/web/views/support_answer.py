"""The answer page of a resolution email's signed link (no sign-in: the link is the credential).

It shows the one case the token names, its subject and the resolution text, in the case's language, and
takes three answers, each a POST with CSRF: "this solved it" (the case closes), "it is not solved" (with a
message: the case reopens) and the satisfaction score (once). A bad or expired token gets a friendly 404.
Nothing else of the case is read: no other message, no note, no file.
"""

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from partnerdesk.customers.models import DJANGO_LANGUAGE
from partnerdesk.errors import DomainError
from partnerdesk.support import services
from partnerdesk.support.links import read_token, token_answers_current_resolution
from partnerdesk.support.models import Case, CaseStatus, MessageKind

from ..access import customer_zone
from ..forms import add_domain_error
from ..support_portal_forms import ReopenForm, ScoreForm
from .support_portal import may_score

ACTIONS = ("confirm", "reopen", "score")


def _resolution_text(case: Case) -> str:
    message = case.resolution_message
    if message is None or message.kind != MessageKind.PUBLIC or message.case_id != case.pk:
        return ""
    return message.body


def _page(request, case, token, *, status=200, **forms):
    context = {
        "case": case, "token": token, "resolution": _resolution_text(case),
        "is_resolved": case.status == CaseStatus.RESOLVED,
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "score_form": forms.get("score_form") or ScoreForm(),
        "may_score": may_score(case),
    }
    with timezone.override(customer_zone(case.customer)):
        return render(request, "web/portal/support/answer.html", context, status=status)


def _act(request, case, token):
    """One answer from the page; a redirect (back to the page) once done, else the page with the errors."""
    action = request.POST.get("action")
    if action == "confirm":
        try:
            services.confirm_resolution(case=case, actor=None)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you. The case is closed."))
        return redirect("support_answer", token)
    if action == "reopen":
        form = ReopenForm(request.POST)
        if form.is_valid():
            try:
                services.reopen_by_customer(case=case, body=form.cleaned_data["body"], actor=None)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("We are sorry it is not solved yet. The case is open again."))
                return redirect("support_answer", token)
        return _page(request, case, token, reopen_form=form, status=422)
    if action == "score":
        form = ScoreForm(request.POST)
        if form.is_valid():
            try:
                services.record_satisfaction(case=case, score=form.cleaned_data["score"],
                                             comment=form.cleaned_data["comment"], actor=None)
            except DomainError as exc:  # scored already: the page no longer offers the form
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Thank you for your feedback."))
            return redirect("support_answer", token)
        return _page(request, case, token, score_form=form, status=422)
    messages.error(request, _("Please choose one of the answers below."))
    return redirect("support_answer", token)


@never_cache
def support_answer(request, token):
    """The signed answer page of one case, in the case's language."""
    case, resolution_id = read_token(token)
    if case is None:
        return render(request, "web/portal/support/answer_invalid.html", status=404)
    language = DJANGO_LANGUAGE.get(case.language, "zh-hans")
    with translation.override(language):
        if request.method == "POST":
            if request.POST.get("action") in ("confirm", "reopen") and not token_answers_current_resolution(
                    case, resolution_id):
                # An earlier answer's link: confirming it would close the case on an answer not sent yet.
                messages.error(request, _("This link belongs to an earlier answer. Please use the link in our "
                                          "latest email, or the customer portal."))
                response = redirect("support_answer", token)
            else:
                response = _act(request, case, token)
        elif request.method in ("GET", "HEAD"):
            response = _page(request, case, token)
        else:
            return HttpResponseNotAllowed(["GET", "POST"])
    response["Content-Language"] = language
    return response
