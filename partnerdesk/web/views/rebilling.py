"""The re-billing pages (staff): the operator's reconciliation files (upload, a file's lines, replace with a
corrected file), the unmatched lines to map, the price rules, and a period's draft invoices (generate, review,
adjust, issue). Every change goes through partnerdesk.rebilling (importer, matching, pricing, drafts); a refusal
shows on its field (the page again, 400).

rebilling.view reads (every staff role), rebilling.manage changes (admin, finance); customers' users get 403.
"""

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.errors import DomainError
from partnerdesk.payables.services import OperatorInvoiceInput
from partnerdesk.rebilling import drafts, importer, matching, pricing
from partnerdesk.rebilling.models import FileStatus, PriceRule, ReconFile, ReconLine

from ..access import staff_page
from ..rebilling_forms import (
    AdjustmentForm,
    DeleteRuleForm,
    IssueForm,
    MapForm,
    PeriodForm,
    PriceRuleForm,
    ReplaceForm,
    UploadForm,
    add_service_error,
    group_slug,
    parse_period,
)
from .support_new_case import find_customer

FILES_PER_PAGE = 25
LINES_PER_PAGE = 50
GROUPS_PER_PAGE = 50
DRAFTS_PER_PAGE = 50
RULES_PER_PAGE = 50
LINE_FILTERS = ("all", "matched", "unmatched")

view_page = staff_page("rebilling.view")
manage_page = staff_page("rebilling.manage")


def manage_action(view):
    """A POST that changes re-billing data (admin, finance)."""
    return require_POST(manage_page(view))


def _month_text(period: dt.date) -> str:
    return period.strftime("%Y-%m")


