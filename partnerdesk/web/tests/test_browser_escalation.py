"""Escalating a case to 21Vianet in a real browser (Chromium through Playwright): an agent escalates a customer's
billing case through the operator's portal channel (severity A is refused, naming the severity; B is accepted),
copies the prepared Chinese text with the partner's own contact, records the portal's reference number, logs the
operator's answer and marks the request closed; the case comes back with one task, tell the customer; the agent
replies and resolves, the customer receives both through the real SMTP server, and the case closes."""

import re

import pytest

from partnerdesk.escalations.targets import settings_row
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services

from .browser_support import sign_in
from .factories import make_invoice

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)

PARTNER = {"contact_name": "王芳", "contact_email": "escalations@northwind.example.cn", "contact_phone": "+86 21 5555 0100"}
REFERENCE = "2611240010000123"


@pytest.fixture
def worker_sends_later(settings):
    """Emails wait in the queue until the test runs the sender, as the background worker would."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def partner_contact(db):
    row = settings_row()
    for field, value in PARTNER.items():
        setattr(row, field, value)
    row.save()
    return row


@pytest.mark.django_db(transaction=True)
def test_an_agent_escalates_through_the_portal_and_closes_the_loop(live_server, transactional_db, people, acme,
                                                                   partner_contact, smtp_server, worker_sends_later,
                                                                   browser_page):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    invoice = make_invoice(acme, "1280.00")
    contact = acme.primary_contact
    case = services.open_case(customer=acme, subject="11 月发票重复扣费", description="同一张发票被扣了两次款，请退回多扣的款项。",
                              actor=people["acme_user"], requester_contact=contact, invoices=[invoice],
                              assignee=people["billing_agent"])
    send_pending()
    smtp_server.wait_for(1, timeout=15)  # the acknowledgement
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()

    # The agent opens the billing case; the escalate form starts from it.
    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(base + f"/support/cases/{case.pk}/")
    panel = page.locator("[data-testid=escalation-panel]")
    expect(panel.locator("h2")).to_have_text("Escalation to 21Vianet")
    expect(panel).to_contain_text("Not escalated to 21Vianet.")
    form = page.locator("#escalate-form")
    expect(form.get_by_label("Title")).to_have_value("11 月发票重复扣费")
    expect(form.get_by_label("Description")).to_have_value(re.compile("同一张发票被扣了两次款"))
    expect(form.get_by_label(invoice.number)).to_be_checked()
    expect(form.get_by_label("Channel")).to_have_value("portal")

    # Severity A on a billing topic is refused, on the severity field, naming the severity.
    form.get_by_label("Severity").select_option(label="A: critical")
    form.locator("button[type=submit]").click()
    severity = page.locator("#escalate-form .field.has-error:has(#escalate-severity)")
    expect(severity.locator(".error")).to_contain_text("Severity A (critical) is for technical requests only")
    expect(page.locator("[data-testid=service-request]")).to_have_count(0)

    # B is accepted: the case waits on the operator, and the request is prepared for the portal.
    page.locator("#escalate-form").get_by_label("Severity").select_option(label="B: moderate")
    page.locator("#escalate-form button[type=submit]").click()
    expect(page.locator(".message.success")).to_contain_text("Escalated to 21Vianet")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Waiting on operator")
    request = page.locator("[data-testid=service-request]")
    expect(request).to_have_count(1)
    expect(request.locator("[data-testid=sr-status]")).to_contain_text("Prepared, not filed yet")
    expect(request.locator("[data-testid=sr-severity]")).to_have_text("B: moderate")

    # The prepared text is Chinese and carries the partner's contact, never the customer's; Copy copies it.
    text = request.locator("[data-testid=portal-text]")
    expect(text).to_have_value(re.compile("代表客户向世纪互联提交的服务请求"))
    expect(text).to_have_value(re.compile(re.escape(PARTNER["contact_email"])))
    expect(text).to_have_value(re.compile(PARTNER["contact_name"]))
    expect(text).to_have_value(re.compile(str(acme.tenant_id)))
    expect(text).to_have_value(re.compile(invoice.number))
    assert contact.email not in text.input_value()
    copy = request.get_by_role("button", name="Copy")
    copy.click()
    expect(request.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == text.input_value()

    # The agent files it in the operator's portal and records the number it gave: the request is open.
    request.get_by_label("The operator's reference number").fill(REFERENCE)
    request.get_by_role("button", name="Record the reference").click()
    expect(page.locator(".message.success")).to_contain_text("Reference recorded")
    expect(request.locator("[data-testid=sr-reference]")).to_have_text(REFERENCE)
    expect(request.locator("[data-testid=sr-status]")).to_contain_text("Open")
    expect(request.locator("[data-testid=sr-targets]")).to_contain_text("First response")

    # The operator answers; the agent logs it on the case.
    request.locator("summary", has_text="Log the operator's answer").click()
    request.get_by_label("The operator's answer").fill("已核实：该发票被银行重复扣款，多扣款项将于 3 个工作日内退回。")
    request.get_by_label("Written by (optional)").fill("世纪互联 张工")
    request.get_by_role("button", name="Log the answer").click()
    expect(page.locator(".message.success")).to_contain_text("The operator's answer is logged.")
    notes = request.locator("[data-testid=sr-notes] li[data-from=operator]")
    expect(notes).to_have_count(1)
    expect(notes).to_contain_text("多扣款项将于 3 个工作日内退回")
    expect(notes).to_contain_text("世纪互联 张工")
    expect(request.locator("[data-testid=sr-met-first_response]")).to_have_text("Met")

    # 21Vianet closed it: the case is back with its agent, with one task.
    request.get_by_role("button", name="21Vianet closed it: mark closed").click()
    expect(page.locator(".message.success")).to_contain_text("tell the customer the outcome in a reply")
    expect(request.locator("[data-testid=sr-status]")).to_contain_text("Closed")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Open")
    task = page.locator("[data-testid=escalation-task]")
    expect(task).to_contain_text("Task: tell the customer")
    expect(task).to_contain_text(f"21Vianet closed request {REFERENCE}")

    # The agent tells the customer in a reply (the task is done), then resolves.
    task.get_by_role("link", name="Write the reply").click()
    page.fill("#compose-body", "您好，世纪互联已核实重复扣款，多扣的 ¥1,280.00 将于 3 个工作日内退回。")
    page.click("#send-reply")
    expect(page.locator(".message.success")).to_contain_text("Reply sent.")
    expect(page.locator("[data-testid=escalation-task]")).to_have_count(0)
    expect(request.locator("[data-testid=sr-status]")).to_contain_text("customer told")
    page.fill("#compose-body", "款项已退回，如仍有疑问请随时联系我们。")
    page.click("#send-resolution")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Resolved")
    expect(page.locator("[data-testid=delivery]")).to_contain_text("has not reached the customer")

    # The worker sends; the customer receives the reply and the resolution, never the operator's own words.
    send_pending()
    smtp_server.wait_for(2, timeout=15)
    to_customer = smtp_server.to(contact.email)
    assert len(to_customer) == 2, [m.subject for m in smtp_server.messages]
    assert "多扣的 ¥1,280.00 将于 3 个工作日内退回" in to_customer[0].text
    assert "款项已退回" in to_customer[1].text
    assert all(case.token in m.subject for m in to_customer)
    assert not any("世纪互联 张工" in m.text or PARTNER["contact_email"] in m.text for m in to_customer)

    # The loop is closed: the resolution reached the customer, so the case closes.
    page.reload()
    expect(page.locator("[data-testid=delivery]")).to_contain_text("can be closed")
    page.click("#close-form button")
    expect(page.locator(".message.success")).to_contain_text(f"Case {case.token} is closed.")
    expect(page.locator("[data-testid=case-status]")).to_have_text("Closed")
