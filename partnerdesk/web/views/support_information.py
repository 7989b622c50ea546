"""The published support information: in the portal, on a public page (no sign-in), and the administrator's
page that writes it per language (support.publishing, audited)."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from partnerdesk.customers.models import DJANGO_LANGUAGE, Language
from partnerdesk.errors import DomainError
from partnerdesk.support.models import SupportInformation
from partnerdesk.support.publishing import published_information, reader_language, save_support_information

from ..access import portal_page, staff_page
from ..support_portal_forms import SUFFIX, SupportInformationForm
from .support_portal import _render


@portal_page("cases.view")
def portal_support_information(request, customer):
    """Support hours, channels, process and response targets, in the reader's language."""
    return _render(request, customer, "web/portal/support/information.html",
                   {"info": published_information(reader_language()), "portal": True})


def support_information(request):
    """The same, for anyone (linked from the acknowledgement emails)."""
    return render(request, "web/portal/support/information.html", {"info": published_information(reader_language())})


def _stored_texts() -> dict:
    texts = {}
    for language in Language.values:
        info = published_information(language)
        texts[language] = {name: info[name] for name in ("hours", "channels", "process")}
    return texts


@staff_page("desk.manage")
def support_information_edit(request):
    """An administrator writes the support information of each language (blank: the built-in text)."""
    form = SupportInformationForm(request.POST or None, initial_texts=_stored_texts())
    if request.method == "POST" and form.is_valid():
        language = None
        try:
            with transaction.atomic():
                for language in Language.values:
                    save_support_information(language=language, actor=request.user,
                                             reason=form.cleaned_data["reason"], **form.texts(language))
        except DomainError as exc:
            name = f"{exc.field}_{SUFFIX[language]}" if exc.field in ("hours", "channels", "process") else exc.field
            form.add_error(name if name in form.fields else None, exc.message)
        else:
            messages.success(request, _("Support information saved. The portal and new acknowledgements show it."))
            return redirect("support_information_edit")
    stored = set(SupportInformation.objects.values_list("language", flat=True))
    return render(request, "web/settings/support_information.html", {
        "form": form,
        "languages": [(code, label, code in stored) for code, label in Language.choices],
        "previews": [(label, DJANGO_LANGUAGE[code], published_information(code)) for code, label in Language.choices],
    })
