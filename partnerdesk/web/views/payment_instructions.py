"""Settings: how customers pay the partner (bank transfer, Alipay, WeChat Pay), printed on every invoice and
statement and shown in the portal. Staff read them; an administrator changes them (billing service, audited)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.permissions import has_perm
from partnerdesk.billing.documents import payment_details, stored_instructions
from partnerdesk.billing.models import (
    INSTRUCTION_CODES,
    INSTRUCTION_LANGUAGES,
    INSTRUCTION_TEXTS,
    PaymentInstructions,
)
from partnerdesk.billing.services import update_payment_instructions
from partnerdesk.customers.models import Language
from partnerdesk.errors import DomainError

from ..access import staff_page
from ..forms import add_domain_error

TEXT_LABELS = {
    "legal_name": gettext_lazy("Legal name"),
    "bank_name": gettext_lazy("Bank"),
    "bank_account_name": gettext_lazy("Account name"),
    "bank_branch": gettext_lazy("Branch"),
    "wechat_pay": gettext_lazy("WeChat Pay (merchant name or a note)"),
    "notes": gettext_lazy("Notes"),
}


class PaymentInstructionsForm(forms.Form):
    """Every text in each language, the account numbers, and why they change."""

    def __init__(self, *args, instance: PaymentInstructions, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = forms.fields_for_model(PaymentInstructions, fields=PaymentInstructions.editable_fields())
        for name, field in model_fields.items():
            field.required = False
            if name.startswith("notes_"):
                field.widget = forms.Textarea(attrs={"rows": 3})
            self.fields[name] = field
            self.initial[name] = getattr(instance, name)
        self.fields["reason"] = forms.CharField(label=gettext_lazy("Reason for the change"), required=False,
                                                max_length=500)

    def text_rows(self):
        """(label, [bound field per language]) for each text, in the order zh-CN, zh-TW, en."""
        return [(TEXT_LABELS[text], [self[f"{text}_{suffix}"] for suffix in INSTRUCTION_LANGUAGES.values()])
                for text in INSTRUCTION_TEXTS]

    def code_fields(self):
        return [self[name] for name in INSTRUCTION_CODES]


@staff_page("invoices.view")
def payment_instructions(request):
    """The payment instructions: read by staff, changed by an administrator."""
    may_edit = has_perm(request.user, "payment_instructions.manage")
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("payment_instructions.manage")
    instance = stored_instructions()
    form = PaymentInstructionsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] or "" for name in PaymentInstructions.editable_fields()}
        try:
            update_payment_instructions(values=values, actor=request.user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Payment instructions saved. New invoices and statements show them."))
            return redirect("payment_instructions")
    if not may_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "web/settings/payment_instructions.html", {
        "form": form, "may_edit": may_edit, "instance": instance,
        "languages": [label for _code, label in Language.choices],
        "previews": [(label, payment_details(code, instance)) for code, label in Language.choices],
    })
