"""The escalation settings: an administrator sets the partner's contact, the channel, the operator's targets and
the failing-request limit on the settings page; each change is audited, a bad value is refused on its field, and
the desk's report page for escalations and disputes reads in the reader's language."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.accounts.services import create_team
from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import InvalidInput
from partnerdesk.escalations.models import EscalationSettings
from partnerdesk.escalations.settings import current_settings, update_settings

pytestmark = pytest.mark.django_db

FORM = {"contact_name": "王芳", "contact_email": "escalations@partner.example.cn", "contact_phone": "+86 21 5555 0100",
        "default_channel": "api", "first_response_a_minutes": "120", "first_response_b_minutes": "180",
        "first_response_c_minutes": "480", "resolution_b_minutes": "1620", "resolution_c_minutes": "2700",
        "failing_request_hours": "12", "reason": "new escalation desk"}


def signed_in(user, language="en"):
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_current_settings_makes_the_one_row_with_21vianets_targets():
    row = current_settings()
    assert current_settings().pk == row.pk and EscalationSettings.objects.count() == 1
    assert (row.first_response_a_minutes, row.first_response_b_minutes, row.first_response_c_minutes) == (120, 240, 480)
    assert row.default_channel == "portal" and row.contact_email == ""
    # As the demo sets the partner's contact: by the system, audited.
    update_settings(actor=None, contact_name="王芳 (Wang Fang)", contact_email="escalations@partner.example.cn",
                    contact_phone="+86 21 5555 0100", reason="demo")
    assert AuditEntry.objects.get(action="escalations.settings_changed").actor_label == "system"


def test_the_settings_page_saves_and_audits(users):
    team = create_team(actor=None, name="Collections")
    admin = signed_in(users["admin"])
    page = admin.get(reverse("escalation_settings"))
    assert page.status_code == 200 and b"Your contact on service requests" in page.content
    response = admin.post(reverse("escalation_settings"), {**FORM, "collections_team": team.pk})
    assert response.status_code == 302
    row = current_settings()
    assert (row.contact_name, row.contact_email, row.contact_phone) == (
        "王芳", "escalations@partner.example.cn", "+86 21 5555 0100")
    assert (row.default_channel, row.first_response_b_minutes, row.failing_request_hours) == ("api", 180, 12)
    assert row.collections_team == team
    entry = AuditEntry.objects.get(action="escalations.settings_changed")
    assert entry.actor == users["admin"] and entry.reason == "new escalation desk"
    assert entry.before["contact_email"] == "" and entry.after["contact_email"] == "escalations@partner.example.cn"
    assert (entry.before["first_response_b_minutes"], entry.after["first_response_b_minutes"]) == (240, 180)
    assert entry.after["collections_team"] == team.pk
    # Saving the same values again changes nothing, and writes nothing.
    assert admin.post(reverse("escalation_settings"), {**FORM, "collections_team": team.pk}).status_code == 302
    assert AuditEntry.objects.filter(action="escalations.settings_changed").count() == 1


def test_a_bad_value_is_refused_on_its_field_in_the_readers_language(users):
    admin = signed_in(users["admin"], "zh-hans")
    answer = admin.post(reverse("escalation_settings"), {**FORM, "contact_email": "not-an-address",
                                                         "first_response_b_minutes": "0"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 200
    assert set(answer.context["form"].errors) == {"contact_email", "first_response_b_minutes"}
    assert not AuditEntry.objects.filter(action="escalations.settings_changed").exists()
    assert current_settings().contact_email == ""


def test_the_service_validates_every_value(users):
    for values, field in [({"contact_email": "wang@"}, "contact_email"), ({"first_response_c_minutes": 0}, "first_response_c_minutes"),
                          ({"failing_request_hours": -1}, "failing_request_hours"), ({"default_channel": "fax"}, "default_channel"),
                          ({"collections_team": 99999}, "collections_team"), ({"contact_phone": "call me"}, "contact_phone"),
                          ({"contact_name": "王芳"}, "contact_email"), ({"resolution_b_minutes": True}, "resolution_b_minutes"),
                          ({"colour": "blue"}, "colour")]:
        with pytest.raises(InvalidInput) as refused:
            update_settings(actor=users["admin"], **values)
        assert refused.value.field == field, values
    assert not AuditEntry.objects.filter(action="escalations.settings_changed").exists()
    row = update_settings(actor=users["admin"], contact_name="王芳", contact_email=" wang@partner.example.cn ")
    assert row.contact_email == "wang@partner.example.cn" and row.first_response_b_minutes == 240


def test_only_administrators_reach_the_page_and_the_menu_links_it(users):
    for role in ("billing_agent", "collections", "finance", "auditor", "customer_a"):
        assert signed_in(users[role]).get(reverse("escalation_settings")).status_code == 403
        assert signed_in(users[role]).post(reverse("escalation_settings"), FORM).status_code == 403
    assert not AuditEntry.objects.filter(action="escalations.settings_changed").exists()
    menu = signed_in(users["admin"]).get(reverse("support_reports")).content.decode()
    assert reverse("escalation_settings") in menu and reverse("escalation_reports") in menu
    assert reverse("escalation_settings") not in signed_in(users["billing_agent"]).get(reverse("support_reports")).content.decode()


@pytest.mark.parametrize(("language", "title", "credited"), [
    ("en", "Escalations and disputes", "Credited"), ("zh-hans", "升级与争议", "已贷记"), ("zh-hant", "升級與爭議", "已貸記")])
def test_the_report_page_reads_in_each_language(users, language, title, credited):
    page = signed_in(users["billing_agent"], language).get(
        reverse("escalation_reports"), {"since": "2026-11-01", "until": "2026-11-24"})
    assert page.status_code == 200
    text = page.content.decode()
    assert title in text and credited in text and "¥0.00" in text
    csv_answer = signed_in(users["auditor"]).get(reverse("escalation_reports"),
                                                 {"since": "2026-11-01", "until": "2026-11-24", "part": "summary"})
    assert csv_answer["Content-Type"].startswith("text/csv") and "requests_filed,0" in csv_answer.content.decode()
    bad = signed_in(users["auditor"]).get(reverse("escalation_reports"), {"since": "2026-11-01", "part": "all"})
    assert bad.status_code == 400
    assert dt.date(2026, 11, 24).isoformat() in text  # the period stays in the form
