"""Users and teams through the services: invitations over real SMTP, single-use and expiring links, roles,
teams, deactivation (sessions and tokens end at once), reactivation, and the audit of each change."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerdesk.accounts import services
from partnerdesk.accounts.invitations import INVITATION_DAYS, user_for_invitation
from partnerdesk.accounts.models import Role, Team, User, UserStatus
from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.notifications.services import send_pending

pytestmark = pytest.mark.django_db

BASE = "https://desk.example.cn/"
LINK = re.compile(r"https://desk\.example\.cn(/invitation/([^/]+)/([^/]+)/)")


def invite(admin, email="wang.fang@northwind.example.cn", **kw):
    kw.setdefault("role", Role.COLLECTIONS)
    return services.invite_staff_user(actor=admin, email=email, link_base=BASE, **kw)


def link_in(message):
    found = LINK.search(message.text)
    assert found, message.text
    return found.group(1), found.group(2), found.group(3)


def test_an_invitation_arrives_over_smtp_in_the_chosen_language_with_a_working_link(
        smtp_server, users, django_capture_on_commit_callbacks):
    team = services.create_team(actor=users["admin"], name="催收一组")
    with django_capture_on_commit_callbacks(execute=True):
        user = invite(users["admin"], team_ids=[team.pk], language="zh-CN", name="王芳", reason="new hire")
    [message] = smtp_server.wait_for(1)
    assert smtp_server.to("wang.fang@northwind.example.cn") == [message]
    assert message.language == "zh-CN" and "邀请" in message.subject
    assert "催收" in message.text  # the role, in the email's language
    assert user.status == UserStatus.INVITED and not user.has_usable_password()
    assert user.username == "wang.fang@northwind.example.cn" and list(user.teams.all()) == [team]
    _, uid, token = link_in(message)
    assert user_for_invitation(uid, token) == user
    entry = AuditEntry.objects.get(action="user.invited")
    assert entry.actor == users["admin"] and entry.reason == "new hire" and entry.after["teams"] == ["催收一组"]


def test_the_invitee_sets_a_password_once_and_signs_in(smtp_server, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(users["admin"], language="en")
    path, _, _ = link_in(smtp_server.wait_for(1)[0])
    browser = Client(headers={"Accept-Language": "en"})
    form_page = browser.get(path, follow=True)
    assert b"Set your password" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    # Django's password validators apply.
    weak = browser.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and b"too short" in weak.content
    done = browser.post(set_url, {"new_password1": "Sh4nghai-ledger-9", "new_password2": "Sh4nghai-ledger-9"})
    assert done.status_code == 302 and done["Location"] == reverse("login")
    user = User.objects.get(email="wang.fang@northwind.example.cn")
    assert user.status == UserStatus.ACTIVE
    assert AuditEntry.objects.filter(action="user.invitation_accepted", actor=user).exists()
    signed_in = Client().post(reverse("login"), {"username": user.username, "password": "Sh4nghai-ledger-9"})
    assert signed_in.status_code == 302
    # Single use: the same link now says it no longer works.
    again = Client(headers={"Accept-Language": "en"}).get(path, follow=True)
    assert b"no longer works" in again.content and b"new_password1" not in again.content


def test_an_invitation_link_expires_and_a_new_one_retires_the_old(smtp_server, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = invite(users["admin"])
    _, uid, token = link_in(smtp_server.wait_for(1)[0])
    with time_machine.travel(timezone.now() + dt.timedelta(days=INVITATION_DAYS, hours=1)):
        assert user_for_invitation(uid, token) is None
    services.resend_invitation(user, actor=users["admin"], link_base=BASE)
    send_pending()  # what the worker does (the test's transaction never commits)
    _, uid2, token2 = link_in(smtp_server.wait_for(2)[1])
    assert smtp_server.messages[1].language == smtp_server.messages[0].language  # the first one's language
    assert user_for_invitation(uid, token) is None and user_for_invitation(uid2, token2) == user
    assert AuditEntry.objects.filter(action="user.invitation_resent").count() == 1


def test_an_address_already_in_use_and_a_bad_role_are_refused(users):
    invite(users["admin"])
    with pytest.raises(Conflict):
        invite(users["admin"], email="WANG.FANG@northwind.example.cn")
    with pytest.raises(InvalidInput) as exc:
        invite(users["admin"], email="x@northwind.example.cn", role=Role.CUSTOMER)
    assert exc.value.field == "role"
    with pytest.raises(InvalidInput) as exc:
        invite(users["admin"], email="not an address")
    assert exc.value.field == "email"


def test_role_and_teams_change_with_an_audit_of_before_and_after(users):
    admin, agent = users["admin"], users["billing_agent"]
    north, south = (services.create_team(actor=admin, name=n) for n in ("North", "South"))
    services.change_user(agent, actor=admin, role=Role.FINANCE, team_ids=[north.pk, south.pk], reason="moved to finance")
    agent.refresh_from_db()
    assert agent.role == Role.FINANCE and set(agent.teams.all()) == {north, south}  # several teams
    entry = AuditEntry.objects.get(action="user.changed")
    assert entry.before["role"] == "billing_agent" and entry.after["role"] == "finance"
    assert entry.after["teams"] == ["North", "South"] and entry.reason == "moved to finance"
    with pytest.raises(InvalidInput):
        services.change_user(users["customer_a"], actor=admin, role=Role.ADMIN)


def test_the_last_active_administrator_cannot_be_demoted_or_deactivated(users):
    admin = users["admin"]
    with pytest.raises(Conflict):
        services.change_user(admin, actor=admin, role=Role.AUDITOR)
    with pytest.raises(Conflict):
        services.deactivate_user(admin, actor=None, reason="test")
    with pytest.raises(Conflict):
        services.deactivate_user(admin, actor=admin, reason="test")  # nor oneself


def test_deactivation_ends_sessions_and_tokens_at_once_and_reactivation_does_not_revive_them(users, tokens):
    agent = users["billing_agent"]
    session = Client()
    session.force_login(agent)
    assert session.get(reverse("dashboard")).status_code == 200
    bearer = {"Authorization": f"Bearer {tokens['billing_agent']}"}
    assert Client().get("/api/v1/me", headers=bearer).status_code == 200

    with pytest.raises(InvalidInput):
        services.deactivate_user(agent, actor=users["admin"], reason="  ")
    services.deactivate_user(agent, actor=users["admin"], reason="left the company")
    assert Client().get("/api/v1/me", headers=bearer).status_code == 401
    response = session.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    entry = AuditEntry.objects.get(action="user.deactivated")
    assert entry.reason == "left the company" and entry.after["tokens_revoked"] == [tokens["billing_agent"][:10]]


    services.reactivate_user(agent, actor=users["admin"], reason="came back")
    assert session.get(reverse("dashboard")).status_code == 302  # the old session stays ended
    assert Client().get("/api/v1/me", headers=bearer).status_code == 401  # and so does the old token
    fresh = Client()
    fresh.force_login(User.objects.get(pk=agent.pk))
    assert fresh.get(reverse("dashboard")).status_code == 200
    assert AuditEntry.objects.filter(action="user.reactivated", reason="came back").exists()


def test_a_portal_user_is_invited_for_a_contact_and_belongs_to_that_customer(
        smtp_server, users, customer_b, django_capture_on_commit_callbacks):
    contact = customer_b.contacts.first()  # its customer writes English
    with django_capture_on_commit_callbacks(execute=True):
        user = services.invite_portal_user(actor=users["admin"], contact=contact, link_base=BASE)
    assert user.role == Role.CUSTOMER and user.customer == customer_b and user.contact == contact
    [message] = smtp_server.wait_for(1)
    assert smtp_server.to(contact.email) == [message]
    assert customer_b.name in message.subject and "customer portal" in message.text
    assert AuditEntry.objects.get(action="user.invited").customer == customer_b
    with pytest.raises(Conflict):
        services.invite_portal_user(actor=users["admin"], contact=contact, link_base=BASE)


def test_teams_are_created_renamed_and_change_members_with_audit(users):
    admin = users["admin"]
    team = services.create_team(actor=admin, name="Billing", member_ids=[users["billing_agent"].pk])
    with pytest.raises(Conflict):
        services.create_team(actor=admin, name="billing")
    with pytest.raises(InvalidInput):
        services.create_team(actor=admin, name="Portal", member_ids=[users["customer_a"].pk])
    services.change_team(team, actor=admin, name="Billing East", add_ids=[users["finance"].pk],
                         remove_ids=[users["billing_agent"].pk])
    team.refresh_from_db()
    assert team.name == "Billing East" and list(team.members.all()) == [users["finance"]]
    entry = AuditEntry.objects.get(action="team.changed")
    assert entry.before == {"name": "Billing", "members": ["billing_agent1"]}
    assert entry.after == {"name": "Billing East", "members": ["finance1"]}
    assert Team.objects.count() == 1
