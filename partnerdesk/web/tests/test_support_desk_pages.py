"""The agents' support desk pages: queues, a case, the composer, bulk actions, closing, canned replies, unmatched
mail; staff of every role see what their role allows, a customer's user sees none of it."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services
from partnerdesk.support.mail.filing import ingest
from partnerdesk.support.models import CannedReply, Case, CaseStatus, InboundMail, MailStatus, MessageKind

STAFF = ["admin", "billing_agent", "collections", "finance", "auditor"]
WORKERS = ["admin", "billing_agent", "collections", "finance"]


def client_for(user) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


def a_case(customer, user, subject="Invoice question", **fields) -> Case:
    return services.open_case(customer=customer, subject=subject, description="Why is my invoice higher this month?",
                              actor=user, **fields)


UNMATCHED = (b"From: Stranger <stranger@unknown.example.org>\r\nTo: support@partner.example.cn\r\n"
             b"Subject: Question about my bill\r\nMessage-ID: <q1@unknown.example.org>\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\nWho do I ask about my invoice?\r\n")


@pytest.fixture
def case(users, customer_a):
    """Customer A's user asks, for the billing contact (who gets the emails)."""
    return a_case(customer_a, users["customer_a"], requester_contact=customer_a.contacts.first())


def desk_urls(case, attachment_pk, mail_pk, canned_pk) -> list[tuple[str, str]]:
    """Every desk page and action, as (method, url)."""
    return [
        ("GET", reverse("support_queue")), ("POST", reverse("support_bulk")), ("GET", reverse("support_case_new")),
        ("POST", reverse("support_case_new")), ("GET", reverse("support_case", args=[case.pk])),
        ("POST", reverse("support_case_compose", args=[case.pk])),
        ("POST", reverse("support_case_details", args=[case.pk])),
        ("POST", reverse("support_case_assign", args=[case.pk])),
        ("POST", reverse("support_case_status", args=[case.pk])),
        ("POST", reverse("support_case_close", args=[case.pk])),
        ("POST", reverse("support_case_merge", args=[case.pk])),
        ("GET", reverse("support_canned", args=[case.pk, canned_pk])),
        ("GET", reverse("support_attachment", args=[attachment_pk])),
        ("GET", reverse("support_mail_list")), ("GET", reverse("support_mail_raw", args=[mail_pk])),
        ("POST", reverse("support_mail_file_customer", args=[mail_pk])),
        ("POST", reverse("support_mail_file_case", args=[mail_pk])),
        ("POST", reverse("support_mail_discard", args=[mail_pk])),
    ]


def test_a_customer_user_gets_nothing_from_any_desk_page(users, customer_a, case):
    """Whatever the URL, a customer's user (even of the case's own customer) is refused, and sees nothing."""
    message = services.add_note(case=case, body="internal: check the E3 seats", actor=users["admin"],
                                attachments=[{"filename": "seats.txt", "content": b"41 seats"}])
    attachment = message.attachments.get()
    mail = ingest(UNMATCHED, source="file")
    canned = CannedReply.objects.create(title="Balance", language=case.language, body="Balance {balance}")
    for role in ("customer_a", "customer_b"):
        client = client_for(users[role])
        for method, url in desk_urls(case, attachment.pk, mail.pk, canned.pk):
            response = client.get(url) if method == "GET" else client.post(url, {"body": "x", "action": "note"})
            assert response.status_code in (403, 404), (role, method, url, response.status_code)
            assert b"check the E3 seats" not in response.content and b"41 seats" not in response.content
    assert case.messages.count() == 2  # nothing was added


@pytest.mark.parametrize("role", STAFF)
def test_every_desk_page_renders_for_each_staff_role(users, customer_a, case, role):
    client = client_for(users[role])
    for tab in ("mine", "unassigned", "breaching", "breached", "waiting_operator", "waiting_customer", "active",
                "resolved"):
        response = client.get(reverse("support_queue"), {"tab": tab})
        assert response.status_code == 200, tab
    page = client.get(reverse("support_queue"), {"tab": "active"}).content.decode()
    assert case.token in page and customer_a.name in page and "Invoice question" in page
    page = client.get(reverse("support_case", args=[case.pk])).content.decode()
    assert case.token in page and "Why is my invoice higher this month?" in page and "Ledger and collections" in page
    assert client.get(reverse("support_mail_list")).status_code == 200
    assert client.get(reverse("support_case_new")).status_code == (200 if role in WORKERS else 403)
    # The auditor reads and may write internal notes; only agents reply, resolve and change the case.
    assert ('id="send-reply"' in page) == (role in WORKERS)
    assert 'id="add-note"' in page


