"""Settings → Users and Teams, as an administrator uses them; and inviting a contact from the customer page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.accounts import services
from partnerdesk.accounts.models import Role, Team, User, UserStatus
from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.services import send_pending

pytestmark = pytest.mark.django_db


def client_for(user, language="en"):
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_the_list_shows_role_teams_status_and_last_sign_in(people):
    admin = people["admin"]
    team = services.create_team(actor=admin, name="Collections East", member_ids=[people["collections"].pk])
    services.deactivate_user(people["auditor"], actor=admin, reason="contract ended")
    services.invite_staff_user(actor=admin, email="new@partner.example.cn", role=Role.FINANCE, link_base="http://x/")
    client_for(people["collections"]).get(reverse("dashboard"))  # force_login sets last_login
    body = client_for(admin).get(reverse("user_list")).content.decode()

    def row(username):
        return re.search(rf'<tr data-username="{re.escape(username)}">(.*?)</tr>', body, re.S).group(1)

    assert "Collections" in row("collections") and team.name in row("collections")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row("collections"))
    assert "Deactivated" in row("auditor") and "Invited" in row("new@partner.example.cn")
    assert "Acme 上海" in row("acme_user")  # a portal user shows its customer
    only_invited = client_for(admin).get(reverse("user_list"), {"status": "invited"}).content.decode()
    assert "new@partner.example.cn" in only_invited and 'data-username="collections"' not in only_invited


def test_the_users_link_is_in_the_header_for_administrators_only(people):
    assert reverse("user_list") in client_for(people["admin"]).get(reverse("dashboard")).content.decode()
    for role in ["billing_agent", "collections", "finance", "auditor"]:
        assert reverse("user_list") not in client_for(people[role]).get(reverse("dashboard")).content.decode()


def test_an_admin_invites_from_the_page_and_the_email_arrives(people, smtp_server, django_capture_on_commit_callbacks):
    team = services.create_team(actor=people["admin"], name="Billing")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people["admin"]).post(reverse("user_invite"), {
            "email": "li.na@partner.example.cn", "name": "李娜", "role": "billing_agent", "teams": [team.pk],
            "language": "zh-TW", "reason": "new hire"})
    user = User.objects.get(email="li.na@partner.example.cn")
    assert response.status_code == 302 and response["Location"] == reverse("user_detail", args=[user.pk])
    [message] = smtp_server.wait_for(1)
    assert message.language == "zh-TW" and "邀請" in message.subject and "/invitation/" in message.text
    assert list(user.teams.all()) == [team] and user.status == UserStatus.INVITED
    # An address already in use is refused on the form, nothing sent.
    again = client_for(people["admin"]).post(reverse("user_invite"), {
        "email": "LI.NA@partner.example.cn", "role": "billing_agent", "language": "en"})
    assert again.status_code == 200 and "already exists" in again.content.decode()


def test_role_and_teams_are_changed_on_the_user_page(people):
    admin, agent = people["admin"], people["billing_agent"]
    a, b = services.create_team(actor=admin, name="A"), services.create_team(actor=admin, name="B")
    response = client_for(admin).post(reverse("user_detail", args=[agent.pk]),
                                      {"role": "collections", "teams": [a.pk, b.pk], "reason": "reorg"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.COLLECTIONS and set(agent.teams.all()) == {a, b}
    page = client_for(admin).get(reverse("user_detail", args=[agent.pk])).content.decode()
    assert "User&#x27;s role or teams changed" in page and "reorg" in page


def test_deactivating_on_the_page_signs_the_user_out_and_needs_a_reason(people):
    admin, finance = people["admin"], people["finance"]
    finance_session = client_for(finance)
    refused = client_for(admin).post(reverse("user_deactivate", args=[finance.pk]), {"reason": ""})
    assert refused.status_code == 200 and User.objects.get(pk=finance.pk).is_active
    done = client_for(admin).post(reverse("user_deactivate", args=[finance.pk]), {"reason": "left"})
    assert done.status_code == 302
    assert finance_session.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    client_for(admin).post(reverse("user_reactivate", args=[finance.pk]), {"reason": "rehired"})
    assert User.objects.get(pk=finance.pk).is_active
    # An administrator's own page offers no deactivation.
    assert "deactivate-form" not in client_for(admin).get(reverse("user_detail", args=[admin.pk])).content.decode()


def test_teams_page_creates_renames_adds_and_removes(people):
    admin = client_for(people["admin"])
    response = admin.post(reverse("team_list"), {"name": "华东催收"})
    team = Team.objects.get(name="华东催收")
    assert response["Location"] == reverse("team_detail", args=[team.pk])
    assert admin.post(reverse("team_list"), {"name": "华东催收"}).status_code == 200  # the name is taken
    admin.post(reverse("team_detail", args=[team.pk]), {"name": "华东一组"})
    admin.post(reverse("team_members", args=[team.pk]), {"user": people["collections"].pk})
    admin.post(reverse("team_members", args=[team.pk]), {"user": people["finance"].pk})
    admin.post(reverse("team_members", args=[team.pk]), {"remove": people["finance"].pk})
    team.refresh_from_db()
    assert team.name == "华东一组" and list(team.members.all()) == [people["collections"]]
    listing = admin.get(reverse("team_list")).content.decode()
    assert "华东一组" in listing and "collections" in listing
    assert AuditEntry.objects.filter(action__startswith="team.").count() == 5


def test_a_contact_is_invited_to_the_portal_from_the_customer_page(people, acme, smtp_server,
                                                                    django_capture_on_commit_callbacks):
    contact = acme.contacts.first()
    page = client_for(people["admin"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    button = reverse("portal_invite", args=[acme.pk, contact.pk])
    assert button in page
    assert button not in client_for(people["billing_agent"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(people["admin"]).post(button)
    portal_user = User.objects.get(email=contact.email)
    assert portal_user.customer == acme and portal_user.role == Role.CUSTOMER
    [message] = smtp_server.wait_for(1)
    assert smtp_server.to(contact.email) == [message] and acme.name in message.subject
    page = client_for(people["admin"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert button not in page and f'data-testid="portal-access-{contact.pk}"' in page and "Invited" in page


def test_the_invitation_emails_text_is_not_read_back_through_the_api(people, acme, smtp_server):
    contact = acme.contacts.first()
    services.invite_portal_user(actor=people["admin"], contact=contact, link_base="http://x/")
    send_pending()
    from partnerdesk.notifications.models import OutboundEmail

    email = OutboundEmail.objects.get(template_key="accounts.portal_invitation")
    assert "/invitation/" in email.body  # kept for the record, but never served
    body = client_for(people["billing_agent"]).get(f"/api/v1/emails/{email.pk}").json()
    assert body["body"] == "" and body["context"] == {} and body["status"] == "sent"


def test_the_pages_read_in_chinese(people):
    admin = client_for(people["admin"], "zh-hans")
    assert "邀请员工" in admin.get(reverse("user_list")).content.decode()
    assert "创建团队" in admin.get(reverse("team_list")).content.decode()
