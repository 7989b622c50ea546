"""A case's life through the services, with the mail a real SMTP server receives: acknowledgement, replies and
notes, reopening and follow-up cases, merging, closing the loop (delivery, bounce, confirmation, survey,
automatic close), severity rules, and the audit entry of every step."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.notifications.services import mark_bounced, send_pending
from partnerdesk.support import services
from partnerdesk.support.models import (
    Case,
    CaseMessage,
    CaseStatus,
    MessageKind,
    SlaClock,
    SlaTarget,
    SupportInformation,
)
from partnerdesk.support.outbound import response_target_text, support_information

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
QUESTION_ID = "q1.20261124@mail.contoso.example.cn"


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


def actions(case) -> list[str]:
    """The audit actions written about a case and its messages, oldest first."""
    messages = [str(pk) for pk in CaseMessage.objects.filter(case=case).values_list("pk", flat=True)]
    entries = AuditEntry.objects.filter(action__startswith="case.").order_by("id")
    return [e.action for e in entries if (e.object_type, e.object_id) == ("support.case", str(case.pk))
            or (e.object_type == "support.casemessage" and e.object_id in messages)]


@pytest.fixture
def contact(customer_a):
    return customer_a.contacts.get()


@pytest.fixture
def agent(users):
    return users["billing_agent"]


def email_case(customer, contact, agent=None, **kw):
    """A question that came in by email from the customer's contact."""
    kw.setdefault("subject", "发票金额不对")
    kw.setdefault("description", "11 月的发票比合同多了 5 个席位，请核实。")
    return services.open_case(customer=customer, actor=None, channel="email", requester_contact=contact,
                              message_id=kw.pop("message_id", QUESTION_ID), **kw)


def send(smtp_server, count):
    """Send what is queued and return the messages that arrived, once `count` have."""
    send_pending()
    return smtp_server.wait_for(count)


def resolved(case, agent, smtp_server=None, body="已核实：多出的 5 个席位已退回，请查看红字发票。"):
    message = services.resolve(case=case, body=body, actor=agent)
    if smtp_server is not None:
        send_pending()
    case.refresh_from_db()
    return message


# --- opening and the conversation ------------------------------------------------------------------------


def test_opening_acknowledges_in_the_customers_language_with_the_target_and_support_information(
        smtp_server, customer_a, contact):
    case = email_case(customer_a, contact)
    assert case.status == CaseStatus.NEW and case.language == "zh-CN"

    [ack] = send(smtp_server, 1)
    assert smtp_server.envelopes[0][1] == [contact.email]
    assert ack.subject == f"[#{case.token}] 发票金额不对"
    assert ack.language == "zh-CN"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == f"<{QUESTION_ID}>"
    text = ack.text
    assert f"登记为工单 {case.token}" in text and "直接回复本邮件" in text
    assert "响应目标：8 个工作小时内（工作日北京时间 09:00-18:00）" in text
    assert response_target_text(case, "zh-CN") == "8 个工作小时内（工作日北京时间 09:00-18:00）"
    assert "服务时间：账务支持：中国工作日（含调休上班日）北京时间 09:00-18:00" in text
    info = support_information("zh-CN")
    for key in ("support_hours", "support_channels", "support_process"):
        assert info[key] and info[key] in text
    assert actions(case) == ["case.opened"]
    assert AuditEntry.objects.filter(action="email.queued", customer=customer_a).count() == 1


def test_the_acknowledgement_carries_the_published_information_of_the_language(smtp_server, customer_b):
    SupportInformation.objects.create(language="en", hours="Mon-Fri 08:30-17:30 Beijing time",
                                      channels="billing@fabrikam-partner.example.cn or 400-820-1234",
                                      process="We answer, then close only once you have the answer.")
    case = services.open_case(customer=customer_b, actor=None, channel="email", subject="Refund status",
                              description="Where is our refund?", requester_email="ap@fabrikam.example.com")
    [ack] = send(smtp_server, 1)
    assert (ack.subject, ack.language) == (f"[#{case.token}] Refund status", "en")
    text = ack.text
    assert "Response target:  within 8 working hours (09:00-18:00 Beijing time on working days)" in text
    assert "Support hours: Mon-Fri 08:30-17:30 Beijing time" in text
    assert "How to reach us: billing@fabrikam-partner.example.cn or 400-820-1234" in text
    assert "How we work: We answer, then close only once you have the answer." in text
    assert "Reply to this email to add information" in text


