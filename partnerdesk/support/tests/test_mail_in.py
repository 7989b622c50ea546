"""Email in: every message is kept raw and filed once, whatever brought it (a call, the HTTP endpoint, the CLI, a
real Dovecot mailbox): a case, a reply on its case, a bounce on the email it bounced, or the agent's queue."""

import base64
import binascii
import datetime as dt
import io
import mailbox
from email.header import Header

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.notifications.services import send_all_due
from partnerdesk.support import services
from partnerdesk.support.mail import queue
from partnerdesk.support.mail.filing import ingest
from partnerdesk.support.models import Case, CaseAttachment, CaseMessage, CaseStatus, InboundMail, MailStatus

_counter = iter(range(1, 10**6))


def raw_mail(*, sender: str, subject: str = "发票问题", body: str = "您好，请问本月发票金额是否正确？",
             charset: str = "utf-8", headers: dict | None = None, message_id: str | None = None,
             body_bytes: bytes | None = None, declared: str | None = None) -> bytes:
    """A message as a mail client sends it: the subject RFC 2047-encoded and the body 8-bit in `charset`
    (or `body_bytes` as they are, labelled `declared`)."""
    number = next(_counter)
    message_id = message_id or f"<m{number}.{dt.datetime.now().timestamp()}@client.example.cn>"
    label = "iso-2022-jp" if charset == "iso2022_jp" else charset
    subject_field = Header(subject, label).encode()
    name = Header({"iso2022_jp": "顧客", "big5": "客戶"}.get(charset, "客户"), label).encode()
    lines = [f"From: {name} <{sender}>", "To: support@partnerdesk.invalid", f"Subject: {subject_field}",
             f"Message-ID: {message_id}", "Date: Tue, 24 Nov 2026 10:00:00 +0800", "MIME-Version: 1.0"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    data = body_bytes if body_bytes is not None else body.encode(charset)
    label = declared or label
    lines += [f"Content-Type: text/plain; charset={label}", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + data + b"\r\n"


def dsn(*, original_id: str, recipient: str, action: str = "failed", subject: str = "Undelivered Mail Returned to Sender") -> bytes:
    """A delivery status notification (RFC 3464) as Postfix sends it, quoting the original's headers."""
    status = "5.1.1" if action == "failed" else "4.4.1"
    text = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>\r\nTo: billing@partnerdesk.invalid\r\n"
            f"Subject: {subject}\r\nMessage-ID: <dsn{next(_counter)}@mx.example.cn>\r\nMIME-Version: 1.0\r\n"
            f"Return-Path: <>\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"BND\"\r\n\r\n"
            f"--BND\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be "
            f"delivered.\r\n<{recipient}>: host mx said: 550 5.1.1 User unknown\r\n"
            f"--BND\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
            f"--BND\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\nSubject: case\r\n"
            f"--BND--\r\n")
    return text.encode()


@pytest.fixture
def contact(customer_a):
    return customer_a.contacts.first()


@pytest.fixture
def desk(db):
    return services.desk_settings()


def _case_of(mail: InboundMail) -> Case:
    mail.refresh_from_db()
    assert mail.status == MailStatus.FILED, (mail.status, mail.problem)
    return mail.case


# --- charsets and encodings: every one becomes a case with the text as written ------------------------------------

CHARSETS = [
    ("gb2312", "发票问题", "您好，请问本月发票金额是否正确？"),
    ("gbk", "发票金额有误", "您好，镕铭公司的发票金额有误，请核实。"),
    ("big5", "發票問題", "您好，請問本月發票金額是否正確？"),
    ("iso2022_jp", "請求書について", "請求書の金額について質問があります。"),
]


@pytest.mark.parametrize(("charset", "subject", "body"), CHARSETS, ids=[c for c, _, _ in CHARSETS])
def test_each_charset_is_decoded_into_a_case(contact, charset, subject, body):
    mail = ingest(raw_mail(sender=contact.email, subject=subject, body=body, charset=charset), source="file")

    case = _case_of(mail)
    assert case.customer == contact.customer and case.requester_contact == contact
    assert case.subject == subject
    first = case.messages.get()
    assert body in first.body and first.inbound_mail == mail and first.channel == "email"
    assert mail.raw.open("rb").read().endswith(body.encode(charset) + b"\r\n")  # the original, as it came


def test_a_mislabelled_charset_is_read_as_what_it_really_is(contact):
    text = "您好，发票有问题，请尽快回复。"
    raw = raw_mail(sender=contact.email, body_bytes=text.encode("gbk"), declared="iso-8859-1")

    case = _case_of(ingest(raw, source="file"))

    assert text in case.messages.get().body


def test_a_uuencoded_attachment_is_kept_on_the_case(contact):
    content = b"%PDF-1.4 statement for November\n" * 20
    encoded = "begin 644 statement.pdf\n" + "".join(
        binascii.b2a_uu(content[i:i + 45]).decode() for i in range(0, len(content), 45)) + "`\nend\n"
    raw = raw_mail(sender=contact.email, body="请看附件里的对账单。\n\n" + encoded)

    case = _case_of(ingest(raw, source="file"))

    attachment = CaseAttachment.objects.get(case=case)
    assert attachment.filename == "statement.pdf" and attachment.file.open("rb").read() == content
    assert "begin 644" not in case.messages.get().body


def test_a_refused_attachment_does_not_stop_the_message(contact):
    raw = (f"From: {contact.email}\r\nTo: support@partnerdesk.invalid\r\nSubject: tool\r\n"
           f"Message-ID: <exe@client.example.cn>\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           f"please run this\r\n--X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
           f"filename=\"run.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(b'MZ' * 50).decode()}\r\n"
           f"--X--\r\n").encode()

    case = _case_of(ingest(raw, source="file"))

    assert not CaseAttachment.objects.filter(case=case).exists()
    event = case.messages.get(kind="event")
    assert "run.exe" in event.body and "original email" in event.body


# --- machines writing: auto-replies, our own mail, bounces, delays ----------------------------------------------


def test_an_auto_reply_opens_no_case_and_gets_no_acknowledgement(contact):
    raw = raw_mail(sender=contact.email, subject="自动回复: 发票问题", body="我正在休假，11月30日回来。",
                   headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})

    mail = ingest(raw, source="imap")

    assert mail.status == MailStatus.AUTO_REPLY and mail.case is None
    assert not Case.objects.exists() and not OutboundEmail.objects.exists()


