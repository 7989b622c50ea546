"""The "invoice issued" email: queued with the invoice, sent over real SMTP with the invoice PDF attached (made
when sent, in the recipient's language), and never carrying another customer's invoice."""

import datetime as dt
import io
from decimal import Decimal

import pypdf
import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import LineInput, create_invoice, issue_invoice
from partnerdesk.conftest import make_customer
from partnerdesk.errors import InvalidInput
from partnerdesk.notifications import attachments, services
from partnerdesk.notifications.attachments import Attachment, AttachmentProblem, attachment_kind
from partnerdesk.notifications.models import EmailStatus, OutboundEmail


def issue(customer, amount="1280.00", **kw):
    return create_invoice(customer=customer, actor=None, issue=True, issue_date=dt.date(2026, 11, 20),
                          due_date=dt.date(2026, 12, 20), lines=[LineInput("Microsoft 365 E3", Decimal("1"), Decimal(amount))],
                          **kw)


def pdf_attachments(message) -> list:
    return [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_the_customer_receives_the_invoice_with_its_pdf(db, smtp_server):
    customer = make_customer("成都锦城软件有限公司", language="zh-CN",
                             contact={"name": "李雷", "email": "ap@jincheng.example.cn"})
    invoice = issue(customer)
    email = OutboundEmail.objects.get(template_key="invoice.issued")
    assert email.customer == customer and email.attachments == [{"kind": "invoice_pdf", "invoice_id": invoice.pk}]
    assert AuditEntry.objects.filter(action="email.queued", object_id=str(email.pk)).exists()

    assert services.send_pending()["sent"] == 1
    [message] = smtp_server.to("ap@jincheng.example.cn")
    assert invoice.number in message.subject and "1,280.00" in message.subject
    assert "附件" in message.text and invoice.number in message.text
    [attachment] = pdf_attachments(message)
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    text = pdf_text(attachment.get_content())
    for expected in ["成都锦城软件有限公司", invoice.number, "1,280.00", "2026-12-20", "发票"]:
        assert expected in text, expected
    # Sending again sends nothing: the email was sent once, with its attachment.
    assert services.send_all_due()["claimed"] == 0
    assert len(smtp_server.messages) == 1


def test_the_pdf_is_in_the_recipients_language(db, smtp_server):
    customer = make_customer("Fabrikam Ltd", language="en", contact={"name": "Jo", "email": "jo@fabrikam.example.com"})
    customer.contacts.update(language="en")
    invoice = issue(customer, "99.00")
    services.send_pending()
    [message] = smtp_server.to("jo@fabrikam.example.com")
    assert message.language == "en" and message.subject.startswith(f"Invoice {invoice.number}")
    text = pdf_text(pdf_attachments(message)[0].get_content())
    assert "Invoice" in text and "Amount still owed" in text and "99.00" in text


def test_an_invoice_issued_later_is_emailed_once(smtp_server, customer_a):
    draft = create_invoice(customer=customer_a, actor=None, lines=[LineInput("Seats", Decimal("3"), Decimal("100.00"))])
    assert not OutboundEmail.objects.filter(template_key="invoice.issued").exists()  # a draft is not sent
    issue_invoice(draft, actor=None)
    services.send_all_due()
    services.send_all_due()
    assert OutboundEmail.objects.filter(template_key="invoice.issued").count() == 1
    assert len(smtp_server.messages) == 1 and len(pdf_attachments(smtp_server.messages[0])) == 1


def test_after_a_mail_server_outage_the_retry_carries_the_same_document(smtp_server, customer_a):
    smtp_server.stop()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        invoice = issue(customer_a)
        assert services.send_pending()["requeued"] == 1
    smtp_server.start()
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert services.send_pending()["sent"] == 1
    [message] = smtp_server.messages
    email = OutboundEmail.objects.get(template_key="invoice.issued")
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert message["Message-ID"] == email.message_id
    assert invoice.number in pdf_text(pdf_attachments(message)[0].get_content())


def test_an_email_never_carries_another_customers_invoice(smtp_server, customer_a, customer_b):
    invoice_of_a = issue(customer_a)
    services.send_all_due()
    smtp_server.messages.clear()
    with transaction.atomic():
        stray = services.queue_email(customer=customer_b, template_key="invoice.issued",
                                     context={"invoice_number": invoice_of_a.number},
                                     attachments=[{"kind": "invoice_pdf", "invoice_id": invoice_of_a.pk}])
    services.send_all_due()
    stray.refresh_from_db()
    assert stray.status == EmailStatus.FAILED and "attachment" in stray.last_error
    assert smtp_server.messages == []


def test_an_unknown_attachment_is_refused_when_queued(customer_a):
    with pytest.raises(InvalidInput) as refused, transaction.atomic():
        services.queue_email(customer=customer_a, template_key="invoice.issued", context={},
                             attachments=[{"kind": "contract_pdf", "id": 1}])
    assert refused.value.field == "attachments"


def test_a_maker_that_fails_for_a_while_is_retried(smtp_server, customer_a, request):
    calls = []

    @attachment_kind("test_flaky")
    def flaky(spec, email):
        calls.append(spec)
        if len(calls) == 1:
            raise OSError("font cache locked")
        if spec.get("gone"):
            raise AttachmentProblem("gone")
        return Attachment("note.txt", b"hello", "text/plain")

    request.addfinalizer(lambda: attachments._makers.pop("test_flaky", None))
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with transaction.atomic():
            email = services.queue_email(customer=customer_a, template_key="invoice.issued", context={},
                                         attachments=[{"kind": "test_flaky"}])
        assert services.send_pending()["requeued"] == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED and "font cache locked" in email.last_error
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert services.send_pending()["sent"] == 1
    [message] = smtp_server.messages
    [note] = list(message.iter_attachments())
    assert note.get_filename() == "note.txt" and note.get_content() == "hello"
