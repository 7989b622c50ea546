"""A dispute by email: a new case from the desk's email in that reads as a dispute becomes a dispute case of
the invoice it names, for the figure the customer gives (capped at the open balance), audited as by email."""

from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.disputes.mail import dispute_from_message
from partnerdesk.dunning.models import Dispute
from partnerdesk.support.mail.filing import ingest
from partnerdesk.support.models import CaseType

pytestmark = pytest.mark.django_db


def mail_in(customer, subject, body):
    sender = customer.contacts.get().email
    raw = (f"From: Li Lei <{sender}>\r\nTo: support@partner.example.cn\r\nSubject: {subject}\r\n"
           f"Message-ID: <{abs(hash(body))}@customer.example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           f"{body}\r\n").encode()
    return ingest(raw, source="file").case


@pytest.mark.parametrize(("body", "disputed"), [
    ("发票 {number} 多收了 ¥1,200.00，我们对此有异议。", "1200.00"),
    ("發票 {number} 金額有誤，多收了 1200元。", "1200.00"),
    ("We dispute invoice {number}: overcharged by RMB 50,000.", "2000.00"),  # capped at the open balance
    ("We dispute invoice {number}.", "2000.00"),  # no figure: the open balance
])
def test_a_dispute_by_email(customer_a, body, disputed):
    invoice = make_invoice(customer_a, "2000.00")
    text = body.format(number=invoice.number)
    case = mail_in(customer_a, "Invoice", text)  # the desk's email in opens the dispute as it files the mail
    [dispute] = Dispute.objects.filter(case=case)
    assert dispute_from_message(case, text) == []  # once: the invoice is under dispute now
    case.refresh_from_db()
    assert case.type == CaseType.INVOICE_DISPUTE and list(case.invoices.all()) == [invoice]
    assert dispute.case == case and dispute.amount == Decimal(disputed)
    entry = AuditEntry.objects.get(action="dispute_case.amount_disputed")
    assert entry.after["channel"] == "email" and entry.actor is None


def test_a_question_or_another_customers_invoice_is_no_dispute(customer_a, customer_b):
    invoice, foreign = make_invoice(customer_a, "2000.00"), make_invoice(customer_b, "900.00")
    question = f"请问发票 {invoice.number} 什么时候到期？"
    assert dispute_from_message(mail_in(customer_a, "问题", question), question) == []
    text = f"We dispute invoice {foreign.number}: overcharged."
    assert dispute_from_message(mail_in(customer_a, "Dispute", text), text) == []
    assert not Dispute.objects.exists()