def test_bulk_mail_and_our_own_mail_are_set_aside(contact):
    bulk = ingest(raw_mail(sender=contact.email, subject="Newsletter", headers={"Precedence": "bulk"}), source="imap")
    own = ingest(raw_mail(sender="someone@contoso.partner.onmschina.cn", subject="Re: hello",
                          message_id="<partnerdesk-email-99@partnerdesk.invalid>"), source="imap")

    assert bulk.status == MailStatus.AUTO_REPLY and own.status == MailStatus.AUTO_REPLY
    assert not Case.objects.exists() and not OutboundEmail.objects.exists()


def _case_with_sent_acknowledgement(contact, smtp_server) -> tuple[Case, OutboundEmail]:
    case = _case_of(ingest(raw_mail(sender=contact.email), source="imap"))
    send_all_due()
    ack = OutboundEmail.objects.get(template_key="support.acknowledgement")
    assert ack.status == EmailStatus.SENT and ack.message_id.startswith("<partnerdesk-email-")
    assert smtp_server.to(contact.email)
    return case, ack


def test_a_bounce_of_a_sent_email_marks_it_bounced_and_shows_on_the_case(contact, smtp_server):
    case, ack = _case_with_sent_acknowledgement(contact, smtp_server)

    mail = ingest(dsn(original_id=ack.message_id, recipient=contact.email), source="imap")

    ack.refresh_from_db()
    assert mail.status == MailStatus.BOUNCE and mail.case == case and mail.customer == case.customer
    assert ack.status == EmailStatus.BOUNCED and "550 5.1.1" in ack.last_error
    assert case.messages.filter(kind="event", body__contains="bounced").exists()
    assert AuditEntry.objects.filter(action="email.bounced", object_id=str(ack.pk)).exists()
    assert Case.objects.count() == 1  # a bounce never opens a case


def test_a_bounce_of_a_collections_email_marks_it_too(customer_a, smtp_server):
    from django.db import transaction

    from partnerdesk.notifications.services import queue_email

    invoice = make_invoice(customer_a)
    with transaction.atomic():
        notice = queue_email(customer=customer_a, template_key="collections.notice",
                             context={"invoice_number": invoice.number}, dedupe_key="notice-1")
    send_all_due()
    notice.refresh_from_db()

    mail = ingest(dsn(original_id=notice.message_id, recipient=notice.to_address), source="http")

    notice.refresh_from_db()
    assert mail.status == MailStatus.BOUNCE and mail.customer == customer_a and notice.status == EmailStatus.BOUNCED


