"""The documents a customer gets from the ledger: an invoice and a statement of account, as a print-friendly HTML
page and as a PDF (WeasyPrint, Chinese fonts embedded), in the customer's language, with the partner's payment
instructions. The web pages, the API and the "invoice issued" email all build them here.

Also the one HTML-to-PDF renderer (the collections policy document uses it too).
"""

import datetime as dt
from dataclasses import dataclass, fields
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from partnerdesk.customers.models import DJANGO_LANGUAGE, Language
from partnerdesk.notifications.attachments import Attachment, AttachmentProblem, attachment_kind

from .models import (
    INSTRUCTION_CODES,
    INSTRUCTION_LANGUAGES,
    INSTRUCTION_TEXTS,
    Invoice,
    InvoiceStatus,
    PaymentInstructions,
)
from .services import INVOICE_ATTACHMENT, statement

INVOICE_TEMPLATE = "web/documents/invoice.html"
STATEMENT_TEMPLATE = "web/documents/statement.html"
PDF = "application/pdf"

# WeasyPrint picks the first font that has a glyph: the right CJK variant first for each language.
PDF_FONTS = {
    "zh-hans": '"Noto Sans CJK SC", "Noto Sans CJK TC", sans-serif',
    "zh-hant": '"Noto Sans CJK TC", "Noto Sans CJK SC", sans-serif',
    "en": '"Noto Sans CJK SC", "Noto Sans CJK TC", sans-serif',
}
# For a blank text in one language, the languages tried next (the other Chinese script reads better than English).
_FALLBACK = {"zh-CN": ("zh-CN", "zh-TW", "en"), "zh-TW": ("zh-TW", "zh-CN", "en"), "en": ("en", "zh-CN", "zh-TW")}


def render_pdf(html: str) -> bytes:
    """PDF bytes of a self-contained HTML document (styles inline, no images or links fetched)."""
    from weasyprint import HTML

    def no_fetching(url, *args, **kwargs):
        # Everything the document needs is inline; never let the renderer reach out (not even to this site).
        raise ValueError(f"external resources are not loaded: {url}")

    return HTML(string=html, url_fetcher=no_fetching, base_url="about:blank").write_pdf()


def pdf_fonts(site_language: str | None = None) -> str:
    """The CSS font-family list for a document in a site language (zh-hans, zh-hant, en)."""
    return PDF_FONTS.get(site_language or translation.get_language() or "en", PDF_FONTS["en"])


def customer_language(customer) -> str:
    """The customer's language (zh-CN, zh-TW, en), zh-CN if it has none we write in."""
    return customer.language if customer.language in INSTRUCTION_LANGUAGES else Language.ZH_CN


def customer_zone(customer) -> ZoneInfo:
    """The customer's time zone, or the site's if it is unset or unknown (what "today" is for the document)."""
    try:
        return ZoneInfo(getattr(customer, "time_zone", "") or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


# --- payment instructions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetails:
    """The payment instructions as one reader gets them: every text in its language (or the nearest there is)."""

    legal_name: str = ""
    bank_name: str = ""
    bank_account_name: str = ""
    bank_account_number: str = ""
    bank_branch: str = ""
    alipay_account: str = ""
    wechat_pay: str = ""
    notes: str = ""

    @property
    def has_bank(self) -> bool:
        return bool(self.bank_name or self.bank_account_number)

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self) if f.name != "legal_name")


def stored_instructions() -> PaymentInstructions:
    """The saved row, or an unsaved blank one before an admin first saves them."""
    return PaymentInstructions.objects.filter(pk=1).first() or PaymentInstructions()


def payment_details(language: str, instructions: PaymentInstructions | None = None) -> PaymentDetails:
    """The payment instructions in a customer language (zh-CN, zh-TW, en); blanks fall back to the other
    languages, then to the environment (settings.PAYMENT_INSTRUCTIONS)."""
    row = instructions if instructions is not None else stored_instructions()
    defaults = getattr(settings, "PAYMENT_INSTRUCTIONS", {}) or {}
    values = {}
    for text in INSTRUCTION_TEXTS:
        tried = (getattr(row, f"{text}_{INSTRUCTION_LANGUAGES[lang]}").strip()
                 for lang in _FALLBACK.get(language, _FALLBACK["zh-CN"]))
        values[text] = next((v for v in tried if v), "") or defaults.get(text, "")
    for code in INSTRUCTION_CODES:
        values[code] = getattr(row, code).strip() or defaults.get(code, "")
    return PaymentDetails(**values)


def site_payment_details() -> PaymentDetails:
    """The payment instructions in the active site language (a portal page in the reader's language)."""
    site = translation.get_language() or "zh-hans"
    language = next((lang for lang, django in DJANGO_LANGUAGE.items() if site.lower() == django), None)
    return payment_details(language or ("en" if site.startswith("en") else Language.ZH_CN))