def test_a_case_logged_from_a_phone_call_is_not_acknowledged(smtp_server, customer_a, contact, agent):
    case = services.open_case(customer=customer_a, actor=agent, channel="phone", requester_contact=contact,
                              subject="电话咨询", description="客户来电询问付款方式")
    send_pending()
    assert smtp_server.messages == [] and not OutboundEmail.objects.exists()
    assert actions(case) == ["case.opened"]


def test_a_reply_carries_the_token_the_threading_headers_and_the_cc_and_is_not_automatic(
        smtp_server, customer_a, contact, agent):
    agent.first_name, agent.last_name = "Na", "Li"
    agent.save()
    case = email_case(customer_a, contact, cc=["Finance@Contoso.example.cn"])
    [ack] = send(smtp_server, 1)

    services.reply(case=case, body="您好，我们正在核对合同，明天答复您。", actor=agent)
    _, answer = send(smtp_server, 2)
    assert answer.subject == f"[#{case.token}] 发票金额不对"
    assert answer["In-Reply-To"] == f"<{QUESTION_ID}>"
    references = answer["References"].split()
    assert f"<{QUESTION_ID}>" in references and ack["Message-ID"] in references
    assert answer["Cc"] == "finance@contoso.example.cn"
    assert sorted(smtp_server.envelopes[1][1]) == sorted([contact.email, "finance@contoso.example.cn"])
    assert answer["Auto-Submitted"] is None  # a person wrote it
    assert "我们正在核对合同" in answer.text and "Na Li" in answer.text  # signed by the agent
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.first_response_at is not None
    first = SlaClock.objects.get(case=case, target=SlaTarget.FIRST_RESPONSE)
    assert first.met_at is not None and first.breached_at is None
    assert actions(case) == ["case.opened", "case.replied", "case.first_response"]


