"""Settings: escalations to the operator (desk.manage): the partner's contact on every service request, the
default channel, the operator's targets, when a failing operator request becomes a case and for which team.
Changed through escalations.settings (validated, audited)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.models import Team
from partnerdesk.errors import DomainError
from partnerdesk.escalations.models import EscalationSettings, RequestChannel
from partnerdesk.escalations.settings import FIELDS, NUMBER_RANGES, current_settings, update_settings

from ..access import staff_page
from ..forms import add_domain_error

CONTACT = ["contact_name", "contact_email", "contact_phone"]
TARGETS = ["first_response_a_minutes", "first_response_b_minutes", "first_response_c_minutes",
           "resolution_b_minutes", "resolution_c_minutes"]


class EscalationSettingsForm(forms.Form):
    contact_name = forms.CharField(label=gettext_lazy("Contact name"), required=False, max_length=200)
    contact_email = forms.EmailField(label=gettext_lazy("Contact email"), required=False)
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), required=False, max_length=50)
    default_channel = forms.ChoiceField(label=gettext_lazy("Default channel"), choices=RequestChannel.choices)
    collections_team = forms.ModelChoiceField(label=gettext_lazy("Collections team"), queryset=Team.objects.all(),
                                              required=False, empty_label=gettext_lazy("No team"))
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), required=False, max_length=500)

    def __init__(self, *args, instance: EscalationSettings, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (low, high) in NUMBER_RANGES.items():
            # The model's labels say the unit: "(minutes)", "(business minutes)", "(hours)".
            self.fields[name] = forms.IntegerField(label=EscalationSettings._meta.get_field(name).verbose_name,
                                                   min_value=low, max_value=high)
        for name in FIELDS:
            self.initial[name] = getattr(instance, name)

    def section(self, names):
        return [self[name] for name in names]

    def contact_fields(self):
        return self.section(CONTACT)

    def target_fields(self):
        return self.section(TARGETS)

    def routing_fields(self):
        return self.section(["default_channel", "failing_request_hours", "collections_team"])


@staff_page("desk.manage")
def escalation_settings(request):
    """The escalation settings, changed by an administrator."""
    instance = current_settings()
    form = EscalationSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in FIELDS}
        try:
            update_settings(actor=request.user, reason=form.cleaned_data["reason"], **values)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Escalation settings saved. New service requests use them."))
            return redirect("escalation_settings")
    return render(request, "web/settings/escalation_settings.html", {"form": form, "instance": instance})
