"""The desk's whole story on the suite's clock, with a real IMAP server (Dovecot) and a real SMTP server:

a customer emails a billing question about an invoice; `fetch-mail` takes it from the mailbox and it becomes a
case linked to the customer and the invoice, acknowledged in the customer's language with the published
response target; the agent answers with a canned reply carrying the customer's figures; the reply arrives
with the case token; the customer answers from a client that sends no threading headers (QQ Mail style) and
it threads; the agent resolves; the customer confirms by the signed link and scores; every step is audited.
"""

import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.notifications.services import send_all_due
from partnerdesk.support import services
from partnerdesk.support.canned import ensure_default_canned_replies
from partnerdesk.support.figures import render_canned
from partnerdesk.support.models import CannedReply, Case, CaseStatus, InboundMail, MailStatus

pytestmark = pytest.mark.django_db(transaction=True)


def customer_mail(*, sender, subject, body, message_id=None, **headers) -> bytes:
    message = EmailMessage()
    message["From"] = f"李雷 <{sender}>"
    message["To"] = "support@partner.example.cn"
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="customer.example.cn")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset="gb18030")  # as Chinese mail clients still often send it
    return message.as_bytes().replace(b"\n", b"\r\n")


def fetch(dovecot, raw: bytes) -> None:
    dovecot.append(raw)
    call_command("support", "fetch-mail", verbosity=0)


def test_a_billing_question_by_email_from_mailbox_to_confirmed_and_scored(
        dovecot, smtp_server, settings, customer_a, users, client):
    settings.SUPPORT_MAILBOX = dovecot.django_setting()
    agent = users["billing_agent"]
    contact = customer_a.contacts.get()
    invoice = make_invoice(customer_a, "12800.00")
    ensure_default_canned_replies()

    # 1. The customer emails a question about the invoice; the fetcher files it.
    question_id = make_msgid(domain="customer.example.cn")
    fetch(dovecot, customer_mail(sender=contact.email, subject=f"关于发票 {invoice.number} 的金额",
                                 body=f"您好，发票 {invoice.number} 的金额和合同不一致，请核实。\n李雷",
                                 message_id=question_id))
    assert dovecot.list_uids("INBOX") == []  # taken, and moved out of the inbox
    mail = InboundMail.objects.get()
    assert mail.status == MailStatus.FILED
    case = Case.objects.get()
    assert case.customer == customer_a and list(case.invoices.all()) == [invoice]
    assert case.channel == "email" and case.requester_email == contact.email

    # 2. The acknowledgement arrives in the customer's language, with the response target and the token.
    send_all_due()
    ack = smtp_server.wait_for(1)[0]
    assert ack["To"] == contact.email
    assert f"[#{case.token}]" in ack.subject
    ack_text = smtp_server.text(ack)
    assert "个工作小时内（工作日北京时间 09:00-18:00）" in ack_text  # the published response target, in Chinese
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"] == question_id

    # 3. The agent answers with a canned reply that carries the customer's figures.
    canned = CannedReply.objects.filter(language=case.language, body__contains="{balance}").first()
    assert canned is not None
    text = render_canned(canned, case)
    assert "12,800.00" in text
    services.reply(case=case, body=text, actor=agent, status=CaseStatus.WAITING_CUSTOMER)
    send_all_due()
    reply = smtp_server.wait_for(2)[1]
    assert f"[#{case.token}]" in reply.subject and "12,800.00" in smtp_server.text(reply)
    assert reply["In-Reply-To"] == question_id and "Auto-Submitted" not in reply

    # 4. The customer answers from a client that sends no threading headers and drops the token.
    original_subject = case.subject
    fetch(dovecot, customer_mail(sender=contact.email, subject=f"回复：{original_subject}",
                                 body="已收到，谢谢。另外请问下月账单何时出？"))
    assert Case.objects.count() == 1, "the answer threads into the case by sender and subject"
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN  # no longer waiting on the customer
    assert case.messages.filter(direction="inbound").count() == 2

    # 5. The agent resolves; the resolution (with the signed link) reaches the SMTP server.
    services.resolve(case=case, body="下月账单将于 12 月 1 日出具。本次问题已解决。", actor=agent)
    send_all_due()
    resolution = smtp_server.wait_for(3)[2]
    link = re.search(r"https?://\S+/support/answer/(\S+?)/", smtp_server.text(resolution))
    assert link, smtp_server.text(resolution)

    # 6. The customer confirms by the link (no sign-in) and scores.
    page = f"/support/answer/{link.group(1)}/"
    assert client.get(page).status_code == 200
    client.post(page, {"action": "confirm"})
    client.post(page, {"action": "score", "score": "5", "comment": "很快"})
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and not case.closed_automatically
    assert case.satisfaction_score == 5 and case.satisfaction_comment == "很快"

    # 7. Every step is in the audit log.
    actions = list(AuditEntry.objects.filter(object_type="support.case", object_id=str(case.pk))
                   .order_by("id").values_list("action", flat=True))
    for step in ("case.opened", "case.replied", "case.customer_replied", "case.resolved", "case.closed",
                 "case.scored"):
        assert step in actions, (step, actions)
    assert AuditEntry.objects.filter(action="mail.received").count() == 2
    assert AuditEntry.objects.filter(action="email.sent").count() == 3
