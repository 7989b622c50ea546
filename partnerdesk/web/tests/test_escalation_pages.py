"""The panel "Escalation to 21Vianet" on the agents' case page, through Django's test client: the escalate form
filled from the case, a refusal shown on the field it names, the portal text with the partner's contact, the
reference, the operator's answers and our notes, the close that hands the case back with one task, the audit
record of each step; the auditor reads but does not act, and a customer's user cannot reach any of it."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.escalations import services
from partnerdesk.escalations.models import ServiceRequest
from partnerdesk.escalations.targets import settings_row
from partnerdesk.support import services as support
from partnerdesk.support.models import CaseStatus

pytestmark = pytest.mark.django_db

CONTACT = {"contact_name": "王芳", "contact_email": "escalations@northwind.example.cn", "contact_phone": "+86 21 5555 0100"}
QUESTION = "同一张发票扣了两次款，请退回多扣的款项。"


def client_for(user, language="en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def field_errors(body: str, field_id: str) -> list[str]:
    """The errors shown under one field of a form (web/includes/field.html), as the reader sees them."""
    found = re.search(rf'<div class="field has-error[^"]*">\s*<label for="{field_id}">(.*?)</div>', body, re.S)
    return [html.unescape(e) for e in re.findall(r'<p class="error">(.*?)</p>', found.group(1))] if found else []


def panel(body: str) -> str:
    found = re.search(r'<section class="card escalations" id="escalations".*?</section>', body, re.S)
    assert found, "no escalation panel on the page"
    return html.unescape(found.group(0))


def audit_actions(sr) -> list[str]:
    return list(AuditEntry.objects.filter(object_type="escalations.servicerequest", object_id=str(sr.pk))
                .order_by("id").values_list("action", flat=True))


@pytest.fixture
def partner_contact(db):
    row = settings_row()
    for field, value in CONTACT.items():
        setattr(row, field, value)
    row.save()
    return row


@pytest.fixture
def invoice(customer_a):
    return make_invoice(customer_a, "1280.00")


@pytest.fixture
def case(users, customer_a, invoice, partner_contact):
    """Customer A's billing question about a doubled charge, with the invoice linked, worked by the agent."""
    return support.open_case(customer=customer_a, subject="11 月发票重复扣费", description=QUESTION,
                             actor=users["customer_a"], requester_contact=customer_a.contacts.get(),
                             assignee=users["billing_agent"], invoices=[invoice])


@pytest.fixture
def agent(users):
    return client_for(users["billing_agent"])


def escalate_form(case, invoice, **changes) -> dict:
    return {"channel": "portal", "topic": "billing", "severity": "moderate", "language": "zh-CN",
            "title": case.subject, "description": QUESTION, "invoices": [invoice.pk], **changes}


def test_the_escalate_form_starts_from_the_case(case, agent, invoice):
    body = agent.get(reverse("support_case", args=[case.pk])).content.decode()
    shown = panel(body)
    assert "Escalation to 21Vianet" in shown and "Not escalated to 21Vianet." in shown
    assert f'value="{case.subject}"' in shown  # the title is the case's subject
    assert QUESTION in shown  # the description is the customer's question
    assert re.search(rf'<input type="checkbox" name="invoices" value="{invoice.pk}"[^>]*checked', shown)
    assert re.search(r'<option value="zh-CN" selected>', shown)
    assert re.search(r'<option value="moderate" selected>B: moderate</option>', shown)
    assert re.search(r'<option value="portal" selected>', shown)


def test_severity_a_on_a_billing_topic_is_refused_on_its_field_and_b_is_accepted(case, agent, invoice, customer_a):
    response = agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice, severity="critical"))
    assert response.status_code == 400
    [error] = field_errors(response.content.decode(), "escalate-severity")
    assert error.startswith("Severity A (critical) is for technical requests only")
    assert not ServiceRequest.objects.exists()

    response = agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice))
    assert response.status_code == 302 and response["Location"].endswith("#escalations")
    sr = ServiceRequest.objects.get()
    assert (sr.channel, sr.topic, sr.severity, sr.status) == ("portal", "billing", "moderate", "draft")
    assert list(sr.invoices.all()) == [invoice] and sr.contact_email == CONTACT["contact_email"]
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_OPERATOR
    assert audit_actions(sr) == ["service_request.created"]

    # The page shows the prepared Chinese text with the partner's contact, the tenant and the invoice, never the
    # customer's contact; and the form for the portal's reference number.
    page = agent.get(reverse("support_case", args=[case.pk]))
    shown = panel(page.content.decode())
    text = re.search(r'<textarea id="portal-text-\d+" rows="12" readonly[^>]*>(.*?)</textarea>', shown, re.S).group(1)
    assert "代表客户" in text or "客户" in text  # Chinese by default
    assert CONTACT["contact_email"] in text and CONTACT["contact_name"] in text
    assert str(customer_a.tenant_id) in text and invoice.number in text
    assert customer_a.contacts.get().email not in text
    assert "data-copy-target" in shown and "escalation_copy.js" in page.content.decode()
    assert "Prepared, not filed yet" in shown and f'action="{reverse("support_escalation_reference", args=[sr.pk])}"' in shown


