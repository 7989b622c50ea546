"""The support desk in a real browser (Chromium through Playwright): an agent works a case a customer opened from
the queue to closed. The reply uses a canned answer filled with the customer's figures; the emails leave
through the real SMTP server when the worker sends them, and the case cannot close before the resolution has."""

import re

import pytest

from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services
from partnerdesk.support.models import CannedReply, Case, CaseStatus

from .browser_support import sign_in
from .factories import make_invoice

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)


@pytest.fixture
def worker_sends_later(settings):
    """Emails wait in the queue until the test runs the sender, as the background worker would."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.mark.django_db(transaction=True)
def test_an_agent_works_a_case_from_the_queue_to_closed(live_server, transactional_db, people, acme, smtp_server,
                                                        worker_sends_later, browser_page):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    make_invoice(acme, "1280.00")
    contact = acme.primary_contact
    case = services.open_case(customer=acme, subject="发票金额比上月高", description="为什么这个月的发票多了？",
                              actor=people["acme_user"], requester_contact=contact)
    CannedReply.objects.create(title="Balance and overdue", language=case.language,
                               body="您好，{customer_name} 目前应付余额为 ¥{balance}，其中逾期 ¥{overdue}。")
    send_pending()
    smtp_server.wait_for(1, timeout=15)  # the acknowledgement
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()

    # The agent opens the desk from the header, finds the case among the unassigned ones and opens it.
    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.click("header nav a:has-text('Support')")
    page.click(".tabs a[data-tab=unassigned]")
    row = page.locator(f"tr[data-case='{case.token}']")
    expect(row).to_contain_text("发票金额比上月高")
    expect(row).to_contain_text(acme.name)
    row.locator(f"a:has-text('{case.token}')").click()
    expect(page.locator("[data-testid=case-token]")).to_have_text(case.token)
    expect(page.locator("#ledger-panel [data-testid=panel-balance]")).to_contain_text("1,280.00")

    # The canned reply fills the composer with the customer's figures; the agent sends it.
    page.select_option("#canned-picker", label="Balance and overdue")
    expect(page.locator("#compose-body")).to_have_value(re.compile(r"应付余额为 ¥1,280\.00"))
    page.click("#send-reply")
    expect(page.locator(".message.success")).to_contain_text("Reply sent.")
    expect(page.locator(".conversation li[data-kind=public]").last).to_contain_text("应付余额为 ¥1,280.00")
    send_pending()
    [reply] = smtp_server.wait_for(1, timeout=15)
    assert case.token in reply.subject and "1,280.00" in reply.text
    assert smtp_server.to(contact.email) == [reply]

    # The agent resolves; the case cannot close until the resolution has reached the customer.
    page.fill("#compose-body", "已为您核对：多出的金额是新增的 5 个 E3 席位。")
    page.click("#send-resolution")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Resolved")
    expect(page.locator("[data-testid=delivery]")).to_contain_text("has not reached the customer")
    page.click("#close-form button")
    expect(page.locator(".message.error")).to_contain_text("has not received the resolution yet")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED

    send_pending()  # the worker sends the resolution; the SMTP server accepts it
    messages = smtp_server.wait_for(2, timeout=15)
    assert case.token in messages[1].subject and "5 个 E3 席位" in messages[1].text
    page.reload()
    expect(page.locator("[data-testid=delivery]")).to_contain_text("can be closed")
    page.click("#close-form button")
    expect(page.locator(".message.success")).to_contain_text(f"Case {case.token} is closed.")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Closed")
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
