"""The header's search box in a real browser (Chromium through Playwright): an agent finds an invoice by its
number, a payment by its WeChat Pay reference and a contact by a Chinese name, and opens each hit."""

import datetime as dt
import re

import pytest

from partnerdesk.billing.services import record_payment
from partnerdesk.customers.models import BillingContact

from .browser_support import sign_in
from .factories import make_invoice

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)


@pytest.fixture
def browser_context_options():
    return {"viewport": {"width": 1366, "height": 900}}


def search_from_the_header(page, q):
    box = page.locator("header form.header-search input[name=q]")
    box.fill(q)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))


@pytest.mark.django_db(transaction=True)
def test_the_header_search_finds_an_invoice_a_payment_reference_and_a_chinese_contact(
        live_server, transactional_db, people, acme, globex, browser_page):
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    invoice = make_invoice(globex, "800.00", issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 3, 3))
    make_invoice(acme, "90.00")
    record_payment(customer=acme, amount="320.00", received_on=dt.date(2026, 11, 20), method="wechat_pay",
                   reference="4200002126202611201234567890", actor=None)
    BillingContact.objects.create(customer=globex, name="陈静怡", email="chen.jingyi@globex.example.cn",
                                  phone="+86 10 6543 2100")

    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # The invoice number: one hit, of kind Invoice, overdue, linking to the invoice's page.
    search_from_the_header(page, invoice.number)
    rows = page.locator("table.search-results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Invoice")
    expect(rows.first).to_contain_text("Globex 北京")
    expect(rows.first).to_contain_text("Overdue")
    rows.first.locator(f"a:has-text('{invoice.number}')").click()
    page.wait_for_url(re.compile(rf"/invoices/{invoice.pk}/$"))
    expect(page.locator("h1")).to_contain_text(invoice.number)

    # A WeChat Pay reference, typed in part: the payment, and a link to its customer's payments.
    search_from_the_header(page, "202611201234567890")
    payment_row = page.locator("table.search-results tr[data-kind=payment]")
    expect(payment_row).to_have_count(1)
    expect(payment_row).to_contain_text("4200002126202611201234567890")
    expect(payment_row).to_contain_text("WeChat Pay")
    payment_row.locator("a", has_text="Acme 上海").click()
    page.wait_for_url(re.compile(rf"/customers/{acme.pk}/$"))
    expect(page.locator("table.payments")).to_contain_text("4200002126202611201234567890")

    # A Chinese contact name: the contact, under its customer.
    search_from_the_header(page, "陈静怡")
    contact_row = page.locator("table.search-results tr[data-kind=contact]")
    expect(contact_row).to_have_count(1)
    expect(contact_row).to_contain_text("Contact")
    expect(contact_row).to_contain_text("Globex 北京")
    expect(contact_row).to_contain_text("chen.jingyi@globex.example.cn")
    expect(page.locator("header form.header-search input[name=q]")).to_have_value("陈静怡")
    contact_row.locator("a", has_text="陈静怡").click()
    page.wait_for_url(re.compile(rf"/customers/{globex.pk}/$"))

    # The same search in Chinese: the kind reads in Chinese.
    page.click("form.lang button[value=zh-hans]")
    search_from_the_header(page, "陈静怡")
    expect(page.locator("table.search-results tr[data-kind=contact]")).to_contain_text("联系人")