def test_the_request_text_in_english_when_asked(case, agent, invoice):
    agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice, language="en"))
    assert "Contact for this request (the partner, not the customer)" in services.portal_text(ServiceRequest.objects.get())


def test_a_required_field_and_a_missing_partner_contact_are_named(case, agent, invoice, partner_contact):
    response = agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice, title=""))
    assert response.status_code == 400 and field_errors(response.content.decode(), "escalate-title")
    partner_contact.contact_email = ""
    partner_contact.save()
    response = agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice))
    assert response.status_code == 400
    assert "fill in the contact name and email in the escalation settings" in panel(response.content.decode())
    assert not ServiceRequest.objects.exists()


def test_reference_answer_note_and_close_hand_the_case_back_to_tell_the_customer(case, agent, users, invoice):
    agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice))
    sr = ServiceRequest.objects.get()

    # An answer cannot be logged before the request is filed: the page says why, on the reference.
    response = agent.post(reverse("support_escalation_answer", args=[sr.pk]), {"text": "已收到"})
    assert response.status_code == 400
    assert "The request is not filed yet: record the operator's reference first." in panel(response.content.decode())

    response = agent.post(reverse("support_escalation_reference", args=[sr.pk]), {"reference": " "})
    assert response.status_code == 400 and field_errors(response.content.decode(), f"reference-{sr.pk}-reference")
    response = agent.post(reverse("support_escalation_reference", args=[sr.pk]), {"reference": "2611240010000123"})
    assert response.status_code == 302
    sr.refresh_from_db()
    assert sr.status == "open" and sr.reference == "2611240010000123" and sr.first_response_due_at

    # The same number on another request (of another case) is refused on the field.
    another_case = support.open_case(customer=case.customer, subject="另一个问题", description="再次核查。",
                                     actor=users["billing_agent"])
    other = services.escalate(another_case, actor=users["billing_agent"], channel="portal", topic="billing",
                              severity="minimal", title="第二个请求", description="再次核查。")
    response = agent.post(reverse("support_escalation_reference", args=[other.pk]), {"reference": "2611240010000123"})
    assert response.status_code == 400
    assert field_errors(response.content.decode(), f"reference-{other.pk}-reference") == [
        "Another request already has the reference 2611240010000123."]

    # The operator's answer: an empty one is refused on the text, one from the future on its time.
    url = reverse("support_escalation_answer", args=[sr.pk])
    response = agent.post(url, {"text": ""})
    assert response.status_code == 400 and field_errors(response.content.decode(), f"answer-{sr.pk}-text")
    response = agent.post(url, {"text": "已收到", "written_at": "2030-01-01T10:00"})
    assert field_errors(response.content.decode(), f"answer-{sr.pk}-written_at") == [
        "The answer's time cannot be in the future."]
    response = agent.post(url, {"text": "已收到，正在核查扣款记录。", "author": "世纪互联 张工"})
    assert response.status_code == 302

    response = agent.post(reverse("support_escalation_note", args=[sr.pk]), {"text": "客户已提供第二笔扣款的银行流水。"})
    assert response.status_code == 302
    shown = panel(agent.get(reverse("support_case", args=[case.pk])).content.decode())
    assert "2611240010000123" in shown and "正在核查扣款记录" in shown and "世纪互联 张工" in shown
    assert "客户已提供第二笔扣款的银行流水" in shown and "Our note" in shown
    assert re.search(r'data-testid="sr-met-first_response">.*?Met', shown, re.S)  # answered at once

    # The operator closes it: the case is back with its agent, and the panel shows the one task.
    response = agent.post(reverse("support_escalation_close", args=[sr.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.assignee == users["billing_agent"]
    shown = panel(agent.get(reverse("support_case", args=[case.pk])).content.decode())
    assert "Task: tell the customer" in shown and "21Vianet closed request 2611240010000123" in shown
    assert f'id="sr-answer-form-{sr.pk}"' not in shown  # closed: nothing more to log on it
    response = agent.post(reverse("support_escalation_note", args=[sr.pk]), {"text": "再补充一点。"})
    assert response.status_code == 400
    assert field_errors(response.content.decode(), f"note-{sr.pk}-text") == ["Request 2611240010000123 is closed."]

    # The reply tells the customer: the task is done.
    agent.post(reverse("support_case_compose", args=[case.pk]),
               {"action": "reply", "body": "您好，多扣的款项将于 3 个工作日内退回。", "status": "open"})
    shown = panel(agent.get(reverse("support_case", args=[case.pk])).content.decode())
    assert "Task: tell the customer" not in shown and "customer told" in shown
    assert audit_actions(sr) == ["service_request.created", "service_request.filed", "service_request.answer_logged",
                                 "service_request.note_added", "service_request.closed",
                                 "service_request.customer_told"]
    assert AuditEntry.objects.filter(action="service_request.filed", actor=users["billing_agent"]).exists()


def test_the_answer_form_can_close_the_request(case, agent, invoice):
    agent.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice))
    sr = ServiceRequest.objects.get()
    agent.post(reverse("support_escalation_reference", args=[sr.pk]), {"reference": "2611240010000456"})
    response = agent.post(reverse("support_escalation_answer", args=[sr.pk]),
                          {"text": "已核实，多扣款项将退回。", "written_at": "2026-11-24T10:00", "status": "closed"})
    assert response.status_code == 302
    sr.refresh_from_db()
    assert sr.status == "closed" and sr.first_response_at.isoformat() == "2026-11-24T02:00:00+00:00"
    assert "Task: tell the customer" in panel(agent.get(reverse("support_case", args=[case.pk])).content.decode())


def test_the_auditor_reads_the_panel_but_cannot_act(case, users, invoice):
    sr = services.escalate(case, actor=users["billing_agent"], channel="portal", topic="billing", severity="moderate",
                           title="重复扣费", description=QUESTION)
    auditor = client_for(users["auditor"])
    shown = panel(auditor.get(reverse("support_case", args=[case.pk])).content.decode())
    assert "重复扣费" in shown and "<form" not in shown
    assert auditor.post(reverse("support_escalation_reference", args=[sr.pk]), {"reference": "1"}).status_code == 403
    assert auditor.post(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice)).status_code == 403


