"""Settings: the email templates customers get, in each language. Staff who may see emails read them with a
preview; administrators change them (checked by the notifications service before saving) or go back to the
built-in text."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from partnerdesk.accounts.permissions import has_perm, require
from partnerdesk.customers.models import Language
from partnerdesk.errors import DomainError
from partnerdesk.notifications.catalogue import TEMPLATES, VARIABLES, template_label
from partnerdesk.notifications.defaults import DEFAULTS, SAMPLE_CONTEXT
from partnerdesk.notifications.rendering import TemplateProblem, prepare_context, render_source
from partnerdesk.notifications.services import all_templates, reset_template, template_info, update_template

from ..access import staff_page
from ..forms import EmailTemplateForm, ResetTemplateForm, add_domain_error


def _language_label(code: str) -> str:
    return dict(Language.choices).get(code, code)


def _check(key: str, language: str) -> None:
    if key not in DEFAULTS or language not in Language.values:
        raise Http404


def variables(language: str) -> list[dict]:
    """Each variable with what it is and its value in the preview (formatted as the email shows it)."""
    sample = prepare_context(SAMPLE_CONTEXT, language)
    names = [n for n in VARIABLES if n in sample] + sorted(n for n in sample if n not in VARIABLES)
    out = []
    for name in names:
        value = sample[name]
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        out.append({"name": name, "tag": "{{ " + name + " }}", "description": VARIABLES.get(name, ""),
                    "sample": value})
    return out


def preview(subject: str, body: str, language: str) -> tuple[dict | None, TemplateProblem | None]:
    """The template rendered with the sample data, or the problem that stops it (checked as a save would)."""
    try:
        rendered_subject, rendered_body = render_source(subject, body, SAMPLE_CONTEXT, language, check=True)
    except TemplateProblem as problem:
        return None, problem
    return {"subject": rendered_subject, "body": rendered_body}, None


@staff_page("emails.view")
def email_template_list(request):
    """Every template in every language; the ones an administrator changed are marked."""
    by_key: dict[str, dict] = {}
    for info in all_templates():
        row = by_key.setdefault(info["key"], {"key": info["key"], "label": template_label(info["key"]),
                                              "description": TEMPLATES.get(info["key"], ("", ""))[1], "cells": []})
        row["cells"].append({**info, "language_label": _language_label(info["language"])})
    order = {key: i for i, key in enumerate(TEMPLATES)}
    rows = sorted(by_key.values(), key=lambda r: (order.get(r["key"], len(order)), r["key"]))
    return render(request, "web/settings/email_templates.html", {
        "rows": rows,
        "languages": [{"code": code, "label": label} for code, label in Language.choices],
        "edited_count": sum(1 for r in rows for c in r["cells"] if not c["is_default"]),
        "can_edit": has_perm(request.user, "templates.manage"),
    })


@staff_page("emails.view")
def email_template_edit(request, key, language):
    """One template: its text, the variables it may use and a preview with sample data. Administrators may
    preview a change without saving it, save it, or go back to the built-in text."""
    _check(key, language)
    info = template_info(key, language)
    can_edit = has_perm(request.user, "templates.manage")
    form = EmailTemplateForm(initial={"subject": info["subject"], "body": info["body"]})
    shown, problem = preview(info["subject"], info["body"], language)
    previewing = False
    if request.method == "POST":
        require(request.user, "templates.manage")
        form = EmailTemplateForm(request.POST)
        previewing = "preview" in request.POST
        if form.is_valid():
            data = form.cleaned_data
            if previewing:
                shown, problem = preview(data["subject"], data["body"], language)
                if problem is not None:
                    form.add_error(problem.part, problem.message)
            else:
                try:
                    update_template(key=key, language=language, subject=data["subject"], body=data["body"],
                                    actor=request.user, reason=data["reason"].strip())
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    messages.success(request, _("Saved the email template “%(template)s” (%(language)s). Emails sent "
                                                "from now on use it.") % {"template": template_label(key),
                                                                          "language": _language_label(language)})
                    return redirect("email_template_edit", key=key, language=language)
        if not form.is_valid():
            shown, problem = None, None  # the page shows the errors on the fields; the old preview would mislead
    return render(request, "web/settings/email_template_edit.html", {
        "info": info,
        "key": key,
        "language": language,
        "label": template_label(key),
        "description": TEMPLATES.get(key, ("", ""))[1],
        "language_label": _language_label(language),
        "form": form,
        "reset_form": ResetTemplateForm(),
        "can_edit": can_edit,
        "previewing": previewing and form.is_valid(),
        "preview": shown,
        "problem": problem.message if problem is not None else None,
        "variables": variables(language),
        "other_languages": [{"code": code, "label": label} for code, label in Language.choices if code != language],
    })


@require_POST
@staff_page("templates.manage")
def email_template_reset(request, key, language):
    """Drop the administrator's version: the built-in text applies again."""
    _check(key, language)
    form = ResetTemplateForm(request.POST)
    reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
    try:
        reset_template(key=key, language=language, actor=request.user, reason=reason)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The email template “%(template)s” (%(language)s) is back to the built-in text.")
                         % {"template": template_label(key), "language": _language_label(language)})
    return redirect("email_template_edit", key=key, language=language)
