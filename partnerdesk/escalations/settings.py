"""The escalation settings, changed by an administrator: the partner's own contact on every service request, the
default channel, the operator's targets, how long an operator request may keep failing before it becomes a case,
and the team that gets those cases. One row; each change is audited in its transaction."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.models import Team
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import InvalidInput

from .models import EscalationSettings, RequestChannel

SETTINGS_PK = 1  # the one row (escalations.targets reads the same)
MAX_TARGET_MINUTES = 60 * 24 * 60  # 60 days: a target past that is a typo
MAX_FAILING_HOURS = 30 * 24
# name: (lowest, highest) a number may take.
NUMBER_RANGES = {
    "first_response_a_minutes": (1, MAX_TARGET_MINUTES),
    "first_response_b_minutes": (1, MAX_TARGET_MINUTES),
    "first_response_c_minutes": (1, MAX_TARGET_MINUTES),
    "resolution_b_minutes": (1, MAX_TARGET_MINUTES),
    "resolution_c_minutes": (1, MAX_TARGET_MINUTES),
    "failing_request_hours": (1, MAX_FAILING_HOURS),
}
FIELDS = ["contact_name", "contact_email", "contact_phone", "default_channel", *NUMBER_RANGES, "collections_team"]
PHONE_CHARACTERS = set("0123456789+-() ")


def current_settings() -> EscalationSettings:
    """The escalation settings (the row is made with the defaults on first use)."""
    row = EscalationSettings.objects.filter(pk=SETTINGS_PK).select_related("collections_team").first()
    if row is None:
        row, _created = EscalationSettings.objects.get_or_create(pk=SETTINGS_PK)
    return row


@transaction.atomic
def update_settings(*, actor, reason: str = "", **values) -> EscalationSettings:
    """Change the escalation settings; only the settings given change (collections_team=None: no team)."""
    current_settings()
    row = EscalationSettings.objects.select_for_update().get(pk=SETTINGS_PK)
    before = snapshot(row, FIELDS)
    for name, value in values.items():
        if name not in FIELDS:
            raise InvalidInput(_("%(name)s is not an escalation setting"), field=name, name=name)
        setattr(row, name, _checked(name, value))
    # Every service request carries the contact: a name without an email (or the reverse) cannot be filed.
    if row.contact_email and not row.contact_name:
        raise InvalidInput(_("the contact on service requests needs a name"), field="contact_name")
    if row.contact_name and not row.contact_email:
        raise InvalidInput(_("the contact on service requests needs an email address"), field="contact_email")
    row.save()
    after = snapshot(row, FIELDS)
    if after != before:
        record(actor=actor, action="escalations.settings_changed", obj=row, before=before, after=after,
               reason=bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH))
    return row


def _checked(name: str, value):
    if name in NUMBER_RANGES:
        low, high = NUMBER_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(_("give a whole number from %(low)s to %(high)s"), field=name, low=low, high=high)
        return value
    if name == "collections_team":
        if value is None or isinstance(value, Team):
            return value
        team = Team.objects.filter(pk=value).first() if str(value).isdigit() else None
        if team is None:
            raise InvalidInput(_("there is no team %(team)s"), field=name, team=str(value)[:40])
        return team
    if name == "default_channel":
        if value not in RequestChannel.values:
            raise InvalidInput(_("%(value)s is not one of the choices"), field=name, value=repr(value))
        return value
    text = bounds.clean_text(value or "", field=name,
                             max_length=EscalationSettings._meta.get_field(name).max_length).strip()
    if name == "contact_email" and text:
        try:
            validate_email(text)
        except ValidationError:
            raise InvalidInput(_("%(value)s is not an email address"), field=name, value=repr(text[:80]))
    if name == "contact_phone" and not set(text) <= PHONE_CHARACTERS:
        raise InvalidInput(_("a phone number has digits, spaces and + - ( ) only"), field=name)
    return text