def test_a_delay_notice_reopens_nothing_and_marks_nothing(contact, smtp_server):
    case, ack = _case_with_sent_acknowledgement(contact, smtp_server)
    services.resolve(case=case, body="发票金额无误。", actor=None)
    send_all_due()

    mail = ingest(dsn(original_id=ack.message_id, recipient=contact.email, action="delayed",
                      subject="Delayed Mail (still being retried)"), source="imap")

    ack.refresh_from_db()
    case.refresh_from_db()
    assert mail.status == MailStatus.DELAY and mail.case == case
    assert ack.status == EmailStatus.SENT and case.status == CaseStatus.RESOLVED


# --- too large, unreadable ----------------------------------------------------------------------------------------


def test_an_oversized_message_is_kept_and_its_sender_told(contact, desk, smtp_server):
    desk.max_message_bytes = 4096
    desk.save()
    raw = raw_mail(sender=contact.email, subject="扫描件", body="附件" + "x" * 6000)

    mail = ingest(raw, source="imap")
    send_all_due()

    assert mail.status == MailStatus.TOO_LARGE and not Case.objects.exists()
    assert mail.raw.open("rb").read() == raw
    told = smtp_server.to(contact.email)
    assert len(told) == 1 and "4 KB" in told[0].text and "扫描件" in told[0].text
    assert told[0]["Auto-Submitted"] == "auto-replied"
    # An automatic sender's oversized mail gets no answer (no loop between two robots).
    robot = ingest(raw_mail(sender="noreply@contoso.partner.onmschina.cn", body="x" * 6000,
                            headers={"Auto-Submitted": "auto-generated"}), source="imap")
    send_all_due()
    assert robot.status == MailStatus.TOO_LARGE and len(smtp_server.messages) == 1


@pytest.mark.parametrize("raw", [b"\x00\x01\x02\xff" * 300, b"   \r\n  ", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4],
                         ids=["binary", "blank", "png"])
def test_an_unreadable_message_is_kept_for_an_agent(db, raw):
    mail = ingest(raw, source="http")

    assert mail.status == MailStatus.MALFORMED and mail.problem
    assert mail.raw.open("rb").read() == raw
    assert list(queue.waiting()) == [mail]


# --- threading ----------------------------------------------------------------------------------------------------


def test_a_reply_threads_by_its_headers(contact, smtp_server):
    case, ack = _case_with_sent_acknowledgement(contact, smtp_server)

    reply = ingest(raw_mail(sender=contact.email, subject="Re: 另一个主题", body="补充：发票抬头也要改。",
                            headers={"In-Reply-To": ack.message_id, "References": ack.message_id}), source="imap")

    assert _case_of(reply) == case and case.messages.filter(direction="inbound").count() == 2


def test_a_reply_threads_by_the_message_id_the_customer_sent(contact):
    first = ingest(raw_mail(sender=contact.email, message_id="<first@client.example.cn>"), source="imap")

    second = ingest(raw_mail(sender=contact.email, subject="补充", headers={"References": "<first@client.example.cn>"}),
                    source="imap")

    assert _case_of(second) == _case_of(first)


def test_a_reply_threads_by_the_case_token(contact, customer_a):
    case = _case_of(ingest(raw_mail(sender=contact.email), source="imap"))

    reply = ingest(raw_mail(sender=contact.email, subject=f"回复：[#PD-{case.pk}] 完全不同的主题"), source="imap")

    assert _case_of(reply) == case


def test_a_qq_style_reply_without_headers_threads_by_sender_and_subject_within_the_window(contact):
    case = _case_of(ingest(raw_mail(sender=contact.email, subject="发票问题"), source="imap"))

    reply = ingest(raw_mail(sender=contact.email.upper(), subject="回复：发票问题", body="好的，谢谢！\n\n"
                            "------------------ 原始邮件 ------------------\n发件人: 客服\n主题: 发票问题"), source="imap")

    assert _case_of(reply) == case
    message = CaseMessage.objects.get(inbound_mail=reply)
    assert message.visible_body == "好的，谢谢！" and "原始邮件" in message.body
    later = ingest(raw_mail(sender=contact.email, subject="Re: 发票问题"), source="imap",
                   now=case.updated_at + dt.timedelta(days=15))
    assert _case_of(later) != case  # outside the window: a new case


