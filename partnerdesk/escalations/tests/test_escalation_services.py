"""Escalating a case to 21Vianet through the portal channel, as an agent lives it: the prepared text, the
reference number, the operator's answers on the case (never shown to the customer), the close that hands the
case back with one task, and the reply that does it. The operator's targets on China's calendar, and the
reminders when the operator is late, as the agent's mailbox receives them."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.escalations import services
from partnerdesk.escalations.models import OperatorNote, ServiceRequest
from partnerdesk.escalations.targets import measured, settings_row
from partnerdesk.escalations.tasks import remind_overdue
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services as support
from partnerdesk.support.models import CaseStatus, MessageKind

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


def escalate(case, agent, **kw):
    kw.setdefault("channel", "portal")
    kw.setdefault("topic", "billing")
    kw.setdefault("severity", "moderate")
    kw.setdefault("title", "发票 INV-2026 重复扣费")
    kw.setdefault("description", "客户的同一张发票被扣款两次，请核实并退回多扣的款项。")
    return services.escalate(case, actor=agent, **kw)


def audit_actions(sr) -> list[str]:
    return list(AuditEntry.objects.filter(object_type="escalations.servicerequest", object_id=str(sr.pk))
                .order_by("id").values_list("action", flat=True))


# --- the rules of escalating --------------------------------------------------------------------------------


def test_severity_a_is_refused_for_billing_naming_the_field_and_accepted_for_technical(case, agent):
    for topic in ("billing", "subscription", "fraud"):
        with pytest.raises(InvalidInput) as refused:
            escalate(case, agent, topic=topic, severity="critical")
        assert refused.value.field == "severity"
        assert "technical" in str(refused.value)
    assert not ServiceRequest.objects.exists()
    sr = escalate(case, agent, topic="technical", severity="critical", title="Exchange Online 无法登录")
    assert sr.severity == "critical" and sr.topic == "technical"


def test_title_description_and_the_partners_contact_are_required(case, agent, partner_contact, customer_b):
    with pytest.raises(InvalidInput) as refused:
        escalate(case, agent, title="   ")
    assert refused.value.field == "title"
    with pytest.raises(InvalidInput) as refused:
        escalate(case, agent, description="")
    assert refused.value.field == "description"
    with pytest.raises(InvalidInput) as refused:
        escalate(case, agent, invoices=[make_invoice(customer_b, "99.00")])
    assert refused.value.field == "invoice_ids[0]"
    partner_contact.contact_email = ""
    partner_contact.save()
    with pytest.raises(InvalidInput) as refused:
        escalate(case, agent)
    assert refused.value.field == "contact_email" and "escalation settings" in str(refused.value)
    assert not ServiceRequest.objects.exists()


# --- the portal channel, from draft to "customer told" ----------------------------------------------------


def test_portal_flow_from_draft_to_the_customer_told(case, agent, customer_a, smtp_server):
    invoice = make_invoice(customer_a, "1280.00")
    sr = escalate(case, agent, invoices=[invoice])
    case.refresh_from_db()
    assert sr.status == "draft" and not sr.reference and sr.filed_at is None
    assert case.status == CaseStatus.WAITING_OPERATOR
    # The contact is the partner's own; the tenant is the customer's.
    assert (sr.contact_name, sr.contact_email) == ("王芳", "escalations@northwind.example.cn")
    assert sr.tenant_id == str(customer_a.tenant_id)
    text = services.portal_text(sr)
    assert "escalations@northwind.example.cn" in text and str(customer_a.tenant_id) in text
    assert invoice.number in text and "王芳" in text
    assert customer_a.contacts.get().email not in text

    with pytest.raises(Conflict):
        services.log_operator_answer(sr, "已收到", actor=agent)  # not filed yet: no answer to log

    sr = services.record_reference(sr, "2611240010000123", actor=agent, now=bj(2026, 11, 23, 10))
    assert sr.status == "open" and sr.reference == "2611240010000123"
    assert sr.first_response_due_at == bj(2026, 11, 23, 14)  # B: 4 business hours
    assert services.record_reference(sr, "2611240010000123", actor=agent).filed_at == sr.filed_at  # twice: same
    with pytest.raises(Conflict) as refused:
        services.record_reference(sr, "9999", actor=agent)
    assert refused.value.field == "reference"

    note = services.log_operator_answer(sr, "已收到，正在核查扣款记录。", actor=agent, author="世纪互联 张工",
                                        written_at=bj(2026, 11, 23, 11, 30))
    sr.refresh_from_db()
    assert sr.first_response_at == bj(2026, 11, 23, 11, 30)
    assert note.case_message.kind == MessageKind.EVENT and "正在核查扣款记录" in note.case_message.body
    assert measured(sr)["first_response"]["met"] is True
    assert measured(sr)["first_response"]["business_minutes"] == 90

    services.add_our_note(sr, "客户已提供第二笔扣款的银行流水。", agent)
    assert sr.notes.filter(from_operator=False).get().sent_at is not None  # portal: filed there by the agent

    services.log_operator_answer(sr, "已核实，多扣款项将退回，请求关闭。", actor=agent, status="closed")
    sr.refresh_from_db()
    case.refresh_from_db()
    assert sr.status == "closed" and sr.closed_at is not None and sr.customer_told_at is None
    assert case.status == CaseStatus.OPEN and case.assignee == agent  # back with its agent
    events = list(case.messages.filter(kind=MessageKind.EVENT).values_list("body", flat=True))
    assert any("tell the customer" in body for body in events)
    send_pending()
    mail = smtp_server.wait_for(1)
    to_agent = smtp_server.to("li.na@northwind.example.cn")
    assert len(to_agent) == 1 and "2611240010000123" in to_agent[0].subject and "请告知客户" in to_agent[0].subject
    assert case.token in to_agent[0].text
    assert all("li.na@northwind.example.cn" in rcpts for _, rcpts in smtp_server.envelopes[:len(mail)])

    # The customer never saw the operator's words: only what the agent writes reaches them.
    assert not case.messages.filter(kind=MessageKind.PUBLIC, body__contains="核查").exists()
    support.reply(case=case, body="您好，多扣的款项已由世纪互联核实，将于 3 个工作日内退回。", actor=agent)
    sr.refresh_from_db()
    assert sr.customer_told_at is not None
    assert audit_actions(sr) == ["service_request.created", "service_request.filed", "service_request.answer_logged",
                                 "service_request.note_added", "service_request.answer_logged",
                                 "service_request.closed", "service_request.customer_told"]


def test_an_answer_forwarded_by_email_is_logged_once(case, agent):
    sr = services.record_reference(escalate(case, agent), "2611240010000777", actor=agent)
    message = support.customer_message(case=case, body="您好，该扣款为银行重复扣款，已安排退回。",
                                       author_email="support@21vianet.example.cn", author_name="世纪互联支持")
    note = services.log_forwarded_answer(case, message)
    assert note.source == "email" and note.author == "世纪互联支持" and note.written_at == message.created_at
    assert services.log_forwarded_answer(case, message) is None
    assert OperatorNote.objects.filter(request=sr, from_operator=True).count() == 1


def test_a_closed_case_cannot_be_escalated(case, agent):
    resolution = support.resolve(case=case, body="已处理。", actor=agent)
    resolution.emails.update(status="sent")
    support.close(case=case, actor=agent)
    with pytest.raises(Conflict) as refused:
        escalate(case, agent)
    assert refused.value.field == "case_id"


# --- the operator's targets, and reminders when it is late ---------------------------------------------------


def test_targets_run_on_chinas_calendar(case, agent):
    # Friday 17:00: one business hour on Friday, three on Monday morning.
    sr = services.record_reference(escalate(case, agent), "A-1", actor=agent, now=bj(2026, 11, 27, 17))
    assert sr.first_response_due_at == bj(2026, 11, 30, 12)
    # Resolution: 27 business hours (3 working days of 9 hours) from Friday 17:00.
    assert sr.resolution_due_at == bj(2026, 12, 2, 17)
    critical = services.record_reference(escalate(case, agent, topic="technical", severity="critical"), "A-2",
                                         actor=agent, now=bj(2026, 11, 27, 17))
    assert critical.first_response_due_at == bj(2026, 11, 27, 19)  # A: around the clock
    minimal = services.record_reference(escalate(case, agent, severity="minimal"), "A-3", actor=agent,
                                        now=bj(2026, 11, 27, 17))
    assert minimal.first_response_due_at == bj(2026, 11, 30, 16)  # C: 8 business hours
    # Answered on Monday 12:30: 3.5 business hours, the 4-hour target missed by half an hour.
    with time_machine.travel(bj(2026, 11, 30, 13)):
        services.log_operator_answer(sr, "收到。", actor=agent, written_at=bj(2026, 11, 30, 12, 30))
    sr.refresh_from_db()
    first = measured(sr, now=bj(2026, 11, 30, 13))["first_response"]
    assert first["business_minutes"] == 270 and first["met"] is False and first["target_minutes"] == 240
    assert measured(sr, now=bj(2026, 11, 30, 13))["resolution"]["met"] is None  # still running


def test_targets_follow_the_settings(case, agent):
    row = settings_row()
    row.first_response_b_minutes = 60
    row.save()
    sr = services.record_reference(escalate(case, agent), "A-4", actor=agent, now=bj(2026, 11, 24, 17, 30))
    assert sr.first_response_due_at == bj(2026, 11, 25, 9, 30)


def test_reminders_go_to_the_agent_once_each(case, agent, smtp_server):
    sr = services.record_reference(escalate(case, agent), "2611270010000001", actor=agent, now=bj(2026, 11, 27, 17))
    assert remind_overdue(now=bj(2026, 11, 30, 11, 59)) == {"first_response": 0, "resolution": 0}
    assert remind_overdue(now=bj(2026, 11, 30, 12, 1)) == {"first_response": 1, "resolution": 0}
    assert remind_overdue(now=bj(2026, 11, 30, 15)) == {"first_response": 0, "resolution": 0}
    send_pending()
    first = smtp_server.wait_for(1)[0]
    assert "2611270010000001" in first.subject and "逾期未答复" in first.subject
    assert "2026-11-30 12:00" in first.text
    assert remind_overdue(now=bj(2026, 12, 2, 17, 1)) == {"first_response": 0, "resolution": 1}
    assert remind_overdue(now=bj(2026, 12, 3, 9)) == {"first_response": 0, "resolution": 0}
    send_pending()
    mails = smtp_server.wait_for(2)
    assert len(mails) == 2 and "逾期未解决" in mails[1].subject
    assert [m for m in smtp_server.to("li.na@northwind.example.cn")] == mails
    sr.refresh_from_db()
    assert sr.first_response_reminded_at and sr.resolution_reminded_at
    assert "service_request.reminded_first_response" in audit_actions(sr)


def test_the_reminder_goes_to_the_team_lead_when_no_one_is_assigned(case, agent, users, smtp_server):
    from partnerdesk.accounts.services import create_team

    lead = users["collections"]
    lead.email = "lead@northwind.example.cn"
    lead.save(update_fields=["email"])
    team = create_team(actor=None, name="Billing desk")
    team.lead = lead
    team.save()
    sr = escalate(case, agent)
    support.assign(case=case, actor=agent, assignee=None, team=team)  # the agent left: the team has it
    services.record_reference(sr, "2611270010000002", actor=agent, now=bj(2026, 11, 27, 17))
    assert remind_overdue(now=bj(2026, 11, 30, 13))["first_response"] == 1
    send_pending()
    assert smtp_server.wait_for(1) and smtp_server.to("lead@northwind.example.cn")


def test_the_command_runs_the_reminders(case, agent):
    from io import StringIO

    from django.core.management import call_command

    services.record_reference(escalate(case, agent), "2611200010000003", actor=agent, now=bj(2026, 11, 20, 9))
    out = StringIO()
    call_command("escalations", "remind", stdout=out)
    assert "first response 1" in out.getvalue()
    out = StringIO()
    call_command("escalations", "poll", stdout=out)
    assert "nothing" in out.getvalue()


def test_a_draft_cannot_be_marked_closed(case, agent):
    sr = escalate(case, agent)  # the portal channel: a draft until its reference is recorded
    assert sr.status == "draft"
    with pytest.raises(Conflict) as refused:
        services.mark_closed(sr, agent)
    assert refused.value.field == "reference"
    sr.refresh_from_db()
    assert sr.status == "draft" and sr.closed_at is None


def test_escalating_an_unassigned_case_gives_it_to_the_agent(case, agent, users):
    support.assign(case=case, actor=agent, assignee=None)
    escalate(case, agent)
    case.refresh_from_db()
    assert case.assignee == agent  # the case comes back to "its agent" when the operator closes the request


def test_an_agent_forwarding_the_operators_answer_into_the_case_logs_it(case, agent):
    """The agent forwards 21Vianet's email to the desk with the case token: the desk's email in files it on the
    case and it is logged on the request as the operator's answer, by that agent; a stranger's mail is not."""
    from partnerdesk.support.mail.filing import ingest
    from partnerdesk.support.models import InboundMail

    sr = services.record_reference(escalate(case, agent), "2611240010000888", actor=agent)

    def mail(sender, body):
        return (f"From: {sender}\r\nTo: support@partner.example.cn\r\nSubject: Fwd: [#{case.token}] 工单答复\r\n"
                f"Message-ID: <{abs(hash(body))}@partner.example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                f"{body}\r\n").encode()

    ingest(mail("someone@elsewhere.example.cn", "我不是世纪互联。"), source="file")
    assert not OperatorNote.objects.filter(request=sr).exists()
    ingest(mail(agent.email, "---------- 转发的邮件 ----------\n世纪互联：多扣款项已退回。"), source="file")
    note = OperatorNote.objects.get(request=sr)
    assert note.source == "email" and note.recorded_by == agent and "多扣款项已退回" in note.text
    sr.refresh_from_db()
    assert sr.first_response_at is not None
    statuses = dict(InboundMail.objects.values_list("from_address", "status"))
    assert statuses == {"someone@elsewhere.example.cn": "unmatched", agent.email: "filed"}
    assert not case.messages.filter(kind="public", body__contains="多扣款项已退回").exists()  # staff only
