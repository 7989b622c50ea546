"""The invoice and statement documents: real PDFs (WeasyPrint), read back with pypdf and drawn with pdftoppm,
in the customer's language, with the partner's payment instructions; and the settings they are taken from."""

import datetime as dt
import io
import subprocess
from decimal import Decimal

import pypdf
import pytest
from PIL import Image

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing import documents
from partnerdesk.billing.models import PaymentInstructions
from partnerdesk.billing.services import (
    LineInput,
    create_invoice,
    record_payment,
    update_payment_instructions,
)
from partnerdesk.conftest import make_customer
from partnerdesk.errors import InvalidInput

INSTRUCTIONS = {
    "legal_name_zh_cn": "北风云计算（上海）有限公司", "legal_name_zh_tw": "北風雲端運算（上海）有限公司",
    "legal_name_en": "Northwind Cloud (Shanghai) Co., Ltd.",
    "bank_name_zh_cn": "招商银行", "bank_name_zh_tw": "招商銀行", "bank_name_en": "China Merchants Bank",
    "bank_account_name_zh_cn": "北风云计算（上海）有限公司", "bank_account_name_en": "Northwind Cloud (Shanghai) Co., Ltd.",
    "bank_branch_zh_cn": "上海陆家嘴支行", "bank_branch_en": "Shanghai Lujiazui Sub-branch",
    "bank_account_number": "1219 0880 0010 888", "alipay_account": "pay@northwind.example.cn",
    "wechat_pay_zh_cn": "北风云计算（商户号 1600000000）", "wechat_pay_en": "Northwind Cloud (merchant 1600000000)",
    "notes_zh_cn": "请在付款附言中注明发票编号。", "notes_en": "Please quote the invoice number.",
}


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def embedded_fonts(content: bytes) -> set[str]:
    """The names of the fonts embedded in the PDF (a font file in its descriptor)."""
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(content)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            for desc in [font, *[f.get_object() for f in font.get("/DescendantFonts", [])]]:
                descriptor = desc.get("/FontDescriptor")
                if descriptor and any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(desc["/BaseFont"]))
    return names


def ink(content: bytes, tmp_path, page: int = 1) -> int:
    """How many pixels of a page, drawn by pdftoppm at 50 dpi, are not white."""
    source = tmp_path / "doc.pdf"
    source.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(page), "-l", str(page), "-singlefile", str(source),
                    str(tmp_path / "page")], check=True, timeout=60)
    with Image.open(tmp_path / "page.png") as image:
        grey = image.convert("L")
        return sum(1 for value in grey.getdata() if value < 240)


@pytest.fixture
def instructions(db):
    return update_payment_instructions(values=INSTRUCTIONS, actor=None, reason="bank account opened")


@pytest.fixture
def invoice(db):
    customer = make_customer("成都锦城软件有限公司", language="zh-CN")
    return create_invoice(customer=customer, actor=None, issue=True, issue_date=dt.date(2026, 11, 1),
                          due_date=dt.date(2026, 12, 1), lines=[
                              LineInput("Microsoft 365 E3 · 2026-11", Decimal("10"), Decimal("238.00"), Decimal("0.06")),
                              LineInput("Azure 用量 · 2026-10", Decimal("1"), Decimal("1000.00")),
                          ])


def test_the_invoice_pdf_holds_the_customer_the_number_the_total_and_how_to_pay(invoice, instructions, tmp_path):
    # 10 x 238.00 = 2,380.00 + 6% tax 142.80, + 1,000.00 = 3,522.80
    record_payment(customer=invoice.customer, amount="522.80", received_on=dt.date(2026, 11, 20), method="alipay",
                   actor=None)
    invoice.refresh_from_db()
    document = documents.invoice_pdf(invoice)
    assert document.filename == f"{invoice.number}.pdf" and document.mimetype == "application/pdf"
    text = pdf_text(document.content)
    for expected in ["成都锦城软件有限公司", invoice.number, "3,522.80", "3,000.00", "2026-12-01", "发票",
                     "招商银行", "上海陆家嘴支行", "1219 0880 0010 888", "pay@northwind.example.cn", "商户号 1600000000",
                     "北风云计算（上海）有限公司", "请在付款附言中注明发票编号"]:
        assert expected in text, (expected, text)
    assert "China Merchants Bank" not in text  # the customer reads Simplified Chinese
    assert any("Noto-Sans-CJK" in name for name in embedded_fonts(document.content))  # embedded, not referenced
    assert ink(document.content, tmp_path) > 5000  # a page with text and tables, not a blank sheet


