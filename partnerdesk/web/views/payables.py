"""Payables to 21Vianet: the operator's invoices to the partner with the account's standing at the top, one
invoice with its payments and the "record payment" form, recording and correcting an invoice (the due date
override), and finance's settings. Every staff role reads (payables.view); finance and administrators change
(payables.manage), through payables.services. The figures follow payables.standing."""

import datetime as dt
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.errors import DomainError
from partnerdesk.payables import services, standing
from partnerdesk.payables.models import FinanceSettings, OperatorInvoice

from ..access import staff_page
from ..forms import DateInput, add_domain_error, clean_amount_text
from ..templatetags.desk import money


class AsOfForm(forms.Form):
    as_of = forms.DateField(label=gettext_lazy("As of"), required=False, widget=DateInput())


def _as_of(request) -> dt.date:
    form = AsOfForm(request.GET or None)
    return (form.cleaned_data.get("as_of") if form.is_valid() else None) or timezone.localdate()


def _amount_field(label):
    return forms.CharField(label=label, max_length=32, widget=forms.TextInput(
        attrs={"inputmode": "decimal", "placeholder": "0.00", "autocomplete": "off"}))


class OperatorInvoiceForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Operator invoice number"), max_length=services.NUMBER_LENGTH)
    billing_date = forms.DateField(label=gettext_lazy("Billing date"), widget=DateInput())
    period_start = forms.DateField(label=gettext_lazy("Billing period start"), widget=DateInput())
    period_end = forms.DateField(label=gettext_lazy("Billing period end"), widget=DateInput())
    amount = _amount_field(gettext_lazy("Amount (CNY)"))
    due_date = forms.DateField(label=gettext_lazy("Due date"), required=False, widget=DateInput(),
                               help_text=gettext_lazy("Leave empty: the billing date + 30 days."))

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])


class CorrectInvoiceForm(OperatorInvoiceForm):
    """The same figures (without the number), the due date agreed with the operator, notes and a reason."""

    NET_30, AGREED = "net30", "agreed"
    due_terms = forms.ChoiceField(label=gettext_lazy("Due date"), widget=forms.RadioSelect, choices=[
        (NET_30, gettext_lazy("30 days after the billing date (net 30)")),
        (AGREED, gettext_lazy("The date agreed with 21Vianet"))])
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), required=False, max_length=500,
                             help_text=gettext_lazy("Recorded in the audit log."))

    def __init__(self, *args, invoice: OperatorInvoice, **kwargs):
        initial = {name: getattr(invoice, name) for name in ("billing_date", "period_start", "period_end", "notes")}
        initial.update(amount=str(invoice.amount), due_date=invoice.due_date if invoice.due_date_set else None,
                       due_terms=self.AGREED if invoice.due_date_set else self.NET_30)
        super().__init__(*args, initial=initial, **kwargs)
        del self.fields["number"]
        self.fields["due_date"].label = gettext_lazy("Agreed due date")
        self.fields["due_date"].help_text = gettext_lazy("Only with “The date agreed with 21Vianet”.")

    def clean(self):
        data = super().clean()
        if data.get("due_terms") == self.AGREED and not data.get("due_date") and "due_date" not in self.errors:
            self.add_error("due_date", _("Give the date agreed with 21Vianet."))
        return data


class OperatorPaymentForm(forms.Form):
    amount = _amount_field(gettext_lazy("Amount (CNY)"))
    paid_on = forms.DateField(label=gettext_lazy("Paid on"), widget=DateInput())
    reference = forms.CharField(label=gettext_lazy("Reference"), required=False, max_length=120,
                                help_text=gettext_lazy("The bank transfer's number."))
    # A fresh key per rendered form: submitting the same form twice records one payment.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, owed=None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("paid_on", timezone.localdate())
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        if owed is not None:
            kwargs["initial"].setdefault("amount", str(owed))
        super().__init__(*args, **kwargs)

    def clean_amount(self) -> str:
        return clean_amount_text(self.cleaned_data["amount"])


class FinanceSettingsForm(forms.Form):
    late_charge_percent = forms.DecimalField(
        label=gettext_lazy("Late charge per month (%)"), min_value=0, max_value=100, decimal_places=2,
        help_text=gettext_lazy("1.5 by the contract with 21Vianet, or a lower legal maximum; never more than 1.5."))
    warn_days_before_due = forms.IntegerField(
        label=gettext_lazy("Warn finance this many days before a due date"), min_value=0, max_value=60,
        help_text=gettext_lazy("Each finance user gets one email per invoice and due date."))
    delinquent_after_days = forms.IntegerField(
        label=gettext_lazy("Delinquent after (days past due)"), min_value=0, max_value=365,
        help_text=gettext_lazy("21Vianet then restricts the partner account."))
    reconciliation_tolerance = _amount_field(gettext_lazy("Reconciliation tolerance (CNY)"))
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), required=False, max_length=500)

    def __init__(self, *args, instance: FinanceSettings, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reconciliation_tolerance"].help_text = gettext_lazy(
            "How far a reconciliation file's total may be from its operator invoice's amount.")
        self.initial.update(late_charge_percent=(instance.late_charge_monthly_rate * 100).normalize(),
                            warn_days_before_due=instance.warn_days_before_due,
                            delinquent_after_days=instance.delinquent_after_days,
                            reconciliation_tolerance=str(instance.reconciliation_tolerance))
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def clean_reconciliation_tolerance(self) -> str:
        return clean_amount_text(self.cleaned_data["reconciliation_tolerance"], allow_zero=True)


# --- the list, with the standing -------------------------------------------------------------------------