# --- the documents ---------------------------------------------------------------------------------------------


@dataclass
class Document:
    """A rendered document: what a response or an email attachment needs."""

    filename: str
    content: bytes
    mimetype: str = PDF


def invoice_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"


def statement_filename(customer, as_of: dt.date) -> str:
    return f"statement-{customer.pk}-{as_of.isoformat()}.pdf"


def invoice_context(invoice: Invoice, *, language: str) -> dict:
    """Everything the invoice document shows, in a customer language (zh-CN, zh-TW, en)."""
    customer = invoice.customer
    with timezone.override(customer_zone(customer)):
        today = timezone.localdate()
    applied = list(invoice.allocations.select_related("payment", "credit_note"))
    return {
        "invoice": invoice,
        "customer": customer,
        "lines": list(invoice.lines.select_related("subscription")),
        "allocations": applied,
        "is_draft": invoice.status == InvoiceStatus.DRAFT,
        "is_void": invoice.status == InvoiceStatus.VOID,
        "amount_owed": invoice.balance,
        "overdue": invoice.is_overdue(today),
        "payment": payment_details(language),
        "today": today,
        "document_language": language,
    }


def statement_context(customer, *, as_of: dt.date | None, language: str) -> dict:
    """Everything the statement document shows: the ledger's statement at the end of a day (default: the
    customer's today), with the payment instructions."""
    with timezone.override(customer_zone(customer)):
        today = timezone.localdate()
        result = statement(customer, as_of=as_of or today)
    return {"customer": customer, "statement": result, "payment": payment_details(language), "today": today,
            "document_language": language}


def render_html(template: str, context: dict, *, language: str, pdf: bool = False, request=None) -> str:
    """The document's HTML in a customer language; `pdf` drops the page's toolbar (links mean nothing on paper)."""
    site = DJANGO_LANGUAGE.get(language, "zh-hans")
    with translation.override(site), timezone.override(customer_zone(context["customer"])):
        return render_to_string(template, {**context, "pdf": pdf, "pdf_fonts": pdf_fonts(site)}, request=request)


def invoice_pdf(invoice: Invoice, *, language: str | None = None) -> Document:
    """The invoice as a PDF in the customer's language (or the one given)."""
    language = language if language in INSTRUCTION_LANGUAGES else customer_language(invoice.customer)
    html = render_html(INVOICE_TEMPLATE, invoice_context(invoice, language=language), language=language, pdf=True)
    return Document(invoice_filename(invoice), render_pdf(html))


def invoice_print_html(invoice: Invoice, *, request=None, extra: dict | None = None) -> str:
    """The invoice as a print-friendly page (the PDF's template with a toolbar), in the customer's language."""
    language = customer_language(invoice.customer)
    return render_html(INVOICE_TEMPLATE, {**invoice_context(invoice, language=language), **(extra or {})},
                       language=language, request=request)


def statement_pdf(customer, *, as_of: dt.date | None = None, language: str | None = None) -> Document:
    """The statement of account at the end of a day as a PDF, in the customer's language (or the one given)."""
    language = language if language in INSTRUCTION_LANGUAGES else customer_language(customer)
    context = statement_context(customer, as_of=as_of, language=language)
    html = render_html(STATEMENT_TEMPLATE, context, language=language, pdf=True)
    return Document(statement_filename(customer, context["statement"].as_of), render_pdf(html))


def statement_print_html(customer, *, as_of: dt.date | None = None, request=None, extra: dict | None = None) -> str:
    """The statement as a print-friendly page in the customer's language."""
    language = customer_language(customer)
    return render_html(STATEMENT_TEMPLATE, {**statement_context(customer, as_of=as_of, language=language),
                                            **(extra or {})}, language=language, request=request)


# --- the "invoice issued" email's attachment -------------------------------------------------------------------


@attachment_kind(INVOICE_ATTACHMENT)
def invoice_attachment(spec: dict, email) -> Attachment:
    """The invoice PDF an email carries, in the email's language; only ever the recipient customer's own,
    issued invoice."""
    try:
        invoice_id = int(spec.get("invoice_id"))
    except (TypeError, ValueError):
        raise AttachmentProblem(f"no invoice in {spec!r}")
    invoice = Invoice.objects.select_related("customer").filter(pk=invoice_id).first()
    if invoice is None or invoice.customer_id != email.customer_id or invoice.status == InvoiceStatus.DRAFT:
        raise AttachmentProblem(f"invoice {invoice_id} is not an issued invoice of this email's customer")
    document = invoice_pdf(invoice, language=email.language)
    return Attachment(document.filename, document.content, document.mimetype)