def test_an_internal_note_sends_nothing(smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    send(smtp_server, 1)
    note = services.add_note(case=case, body="客户上月也问过，可能是合同版本问题。", actor=agent)
    send_pending()
    assert len(smtp_server.messages) == 1  # the acknowledgement only
    assert note.kind == MessageKind.INTERNAL and not note.emails.exists()
    assert OutboundEmail.objects.count() == 1
    assert actions(case) == ["case.opened", "case.note_added"]


def test_a_customer_message_while_waiting_reopens_the_case_and_starts_a_next_response_clock(
        customer_a, contact, agent):
    case = email_case(customer_a, contact)
    services.reply(case=case, body="请提供合同编号。", actor=agent, status=CaseStatus.WAITING_CUSTOMER)
    resolution = SlaClock.objects.get(case=case, target=SlaTarget.RESOLUTION)
    assert resolution.running_since is None and resolution.deadline_at is None  # paused while waiting

    with time_machine.travel(bj(2026, 11, 25, 11), tick=False):
        message = services.customer_message(case=case, body="合同编号是 HT-2026-088。", author_email=contact.email,
                                            channel="email")
    case.refresh_from_db()
    assert message.case == case and case.status == CaseStatus.OPEN
    nxt = SlaClock.objects.get(case=case, target=SlaTarget.NEXT_RESPONSE)
    assert nxt.running_since == bj(2026, 11, 25, 11) and nxt.met_at is None
    # C: the next response within 9 business hours -> 11:00 the next working day.
    assert nxt.deadline_at == bj(2026, 11, 26, 11)
    resolution.refresh_from_db()
    assert resolution.running_since == bj(2026, 11, 25, 11) and resolution.deadline_at is not None
    assert case.next_deadline_at == nxt.deadline_at
    assert actions(case) == ["case.opened", "case.replied", "case.first_response", "case.customer_replied"]


def test_a_first_response_given_while_waiting_is_not_a_breach(customer_a, contact, agent):
    case = email_case(customer_a, contact)
    services.change_status(case=case, status=CaseStatus.WAITING_CUSTOMER, actor=agent, reason="asked by phone")
    with time_machine.travel(bj(2026, 11, 30, 10), tick=False):  # days later, but the clock was paused
        services.reply(case=case, body="补充说明：……", actor=agent, status=CaseStatus.WAITING_CUSTOMER)
    first = SlaClock.objects.get(case=case, target=SlaTarget.FIRST_RESPONSE)
    assert first.met_at is not None and first.breached_at is None
    assert actions(case) == ["case.opened", "case.status_changed", "case.replied", "case.first_response"]


# --- reopening, follow-up cases, merging --------------------------------------------------------------------


def test_a_reply_within_the_reopen_window_reopens_and_after_it_opens_a_case_that_follows(
        customer_a, contact, agent):
    assert services.desk_settings().reopen_window_days == 5
    case = email_case(customer_a, contact)
    resolved(case, agent)  # Tuesday 24 November
    # Tuesday 1 December: seven calendar days but five working days later, still within the window.
    with time_machine.travel(bj(2026, 12, 1, 15), tick=False):
        services.customer_message(case=case, body="还有一张发票也不对。", author_email=contact.email, channel="email")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.reopen_count == 1 and case.resolved_at is None
    assert SlaClock.objects.get(case=case, target=SlaTarget.RESOLUTION).met_at is None

    with time_machine.travel(bj(2026, 12, 1, 16), tick=False):
        resolved(case, agent, body="第二张发票也已更正。")
    # Wednesday 9 December: six working days after the second resolution.
    with time_machine.travel(bj(2026, 12, 9, 9, 30), tick=False):
        message = services.customer_message(case=case, body="谢谢，另外想问一下付款方式。",
                                            author_email=contact.email, channel="email")
    new = message.case
    assert new.pk != case.pk and new.follows == case and new.customer == customer_a
    assert new.status == CaseStatus.NEW and new.subject == case.subject
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.messages.filter(kind=MessageKind.EVENT, body__contains=new.token).exists()
    assert actions(case) == ["case.opened", "case.resolved", "case.reopened", "case.resolved"]
    assert actions(new) == ["case.opened"]


def test_a_message_on_a_closed_case_opens_a_new_linked_case(smtp_server, customer_a, contact, agent):
    invoice = make_invoice(customer_a, "5000.00")
    case = email_case(customer_a, contact, invoices=[invoice])
    resolved(case, agent, smtp_server)
    services.close(case=case, actor=agent)
    message = services.customer_message(case=case, body="同一张发票又有问题。", author_email=contact.email,
                                        channel="email", message_id="q2@mail.contoso.example.cn")
    new = message.case
    assert new.follows == case and list(new.invoices.all()) == [invoice]
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    send_pending()
    assert smtp_server.messages[-1].subject == f"[#{new.token}] 发票金额不对"  # the new case is acknowledged
    assert actions(new) == ["case.opened"]


def test_merging_moves_the_conversation_and_the_links(customer_a, contact, agent):
    first_invoice, second_invoice = make_invoice(customer_a, "100.00"), make_invoice(customer_a, "200.00")
    source = email_case(customer_a, contact, invoices=[first_invoice], tags=["发票"], cc=["a@contoso.example.cn"])
    target = email_case(customer_a, contact, subject="又一个问题", message_id="q3@mail.contoso.example.cn",
                        invoices=[second_invoice])
    services.add_note(case=source, body="内部备注", actor=agent)
    services.merge(source=source, target=target, actor=agent, reason="same question")

    source.refresh_from_db()
    target.refresh_from_db()
    assert source.status == CaseStatus.CLOSED and source.merged_into == target
    assert not source.messages.exclude(kind=MessageKind.EVENT).exists()
    bodies = list(target.messages.exclude(kind=MessageKind.EVENT).values_list("body", flat=True))
    assert "11 月的发票比合同多了 5 个席位，请核实。" in bodies and "内部备注" in bodies and len(bodies) == 3
    assert set(target.invoices.all()) == {first_invoice, second_invoice}
    assert list(target.tags.values_list("name", flat=True)) == ["发票"] and target.cc == ["a@contoso.example.cn"]
    assert not SlaClock.objects.filter(case=source, cancelled=False, met_at__isnull=True).exists()
    merged = AuditEntry.objects.get(action="case.merged")
    assert merged.object_id == str(source.pk) and merged.reason == "same question"
    assert AuditEntry.objects.get(action="case.merge_received").object_id == str(target.pk)
    with pytest.raises(Conflict):
        services.merge(source=source, target=target, actor=agent)  # a merged case is closed
    with pytest.raises(InvalidInput) as err:
        services.merge(source=target, target=target, actor=agent)
    assert err.value.field == "target_id"


# --- closing the loop -----------------------------------------------------------------------------------------


def test_a_case_cannot_close_until_the_resolution_email_has_gone(smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    message = resolved(case, agent)
    assert case.status == CaseStatus.RESOLVED
    [email] = message.emails.all()
    assert email.status == EmailStatus.QUEUED
    with pytest.raises(Conflict) as err:
        services.close(case=case, actor=agent)
    assert err.value.code == "resolution_not_delivered" and err.value.field == "status"

    smtp_server.stop()  # the mail server is down: the attempt fails, the case stays open to close
    send_pending()
    email.refresh_from_db()
    assert email.status != EmailStatus.SENT
    with pytest.raises(Conflict):
        services.close(case=case, actor=agent)

    smtp_server.start()
    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=bj(2026, 1, 1))
    send_pending()
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    services.close(case=case, actor=agent, reason="answer delivered")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and not case.closed_automatically
    assert actions(case) == ["case.opened", "case.resolved", "case.closed"]


def test_the_resolution_email_links_to_the_answer_page_and_asks_for_a_score_once(
        smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    resolved(case, agent, smtp_server)
    first = smtp_server.messages[-1]
    assert first.subject == f"[#{case.token}] 发票金额不对" and first["Auto-Submitted"] is None
    assert "/support/answer/" in first.text and "1 至 5 分" in first.text
    services.customer_message(case=case, body="还没解决。", author_email=contact.email, channel="email")
    resolved(case, agent, smtp_server, body="这次应该解决了。")
    second = smtp_server.messages[-1]
    assert "这次应该解决了" in second.text and "/support/answer/" in second.text
    assert "1 至 5 分" not in second.text  # the survey is asked once per case


def test_a_bounced_resolution_reopens_the_case(smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    message = resolved(case, agent, smtp_server)
    email = message.emails.get()
    assert email.status == EmailStatus.SENT

    mark_bounced(email, reason="550 5.1.1 user unknown", actor=None)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.resolution_message is None and case.reopen_count == 1
    assert case.messages.filter(kind=MessageKind.EVENT, body__contains="bounced").exists()
    assert SlaClock.objects.get(case=case, target=SlaTarget.RESOLUTION).met_at is None
    with pytest.raises(Conflict):
        services.close(case=case, actor=agent)
    assert actions(case) == ["case.opened", "case.resolved", "case.reopened_bounce"]
    # The survey went down with the bounced answer: the next resolution asks for the score.
    resolved(case, agent, smtp_server, body="再次发送：已核实。")
    assert "1 至 5 分" in smtp_server.messages[-1].text


def test_a_bounce_after_an_automatic_close_reopens_too(smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    message = resolved(case, agent, smtp_server)
    with time_machine.travel(bj(2026, 12, 1, 9), tick=False):
        assert services.close_resolved_cases() == 1
    mark_bounced(message.emails.get(), reason="552 mailbox full", actor=None)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.closed_at is None and not case.closed_automatically
    assert actions(case) == ["case.opened", "case.resolved", "case.closed_automatically", "case.reopened_bounce"]


def test_the_customer_confirms_and_scores_once(smtp_server, customer_a, contact, agent):
    case = email_case(customer_a, contact)
    resolved(case, agent, smtp_server)
    services.confirm_resolution(case=case)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and not case.closed_automatically
    services.confirm_resolution(case=case)  # a second click changes nothing

    for bad in (0, 6, -1, "5", 4.5, True, None):
        with pytest.raises(InvalidInput) as err:
            services.record_satisfaction(case=case, score=bad)
        assert err.value.field == "score"
    services.record_satisfaction(case=case, score=4, comment="回复很快")
    case.refresh_from_db()
    assert (case.satisfaction_score, case.satisfaction_comment) == (4, "回复很快")
    with pytest.raises(Conflict) as err:
        services.record_satisfaction(case=case, score=5)
    assert err.value.code == "already_scored"
    case.refresh_from_db()
    assert case.satisfaction_score == 4
    assert actions(case) == ["case.opened", "case.resolved", "case.closed", "case.scored"]
    assert AuditEntry.objects.get(action="case.closed").reason == "confirmed by the customer"


def test_an_unresolved_case_cannot_be_confirmed(customer_a, contact):
    case = email_case(customer_a, contact)
    with pytest.raises(Conflict):
        services.confirm_resolution(case=case)


def test_resolved_cases_close_themselves_after_working_days_without_a_survey(smtp_server, customer_a, contact, agent):
    assert services.desk_settings().auto_close_days == 5
    case = email_case(customer_a, contact)
    resolved(case, agent, smtp_server)  # Tuesday 24 November
    unheard = email_case(customer_a, contact, subject="另一个问题", message_id="q4@mail.contoso.example.cn")
    resolved(unheard, agent)  # never sent: it must not close unheard

    with time_machine.travel(bj(2026, 11, 30, 23), tick=False):  # 4 working days (the weekend does not count)
        assert services.close_resolved_cases() == 0
    with time_machine.travel(bj(2026, 12, 1, 9), tick=False):  # the 5th working day
        assert services.close_resolved_cases() == 1
    case.refresh_from_db()
    unheard.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_automatically
    assert unheard.status == CaseStatus.RESOLVED
    with pytest.raises(Conflict):
        services.record_satisfaction(case=case, score=5)  # no survey after an automatic close
    entry = AuditEntry.objects.get(action="case.closed_automatically")
    assert entry.actor is None and entry.reason == "no reply from the customer"
    assert actions(case) == ["case.opened", "case.resolved", "case.closed_automatically"]


# --- rules ------------------------------------------------------------------------------------------------------


def test_severity_a_is_for_technical_problems_only(customer_a, contact, agent):
    with pytest.raises(InvalidInput) as err:
        email_case(customer_a, contact, severity="A")
    assert err.value.field == "severity"
    assert not Case.objects.exists()

    with time_machine.travel(bj(2026, 11, 28, 22), tick=False):  # a Saturday night
        case = email_case(customer_a, contact, severity="A", type="technical", subject="门户无法登录")
    first = SlaClock.objects.get(case=case, target=SlaTarget.FIRST_RESPONSE)
    assert first.around_the_clock and first.deadline_at == bj(2026, 11, 29, 0)  # 2 hours, around the clock
    with pytest.raises(InvalidInput) as err:
        services.update_details(case=case, actor=agent, type="billing_question")
    assert err.value.field == "severity"
    services.update_details(case=case, actor=agent, type="billing_question", severity="B", reason="not technical")
    case.refresh_from_db()
    assert (case.type, case.severity) == ("billing_question", "B")
    assert actions(case) == ["case.opened", "case.updated"]


def test_every_message_is_kept_on_its_case(customer_a, contact, agent):
    case = email_case(customer_a, contact)
    services.reply(case=case, body="收到。", actor=agent)
    services.add_note(case=case, body="备注", actor=agent)
    kinds = list(CaseMessage.objects.filter(case=case).values_list("kind", "direction"))
    assert kinds == [("public", "inbound"), ("public", "outbound"), ("internal", "outbound")]
