"""Every ledger change from the web desk, in a real browser (Chromium through Playwright): an agent creates a
customer with two contacts, corrects a contact's email, drafts and issues an invoice (adding a line without
JavaScript), downloads its PDF, records a payment and reverses it; finance issues a credit note with lines."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import CreditNote, Invoice, Payment
from partnerdesk.customers.models import Customer

from .browser_support import sign_in, sign_out

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)

TENANT = "9c1f7e52-6b1d-4c1a-8f0e-2a7d5b3c4e61"


@pytest.fixture
def browser_context_options():
    return {"accept_downloads": True, "java_script_enabled": False}


@pytest.mark.django_db(transaction=True)
def test_an_agent_keeps_the_ledger_from_the_web_desk(live_server, transactional_db, people, browser_page):
    page, base = browser_page, live_server.url
    from playwright.sync_api import expect

    # (JavaScript is off in this browser: every step works with plain forms.)
    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # A new customer with its primary billing contact.
    page.goto(base + reverse("customer_list"))
    page.click("a:has-text('New customer')")
    page.fill("input[name=name]", "成都锦城软件有限公司")
    page.fill("input[name=tenant_id]", TENANT)
    page.fill("input[name=primary_domain]", "jincheng.partner.onmschina.cn")
    page.fill("input[name=contact_name]", "刘洋")
    page.fill("input[name=contact_email]", "liuyang@jincheng.example.cn")
    page.click("#customer-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator("h1")).to_contain_text("成都锦城软件有限公司")
    customer = Customer.objects.get(tenant_id=TENANT)

    # A second contact: technical, in Traditional Chinese, on Taipei time.
    page.click("#contacts a:has-text('Add contact')")
    page.fill("input[name=name]", "陈静")
    page.fill("input[name=email]", "chen@jincheng.exmaple.cn")  # a typo, corrected below
    page.select_option("select[name=kind]", "technical")
    page.select_option("select[name=language]", "zh-TW")
    page.select_option("select[name=time_zone]", "Asia/Taipei")
    page.click("#contact-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    contacts = page.locator("table.contacts tbody tr")
    expect(contacts).to_have_count(2)

    # The agent corrects the contact's email.
    page.click("table.contacts tr:has-text('陈静') a:has-text('Edit')")
    page.fill("input[name=email]", "chen@jincheng.example.cn")
    page.fill("textarea[name=reason]", "typo in the domain")
    page.click("#contact-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator("table.contacts")).to_contain_text("chen@jincheng.example.cn")
    expect(page.locator("table.contacts")).not_to_contain_text("exmaple")
    assert customer.contacts.filter(is_primary=True).get().email == "liuyang@jincheng.example.cn"

    # A draft with two lines (the second added with the form's button), issued at once.
    page.click("a:has-text('New invoice')")
    page.fill("input[name='lines-0-description']", "Microsoft 365 E3 · 2026-11")
    page.fill("input[name='lines-0-quantity']", "10")
    page.fill("input[name='lines-0-unit_price']", "38.00")
    page.select_option("select[name='lines-0-tax_rate']", "0.06")
    page.click("button[name=add_line]")
    expect(page.locator("table.line-rows tbody tr")).to_have_count(2)
    expect(page.locator("input[name='lines-0-description']")).to_have_value("Microsoft 365 E3 · 2026-11")
    page.fill("input[name='lines-1-description']", "Azure usage")
    page.fill("input[name='lines-1-unit_price']", "100.00")
    page.select_option("select[name='lines-1-tax_rate']", "0")
    page.click("button[name=issue]")
    page.wait_for_url(re.compile(r"/invoices/\d+/$"))
    invoice = Invoice.objects.get(customer=customer)
    assert invoice.total == Decimal("502.80") and invoice.number
    expect(page.locator("h1")).to_contain_text(invoice.number)
    expect(page.locator(".message.success")).to_contain_text(f"Invoice {invoice.number} issued.")

    # Its PDF downloads as a PDF.
    with page.expect_download() as download:
        page.click("[data-testid=invoice-pdf]")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000

    # The customer pays; the balance goes to zero.
    page.click(f"p.small a:has-text('{customer.name}')")
    page.click("a:has-text('Record payment')")
    page.fill("input[name=amount]", "502.80")
    page.select_option("select[name=method]", "wechat_pay")
    page.fill("input[name=reference]", "WX-4200001234")
    page.click("#payment-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator("[data-testid=balance]")).to_have_text("¥0.00")

    # It was recorded against the wrong customer: the agent reverses it from the payment's page.
    page.locator("table.payments tbody tr").first.locator("a").first.click()  # the date links to the payment
    page.click("a:has-text('Reverse payment')")
    page.fill("textarea[name=reason]", "paid by another customer")
    page.check("input[name=confirm]")
    page.click("#payment-action-form button[type=submit]")
    page.wait_for_url(re.compile(r"/payments/\d+/$"))
    expect(page.locator("[data-testid=reversed]")).to_contain_text("paid by another customer")
    expect(page.locator("[data-testid=unallocated]")).to_have_text("¥0.00")
    payment = Payment.objects.get(customer=customer)
    assert payment.is_reversed and not payment.allocations.exists()
    page.click(f"p.small a:has-text('{customer.name}')")
    expect(page.locator("[data-testid=balance]")).to_have_text("¥502.80")
    expect(page.locator("table.payments")).to_contain_text("Reversed")
    sign_out(page)

    # Finance credits part of the invoice, line by line.
    sign_in(page, base, "finance")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(base + reverse("invoice_detail", args=[invoice.pk]))
    page.click("a:has-text('Issue credit note')")
    page.fill("textarea[name=reason]", "two seats billed twice")
    page.fill("input[name='lines-0-description']", "2 seats Microsoft 365 E3")
    page.fill("input[name='lines-0-amount']", "80.56")
    page.click("button[name=add_line]")
    page.fill("input[name='lines-1-description']", "Goodwill")
    page.fill("input[name='lines-1-amount']", "20.00")
    page.click("#credit-note-form button[name=save]:has-text('Issue credit note')")
    page.wait_for_url(re.compile(r"/invoices/\d+/$"))
    note = CreditNote.objects.get(invoice=invoice)
    expect(page.locator(".message.success")).to_contain_text(f"Credit note {note.number} issued for ¥100.56.")
    expect(page.locator("table.credit-notes")).to_contain_text("Goodwill")
    assert note.lines.count() == 2
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("402.24")

    # Each change is in the audit log, by the person who made it.
    done = set(AuditEntry.objects.filter(customer=customer).values_list("actor__username", "action"))
    assert {("billing_agent", "customer.created"), ("billing_agent", "contact.added"),
            ("billing_agent", "contact.updated"), ("billing_agent", "invoice.issued"),
            ("billing_agent", "payment.reversed"), ("finance", "credit_note.issued")} <= done