def _next_month(period: dt.date) -> dt.date:
    return (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


# --- files ----------------------------------------------------------------------------------------------------


def _unmatched_counts(files) -> dict[int, int]:
    """Unmatched lines per file, for the files shown (one query)."""
    ids = [f.pk for f in files]
    rows = (ReconLine.objects.filter(file_id__in=ids, customer__isnull=True).values("file_id")
            .annotate(n=Count("id")).values_list("file_id", "n"))
    return dict(rows)


def render_files(request, *, upload_form=None, problem=None, status=200):
    files = ReconFile.objects.select_related("operator_invoice", "imported_by", "replaced_by")
    page = Paginator(files, FILES_PER_PAGE).get_page(request.GET.get("page"))
    unmatched = _unmatched_counts(page.object_list)
    rows = [{"file": f, "unmatched": unmatched.get(f.pk, 0), "matched": f.row_count - unmatched.get(f.pk, 0)}
            for f in page.object_list]
    return render(request, "web/rebilling/files.html", {
        "page": page, "rows": rows, "upload_form": upload_form or UploadForm(), "problem": problem,
    }, status=status)


@view_page
def rebilling_files(request):
    """The imported reconciliation files, newest first, with the upload form."""
    return render_files(request)


def _import_message(request, result) -> None:
    if result.duplicate:
        messages.info(request, _("This file is already imported as file #%(id)s: nothing changed.")
                      % {"id": result.file.pk})
    else:
        messages.success(request, _("Imported %(name)s: %(rows)s rows, %(matched)s matched, %(unmatched)s unmatched.")
                         % {"name": result.file.filename, "rows": result.rows, "matched": result.matched,
                            "unmatched": result.unmatched})


@manage_action
def rebilling_file_upload(request):
    """Import an uploaded file, tied to its operator invoice: whole or not at all."""
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        invoice = OperatorInvoiceInput(number=data["number"], billing_date=data["billing_date"],
                                       period_start=data["period_start"], period_end=data["period_end"],
                                       amount=data["total"])
        upload = data["file"]
        try:
            result = importer.import_file(upload, operator_invoice=invoice, actor=request.user, filename=upload.name)
        except importer.ImportProblem as exc:
            return render_files(request, upload_form=form, problem=exc, status=400)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            _import_message(request, result)
            return redirect("rebilling_file", pk=result.file.pk)
    return render_files(request, upload_form=form, status=400)


def render_file(request, recon_file, *, replace_form=None, problem=None, status=200):
    show = request.GET.get("show")
    show = show if show in LINE_FILTERS else "all"
    lines = recon_file.lines.select_related("customer", "subscription", "invoice_line__invoice").order_by("row_number")
    if show == "matched":
        lines = lines.filter(customer__isnull=False)
    elif show == "unmatched":
        lines = lines.filter(customer__isnull=True)
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    unmatched = recon_file.lines.filter(customer__isnull=True).count()
    return render(request, "web/rebilling/file.html", {
        "file": recon_file, "page": page, "show": show, "filters": LINE_FILTERS,
        "matched": recon_file.row_count - unmatched, "unmatched": unmatched,
        "billed": recon_file.lines.filter(invoice_line__isnull=False).count(),
        "replace_form": replace_form or ReplaceForm(), "problem": problem,
        "replaced_from": ReconFile.objects.filter(replaced_by=recon_file).first(),
    }, status=status)


def _recon_file(pk) -> ReconFile:
    return get_object_or_404(ReconFile.objects.select_related("operator_invoice", "imported_by", "replaced_by"), pk=pk)


@view_page
def rebilling_file(request, pk):
    """One file: its operator invoice, its sums, its lines (50 a page; all, matched or unmatched)."""
    return render_file(request, _recon_file(pk))


@manage_action
def rebilling_file_replace(request, pk):
    """Replace an active file with a corrected one for the same operator invoice (audited, with a reason)."""
    recon_file = _recon_file(pk)
    form = ReplaceForm(request.POST, request.FILES)
    if recon_file.status != FileStatus.ACTIVE:
        form.add_error(None, _("This file was already replaced: replace the file that replaced it."))
    elif form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = importer.import_file(upload, operator_invoice=recon_file.operator_invoice, actor=request.user,
                                          filename=upload.name, kind=recon_file.kind, replace=True,
                                          reason=form.cleaned_data["reason"])
        except importer.ImportProblem as exc:
            return render_file(request, recon_file, replace_form=form, problem=exc, status=400)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            if not result.duplicate:
                messages.success(request, _("%(old)s is replaced by %(new)s: %(rows)s rows, %(matched)s matched, "
                                            "%(unmatched)s unmatched.")
                                 % {"old": recon_file.filename, "new": result.file.filename, "rows": result.rows,
                                    "matched": result.matched, "unmatched": result.unmatched})
            else:
                _import_message(request, result)
            return redirect("rebilling_file", pk=result.file.pk)
    return render_file(request, recon_file, replace_form=form, status=400)


# --- unmatched lines ------------------------------------------------------------------------------------------


def render_unmatched(request, *, bound=None, status=200):
    """The unmatched lines grouped by the key an agent can map; `bound` is a group's form just submitted."""
    groups = matching.unmatched_groups()
    page = Paginator(groups, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for group in page.object_list:
        slug = group_slug(group.key_kind, group.key)
        form = bound if bound is not None and bound.auto_id == f"map-{slug}-%s" else None
        rows.append({"group": group, "slug": slug,
                     "form": form or MapForm(key_kind=group.key_kind, key=group.key)})
    return render(request, "web/rebilling/unmatched.html", {
        "page": page, "rows": rows, "line_count": sum(g.line_count for g in groups),
        "bound_elsewhere": bound if bound is not None and bound not in [r["form"] for r in rows] else None,
    }, status=status)


@view_page
def rebilling_unmatched(request):
    """Lines no customer was found for, by key (subscription number, customer id or domain): never billed."""
    return render_unmatched(request)


def _subscription_of(customer, text: str):
    """The customer's subscription a text names (Partner Center id, else name), or (None, the problem)."""
    subscriptions = customer.subscriptions.all()
    found = list(subscriptions.filter(operator_id__iexact=text)[:2])
    if not found:
        found = list(subscriptions.filter(Q(friendly_name__iexact=text) | Q(offer_name__iexact=text))[:2])
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _("%(customer)s has no subscription “%(text)s”.") % {"customer": customer.name, "text": text}
    return None, _("Several subscriptions of %(customer)s are called “%(text)s”: give its id.") % {
        "customer": customer.name, "text": text}


@manage_action
def rebilling_map(request):
    """Map an unmatched key to a customer: the lines with that key now belong to it, and so will the next files'."""
    form = MapForm(request.POST, key_kind=request.POST.get("key_kind", ""), key=request.POST.get("key", ""))
    if form.is_valid():
        data = form.cleaned_data
        customer, problem = find_customer(request.user, data["customer"])
        subscription = None
        if problem:
            form.add_error("customer", problem)
        elif data["subscription"].strip():
            subscription, problem = _subscription_of(customer, data["subscription"].strip())
            if problem:
                form.add_error("subscription", problem)
        if not form.errors:
            try:
                summary = matching.map_key(key_kind=data["key_kind"], key=data["key"], customer=customer,
                                           subscription=subscription, actor=request.user, reason=data["reason"])
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, ngettext(
                    "%(key)s is mapped to %(customer)s: %(count)s line matched. The mapping is remembered for the "
                    "next files.",
                    "%(key)s is mapped to %(customer)s: %(count)s lines matched. The mapping is remembered for the "
                    "next files.", summary.matched) % {"key": data["key"], "customer": customer.name,
                                                       "count": summary.matched})
                return redirect("rebilling_unmatched")
    return render_unmatched(request, bound=form, status=400)


# --- price rules ----------------------------------------------------------------------------------------------


@view_page
def rebilling_price_rules(request):
    """The price rules: the most specific wins (customer and offer, customer, offer, default); none: pass-through."""
    rules = PriceRule.objects.select_related("customer").order_by("customer__name", "customer_id", "product", "id")
    page = Paginator(rules, RULES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/rebilling/price_rules.html", {"page": page})


def _save_rule(request, form, *, customer):
    data = form.cleaned_data
    return pricing.set_price_rule(customer=customer, product=data["product"].strip(), kind=data["kind"],
                                  percent=data["percent"], unit_price=data["unit_price"], rounding=data["rounding"],
                                  note=data["note"], actor=request.user)


@manage_page
def rebilling_price_rule_new(request):
    """Add a price rule (or change the rule already set for that customer and offer)."""
    form = PriceRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer, problem = None, None
        if form.cleaned_data["customer"].strip():
            customer, problem = find_customer(request.user, form.cleaned_data["customer"])
        if problem:
            form.add_error("customer", problem)
        else:
            try:
                _save_rule(request, form, customer=customer)
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Price rule saved. Drafts generated from now on use it."))
                return redirect("rebilling_price_rules")
    return render(request, "web/rebilling/price_rule_form.html", {"form": form, "rule": None},
                  status=400 if form.is_bound else 200)


@manage_page
def rebilling_price_rule_edit(request, pk):
    """Change a rule's pricing; its customer and offer stay (delete it and add another to move it)."""
    rule = get_object_or_404(PriceRule.objects.select_related("customer"), pk=pk)
    initial = {"customer": rule.customer.name if rule.customer else "", "product": rule.product, "kind": rule.kind,
               "percent": rule.percent, "unit_price": rule.unit_price, "rounding": rule.rounding, "note": rule.note}
    form = PriceRuleForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            _save_rule(request, form, customer=rule.customer)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Price rule saved. Drafts generated from now on use it."))
            return redirect("rebilling_price_rules")
    return render(request, "web/rebilling/price_rule_form.html", {
        "form": form, "rule": rule, "delete_form": DeleteRuleForm(auto_id="delete-%s"),
    }, status=400 if form.is_bound else 200)


@manage_action
def rebilling_price_rule_delete(request, pk):
    rule = get_object_or_404(PriceRule, pk=pk)
    form = DeleteRuleForm(request.POST, auto_id="delete-%s")
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm the deletion."))
        return redirect("rebilling_price_rule_edit", pk=rule.pk)
    try:
        pricing.delete_price_rule(rule, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("rebilling_price_rule_edit", pk=rule.pk)
    messages.success(request, _("Price rule deleted."))
    return redirect("rebilling_price_rules")


# --- a period's drafts ----------------------------------------------------------------------------------------


def _default_period() -> dt.date:
    """The latest month with an active file, else last month."""
    latest = (ReconFile.objects.filter(status=FileStatus.ACTIVE).order_by("-operator_invoice__period_start")
              .values_list("operator_invoice__period_start", flat=True).first())
    if latest is not None:
        return latest.replace(day=1)
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _period_lines(period: dt.date):
    return ReconLine.objects.filter(file__status=FileStatus.ACTIVE, file__operator_invoice__period_start__gte=period,
                                    file__operator_invoice__period_start__lt=_next_month(period))


def _period_url(period: dt.date) -> str:
    return reverse("rebilling_period") + "?" + urlencode({"period": _month_text(period)})


@view_page
def rebilling_period(request):
    """A billing period: what its files hold, generate the drafts, review them, issue them."""
    asked = request.GET.get("period")
    period = parse_period(asked) if asked else _default_period()
    form = PeriodForm({"period": asked} if asked else None, initial={"period": _month_text(period or _default_period())})
    if period is None:
        form.is_valid()  # shows why the month was not understood
        return render(request, "web/rebilling/period.html", {"form": form, "period": None}, status=400)
    # The drafts and the invoices already issued from them: issued ones stay listed for review.
    invoices = (Invoice.objects.filter(rebilling__period=period).select_related("customer")
                .annotate(line_count=Count("lines")).order_by("customer__name_sort", "customer__name", "id"))
    page = Paginator(invoices, DRAFTS_PER_PAGE).get_page(request.GET.get("page"))
    lines = _period_lines(period)
    figures = lines.aggregate(
        unbilled=Count("id", filter=Q(customer__isnull=False, invoice_line__isnull=True)),
        billed=Count("id", filter=Q(invoice_line__isnull=False)),
        unmatched=Count("id", filter=Q(customer__isnull=True)))
    return render(request, "web/rebilling/period.html", {
        "form": form, "period": period, "month": _month_text(period), "page": page, "figures": figures,
        "draft_count": drafts.period_drafts(period).count(),
    })


@manage_action
def rebilling_generate(request):
    """Generate (or bring up to date) the period's drafts from its matched, unbilled lines: never a line twice."""
    form = PeriodForm(request.POST)
    if not form.is_valid() or form.cleaned_data["period"] is None:
        messages.error(request, _("Enter a month such as 2026-11."))
        return redirect("rebilling_period")
    period = form.cleaned_data["period"]
    try:
        result = drafts.generate_drafts(period, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result.lines_billed:
            messages.success(request, _("Drafts for %(month)s: %(created)s created, %(updated)s updated, %(lines)s "
                                        "lines billed.") % {"month": _month_text(period), "created": result.created,
                                                           "updated": result.updated, "lines": result.lines_billed})
        else:
            messages.info(request, _("Nothing new to bill for %(month)s: every matched line is on a draft or an "
                                     "invoice already.") % {"month": _month_text(period)})
    return redirect(_period_url(period))


@manage_action
def rebilling_issue(request):
    """Issue the selected drafts of a period, or all of them: ledger numbers, PDFs emailed to the customers."""
    form = IssueForm(request.POST)
    if not form.is_valid() or form.cleaned_data.get("period") is None:
        period = parse_period(request.POST.get("period"))
        for error in form.non_field_errors() or [_("Select the drafts to issue, or issue all.")]:
            messages.error(request, error)
        return redirect(_period_url(period) if period else reverse("rebilling_period"))
    data = form.cleaned_data
    period = data["period"]
    chosen = drafts.period_drafts(period)
    if data["action"] == IssueForm.SELECTED:
        chosen = chosen.filter(pk__in=data["invoices"])
    chosen = list(chosen)
    if not chosen:
        messages.info(request, _("No draft to issue for %(month)s.") % {"month": _month_text(period)})
        return redirect(_period_url(period))
    try:
        issued = drafts.issue_drafts(chosen, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ngettext(
            "%(count)s invoice issued and emailed to its customer with the PDF.",
            "%(count)s invoices issued and emailed to their customers with the PDF.", len(issued))
            % {"count": len(issued)})
        if len(issued) < len(chosen):
            messages.warning(request, ngettext(
                "%(count)s draft was not issued: its total is not above zero.",
                "%(count)s drafts were not issued: their totals are not above zero.", len(chosen) - len(issued))
                % {"count": len(chosen) - len(issued)})
    return redirect(_period_url(period))


def _period_invoice(pk) -> Invoice:
    invoice = Invoice.objects.select_related("customer", "rebilling").filter(pk=pk, rebilling__isnull=False).first()
    if invoice is None:
        raise Http404
    return invoice


def render_draft(request, invoice, *, form=None, status=200):
    lines = (invoice.lines.select_related("adjustment", "adjustment__created_by", "subscription")
             .annotate(source_lines=Count("recon_lines")).order_by("id"))
    return render(request, "web/rebilling/draft.html", {
        "invoice": invoice, "period": invoice.rebilling.period, "month": _month_text(invoice.rebilling.period),
        "lines": lines, "is_draft": invoice.status == InvoiceStatus.DRAFT,
        "form": form or AdjustmentForm(),
    }, status=status)


@view_page
def rebilling_draft(request, pk):
    """A period's invoice: its lines, each with how many operator lines it bills, and its adjustments."""
    return render_draft(request, _period_invoice(pk))


@manage_action
def rebilling_adjustment(request, pk):
    """Add an adjustment to a draft: its own line, with the reason (audited)."""
    invoice = _period_invoice(pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            drafts.add_adjustment(invoice, description=data["description"], amount=data["amount"],
                                  reason=data["reason"], actor=request.user)
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Adjustment added: the draft's totals are updated."))
            return redirect("rebilling_draft", pk=invoice.pk)
    return render_draft(request, invoice, form=form, status=400)
