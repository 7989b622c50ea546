"""A re-billed invoice as the customer gets it: generated from the operator's lines, issued, and rendered as a PDF in
the customer's language (zh-CN, zh-TW). The text read back holds the Chinese customer name, the lines' words and
the figures; a page drawn by pdftoppm is not blank."""

import datetime as dt
import io
import subprocess
from decimal import Decimal

import pypdf
import pytest
from PIL import Image

from partnerdesk.billing.documents import invoice_pdf
from partnerdesk.billing.models import InvoiceStatus
from partnerdesk.conftest import make_customer
from partnerdesk.rebilling import drafts
from partnerdesk.rebilling.models import FileKind
from partnerdesk.rebilling.tests import recon_factory as rf

PERIOD = dt.date(2026, 10, 1)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def ink(content: bytes, tmp_path) -> int:
    """How many pixels of the first page, drawn by pdftoppm at 50 dpi, are not white."""
    source = tmp_path / "invoice.pdf"
    source.write_bytes(content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / "page")], check=True, timeout=60)
    with Image.open(tmp_path / "page.png") as image:
        return sum(1 for value in image.convert("L").getdata() if value < 240)


@pytest.mark.django_db
@pytest.mark.parametrize("language, name, words", [
    ("zh-CN", "深圳市云帆科技有限公司", ["发票", "合计"]),
    ("zh-TW", "臺北雲端資訊股份有限公司", ["發票", "合計"]),
])
def test_a_rebilled_invoice_pdf_in_the_customers_chinese(users, tmp_path, language, name, words):
    customer = make_customer(name, language=language, primary_domain="yunfan.partner.onmschina.cn")
    subscription = rf.subscription(customer, "pc-sub-yunfan-e3", offer_name="Microsoft 365 E3")
    license_file = rf.recon_file(FileKind.LICENSE, period=PERIOD)
    rf.line(license_file, customer=customer, subscription=subscription, product_name="Microsoft 365 E3",
            charge_type="Cycle fee", quantity="25", unit_price="238.00", charges="5950.00")
    usage_file = rf.recon_file(FileKind.USAGE, period=PERIOD)
    rf.line(usage_file, customer=customer, subscription=subscription, product_name="D2s v3 Compute Hours",
            service="Virtual Machines", quantity="744", unit_price="0.8160", charges="607.10")

    drafts.generate_drafts(PERIOD, actor=users["finance"])
    (invoice,) = drafts.issue_drafts(list(drafts.period_drafts(PERIOD)), actor=users["finance"],
                                     issue_date=dt.date(2026, 11, 10))
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number
    # Pass-through: the operator's charges, 6% VAT on each line.
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("6557.10"), Decimal("393.43"), Decimal("6950.53"))

    document = invoice_pdf(invoice)
    assert document.content.startswith(b"%PDF-")
    text = pdf_text(document.content)
    for expected in [name, invoice.number, "Microsoft 365 E3", "5,950.00", "607.10", "6,557.10", "393.43",
                     "6,950.53", *words]:
        assert expected in text, (expected, text)
    assert ink(document.content, tmp_path) > 2000  # the page is drawn, not blank
