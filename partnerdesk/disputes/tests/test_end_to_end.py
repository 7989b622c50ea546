"""Issue 14's whole story on the suite's clock, with a real SMTP server and the operator simulator over HTTP:

a customer emails a dispute about part of an invoice; it becomes a case linked to the invoice; the next
collections run sends the notice for the undisputed rest only; the agent escalates to 21Vianet (through the API
channel; in the second story through the portal channel with a reference number); the operator answers and
closes the request and the case comes back to the agent; the agent upholds part of the dispute with a credit
note (or rejects it, and collections resume on the date stated to the customer); the reply reaches the customer
in its language; the customer confirms; every step is in the audit log.
"""

import datetime as dt
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import CreditNote
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.disputes import services as disputes
from partnerdesk.dunning.models import CollectionsAction, Dispute, DisputeOutcome
from partnerdesk.dunning.tests.test_cycle import at, run
from partnerdesk.escalations import services as escalations
from partnerdesk.escalations.models import ServiceRequest
from partnerdesk.escalations.targets import settings_row
from partnerdesk.escalations.tasks import poll_service_requests
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services as support
from partnerdesk.support.models import Case, CaseStatus, CaseType

pytestmark = pytest.mark.django_db(transaction=True)

CONTACT = "wangfang@yunqi.example.cn"


@pytest.fixture
def story(operator, smtp_server, users):
    """A zh-CN customer with a subscription at the operator and a 1,000.00 invoice due 31 October; the partner's
    own contact for service requests; the billing agent."""
    with at("2026-10-01"):
        customer = make_customer("上海云启信息科技有限公司", language="zh-CN", contact={"name": "王芳", "email": CONTACT})
        operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=25)
        [sub] = sync_subscriptions(customer, actor=None)
        invoice = make_invoice(customer, "1000.00", issue_date=dt.date(2026, 10, 1))
    row = settings_row()
    row.contact_name, row.contact_email, row.contact_phone = "李娜", "escalations@partner.example.cn", "+86 21 5555 0100"
    row.save()
    agent = users["billing_agent"]
    agent.email = "li.na@partner.example.cn"
    agent.save(update_fields=["email"])
    return customer, invoice, sub, agent


