"""Users in a real browser (Chromium through Playwright): an administrator invites a colleague, whose invitation
arrives at the SMTP server; the colleague follows the link, sets a password and signs in; the administrator
deactivates another user, whose API token then gets 401 and whose open session is signed out."""

import re
import urllib.error
import urllib.request

import pytest
from django.urls import reverse

from partnerdesk.accounts.services import create_api_token, create_team

from .browser_support import new_page, sign_in

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)

NEW_PASSWORD = "Pudong-ledger-2026"


def api_me(base, token) -> int:
    request = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_admin_invites_a_colleague_and_deactivates_another(live_server, transactional_db, people, smtp_server,
                                                           browser):
    from playwright.sync_api import expect

    base = live_server.url
    team = create_team(actor=people["admin"], name="Collections East")
    _, finance_token = create_api_token(user=people["finance"], name="reconciliation script", actor=people["finance"])
    assert api_me(base, finance_token) == 200
    finance_page = new_page(browser)  # the finance user is at work in another browser
    sign_in(finance_page, base, "finance")
    finance_page.wait_for_url(re.compile(r"/dashboard/$"))

    # The administrator opens Users from the header and invites a colleague into a team.
    admin_page = new_page(browser)
    sign_in(admin_page, base, "admin")
    admin_page.wait_for_url(re.compile(r"/dashboard/$"))
    admin_page.click("header .user-menu summary")  # settings for administrators sit in the user menu
    admin_page.click("header .user-menu a:has-text('Users and teams')")
    expect(admin_page.locator("h1")).to_have_text("Users")
    admin_page.click("a:has-text('Invite a staff user')")
    admin_page.fill("input[name=email]", "zhao.lei@partner.example.cn")
    admin_page.fill("input[name=name]", "Zhao Lei")
    admin_page.select_option("select[name=role]", "collections")
    admin_page.check("#invite-form label:has-text('Collections East') input")
    admin_page.select_option("select[name=language]", "en")
    admin_page.fill("input[name=reason]", "joins collections in January")
    admin_page.click("#invite-form button[type=submit]")
    expect(admin_page.locator(".message.success")).to_contain_text("Invitation sent to zhao.lei@partner.example.cn")
    expect(admin_page.locator("[data-testid=user-status]")).to_have_text("Invited")

    # The invitation arrives at the SMTP server, with the link.
    smtp_server.wait_for(1, timeout=15)
    [message] = smtp_server.to("zhao.lei@partner.example.cn")
    assert message.subject.startswith("Invitation: join") and "as Collections" in message.text
    link = re.search(r"(https?://\S+/invitation/\S+/)", message.text).group(1)
    assert link.startswith(base)

    # The colleague follows it, is refused a weak password, sets a good one, and signs in.
    invitee = new_page(browser)
    invitee.goto(link)
    expect(invitee.locator("h1")).to_have_text("Set your password")
    invitee.fill("input[name=new_password1]", "12345678")
    invitee.fill("input[name=new_password2]", "12345678")
    invitee.click("#password-form button[type=submit]")
    expect(invitee.locator(".field.has-error")).to_contain_text("too common")
    invitee.fill("input[name=new_password1]", NEW_PASSWORD)
    invitee.fill("input[name=new_password2]", NEW_PASSWORD)
    invitee.click("#password-form button[type=submit]")
    invitee.wait_for_url(re.compile(r"/login/$"))
    expect(invitee.locator(".message.success")).to_contain_text("Your password is set")
    sign_in(invitee, base, "zhao.lei@partner.example.cn", NEW_PASSWORD)
    invitee.wait_for_url(re.compile(r"/dashboard/$"))
    expect(invitee.locator("header .who")).to_contain_text("zhao.lei@partner.example.cn")
    # The link was for one use.
    invitee.goto(link)
    expect(invitee.locator("h1")).to_have_text("This invitation link no longer works")

    # The list shows the new colleague as active, in the team.
    admin_page.goto(base + reverse("user_list"))
    row = admin_page.locator("tr[data-username='zhao.lei@partner.example.cn']")
    expect(row).to_contain_text("Collections East")
    expect(row.locator(".status")).to_have_text("Active")

    # The administrator deactivates the finance user: its token gets 401 and its open session is signed out.
    admin_page.click("tr[data-username='finance'] a")
    admin_page.fill("#deactivate-form input[name=reason]", "left the company")
    admin_page.click("#deactivate-form button[type=submit]")
    expect(admin_page.locator(".message.success")).to_contain_text("finance is deactivated")
    expect(admin_page.locator("[data-testid=user-status]")).to_have_text("Deactivated")
    assert api_me(base, finance_token) == 401
    finance_page.reload()
    finance_page.wait_for_url(re.compile(r"/login/"))
    assert team.members.filter(username="zhao.lei@partner.example.cn").exists()