def test_queue_shows_time_left_in_business_time_and_colours_it(users, customer_a):
    warning = services.desk_settings().breach_warning_minutes
    fresh = a_case(customer_a, users["customer_a"], subject="Fresh")
    late = a_case(customer_a, users["customer_a"], subject="Late")
    # Move the late case's clocks back so its first response is overdue.
    past = timezone.now() - dt.timedelta(days=10)
    for clock in late.sla_clocks.all():
        clock.running_since, clock.started_at = past, past
        clock.deadline_at = past + dt.timedelta(hours=1)
        clock.save()
    Case.objects.filter(pk=late.pk).update(next_deadline_at=past + dt.timedelta(hours=1))
    client = client_for(users["billing_agent"])
    page = client.get(reverse("support_queue"), {"tab": "breached"}).content.decode()
    assert late.token in page and fresh.token not in page
    assert 'class="sla danger"' in page and 'over</span>' in page
    page = client.get(reverse("support_queue"), {"tab": "active"}).content.decode()
    assert page.index(late.token) < page.index(fresh.token)  # the earliest deadline first
    assert warning > 0


def test_queue_filters_and_queries_are_bounded(users, customer_a, customer_b, django_assert_max_num_queries):
    for n in range(3):
        a_case(customer_a, users["customer_a"], subject=f"Contoso {n}", type="refund", tags=["vip"])
    a_case(customer_b, users["customer_b"], subject="Fabrikam question")
    client = client_for(users["admin"])
    page = client.get(reverse("support_queue"), {"tab": "active", "type": "refund"}).content.decode()
    assert "Contoso 0" in page and "Fabrikam question" not in page
    page = client.get(reverse("support_queue"), {"tab": "active", "customer": "Fabrikam"}).content.decode()
    assert "Fabrikam question" in page and "Contoso 0" not in page
    page = client.get(reverse("support_queue"), {"tab": "active", "tag": "vip"}).content.decode()
    assert "Contoso 2" in page and "Fabrikam question" not in page
    client.get(reverse("support_queue"), {"tab": "active"})  # warm the session and the calendar cache
    with django_assert_max_num_queries(14) as few:
        client.get(reverse("support_queue"), {"tab": "active"})
    for n in range(3, 25):
        a_case(customer_a, users["customer_a"], subject=f"Contoso {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("support_queue"), {"tab": "active"})  # 28 rows: the same number of queries as 4


def test_bulk_assign_and_bulk_status_are_all_or_nothing(users, customer_a):
    first, second = a_case(customer_a, users["customer_a"]), a_case(customer_a, users["customer_a"], subject="Two")
    client = client_for(users["billing_agent"])
    agent = users["collections"]
    response = client.post(reverse("support_bulk"), {"cases": [first.pk, second.pk], "action": "assign",
                                                     "assignee": agent.pk, "reason": "she knows Contoso"})
    assert response.status_code == 302
    assert set(Case.objects.filter(assignee=agent).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert AuditEntry.objects.filter(action="case.assigned").count() == 2

    # One case cannot take the status (it was merged): nothing changes on either.
    services.merge(source=second, target=first, actor=users["admin"])
    response = client.post(reverse("support_bulk"), {"cases": [first.pk, second.pk], "action": "status",
                                                     "status": "waiting_operator"}, follow=True)
    assert "Nothing was changed" in response.content.decode()
    assert Case.objects.get(pk=first.pk).status == CaseStatus.OPEN

    response = client.post(reverse("support_bulk"), {"cases": [first.pk], "action": "status",
                                                     "status": "waiting_operator"}, follow=True)
    assert "1 case changed." in response.content.decode()
    assert Case.objects.get(pk=first.pk).status == CaseStatus.WAITING_OPERATOR
    # The auditor may read the queue but not act on it.
    assert client_for(users["auditor"]).post(reverse("support_bulk"), {"cases": [first.pk]}).status_code == 403


def test_reply_note_and_attachments_show_in_the_conversation(users, customer_a, case):
    client = client_for(users["billing_agent"])
    url = reverse("support_case_compose", args=[case.pk])
    response = client.post(url, {"action": "reply", "body": "The E3 seats went from 40 to 45.",
                                 "status": "waiting_customer",
                                 "attachments": SimpleUploadedFile("usage.csv", b"seats,45\n", "text/csv")})
    assert response.status_code == 302
    client.post(url, {"action": "note", "body": "Sales confirmed the order."})
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING_CUSTOMER and case.first_response_at is not None
    page = client.get(reverse("support_case", args=[case.pk])).content.decode()
    assert "The E3 seats went from 40 to 45." in page and "usage.csv" in page
    assert 'data-kind="internal"' in page and "Internal note" in page and "Sales confirmed the order." in page
    attachment = case.attachments.get()
    download = client.get(reverse("support_attachment", args=[attachment.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"seats,45\n"
    assert "attachment" in download["Content-Disposition"]
    # A file of a type not allowed is refused with the service's words; nothing is sent.
    response = client.post(url, {"action": "reply", "body": "see file",
                                 "attachments": SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream")})
    assert response.status_code == 400 and "are not accepted" in response.content.decode()
    assert case.messages.filter(body="see file").count() == 0
    # An empty message is refused on the field.
    response = client.post(url, {"action": "reply", "body": "   "})
    assert response.status_code == 400


def test_close_is_refused_until_the_resolution_reached_the_customer(users, customer_a, case, smtp_server):
    client = client_for(users["billing_agent"])
    client.post(reverse("support_case_compose", args=[case.pk]),
                {"action": "resolve", "body": "We credited the 5 extra seats."})
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    page = client.post(reverse("support_case_close", args=[case.pk]), follow=True).content.decode()
    assert "has not received the resolution yet" in page
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED
    send_pending()  # the worker sends it; the SMTP server accepts it
    assert any(case.token in m.subject for m in smtp_server.wait_for(1))
    page = client.post(reverse("support_case_close", args=[case.pk]), follow=True).content.decode()
    assert f"Case {case.token} is closed." in page
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED


def test_a_canned_reply_is_filled_with_the_customers_figures(users, customer_a, case):
    make_invoice(customer_a, "1280.00", issue_date=dt.date(2026, 9, 1), due_date=dt.date(2026, 10, 1))
    canned = CannedReply.objects.create(title="Balance", language=case.language,
                                        body="{customer_name} owes {balance}, overdue {overdue}. {case_token}")
    CannedReply.objects.create(title="Other language", language="xx", body="never offered")
    client = client_for(users["billing_agent"])
    page = client.get(reverse("support_case", args=[case.pk])).content.decode()
    assert "Balance</option>" in page and "Other language" not in page
    data = client.get(reverse("support_canned", args=[case.pk, canned.pk])).json()
    assert data["text"].startswith(f"{customer_a.name} owes ") and "1,280.00" in data["text"]
    assert case.token in data["text"] and "{" not in data["text"]
    # Without JavaScript the picker reloads the page with the text in the composer.
    page = client.get(reverse("support_case", args=[case.pk]), {"canned": canned.pk}).content.decode()
    assert f"{customer_a.name} owes " in page
    assert client_for(users["auditor"]).get(reverse("support_canned", args=[case.pk, canned.pk])).status_code == 403


def test_details_assign_status_and_merge_go_through_the_services(users, customer_a, customer_b, case):
    invoice = make_invoice(customer_a, "300.00")
    other = a_case(customer_a, users["customer_a"], subject="Same question again")
    foreign = a_case(customer_b, users["customer_b"], subject="Fabrikam")
    client = client_for(users["admin"])
    response = client.post(reverse("support_case_details", args=[case.pk]), {
        "subject": "Invoice higher: E3 seats", "type": "invoice_dispute", "severity": "B", "tags": "vip, seats",
        "cc": "cfo@contoso.example.cn", "invoices": [invoice.pk], "reason": "clearer"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.subject == "Invoice higher: E3 seats" and case.severity == "B" and case.cc == ["cfo@contoso.example.cn"]
    assert sorted(case.tags.values_list("name", flat=True)) == ["seats", "vip"] and list(case.invoices.all()) == [invoice]
    # Severity A is for technical problems only: the service refuses, on the field.
    response = client.post(reverse("support_case_details", args=[case.pk]),
                           {"subject": "x", "type": "refund", "severity": "A"})
    assert response.status_code == 400 and "technical problems only" in response.content.decode()
    client.post(reverse("support_case_assign", args=[case.pk]), {"assignee": users["finance"].pk, "team": "none"})
    assert Case.objects.get(pk=case.pk).assignee == users["finance"]
    client.post(reverse("support_case_status", args=[case.pk]), {"status": "waiting_operator"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.WAITING_OPERATOR
    response = client.post(reverse("support_case_merge", args=[other.pk]), {"target": foreign.token})
    assert response.status_code == 400 and "same customer" in response.content.decode()
    response = client.post(reverse("support_case_merge", args=[other.pk]), {"target": case.token.lower()})
    assert response.status_code == 302 and response["Location"] == reverse("support_case", args=[case.pk])
    assert Case.objects.get(pk=other.pk).merged_into_id == case.pk


def test_an_agent_logs_a_phone_call(users, customer_a):
    invoice = make_invoice(customer_a, "80.00")
    contact = customer_a.contacts.first()
    client = client_for(users["collections"])
    page = client.get(reverse("support_case_new"), {"customer": customer_a.pk}).content.decode()
    assert contact.email in page
    response = client.post(reverse("support_case_new"), {
        "customer": str(customer_a.tenant_id), "requester_email": contact.email.upper(), "requester_name": "",
        "channel": "phone", "type": "payment_problem", "severity": "C", "subject": "Paid twice by Alipay",
        "description": "Called at 10:05: paid the October invoice twice.", "invoices": invoice.number,
        "tags": "alipay", "assign_to_me": "on"})
    case = Case.objects.get(subject="Paid twice by Alipay")
    assert response["Location"] == reverse("support_case", args=[case.pk])
    assert case.requester_contact == contact and case.channel == "phone" and case.assignee == users["collections"]
    assert list(case.invoices.all()) == [invoice]
    response = client.post(reverse("support_case_new"), {
        "customer": "nobody at all", "channel": "phone", "type": "other", "severity": "C", "subject": "x",
        "description": "y"})
    assert response.status_code == 200 and "No customer matches" in response.content.decode()


def test_unmatched_mail_is_filed_or_discarded(users, customer_a, case):
    mail = ingest(UNMATCHED, source="file")
    assert mail.status == MailStatus.UNMATCHED
    client = client_for(users["billing_agent"])
    page = client.get(reverse("support_mail_list")).content.decode()
    assert "stranger@unknown.example.org" in page and "Question about my bill" in page
    raw = client.get(reverse("support_mail_raw", args=[mail.pk]))
    assert b"Who do I ask" in b"".join(raw.streaming_content)
    response = client.post(reverse("support_mail_file_customer", args=[mail.pk]),
                           {f"m{mail.pk}-customer": customer_a.name})
    new = Case.objects.exclude(pk=case.pk).get()
    assert response["Location"] == reverse("support_case", args=[new.pk]) and new.customer == customer_a
    assert InboundMail.objects.get(pk=mail.pk).status == MailStatus.FILED

    second = ingest(UNMATCHED.replace(b"q1@", b"q2@").replace(b"my bill", b"my bill again"), source="file")
    response = client.post(reverse("support_mail_file_case", args=[second.pk]), {f"m{second.pk}-case": case.token})
    assert response["Location"] == reverse("support_case", args=[case.pk])
    assert case.messages.filter(kind=MessageKind.PUBLIC, direction="inbound").count() == 2

    third = ingest(UNMATCHED.replace(b"q1@", b"q3@").replace(b"my bill", b"cheap watches"), source="file")
    response = client.post(reverse("support_mail_discard", args=[third.pk]), {f"m{third.pk}-reason": ""}, follow=True)
    assert InboundMail.objects.get(pk=third.pk).status == MailStatus.UNMATCHED
    client.post(reverse("support_mail_discard", args=[third.pk]), {f"m{third.pk}-reason": "spam"})
    assert InboundMail.objects.get(pk=third.pk).status == MailStatus.DISCARDED
    assert client_for(users["finance"]).post(reverse("support_mail_discard", args=[third.pk])).status_code == 403


@pytest.mark.parametrize("language, words", [
    ("zh-hans", ["我的工单", "剩余时间", "对话", "内部备注", "账目与催收", "SLA 计时"]),
    ("zh-hant", ["我的案件", "剩餘時間", "對話", "內部備註", "帳目與催收", "SLA 計時"]),
])
def test_the_desk_reads_in_chinese(users, customer_a, case, language, words):
    services.add_note(case=case, body="备注", actor=users["admin"])
    client = Client(headers={"Accept-Language": language})
    client.force_login(users["billing_agent"])
    body = client.get(reverse("support_queue"), {"tab": "active"}).content.decode()
    body += client.get(reverse("support_case", args=[case.pk])).content.decode()
    assert all(w in body for w in words), [w for w in words if w not in body]
    for english in ("Time left", "Conversation", "Ledger and collections", "My cases", "SLA clocks"):
        assert english not in body, english


def test_the_customer_page_lists_its_support_cases_for_the_desk(case, users, customer_a, customer_b):
    other = a_case(customer_b, users["customer_b"], subject="Fabrikam 的问题")
    page = client_for(users["billing_agent"]).get(reverse("customer_detail", args=[customer_a.pk])).content.decode()
    assert 'id="cases"' in page and case.token in page and case.subject in page
    assert other.token not in page  # another customer's case is not on this customer's page
    assert reverse("support_case_new") + f"?customer={customer_a.pk}" in page