def email_in(client, tokens, *, body: str) -> Case:
    """The customer's mail as a mail service posts it to the desk (raw RFC 822, GB18030 as Chinese clients send)."""
    message = EmailMessage()
    message["From"] = f"王芳 <{CONTACT}>"
    message["To"] = "support@partner.example.cn"
    message["Subject"] = "发票金额有异议"
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = make_msgid(domain="yunqi.example.cn")
    message.set_content(body, charset="gb18030")
    answer = client.generic("POST", "/api/v1/mail/inbound", message.as_bytes(), content_type="message/rfc822",
                            headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert answer.status_code in (200, 201, 202), answer.content
    return Case.objects.get()


def mails_to(smtp_server, address):
    send_pending()
    return [m for m in smtp_server.messages if address in m["To"]]


def actions(*objs_or_cases) -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_a_dispute_by_email_escalated_through_the_api_upheld_in_part_and_confirmed(story, operator, smtp_server,
                                                                                  client, tokens, users):
    customer, invoice, sub, agent = story

    # 1. The customer emails: 300.00 of the invoice is wrong. The case is a dispute of that invoice for 300.00.
    with at("2026-10-20", hour=10):
        case = email_in(client, tokens, body=f"您好，发票 {invoice.number} 中多收了 ¥300.00（3 个已取消的席位），我们对此有异议。")
    assert case.type == CaseType.INVOICE_DISPUTE and list(case.invoices.all()) == [invoice]
    [dispute] = Dispute.objects.filter(case=case)
    assert dispute.amount == Decimal("300.00") and dispute.status == "open"
    assert len(mails_to(smtp_server, CONTACT)) == 1  # the acknowledgement

    # 2. The next collections run: the notice is for the undisputed 700.00 only and names the disputed part.
    run("2026-11-01")
    notice = mails_to(smtp_server, CONTACT)[-1]
    assert invoice.number in notice.subject
    assert "应付金额：CNY 700.00" in notice.text and "另有争议金额：CNY 300.00" in notice.text
    assert "1,000.00" not in notice.text

    # 3. The agent escalates to 21Vianet through the API channel; the partner is the contact, not the customer.
    with at("2026-11-02", hour=10):
        sr = escalations.escalate(case, actor=agent, channel="api", topic="billing", severity="moderate",
                                  title=f"发票 {invoice.number} 席位计费核实", invoices=[invoice],
                                  description="客户称 3 个席位已于 9 月取消，但 10 月账单仍计费，请核实。")
    sr.refresh_from_db()
    [held] = operator.simulator.service_requests()
    assert sr.status == "open" and sr.reference == held["id"]
    assert held["primaryContact"]["email"] == "escalations@partner.example.cn" and CONTACT not in str(held)
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_OPERATOR

    # 4. The operator answers and closes it; the poller brings both in once; the case is back with its agent.
    with at("2026-11-02", hour=13):
        operator.simulator.answer_service_request(sr.reference, "已收到，正在核实席位变更记录。")
    with at("2026-11-03", hour=10):
        operator.simulator.close_service_request(sr.reference, "核实：2 个席位于 9 月 28 日取消，10 月应退 200.00 元。")
    with at("2026-11-03", hour=11):
        poll_service_requests(now=timezone.now())
        poll_service_requests(now=timezone.now() + dt.timedelta(hours=1))
    sr.refresh_from_db()
    case.refresh_from_db()
    assert sr.status == "closed" and sr.first_response_at is not None and sr.notes.filter(from_operator=True).count() == 2
    assert case.status == CaseStatus.OPEN and case.assignee == agent
    assert any("tell the customer" in b for b in case.messages.filter(kind="event").values_list("body", flat=True))

    # 5. The agent upholds 200.00 of the 300.00 with a credit note; the balance goes down by 200.00.
    with at("2026-11-03", hour=14):
        disputes.uphold(case, amount="200.00", actor=agent, message="经世纪互联核实，2 个席位应退费。")
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    credit = CreditNote.objects.get(invoice=invoice)
    assert dispute.outcome == DisputeOutcome.PARTLY_UPHELD and dispute.upheld_amount == Decimal("200.00")
    assert credit.amount == Decimal("200.00") and invoice.balance == Decimal("800.00")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED  # closes once the customer has the answer (test_decisions shows the refusal)
    assert credit.number in case.resolution_message.body

    # 6. The answer arrives in the customer's language, naming the credit note; the customer confirms.
    answer = mails_to(smtp_server, CONTACT)[-1]
    assert f"[#{case.token}]" in answer.subject and answer.language == "zh-CN"
    assert credit.number in answer.text and "200.00" in answer.text and "经世纪互联核实" in answer.text
    sr.refresh_from_db()
    assert sr.customer_told_at is not None
    support.confirm_resolution(case=case, actor=None)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED

    # Every step is in the audit log, in order.
    log = actions()
    steps = ["dispute.opened", "service_request.created", "service_request.filed", "service_request.answer_logged",
             "service_request.closed", "credit_note.issued", "dispute.resolved", "service_request.customer_told",
             "case.resolved", "case.closed"]
    found = [log.index(step) for step in steps]
    assert found == sorted(found), list(zip(steps, found, strict=True))


def test_a_dispute_escalated_through_the_portal_and_rejected_resumes_collections_on_the_stated_date(
        story, operator, smtp_server, client, tokens):
    customer, invoice, sub, agent = story
    with at("2026-10-20", hour=10):
        case = email_in(client, tokens, body=f"发票 {invoice.number} 的单价有误，多收了 300 元，请核实。我们对此有异议。")
    [dispute] = Dispute.objects.filter(case=case)
    assert dispute.amount == Decimal("300.00")
    run("2026-11-01")  # the notice for the undisputed 700.00; the customer pays it
    assert "应付金额：CNY 700.00" in mails_to(smtp_server, CONTACT)[-1].text
    from partnerdesk.billing.services import record_payment

    with at("2026-11-02"):
        record_payment(customer=customer, amount="700.00", received_on=dt.date(2026, 11, 2), method="bank_transfer",
                       actor=None, allocations=[(invoice, Decimal("700.00"))])

    # The portal channel: the agent files the prepared text in 21Vianet's portal and records its number.
    with at("2026-11-02", hour=10):
        sr = escalations.escalate(case, actor=agent, channel="portal", topic="billing", severity="minimal",
                                  title="单价核实", description="客户认为单价有误，请核实合同价。", invoices=[invoice])
    text = escalations.portal_text(sr)
    assert "escalations@partner.example.cn" in text and invoice.number in text and CONTACT not in text
    with at("2026-11-02", hour=11):
        escalations.record_reference(sr, "2611020010000456", actor=agent)
    with at("2026-11-03", hour=15):
        escalations.log_operator_answer(sr, "经核实，单价与合同一致，账单无误。", actor=agent, author="世纪互联 张工",
                                        status="closed")
    sr.refresh_from_db()
    assert sr.status == "closed" and sr.reference == "2611020010000456"
    assert not ServiceRequest.objects.exclude(pk=sr.pk).exists()

    # The agent rejects the dispute: collections resume on a stated date, told to the customer in the case.
    with at("2026-11-04", hour=10):
        [dispute] = disputes.reject(case, actor=agent, resume_on=dt.date(2026, 11, 16), message="单价与合同一致。")
    assert dispute.outcome == DisputeOutcome.REJECTED and dispute.resume_on == dt.date(2026, 11, 16)
    told = mails_to(smtp_server, CONTACT)[-1]
    assert f"[#{case.token}]" in told.subject and told.language == "zh-CN"
    assert "无法支持该异议" in told.text and "催收将于 2026年11月16日 恢复" in told.text and "单价与合同一致" in told.text
    support.confirm_resolution(case=case, actor=None)

    # Nothing before the stated date (the stages passed meanwhile do not come at once); on it, the next stage.
    sent = len(mails_to(smtp_server, CONTACT))
    for day in ["2026-11-07", "2026-11-14", "2026-11-15"]:
        run(day)
    assert len(mails_to(smtp_server, CONTACT)) == sent and operator.status(sub) == "active"
    before = CollectionsAction.objects.filter(customer=customer).count()
    run("2026-11-16")
    after = list(CollectionsAction.objects.filter(customer=customer).order_by("id"))
    assert len(after) == before + 1 and after[-1].kind == "notice"
    resumed = mails_to(smtp_server, CONTACT)[-1]
    assert "应付金额：CNY 300.00" in resumed.text and "争议" not in resumed.text
    assert operator.status(sub) == "active"