@pytest.mark.parametrize("who", ["customer_a", "customer_b"])
def test_a_customers_user_cannot_reach_any_of_it(case, users, invoice, who):
    sr = services.escalate(case, actor=users["billing_agent"], channel="portal", topic="billing", severity="moderate",
                           title="重复扣费", description=QUESTION)
    customer = client_for(users[who])
    posts = [(reverse("support_escalate", args=[case.pk]), escalate_form(case, invoice)),
             (reverse("support_escalation_reference", args=[sr.pk]), {"reference": "2611240010000999"}),
             (reverse("support_escalation_answer", args=[sr.pk]), {"text": "已收到"}),
             (reverse("support_escalation_note", args=[sr.pk]), {"text": "请尽快"}),
             (reverse("support_escalation_close", args=[sr.pk]), {})]
    for url, data in posts:
        response = customer.post(url, data)
        assert response.status_code == 404, url
        assert CONTACT["contact_email"].encode() not in response.content
    sr.refresh_from_db()
    assert sr.status == "draft" and ServiceRequest.objects.count() == 1 and not sr.notes.exists()
    # Nor does the portal's case page show the request or the operator's words.
    body = customer.get(reverse("portal_support_case", args=[case.pk])).content.decode()
    assert "21Vianet" not in body and CONTACT["contact_email"] not in body


def test_the_panel_reads_in_chinese(case, users, invoice):
    body = client_for(users["billing_agent"], language="zh-hans").get(reverse("support_case", args=[case.pk]))
    shown = panel(body.content.decode())
    assert "升级至世纪互联" in shown and "Escalation to 21Vianet" not in shown
    shown = panel(client_for(users["billing_agent"], language="zh-hant").get(
        reverse("support_case", args=[case.pk])).content.decode())
    assert "升級至世紀互聯" in shown


def test_the_description_offered_leaves_out_the_customers_addresses_and_phones(users, customer_a, partner_contact):
    case = support.open_case(customer=customer_a, subject="扣费两次", actor=users["customer_a"],
                             description="同一张发票扣了两次款。请回电 138 0013 8000 或发邮件 li.lei@contoso.example.cn。",
                             requester_contact=customer_a.contacts.get(), assignee=users["billing_agent"])
    shown = panel(client_for(users["billing_agent"]).get(reverse("support_case", args=[case.pk])).content.decode())
    assert "同一张发票扣了两次款" in shown
    assert "li.lei@contoso.example.cn" not in shown and "138 0013 8000" not in shown