def test_a_stranger_naming_a_case_waits_for_an_agent(contact):
    case = _case_of(ingest(raw_mail(sender=contact.email), source="imap"))
    before = case.messages.count()

    other = ingest(raw_mail(sender="someone@elsewhere.example.com", subject=f"[#PD-{case.pk}] hi"), source="imap")

    # Case numbers are guessable: the words reach neither the case nor its customer's portal by themselves.
    assert other.status == MailStatus.UNMATCHED and other.case == case
    assert case.messages.count() == before and f"PD-{case.pk}" in other.problem


def test_a_forged_bounce_naming_a_guessed_message_id_marks_nothing(contact, smtp_server):
    case, ack = _case_with_sent_acknowledgement(contact, smtp_server)
    guessed = f"<partnerdesk-email-{ack.pk}@partnerdesk.invalid>"  # the row's number is easy to guess; the key is not
    forged = ingest(dsn(original_id=guessed, recipient=contact.email), source="imap")

    ack.refresh_from_db()
    assert ack.status == EmailStatus.SENT and forged.status == MailStatus.BOUNCE
    assert "No email PartnerDesk sent" in forged.problem


# --- who sent it ----------------------------------------------------------------------------------------------------


def test_an_unknown_address_of_a_customers_domain_opens_a_case_with_its_invoices(customer_a):
    invoice = make_invoice(customer_a)
    other = make_invoice(customer_a)

    mail = ingest(raw_mail(sender="wang.fang@contoso.partner.onmschina.cn", subject=f"关于 {invoice.number} 的争议",
                           body=f"发票{invoice.number}的金额我们有争议。"), source="imap")

    case = _case_of(mail)
    assert case.customer == customer_a and case.requester_email == "wang.fang@contoso.partner.onmschina.cn"
    assert list(case.invoices.all()) == [invoice] and other not in case.invoices.all()
    assert case.type == "invoice_dispute" and case.severity == "C" and case.channel == "email"
    assert OutboundEmail.objects.filter(template_key="support.acknowledgement", to_address=case.requester_email).exists()


def test_a_portal_users_address_opens_a_case(users, customer_a):
    user = users["customer_a"]
    user.email = "alice@portal-only.example.com"
    user.save()

    case = _case_of(ingest(raw_mail(sender="Alice@Portal-Only.example.com"), source="imap"))

    assert case.customer == customer_a and case.requester_user == user


@pytest.mark.parametrize("sender", ["stranger@qq.com", "who@unknown.example.org"])
def test_an_unknown_sender_waits_unmatched(customer_a, sender):
    customer_a.contacts.create(name="QQ user", email="someone.else@qq.com")  # a public domain matches nobody

    mail = ingest(raw_mail(sender=sender), source="imap")

    assert mail.status == MailStatus.UNMATCHED and mail.case is None
    assert not Case.objects.exists() and not OutboundEmail.objects.exists()


def test_a_domain_shared_by_two_customers_waits_unmatched(customer_a, customer_b):
    customer_b.primary_domain = customer_a.primary_domain
    customer_b.save()

    mail = ingest(raw_mail(sender=f"who@{customer_a.primary_domain}"), source="imap")

    assert mail.status == MailStatus.UNMATCHED and "2 customers" in mail.problem


def test_a_sender_opening_too_many_cases_is_held(contact, desk):
    desk.max_cases_per_sender_hour = 2
    desk.save()

    mails = [ingest(raw_mail(sender=contact.email, subject=f"问题 {i}"), source="imap") for i in range(3)]

    assert [m.status for m in mails] == [MailStatus.FILED, MailStatus.FILED, MailStatus.HELD]
    assert Case.objects.count() == 2 and OutboundEmail.objects.count() == 2
    assert mails[2].customer == contact.customer


# --- once, and only once ------------------------------------------------------------------------------------------


def test_the_same_message_twice_changes_nothing(contact):
    raw = raw_mail(sender=contact.email, message_id="<once@client.example.cn>")
    first = ingest(raw, source="imap")
    counts = (InboundMail.objects.count(), CaseMessage.objects.count(), OutboundEmail.objects.count(),
              AuditEntry.objects.count())

    again = ingest(raw, source="imap")
    copy = ingest(raw.replace(b"From:", b"Received: from relay2 by mx\r\nFrom:", 1), source="http")

    assert again.pk == first.pk == copy.pk and not again.is_new and not copy.is_new
    assert counts == (InboundMail.objects.count(), CaseMessage.objects.count(), OutboundEmail.objects.count(),
                      AuditEntry.objects.count())


