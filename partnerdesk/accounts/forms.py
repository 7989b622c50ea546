"""The web forms of user and team management; the rules themselves are in services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from partnerdesk.bounds import REASON_LENGTH
from partnerdesk.customers.models import Language

from .models import STAFF_ROLES, Role, Team, User, UserStatus

STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r in STAFF_ROLES]


def _teams_field():
    return forms.ModelMultipleChoiceField(label=_("Teams"), queryset=Team.objects.all(), required=False,
                                          widget=forms.CheckboxSelectMultiple)


def _reason_field(required=False):
    return forms.CharField(label=_("Reason"), max_length=REASON_LENGTH, required=required,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("Any"))] + UserStatus.choices)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any"))] + Role.choices)


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=150)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=STAFF_ROLE_CHOICES, initial=Role.BILLING_AGENT)
    language = forms.ChoiceField(label=_("Language of the email"), choices=Language.choices, initial=Language.ZH_CN)
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"] = _teams_field()


class UserChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=STAFF_ROLE_CHOICES)
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"] = _teams_field()


class ReasonForm(forms.Form):
    reason = _reason_field(required=True)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class TeamMemberForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Add a member"), queryset=User.objects.none())

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (User.objects.filter(is_active=True).exclude(role=Role.CUSTOMER)
                                        .exclude(teams=team).order_by("username"))
