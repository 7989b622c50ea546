"""The collections policy as published to a customer: the process in words and the concrete dates of each
open invoice. The customer's users read and acknowledge it in the portal (page, print version, PDF); staff
open the same document for any customer, in the customer's language unless they ask for another.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import get_customer_or_404
from partnerdesk.billing.documents import pdf_fonts, render_pdf
from partnerdesk.customers.models import DJANGO_LANGUAGE
from partnerdesk.dunning.models import PolicyAcknowledgement
from partnerdesk.dunning.publication import published_policy
from partnerdesk.dunning.services import acknowledge_policy

from ..access import customer_zone, portal_page, staff_page
from ..collections_text import process_text

# The customer's preferred language (Customer.language) as a language of this site.
SITE_LANGUAGE = DJANGO_LANGUAGE
# The one HTML-to-PDF renderer (the invoices' and statements' too); a module name here, so tests can stand in.
_render_pdf = render_pdf


def customer_language(customer) -> str:
    return SITE_LANGUAGE.get(customer.language, "zh-hans")


def document_context(customer) -> dict:
    """Everything the document shows, worked out in the customer's time zone (what "today" is for it)."""
    with timezone.override(customer_zone(customer)):
        today = timezone.localdate()
        published = published_policy(customer, as_of=today)
    earlier = None
    if published.policy is not None and published.acknowledged is None:
        earlier = (PolicyAcknowledgement.objects.filter(customer=customer, policy=published.policy)
                   .select_related("user").order_by("-at").first())
    return {
        "customer": customer,
        "published": published,
        "policy": published.policy,
        "process": process_text(published.policy, published.stages, customer.currency) if published.policy else None,
        "today": today,
        "zone": customer_zone(customer),
        "earlier_acknowledgement": earlier,
        "pdf_fonts": pdf_fonts(),
    }


def _pdf_response(request, context, *, filename: str) -> HttpResponse:
    with timezone.override(context["zone"]):
        html = render_to_string("web/policy/document_print.html", {**context, "pdf": True}, request=request)
    response = HttpResponse(_render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _filename(customer) -> str:
    return f"collections-policy-{customer.pk}.pdf"


# --- the customer portal ------------------------------------------------------------------------------------


@portal_page("collections.policy.view")
def portal_collections_policy(request, customer):
    """The customer's collections policy and its invoices' dates, in the reader's language; acknowledge it."""
    context = document_context(customer)
    with timezone.override(context["zone"]):
        return render(request, "web/portal/collections_policy.html", context)


@portal_page("collections.policy.view")
def portal_collections_policy_print(request, customer):
    context = document_context(customer)
    with timezone.override(context["zone"]):
        return render(request, "web/policy/document_print.html", {**context, "back_url": "portal_collections_policy"})


@portal_page("collections.policy.view")
def portal_collections_policy_pdf(request, customer):
    return _pdf_response(request, document_context(customer), filename=_filename(customer))


@require_POST
@portal_page("collections.acknowledge")
def portal_collections_policy_acknowledge(request, customer):
    """The customer's user acknowledges the policy as published (once per version)."""
    published = published_policy(customer)
    if published.policy is None:
        messages.info(request, _("Your account is not subject to the collections process; there is nothing to "
                                 "acknowledge."))
    elif published.acknowledged is not None:
        messages.info(request, _("This version of the policy is already acknowledged."))
    else:
        acknowledge_policy(customer=customer, user=request.user, policy=published.policy)
        messages.success(request, _("Thank you. You have acknowledged the collections policy."))
    return redirect("portal_collections_policy")


# --- staff: the same document for any customer ------------------------------------------------------------------


def _staff_language(request, customer) -> str:
    wanted = request.GET.get("lang")
    return wanted if wanted in SITE_LANGUAGE.values() else customer_language(customer)


@staff_page("collections.view", "collections.policy.view")
def customer_collections_policy(request, pk):
    """The collections policy exactly as the customer gets it (in its language unless ?lang= says otherwise)."""
    customer = get_customer_or_404(request.user, pk)
    language = _staff_language(request, customer)
    with translation.override(language):
        context = document_context(customer)
        with timezone.override(context["zone"]):
            response = render(request, "web/policy/document_print.html", {
                **context, "staff_view": True, "document_language": language,
                "languages": [(code, name) for code, name in _site_languages()],
            })
    response["Content-Language"] = language
    return response


@staff_page("collections.view", "collections.policy.view")
def customer_collections_policy_pdf(request, pk):
    customer = get_customer_or_404(request.user, pk)
    with translation.override(_staff_language(request, customer)):
        return _pdf_response(request, document_context(customer), filename=_filename(customer))


def _site_languages():
    from django.conf import settings

    return settings.LANGUAGES