def test_a_failure_while_filing_keeps_the_message(contact, monkeypatch):
    from partnerdesk.support.mail import filing

    def broken(**kwargs):
        raise RuntimeError("a bug in the rules")

    monkeypatch.setattr(filing.services, "open_case", broken)  # a bug, not a real part: nothing is mocked away
    mail = ingest(raw_mail(sender=contact.email), source="imap")

    assert mail.status == MailStatus.MALFORMED and "a bug in the rules" in mail.problem
    assert not Case.objects.exists() and InboundMail.objects.count() == 1


# --- the HTTP endpoint and the agent's queue ---------------------------------------------------------------------


def _post(client, token, body: bytes, content_type="message/rfc822"):
    return client.generic("POST", "/api/v1/mail/inbound", body, content_type=content_type,
                          headers={"Authorization": f"Bearer {token}"})


def test_mail_posted_over_http_is_filed_once(client, tokens, contact):
    raw = raw_mail(sender=contact.email)

    first = _post(client, tokens["billing_agent"], raw)
    again = _post(client, tokens["admin"], raw, content_type="application/octet-stream")

    assert first.status_code == 201 and first.json()["status"] == "filed" and first.json()["case_id"]
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert InboundMail.objects.get().source == "http"


@pytest.mark.parametrize("body", [b"\x00" * 100, b"\xff\xfe garbage", "Subject: 没有发件人\r\n\r\n正文".encode("gb18030"),
                                  b"From: <>\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--"],
                         ids=["nul", "bytes", "no-sender", "broken-mime"])
def test_garbage_posted_over_http_is_kept_never_a_500(client, tokens, body):
    resp = _post(client, tokens["billing_agent"], body)

    assert resp.status_code == 201, resp.content
    assert resp.json()["status"] in ("malformed", "unmatched")
    assert InboundMail.objects.count() == 1


def test_http_refusals_are_json(client, tokens, desk):
    desk.max_message_bytes = 1000
    desk.save()
    raw = raw_mail(sender="x@example.com", body="x" * 3000)

    too_big = _post(client, tokens["billing_agent"], raw)
    json_body = _post(client, tokens["billing_agent"], b"{}", content_type="application/json")
    empty = _post(client, tokens["billing_agent"], b"")
    kept = _post(client, tokens["billing_agent"], raw_mail(sender="x@example.com", body="x" * 1200))
    refused = _post(client, tokens["collections"], raw_mail(sender="x@example.com"))

    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"
    assert json_body.status_code == 422 and json_body.json()["field"] == "body"
    assert empty.status_code == 422
    assert kept.status_code == 201 and kept.json()["status"] == "too_large"
    assert refused.status_code == 403
    assert InboundMail.objects.count() == 1


def test_an_agent_files_unmatched_mail_to_a_customer_or_a_case_or_discards_it(client, tokens, users, customer_a, contact):
    auth = {"Authorization": f"Bearer {tokens['billing_agent']}"}
    stray = ingest(raw_mail(sender="finance@gmail.com", subject="付款问题", body="我们已付款，请查收。"), source="imap")
    reply = ingest(raw_mail(sender="boss@gmail.com", subject="补充说明"), source="imap")
    spam = ingest(raw_mail(sender="ads@spam.example", subject="优惠"), source="imap")
    case = _case_of(ingest(raw_mail(sender=contact.email), source="imap"))

    listed = client.get("/api/v1/mail/unmatched", headers=auth).json()
    assert [m["id"] for m in listed["items"]] == [stray.pk, reply.pk, spam.pk]
    assert client.get("/api/v1/mail/unmatched", headers={"Authorization": f"Bearer {tokens['customer_a']}"}).status_code == 403

    filed = client.post(f"/api/v1/mail/{stray.pk}/file", {"customer_id": customer_a.pk, "reason": "known payer"},
                        content_type="application/json", headers=auth)
    joined = client.post(f"/api/v1/mail/{reply.pk}/file", {"case_id": case.pk}, content_type="application/json",
                         headers=auth)
    dropped = client.post(f"/api/v1/mail/{spam.pk}/discard", {"reason": "spam"}, content_type="application/json",
                          headers=auth)
    twice = client.post(f"/api/v1/mail/{spam.pk}/discard", {"reason": "spam"}, content_type="application/json",
                        headers=auth)

    assert filed.status_code == 200 and filed.json()["status"] == "filed"
    new_case = Case.objects.get(pk=filed.json()["case_id"])
    assert new_case.customer == customer_a and new_case.requester_email == "finance@gmail.com"
    assert joined.status_code == 200 and joined.json()["case_id"] == case.pk
    assert CaseMessage.objects.get(inbound_mail=reply).author is None  # the customer's words, not the agent's
    assert dropped.status_code == 200 and dropped.json()["status"] == "discarded"
    assert twice.status_code == 409
    assert not list(queue.waiting())
    actions = set(AuditEntry.objects.filter(actor=users["billing_agent"]).values_list("action", flat=True))
    assert {"mail.filed", "mail.discarded"} <= actions