def test_the_pdf_is_in_the_customers_language(db, instructions):
    taipei = make_customer("台北雲端股份有限公司", language="zh-TW")
    london = make_customer("Fabrikam Ltd", language="en")
    for customer, words in [(taipei, ["發票", "招商銀行", "尚欠金額", "台北雲端股份有限公司"]),
                            (london, ["Invoice", "China Merchants Bank", "Amount still owed", "Shanghai Lujiazui Sub-branch"])]:
        inv = create_invoice(customer=customer, actor=None, issue=True, issue_date=dt.date(2026, 11, 1),
                             lines=[LineInput("Dynamics 365 Sales", Decimal("2"), Decimal("640.00"))])
        text = pdf_text(documents.invoice_pdf(inv).content)
        for word in words + [inv.number, "1,280.00"]:
            assert word in text, (customer.language, word)
    # A text left blank in Traditional Chinese reads as the Simplified one, not as English.
    inv = taipei.invoices.get()
    assert "上海陆家嘴支行" in pdf_text(documents.invoice_pdf(inv).content)


def test_the_statement_pdf(invoice, instructions, tmp_path):
    record_payment(customer=invoice.customer, amount="500.00", received_on=dt.date(2026, 11, 10), method="bank_transfer",
                   reference="CMB-20261110-77", actor=None)
    document = documents.statement_pdf(invoice.customer, as_of=dt.date(2026, 11, 24))
    assert document.filename == f"statement-{invoice.customer.pk}-2026-11-24.pdf"
    text = pdf_text(document.content)
    for expected in ["成都锦城软件有限公司", "对账单", invoice.number, "CMB-20261110-77", "3,522.80", "3,022.80",
                     "2026-11-24", "招商银行"]:
        assert expected in text, (expected, text)
    assert ink(document.content, tmp_path) > 5000


def test_without_settings_the_partner_name_comes_from_the_environment(db, settings):
    settings.PAYMENT_INSTRUCTIONS = {**settings.PAYMENT_INSTRUCTIONS, "legal_name": "Env Partner 有限公司",
                                     "bank_name": "中国银行"}
    customer = make_customer("Contoso 上海")
    inv = create_invoice(customer=customer, actor=None, issue=True, issue_date=dt.date(2026, 11, 1),
                         lines=[LineInput("Microsoft 365 E3", Decimal("1"), Decimal("99.00"))])
    text = pdf_text(documents.invoice_pdf(inv).content)
    assert "Env Partner 有限公司" in text and "中国银行" in text
    # What an admin saves wins over the environment.
    update_payment_instructions(values={"bank_name_zh_cn": "招商银行"}, actor=None)
    assert documents.payment_details("zh-CN").bank_name == "招商银行"
    assert documents.payment_details("zh-CN").legal_name == "Env Partner 有限公司"


def test_a_draft_says_it_is_not_a_bill_and_a_paid_invoice_asks_for_nothing(db, instructions):
    customer = make_customer("Contoso 上海", language="en")
    draft = create_invoice(customer=customer, actor=None, lines=[LineInput("Seats", Decimal("1"), Decimal("50.00"))])
    text = pdf_text(documents.invoice_pdf(draft).content)
    assert "Draft: not a request for payment" in text and "How to pay" not in text
    paid = create_invoice(customer=customer, actor=None, issue=True, issue_date=dt.date(2026, 11, 1),
                          lines=[LineInput("Seats", Decimal("1"), Decimal("80.00"))])
    record_payment(customer=customer, amount="80.00", received_on=dt.date(2026, 11, 2), method="alipay", actor=None)
    paid.refresh_from_db()
    text = pdf_text(documents.invoice_pdf(paid).content)
    assert "Nothing is owed on this invoice" in text and "How to pay" not in text


def test_changing_the_instructions_is_audited_and_bounded(db, users):
    admin = users["admin"]
    update_payment_instructions(values={"alipay_account": "pay@northwind.example.cn"}, actor=admin, reason="new account")
    entry = AuditEntry.objects.get(action="payment_instructions.updated")
    assert entry.actor == admin and entry.reason == "new account"
    assert entry.before["alipay_account"] == "" and entry.after["alipay_account"] == "pay@northwind.example.cn"
    row = PaymentInstructions.objects.get()
    assert row.updated_by == admin and row.updated_at is not None
    # The same values again change nothing and record nothing.
    update_payment_instructions(values={"alipay_account": "pay@northwind.example.cn"}, actor=admin)
    assert AuditEntry.objects.filter(action="payment_instructions.updated").count() == 1
    with pytest.raises(InvalidInput) as refused:
        update_payment_instructions(values={"bank_name_en": "x" * 201}, actor=admin)
    assert refused.value.field == "bank_name_en"
    with pytest.raises(InvalidInput):
        update_payment_instructions(values={"bank_name_en": "Bank\x00"}, actor=admin)
    with pytest.raises(InvalidInput):
        update_payment_instructions(values={"bank_name_en": "two\nlines"}, actor=admin)
    with pytest.raises(InvalidInput) as refused:
        update_payment_instructions(values={"api_secret": "s3cret"}, actor=admin)
    assert refused.value.field == "api_secret"
    assert PaymentInstructions.objects.get().bank_name_en == ""
