"""Mail waiting for an agent: unmatched senders, held senders, messages too large or unreadable. Each is kept
raw; an agent reads it and files it to a customer (a new case) or to a case, or discards it, through
support.mail.queue."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from partnerdesk.errors import DomainError
from partnerdesk.support.mail import queue
from partnerdesk.support.models import Case, InboundMail

from ..access import staff_page
from ..support_forms import DiscardMailForm, FileToCaseForm, FileToCustomerForm
from .support_new_case import find_customer
from .support_queue import TABS

ROWS_PER_PAGE = 50


@staff_page("cases.internal")
def support_mail_list(request):
    """The raw mail waiting for an agent, oldest first (it has waited longest)."""
    page = Paginator(queue.waiting().select_related("customer"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    for mail in page.object_list:
        mail.customer_form = FileToCustomerForm(prefix=f"m{mail.pk}",
                                                initial={"customer": mail.customer.name if mail.customer else ""})
        mail.case_form = FileToCaseForm(prefix=f"m{mail.pk}")
        mail.discard_form = DiscardMailForm(prefix=f"m{mail.pk}")
    return render(request, "web/support/mail_list.html", {
        "page": page, "tabs": TABS, "tab": "mail", "unmatched_count": page.paginator.count})


@require_GET
@staff_page("cases.internal")
def support_mail_raw(request, pk):
    """The message as it arrived (.eml), for an agent to read whatever PartnerDesk made of it."""
    mail = get_object_or_404(InboundMail, pk=pk)
    try:
        handle = mail.raw.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=f"mail-{mail.pk}.eml", content_type="message/rfc822")


def _refused(request, exc_or_text) -> None:
    messages.error(request, exc_or_text.message if isinstance(exc_or_text, DomainError) else exc_or_text)


def _form_problem(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@require_POST
@staff_page("mail.manage")
def support_mail_file_customer(request, pk):
    """Open a case for a customer from a waiting message."""
    mail = get_object_or_404(InboundMail, pk=pk)
    form = FileToCustomerForm(request.POST, prefix=f"m{mail.pk}")
    if not form.is_valid():
        _refused(request, _form_problem(form))
        return redirect("support_mail_list")
    customer, problem = find_customer(request.user, form.cleaned_data["customer"])
    if customer is None:
        _refused(request, problem)
        return redirect("support_mail_list")
    try:
        case = queue.file_to_customer(mail, customer, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        _refused(request, exc)
        return redirect("support_mail_list")
    messages.success(request, _("The email opened case %(case)s.") % {"case": case.token})
    return redirect("support_case", pk=case.pk)


@require_POST
@staff_page("mail.manage")
def support_mail_file_case(request, pk):
    """Add a waiting message to a case, as the customer's message."""
    mail = get_object_or_404(InboundMail, pk=pk)
    form = FileToCaseForm(request.POST, prefix=f"m{mail.pk}")
    if not form.is_valid():
        _refused(request, _form_problem(form))
        return redirect("support_mail_list")
    case = Case.objects.filter(pk=form.cleaned_data["case"]).first()
    if case is None:
        _refused(request, _("There is no case %(case)s.") % {"case": request.POST.get(f"m{mail.pk}-case", "")})
        return redirect("support_mail_list")
    try:
        case = queue.file_to_case(mail, case, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        _refused(request, exc)
        return redirect("support_mail_list")
    messages.success(request, _("The email is filed on case %(case)s.") % {"case": case.token})
    return redirect("support_case", pk=case.pk)


@require_POST
@staff_page("mail.manage")
def support_mail_discard(request, pk):
    """Set a waiting message aside (spam, a duplicate): it stays kept."""
    mail = get_object_or_404(InboundMail, pk=pk)
    form = DiscardMailForm(request.POST, prefix=f"m{mail.pk}")
    if not form.is_valid():
        _refused(request, _form_problem(form))
        return redirect("support_mail_list")
    try:
        queue.discard(mail, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("The email is discarded; it stays kept."))
    return redirect("support_mail_list")
