"""The customers' side of the desk in a real browser (Chromium through Playwright): a customer opens a case in
the portal, sees the agent's reply and the resolution, confirms it (the case closes) and scores the help."""

import re

import pytest
from django.urls import reverse

from partnerdesk.support import services
from partnerdesk.support.models import Case, CaseStatus

from .browser_support import sign_in

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)


@pytest.mark.django_db(transaction=True)
def test_a_customer_opens_a_case_sees_the_answer_confirms_it_and_scores_it(live_server, transactional_db, people,
                                                                           invoices, smtp_server, browser_page):
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    agent, user = people["billing_agent"], people["acme_user"]
    contact = user.customer.contacts.first()  # invited for the company's billing contact, as the portal does
    user.contact, user.email = contact, contact.email
    user.save(update_fields=["contact", "email"])

    # The customer signs in and opens a case about an invoice from the portal's Support section.
    sign_in(page, base, "acme_user")
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("header nav a[href='/portal/support/']")
    expect(page.locator("h1")).to_contain_text("Support")
    page.click("[data-testid=new-case]")
    page.select_option("select[name=type]", "invoice_dispute")
    page.select_option("select[name=severity]", "B")
    page.fill("input[name=subject]", "发票人数不对")
    page.fill("textarea[name=description]", "我们只有 25 个用户，发票按 30 个收费。")
    page.select_option("select[name=invoices]", [str(invoices["acme_new"].pk)])
    page.click("#new-case-form button[type=submit]")
    page.wait_for_url(re.compile(r"/portal/support/\d+/$"))
    case = Case.objects.get(subject="发票人数不对")
    expect(page.locator(".message.success")).to_contain_text(case.token)
    expect(page.locator(".case-message")).to_contain_text("我们只有 25 个用户")
    assert list(case.invoices.all()) == [invoices["acme_new"]] and case.channel == "portal"

    # An agent answers (and writes a note the customer must never see).
    services.add_note(case=case, body="内部：先核对合同", actor=agent)
    services.reply(case=case, body="您好，我们正在核对合同中的用户数。", actor=agent)
    page.click("header nav a[href='/portal/support/']")
    row = page.locator(f"table.cases tr[data-case='{case.token}']")
    expect(row.locator("[data-testid=answer-waiting]")).to_be_visible()
    row.locator("a").first.click()
    expect(page.locator(".case-message.outbound")).to_contain_text("我们正在核对合同中的用户数")
    expect(page.locator("main")).not_to_contain_text("内部：先核对合同")

    # The agent resolves; the customer reads the resolution and confirms it solved the problem.
    services.resolve(case=case, body="已更正为 25 个用户，并开具了红字发票。", actor=agent)
    page.reload()
    expect(page.locator(".case-message.outbound").last).to_contain_text("已更正为 25 个用户")
    page.click("[data-testid=confirm]")
    expect(page.locator(".message.success")).to_contain_text("The case is closed")
    expect(page.locator("h1 .badge")).to_have_text("Closed")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.resolution_message.read_in_portal_at is not None

    # Once, the customer scores the help.
    page.check("#score-form input[name=score][value='5']")
    page.fill("#score-form textarea[name=comment]", "很快，谢谢")
    page.click("#score-form button[type=submit]")
    expect(page.locator("[data-testid=scored]")).to_contain_text("5 of 5")
    expect(page.locator("#score-form")).to_have_count(0)
    case.refresh_from_db()
    assert (case.satisfaction_score, case.satisfaction_comment) == (5, "很快，谢谢")

    # The customer's list shows the case closed, with no answer waiting.
    page.goto(base + reverse("portal_support"))
    expect(row).to_contain_text("Closed")
    expect(row.locator("[data-testid=answer-waiting]")).to_have_count(0)
    # The acknowledgement, the reply and the resolution reached the customer's mailbox with the case token.
    subjects = [m.subject for m in smtp_server.wait_for(3)]
    assert all(case.token in s for s in subjects), subjects
