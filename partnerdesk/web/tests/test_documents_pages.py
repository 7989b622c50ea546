"""Invoices and statements to download and print: staff for any customer, a customer user for its own issued
invoices only; the portal's payment instructions; the settings page an admin edits them on; the API's PDFs."""

import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
from django.urls import reverse

from partnerdesk.accounts.services import create_api_token
from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import PaymentInstructions
from partnerdesk.billing.services import LineInput, create_invoice, update_payment_instructions

from .factories import STAFF, client_for, make_invoice


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def bank(db):
    return update_payment_instructions(values={
        "legal_name_zh_cn": "北风云计算（上海）有限公司", "legal_name_en": "Northwind Cloud (Shanghai) Co., Ltd.",
        "bank_name_zh_cn": "招商银行", "bank_name_zh_tw": "招商銀行", "bank_name_en": "China Merchants Bank",
        "bank_account_number": "1219 0880 0010 888", "alipay_account": "pay@northwind.example.cn",
        "wechat_pay_zh_cn": "北风云计算（商户号 1600000000）"}, actor=None)


@pytest.fixture
def acme_invoice(acme):
    return make_invoice(acme, "3500.00", issue_date=dt.date(2026, 11, 2), due_date=dt.date(2026, 12, 2))


@pytest.fixture
def globex_invoice(globex):
    return make_invoice(globex, "800.00", issue_date=dt.date(2026, 11, 2))


