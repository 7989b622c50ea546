"""Invoice documents in a real browser (Chromium through Playwright): a customer user reads how to pay on its
invoice in the portal and downloads the invoice PDF; an agent downloads an invoice and a statement."""

import datetime as dt
import io
import re
from pathlib import Path

import pypdf
import pytest
from django.urls import reverse

from partnerdesk.billing.services import update_payment_instructions

from .browser_support import sign_in
from .factories import make_invoice

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)


@pytest.fixture
def browser_context_options():
    return {"accept_downloads": True}


def downloaded_pdf_text(download) -> str:
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF-"), content[:20]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def bank(transactional_db):
    return update_payment_instructions(values={
        "legal_name_zh_cn": "北风云计算（上海）有限公司", "legal_name_en": "Northwind Cloud (Shanghai) Co., Ltd.",
        "bank_name_zh_cn": "招商银行", "bank_name_en": "China Merchants Bank",
        "bank_branch_en": "Shanghai Lujiazui Sub-branch", "bank_account_number": "1219 0880 0010 888",
        "alipay_account": "pay@northwind.example.cn", "wechat_pay_en": "Northwind Cloud (merchant 1600000000)"},
        actor=None)


@pytest.mark.django_db(transaction=True)
def test_a_customer_user_sees_how_to_pay_and_downloads_its_invoice_pdf(live_server, transactional_db, people, acme,
                                                                        globex, bank, browser_page):
    page, base = browser_page, live_server.url
    from playwright.sync_api import expect

    invoice = make_invoice(acme, "3500.00", issue_date=dt.date(2026, 11, 2), due_date=dt.date(2026, 12, 2))
    other = make_invoice(globex, "800.00", issue_date=dt.date(2026, 11, 2))

    sign_in(page, base, "acme_user")
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("nav a[href='/portal/invoices/']")
    page.click(f"table.invoices a:has-text('{invoice.number}')")
    page.wait_for_url(re.compile(rf"/portal/invoices/{invoice.pk}/$"))

    # How to pay, in the reader's language (English), with the invoice number to quote.
    instructions = page.locator("[data-testid=payment-instructions]")
    expect(instructions).to_be_visible()
    expect(instructions).to_contain_text("How to pay")
    expect(instructions).to_contain_text(f"Payment reference to quote: {invoice.number}")
    expect(instructions).to_contain_text("China Merchants Bank")
    expect(instructions).to_contain_text("1219 0880 0010 888")
    expect(instructions).to_contain_text("pay@northwind.example.cn")
    expect(instructions).to_contain_text("Northwind Cloud (merchant 1600000000)")

    # The PDF downloads; it is the invoice, in the customer's language (Acme reads Simplified Chinese).
    with page.expect_download() as info:
        page.click("[data-testid=invoice-pdf]")
    download = info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    text = downloaded_pdf_text(download)
    for expected in [invoice.number, "Acme 上海", "3,500.00", "2026-12-02", "招商银行", "1219 0880 0010 888"]:
        assert expected in text, expected

    # Another customer's invoice and its PDF are not found.
    assert page.goto(base + reverse("portal_invoice_pdf", args=[other.pk])).status == 404
    assert page.goto(base + reverse("portal_invoice_detail", args=[other.pk])).status == 404


@pytest.mark.django_db(transaction=True)
def test_an_agent_downloads_an_invoice_and_a_statement(live_server, transactional_db, people, acme, bank, browser_page):
    page, base = browser_page, live_server.url
    from playwright.sync_api import expect

    invoice = make_invoice(acme, "1280.00", issue_date=dt.date(2026, 11, 2), due_date=dt.date(2026, 12, 2))
    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.goto(base + reverse("invoice_detail", args=[invoice.pk]))
    with page.expect_download() as info:
        page.click("[data-testid=invoice-pdf]")
    assert invoice.number in downloaded_pdf_text(info.value)

    page.goto(base + reverse("customer_statement", args=[acme.pk]))
    expect(page.locator("[data-testid=statement-pdf]")).to_be_visible()
    with page.expect_download() as info:
        page.click("[data-testid=statement-pdf]")
    text = downloaded_pdf_text(info.value)
    assert invoice.number in text and "1,280.00" in text and "Acme 上海" in text