# --- the command line and the real mailbox --------------------------------------------------------------------------


def test_the_cli_ingests_eml_files_an_mbox_and_a_maildir(tmp_path, contact):
    (tmp_path / "one.eml").write_bytes(raw_mail(sender=contact.email, subject="一"))
    box = mailbox.mbox(tmp_path / "box.mbox")
    box.add(raw_mail(sender="stranger@unknown.example.org", subject="二"))
    box.add(raw_mail(sender=contact.email, subject="三", headers={"Auto-Submitted": "auto-replied"}))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(raw_mail(sender=contact.email, subject="四"))
    maildir.close()
    out = io.StringIO()

    call_command("support", "ingest", str(tmp_path / "one.eml"), str(tmp_path / "box.mbox"), str(tmp_path / "Maildir"),
                 stdout=out)
    call_command("support", "ingest", str(tmp_path / "one.eml"), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "ingested 4 messages (auto reply 1, filed 2, unmatched 1)"
    assert lines[1] == "ingested 1 messages (already received 1)"
    assert InboundMail.objects.filter(source="file").count() == 4


def test_the_cli_names_a_bad_path_and_exits_2(tmp_path, db):
    (tmp_path / "good.eml").write_bytes(raw_mail(sender="a@example.com"))
    with pytest.raises(CommandError) as refused:
        call_command("support", "ingest", str(tmp_path / "good.eml"), str(tmp_path / "missing.mbox"))

    assert refused.value.returncode == 2 and "missing.mbox" in str(refused.value)
    assert not InboundMail.objects.exists()  # nothing ingested when a path is wrong


def test_fetch_mail_files_the_mailbox_and_moves_what_it_took_once(dovecot, settings, contact, smtp_server):
    settings.SUPPORT_MAILBOX = dovecot.django_setting()
    raws = [raw_mail(sender=contact.email, subject="账单疑问", body="请问 11 月账单。", charset="gb2312"),
            raw_mail(sender="stranger@unknown.example.org"),
            raw_mail(sender=contact.email, subject="Out of office", headers={"Auto-Submitted": "auto-replied"})]
    for raw in raws:
        dovecot.append(raw)
    out = io.StringIO()

    call_command("support", "fetch-mail", stdout=out)

    assert "fetched 3 messages" in out.getvalue() and "filed 1" in out.getvalue() and "unmatched 1" in out.getvalue()
    assert dovecot.list_uids("INBOX") == [] and len(dovecot.list_uids("PartnerDesk/Processed")) == 3
    assert sorted(InboundMail.objects.values_list("status", flat=True)) == ["auto_reply", "filed", "unmatched"]
    case = Case.objects.get()
    assert case.subject == "账单疑问" and "请问 11 月账单。" in case.messages.get().body
    # The worker died after filing, before the move: the message comes again and is not filed twice.
    dovecot.append(raws[0])
    call_command("support", "fetch-mail", stdout=out)
    assert "already received 1" in out.getvalue().splitlines()[-1]
    assert InboundMail.objects.count() == 3 and CaseMessage.objects.count() == 1 and Case.objects.count() == 1
    assert dovecot.list_uids("INBOX") == []


def test_the_fetch_mail_task_files_the_mailbox(dovecot, settings, contact):
    from partnerdesk.support.tasks import fetch_mail

    settings.SUPPORT_MAILBOX = dovecot.django_setting()
    dovecot.append(raw_mail(sender=contact.email))

    result = fetch_mail.enqueue()

    assert result.return_value["taken"] == 1 and result.return_value["filed"] == 1
    assert InboundMail.objects.get().source == "imap" and dovecot.list_uids("INBOX") == []


def test_fetch_mail_without_a_mailbox_exits_2(db, settings):
    settings.SUPPORT_MAILBOX = {"HOST": ""}
    with pytest.raises(CommandError) as refused:
        call_command("support", "fetch-mail")
    assert refused.value.returncode == 2