def test_staff_download_an_invoice_in_the_customers_language(people, bank, acme_invoice):
    response = client_for(people["auditor"]).get(reverse("invoice_pdf", args=[acme_invoice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{acme_invoice.number}.pdf"'
    text = pdf_text(response.content)  # Acme reads Simplified Chinese, whatever language the agent uses
    for expected in ["Acme 上海", acme_invoice.number, "3,500.00", "2026-12-02", "尚欠金额", "招商银行"]:
        assert expected in text, expected


def test_the_invoice_page_links_its_pdf_and_print_version(people, bank, acme_invoice):
    body = client_for(people["billing_agent"]).get(reverse("invoice_detail", args=[acme_invoice.pk])).content.decode()
    assert reverse("invoice_pdf", args=[acme_invoice.pk]) in body
    assert reverse("invoice_print", args=[acme_invoice.pk]) in body
    printed = client_for(people["billing_agent"]).get(reverse("invoice_print", args=[acme_invoice.pk]))
    page = printed.content.decode()
    assert printed.status_code == 200 and "@media print" in page and acme_invoice.number in page
    assert "招商银行" in page and reverse("invoice_pdf", args=[acme_invoice.pk]) in page


def test_staff_statement_pdf_and_print_at_a_date(people, bank, acme_invoice):
    c = client_for(people["finance"])
    body = c.get(reverse("customer_statement", args=[acme_invoice.customer_id]), {"as_of": "2026-11-01"}).content.decode()
    assert reverse("customer_statement_pdf", args=[acme_invoice.customer_id]) + "?as_of=2026-11-01" in body
    response = c.get(reverse("customer_statement_pdf", args=[acme_invoice.customer_id]), {"as_of": "2026-11-01"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert acme_invoice.number not in pdf_text(response.content)  # issued on 2 November: after the statement's day
    response = c.get(reverse("customer_statement_pdf", args=[acme_invoice.customer_id]), {"as_of": "2026-11-24"})
    assert acme_invoice.number in pdf_text(response.content) and "3,500.00" in pdf_text(response.content)
    assert c.get(reverse("customer_statement_pdf", args=[acme_invoice.customer_id]), {"as_of": "24/11"}).status_code == 400
    printed = c.get(reverse("customer_statement_print", args=[acme_invoice.customer_id]), {"as_of": "2026-11-24"})
    assert printed.status_code == 200 and acme_invoice.number in printed.content.decode()


def test_a_customer_user_gets_its_own_invoice_pdf_and_nobody_elses(people, bank, acme_invoice, globex_invoice):
    c = client_for(people["acme_user"])
    response = c.get(reverse("portal_invoice_pdf", args=[acme_invoice.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert acme_invoice.number in text and "Acme 上海" in text and "3,500.00" in text
    assert c.get(reverse("portal_invoice_pdf", args=[globex_invoice.pk])).status_code == 404
    assert c.get(reverse("portal_invoice_print", args=[globex_invoice.pk])).status_code == 404
    draft = create_invoice(customer=acme_invoice.customer, actor=None,
                           lines=[LineInput("Seats", Decimal("1"), Decimal("10.00"))])
    assert c.get(reverse("portal_invoice_pdf", args=[draft.pk])).status_code == 404  # a draft is never the customer's
    # The staff routes are not for customer users.
    assert c.get(reverse("invoice_pdf", args=[acme_invoice.pk])).status_code == 403
    statement = c.get(reverse("portal_statement_pdf"))
    text = pdf_text(statement.content)
    assert acme_invoice.number in text and globex_invoice.number not in text and "Globex" not in text


def test_the_portal_invoice_shows_how_to_pay_in_the_readers_language(people, bank, acme_invoice, globex_invoice):
    body = client_for(people["acme_user"], language="en").get(
        reverse("portal_invoice_detail", args=[acme_invoice.pk])).content.decode()
    assert "How to pay" in body and "China Merchants Bank" in body and "1219 0880 0010 888" in body
    assert f"<strong>{acme_invoice.number}</strong>" in body  # the reference to quote
    assert reverse("portal_invoice_pdf", args=[acme_invoice.pk]) in body
    # Globex's user reads Traditional Chinese: the text saved in that language.
    body = client_for(people["globex_user"], language="zh-hant").get(
        reverse("portal_invoice_detail", args=[globex_invoice.pk])).content.decode()
    assert "付款方式" in body and "招商銀行" in body
    statement = client_for(people["acme_user"]).get(reverse("portal_statement")).content.decode()
    assert reverse("portal_statement_pdf") in statement


def test_an_admin_edits_the_payment_instructions_and_others_only_read_them(people, acme_invoice):
    url = reverse("payment_instructions")
    admin = client_for(people["admin"])
    assert admin.get(url).status_code == 200
    response = admin.post(url, {"bank_name_zh_cn": "中国银行", "bank_name_en": "Bank of China",
                                "bank_account_number": "4501 2233 9988", "reason": "moved our account"})
    assert response.status_code == 302 and response["Location"] == url
    row = PaymentInstructions.objects.get()
    assert (row.bank_name_zh_cn, row.bank_name_en, row.bank_account_number) == ("中国银行", "Bank of China", "4501 2233 9988")
    entry = AuditEntry.objects.get(action="payment_instructions.updated")
    assert entry.actor == people["admin"] and entry.reason == "moved our account"
    assert entry.after["bank_name_en"] == "Bank of China"
    # A bad value is refused on its field and nothing changes.
    response = admin.post(url, {"bank_name_en": "x" * 201})
    assert response.status_code == 200 and b"has-error" in response.content
    assert PaymentInstructions.objects.get().bank_name_en == "Bank of China"
    # The invoice shows the new account.
    assert "4501 2233 9988" in pdf_text(admin.get(reverse("invoice_pdf", args=[acme_invoice.pk])).content)
    for role in [r for r in STAFF if r != "admin"]:
        page = client_for(people[role]).get(url)
        assert page.status_code == 200 and b"disabled" in page.content and b"Bank of China" in page.content
        assert client_for(people[role]).post(url, {"bank_name_en": "Fraud Bank"}).status_code == 403
    assert client_for(people["acme_user"]).get(url).status_code == 403
    assert PaymentInstructions.objects.get().bank_name_en == "Bank of China"


def test_the_api_gives_pdfs_scoped_like_the_json(client, people, bank, acme_invoice, globex_invoice):
    token = create_api_token(user=people["acme_user"], name="t", actor=None)[1]
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get(f"/api/v1/invoices/{acme_invoice.pk}/pdf", headers=headers)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert acme_invoice.number in pdf_text(response.content)
    assert client.get(f"/api/v1/invoices/{globex_invoice.pk}/pdf", headers=headers).status_code == 404
    response = client.get(f"/api/v1/customers/{acme_invoice.customer_id}/statement.pdf?as_of=2026-11-24", headers=headers)
    assert response.status_code == 200 and acme_invoice.number in pdf_text(response.content)
    assert client.get(f"/api/v1/customers/{globex_invoice.customer_id}/statement.pdf", headers=headers).status_code == 404
    schema = client.get("/api/v1/openapi.json").json()
    for path in ["/api/v1/invoices/{invoice_id}/pdf", "/api/v1/customers/{customer_id}/statement.pdf"]:
        assert "application/pdf" in schema["paths"][path]["get"]["responses"]["200"]["content"], path