@staff_page("payables.view")
def payables_invoices(request):
    """The operator's invoices to the partner, newest first, with the account's standing on a day at the top."""
    as_of = _as_of(request)
    invoices = OperatorInvoice.objects.all()
    if as_of != timezone.localdate():
        invoices = invoices.filter(billing_date__lte=as_of)  # another day: the invoices billed by then
    return render(request, "web/payables/invoices.html", {
        "as_of": as_of, "as_of_form": AsOfForm(initial={"as_of": as_of}), "standing": standing.account_standing(as_of),
        "positions": standing.positions(invoices, as_of),
        "rate_percent": _percent(standing.current_rate()),
    })


def _percent(rate) -> str:
    """0.0150 -> "1.5%"."""
    return f"{(rate * 100).normalize():f}%"


@staff_page("payables.manage")
def payables_invoice_new(request):
    """Record an operator invoice as 21Vianet billed it."""
    form = OperatorInvoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invoice, created = services.record_operator_invoice(services.OperatorInvoiceInput(
                number=data["number"], billing_date=data["billing_date"], period_start=data["period_start"],
                period_end=data["period_end"], amount=data["amount"], due_date=data["due_date"]), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if created:
                messages.success(request, _("Operator invoice %(number)s recorded.") % {"number": invoice.number})
            else:
                messages.info(request, _("Operator invoice %(number)s was already recorded with these figures; "
                                         "nothing was added.") % {"number": invoice.number})
            return redirect("payables_invoice", pk=invoice.pk)
    return render(request, "web/payables/invoice_form.html", {"form": form, "invoice": None})


# --- one invoice ------------------------------------------------------------------------------------------


def _invoice_page(request, invoice: OperatorInvoice, payment_form=None, status=200):
    as_of = _as_of(request)
    [position] = standing.positions(OperatorInvoice.objects.filter(pk=invoice.pk), as_of)
    can_manage = has_perm(request.user, "payables.manage")
    if payment_form is None and can_manage and position.outstanding > 0:
        payment_form = OperatorPaymentForm(owed=invoice.amount - invoice.amount_paid)
    return render(request, "web/payables/invoice.html", {
        "invoice": invoice, "p": position, "as_of": as_of, "payment_form": payment_form,
        "payments": invoice.payments.select_related("recorded_by").order_by("paid_on", "pk"),
        "rate_percent": _percent(standing.current_rate()), "can_manage": can_manage,
    }, status=status)


@staff_page("payables.view")
def payables_invoice(request, pk):
    """One operator invoice: its due and pay-by dates, payments, late charge, and the form to record a payment."""
    return _invoice_page(request, get_object_or_404(OperatorInvoice, pk=pk))


@staff_page("payables.manage")
def payables_payment_new(request, pk):
    """Record a payment to 21Vianet against the invoice (the form on the invoice's page)."""
    invoice = get_object_or_404(OperatorInvoice, pk=pk)
    if request.method != "POST":
        return redirect("payables_invoice", pk=invoice.pk)
    form = OperatorPaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.record_operator_payment(invoice, amount=data["amount"], paid_on=data["paid_on"],
                                                      reference=data["reference"],
                                                      idempotency_key=data["idempotency_key"] or None,
                                                      actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            invoice.refresh_from_db()
            owed = money(invoice.amount - invoice.amount_paid, invoice.currency)
            if result.created:
                messages.success(request, _("Payment of %(amount)s to 21Vianet recorded. Still owed on %(number)s: "
                                            "%(owed)s.") % {"amount": money(result.payment.amount, invoice.currency),
                                                            "number": invoice.number, "owed": owed})
            else:
                messages.info(request, _("This payment was already recorded (the form was sent twice); nothing was "
                                         "added."))
            return redirect("payables_invoice", pk=invoice.pk)
    invoice.refresh_from_db()
    return _invoice_page(request, invoice, payment_form=form)


@staff_page("payables.manage")
def payables_invoice_edit(request, pk):
    """Correct an operator invoice, or set the due date agreed with 21Vianet (audited, with the reason)."""
    invoice = get_object_or_404(OperatorInvoice, pk=pk)
    form = CorrectInvoiceForm(request.POST or None, invoice=invoice)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {name: data[name] for name in ("billing_date", "period_start", "period_end", "amount", "notes")}
        changes["due_date"] = data["due_date"] if data["due_terms"] == form.AGREED else None
        try:
            services.update_operator_invoice(invoice, actor=request.user, reason=data["reason"], **changes)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Operator invoice %(number)s saved.") % {"number": invoice.number})
            return redirect("payables_invoice", pk=invoice.pk)
    return render(request, "web/payables/invoice_form.html", {"form": form, "invoice": invoice})


# --- finance settings -------------------------------------------------------------------------------------


@staff_page("payables.view")
def payables_settings(request):
    """Finance's settings: the late charge rate, the warning days, delinquent after, the reconciliation tolerance.
    Every staff role reads them; finance and administrators change them."""
    instance = services.finance_settings()
    can_manage = has_perm(request.user, "payables.manage")
    if request.method == "POST" and not can_manage:
        raise PermissionDenied("payables.manage")
    form = FinanceSettingsForm(request.POST or None, instance=instance, read_only=not can_manage)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_finance_settings(
                actor=request.user, reason=data["reason"],
                late_charge_monthly_rate=data["late_charge_percent"] / 100,
                warn_days_before_due=data["warn_days_before_due"], delinquent_after_days=data["delinquent_after_days"],
                reconciliation_tolerance=data["reconciliation_tolerance"])
        except DomainError as exc:
            if exc.field == "late_charge_monthly_rate":
                form.add_error("late_charge_percent", exc.message)
            else:
                add_domain_error(form, exc)
        else:
            messages.success(request, _("Finance settings saved."))
            return redirect("payables_settings")
    return render(request, "web/payables/settings.html", {"form": form, "instance": instance,
                                                          "can_manage": can_manage})
