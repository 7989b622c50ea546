"""The customers' side of the desk: the portal's Support section, the signed answer link of a resolution email,
and the published support information.

A customer's user sees its own cases only (another customer's case is not found, whatever the URL), never an
internal note, an event or a file of either; the link in the email confirms, reopens and scores once, and a
forged or expired link is refused kindly.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.services import send_pending
from partnerdesk.support import services
from partnerdesk.support.links import answer_token
from partnerdesk.support.models import Case, CaseAttachment, CaseStatus, SupportInformation

from .factories import client_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NOTE = "内部备注：客户信用额度很低，先不要退款"
EVENT = "The email to ap@acme.example.cn bounced: 550 mailbox full"


def a_case(user, subject="发票金额不对", **fields):
    """A case the customer's user opened in the portal."""
    return services.open_case(customer=user.customer, actor=user, subject=subject,
                              description=fields.pop("description", "INV 金额比合同多了 200 元"), **fields)


def file(name, content=PDF):
    return {"filename": name, "content": content, "content_type": ""}


@pytest.fixture
def acme_case(people):
    return a_case(people["acme_user"])


@pytest.fixture
def globex_case(people):
    return a_case(people["globex_user"], subject="Globex 的退款问题")


# --- scoping ---------------------------------------------------------------------------------------------------


def test_a_customer_sees_its_own_cases_and_another_customers_case_is_not_found(people, acme_case, globex_case):
    acme = client_for(people["acme_user"])
    listing = acme.get(reverse("portal_support")).content.decode()
    assert acme_case.token in listing and acme_case.subject in listing
    assert globex_case.token not in listing and globex_case.subject not in listing

    assert acme.get(reverse("portal_support_case", args=[acme_case.pk])).status_code == 200
    assert acme.get(reverse("portal_support_case", args=[globex_case.pk])).status_code == 404
    for name, data in [("portal_support_reply", {"body": "hello"}), ("portal_support_confirm", {}),
                       ("portal_support_reopen", {"body": "still wrong"}), ("portal_support_score", {"score": "5"})]:
        assert acme.post(reverse(name, args=[globex_case.pk]), data).status_code == 404, name
    globex_case.refresh_from_db()
    assert globex_case.messages.count() == 1 and globex_case.satisfaction_score is None

    # The portal is the customers': staff use the desk.
    assert client_for(people["billing_agent"]).get(reverse("portal_support")).status_code == 403


def test_internal_notes_events_and_their_files_never_reach_the_portal(people, acme_case):
    agent = people["billing_agent"]
    services.reply(case=acme_case, body="您好，我们正在核对合同价格。", actor=agent, attachments=[file("合同.pdf")])
    services.add_note(case=acme_case, body=NOTE, actor=agent, attachments=[file("credit-check.pdf")])
    services.add_event(acme_case, EVENT)
    public = CaseAttachment.objects.get(filename="合同.pdf")
    internal = CaseAttachment.objects.get(filename="credit-check.pdf")

    acme = client_for(people["acme_user"])
    for url in [reverse("portal_support"), reverse("portal_support_case", args=[acme_case.pk])]:
        body = acme.get(url).content.decode()
        assert NOTE not in body and "credit-check.pdf" not in body and "bounced" not in body, url
    body = acme.get(reverse("portal_support_case", args=[acme_case.pk])).content.decode()
    assert "我们正在核对合同价格" in body and "合同.pdf" in body

    download = acme.get(reverse("portal_support_attachment", args=[acme_case.pk, public.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"]
    assert acme.get(reverse("portal_support_attachment", args=[acme_case.pk, internal.pk])).status_code == 404
    # Another customer's user gets neither file, by any URL.
    globex = client_for(people["globex_user"])
    assert globex.get(reverse("portal_support_attachment", args=[acme_case.pk, public.pk])).status_code == 404


# --- a new case, a reply ---------------------------------------------------------------------------------------


def test_a_customer_opens_a_case_about_its_invoice_with_a_file(people, invoices):
    acme = client_for(people["acme_user"])
    assert acme.get(reverse("portal_support_new")).status_code == 200
    response = acme.post(reverse("portal_support_new"), {
        "type": "invoice_dispute", "severity": "B", "subject": "Invoice charged 30 seats, we have 25",
        "description": "Please correct the seat count.", "invoices": [invoices["acme_old"].pk],
        "attachments": [SimpleUploadedFile("seats.pdf", PDF, content_type="application/pdf")]})
    assert response.status_code == 302
    case = Case.objects.get(subject="Invoice charged 30 seats, we have 25")
    assert response["Location"] == reverse("portal_support_case", args=[case.pk])
    assert (case.customer, case.channel, case.type, case.severity) == (people["acme_user"].customer, "portal",
                                                                       "invoice_dispute", "B")
    assert list(case.invoices.all()) == [invoices["acme_old"]]
    assert case.messages.get().attachments.get().filename == "seats.pdf"
    assert AuditEntry.objects.filter(action="case.opened", object_id=str(case.pk)).exists()
    page = acme.get(response["Location"]).content.decode()
    assert "seats.pdf" in page and invoices["acme_old"].number in page


def test_the_new_case_form_refuses_what_the_rules_refuse(people, invoices):
    acme = client_for(people["acme_user"])
    url = reverse("portal_support_new")
    base = {"type": "billing_question", "severity": "C", "subject": "A question", "description": "Why?"}
    # Severity A is for technical problems only.
    body = acme.post(url, {**base, "severity": "A"}).content.decode()
    assert "Severity A (critical) is for technical problems only." in body
    # Another customer's invoice is not a choice.
    body = acme.post(url, {**base, "invoices": [invoices["globex"].pk]}).content.decode()
    assert "Select a valid choice" in body
    # A file of a type not allowed: nothing is kept, not even the case.
    response = acme.post(url, {**base, "attachments": [SimpleUploadedFile("run.exe", b"MZ", "application/x-msdownload")]})
    assert response.status_code == 200 and "are not accepted" in response.content.decode()
    assert not Case.objects.filter(subject="A question").exists()
    # Severity A for a technical problem is fine.
    assert acme.post(url, {**base, "type": "technical", "severity": "A"}).status_code == 302


def test_a_customer_reply_goes_on_the_case_and_a_reply_to_a_closed_case_opens_a_new_one(people, acme_case):
    acme = client_for(people["acme_user"])
    response = acme.post(reverse("portal_support_reply", args=[acme_case.pk]),
                         {"body": "补充：合同编号 HT-2026-07", "attachments": [SimpleUploadedFile("HT.pdf", PDF)]})
    assert response.status_code == 302
    message = acme_case.messages.order_by("-id").first()
    assert (message.direction, message.author, message.body) == ("inbound", people["acme_user"], "补充：合同编号 HT-2026-07")
    assert message.attachments.get().filename == "HT.pdf"
    assert acme.post(reverse("portal_support_reply", args=[acme_case.pk]), {"body": "  "}).status_code == 422

    services.resolve(case=acme_case, body="已更正。", actor=people["billing_agent"])
    acme.get(reverse("portal_support_case", args=[acme_case.pk]))  # read: the resolution reached the customer
    services.close(case=acme_case, actor=people["billing_agent"])
    response = acme.post(reverse("portal_support_reply", args=[acme_case.pk]), {"body": "又有一个问题"})
    follower = Case.objects.get(follows=acme_case)
    assert response["Location"] == reverse("portal_support_case", args=[follower.pk])


# --- closing the loop in the portal ----------------------------------------------------------------------------


def test_opening_the_case_reads_the_answer_so_the_case_may_close(people, acme_case):
    agent, acme = people["billing_agent"], client_for(people["acme_user"])
    services.resolve(case=acme_case, body="已为您开具红字发票。", actor=agent)
    assert 'data-testid="answer-waiting"' in acme.get(reverse("portal_support")).content.decode()
    assert not services.resolution_delivered(Case.objects.get(pk=acme_case.pk))  # the email has not gone yet

    page = acme.get(reverse("portal_support_case", args=[acme_case.pk])).content.decode()
    assert "已为您开具红字发票" in page and "This solved it" in page
    assert 'data-testid="answer-waiting"' not in acme.get(reverse("portal_support")).content.decode()
    case = Case.objects.get(pk=acme_case.pk)
    assert case.resolution_message.read_in_portal_at is not None
    services.close(case=case, actor=agent)  # delivered: read in the portal
    assert Case.objects.get(pk=acme_case.pk).status == CaseStatus.CLOSED
    # A member of staff opening the portal page would not count (the portal is not theirs anyway).
    assert services.mark_read_in_portal(case=case, actor=agent) == 0


def test_the_customer_confirms_or_reopens_in_the_portal_and_scores_once(people, acme_case):
    agent, acme = people["billing_agent"], client_for(people["acme_user"])
    services.resolve(case=acme_case, body="第一次答复", actor=agent)
    acme.post(reverse("portal_support_reopen", args=[acme_case.pk]), {"body": "还是不对，金额仍然多了"})
    case = Case.objects.get(pk=acme_case.pk)
    assert case.status == CaseStatus.OPEN and case.reopen_count == 1
    assert case.messages.filter(body="还是不对，金额仍然多了", direction="inbound").exists()

    services.resolve(case=case, body="第二次答复：已退款 200 元", actor=agent)
    page = acme.get(reverse("portal_support_case", args=[case.pk])).content.decode()
    assert "How did we do?" in page
    assert acme.post(reverse("portal_support_confirm", args=[case.pk])).status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED

    assert acme.post(reverse("portal_support_score", args=[case.pk]), {"score": "9"}).status_code == 422
    assert acme.post(reverse("portal_support_score", args=[case.pk]),
                     {"score": "4", "comment": "第二次才对"}).status_code == 302
    case.refresh_from_db()
    assert (case.satisfaction_score, case.satisfaction_comment) == (4, "第二次才对")
    page = acme.get(reverse("portal_support_case", args=[case.pk])).content.decode()
    assert "How did we do?" not in page and "You scored our help 4 of 5" in page
    again = acme.post(reverse("portal_support_score", args=[case.pk]), {"score": "1"}, follow=True)
    assert "This case has already been scored." in again.content.decode()
    assert Case.objects.get(pk=case.pk).satisfaction_score == 4
    assert AuditEntry.objects.filter(action="case.scored", object_id=str(case.pk)).count() == 1


# --- the signed answer link ------------------------------------------------------------------------------------


def _link_path(message) -> str:
    return re.search(r"/support/answer/[^/\s]+/", message.text).group(0)


def as_invited(user):
    """A portal user as an invitation makes it: for one of its customer's contacts, with the contact's address."""
    contact = user.customer.contacts.first()
    user.contact, user.email = contact, contact.email
    user.save(update_fields=["contact", "email"])
    return user


def test_the_answer_link_from_the_email_reopens_confirms_and_scores_once(people, smtp_server):
    agent = people["billing_agent"]
    acme_case = a_case(as_invited(people["acme_user"]))
    services.add_note(case=acme_case, body=NOTE, actor=agent, attachments=[file("credit-check.pdf")])
    services.resolve(case=acme_case, body="已核实：发票金额正确，差额是上月的调整。", actor=agent)
    send_pending()  # what the worker does: the acknowledgement and the resolution go to the SMTP server
    mail = smtp_server.wait_for(2)[-1]
    assert acme_case.token in mail.subject and mail["To"] == "ap@acme.example.cn"
    link = _link_path(mail)

    anyone = Client(enforce_csrf_checks=True)  # no sign-in: the link is the credential
    page = anyone.get(link)
    body = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "zh-hans"  # the case's language
    assert acme_case.subject in body and "差额是上月的调整" in body and "这解决了问题" in body
    assert NOTE not in body and "credit-check.pdf" not in body and acme_case.description not in body
    csrf = anyone.cookies["csrftoken"].value

    # Not solved: the customer's words reopen the case.
    assert anyone.post(link, {"action": "reopen", "body": "可是合同价不是这个"}).status_code == 403  # no CSRF token
    response = anyone.post(link, {"action": "reopen", "body": "可是合同价不是这个", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    case = Case.objects.get(pk=acme_case.pk)
    assert case.status == CaseStatus.OPEN and case.messages.filter(body="可是合同价不是这个").exists()

    # Resolved again; this time it solved it, and the customer scores it (once).
    services.resolve(case=case, body="已按合同价重开发票。", actor=agent)
    send_pending()
    link = _link_path(smtp_server.wait_for(3)[-1])
    assert anyone.post(link, {"action": "confirm", "csrfmiddlewaretoken": csrf}).status_code == 302
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED
    assert anyone.post(link, {"action": "score", "score": "5", "comment": "很快",
                              "csrfmiddlewaretoken": csrf}).status_code == 302
    again = anyone.post(link, {"action": "score", "score": "1", "csrfmiddlewaretoken": csrf}, follow=True)
    assert 'class="message error"' in again.content.decode() and 'id="score-form"' not in again.content.decode()
    case.refresh_from_db()
    assert (case.status, case.satisfaction_score, case.satisfaction_comment) == (CaseStatus.CLOSED, 5, "很快")
    actions = set(AuditEntry.objects.filter(object_id=str(case.pk), object_type="support.case")
                  .values_list("action", flat=True))
    assert {"case.resolved", "case.reopened", "case.closed", "case.scored"} <= actions


def test_the_answer_page_speaks_the_cases_language(people, globex_case):
    services.resolve(case=globex_case, body="Refund sent.", actor=people["billing_agent"])
    page = client_for(None, language="en").get(reverse("support_answer", args=[answer_token(globex_case)]))
    assert page["Content-Language"] == "zh-hant"
    assert "這解決了問題" in page.content.decode() and "This solved it" not in page.content.decode()


def test_a_forged_or_expired_link_is_refused_kindly(people, acme_case):
    services.resolve(case=acme_case, body="答复", actor=people["billing_agent"])
    token = answer_token(acme_case)
    anyone = Client(headers={"Accept-Language": "en"})
    rest = token.split(":", 1)[1]
    another_case = signing.b64_encode(b'{"case":%d}' % (acme_case.pk + 1)).decode()
    forged = [token[:-3] + ("abc" if not token.endswith("abc") else "xyz"),  # the signature altered
              f"{another_case}:{rest}",  # another case's number under this case's signature
              signing.dumps({"case": acme_case.pk}, salt="another purpose"),  # signed, but not for this
              "nothing"]
    assert all(bad != token for bad in forged)
    for bad in forged:
        for response in [anyone.get(reverse("support_answer", args=[bad])),
                         anyone.post(reverse("support_answer", args=[bad]), {"action": "confirm"})]:
            body = response.content.decode()
            assert response.status_code == 404 and "This link does not work" in body, bad
            assert acme_case.subject not in body and "Traceback" not in body
    with time_machine.travel(timezone.now() + dt.timedelta(days=61)):
        response = anyone.post(reverse("support_answer", args=[token]), {"action": "confirm"})
        assert response.status_code == 404
    assert Case.objects.get(pk=acme_case.pk).status == CaseStatus.RESOLVED


# --- the published support information ---------------------------------------------------------------------------


@pytest.mark.parametrize("language, words", [
    ("en", ["Customer support", "Response targets", "2 hours", "4 working hours", "5 working days"]),
    ("zh-hans", ["客户支持", "响应目标", "2 小时", "4 个工作小时", "5 个工作日"]),
    ("zh-hant", ["客戶支援", "回應目標", "2 小時", "4 個工作小時", "5 個工作日"]),
])
def test_the_support_information_in_three_languages(people, language, words):
    public = client_for(None, language=language).get(reverse("support_information")).content.decode()
    portal = client_for(people["acme_user"], language=language).get(reverse("portal_support_information"))
    assert portal.status_code == 200
    for body in (public, portal.content.decode()):
        assert all(w in body for w in words), [w for w in words if w not in body]


def test_an_administrator_publishes_the_support_information_per_language(people):
    url = reverse("support_information_edit")
    admin = client_for(people["admin"])
    form = admin.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update({"hours_zh_tw": "週一至週五 09:00-18:00（台北時間）", "reason": "台灣團隊"})
    assert admin.post(url, data).status_code == 302
    row = SupportInformation.objects.get()
    assert (row.language, row.hours) == ("zh-TW", "週一至週五 09:00-18:00（台北時間）")
    entry = AuditEntry.objects.get(action="support_information.updated")
    assert (entry.actor, entry.reason) == (people["admin"], "台灣團隊")

    assert "週一至週五" in client_for(None, language="zh-hant").get(reverse("support_information")).content.decode()
    assert "週一至週五" not in client_for(None, language="en").get(reverse("support_information")).content.decode()

    # One text left blank is refused on its field; all three blank goes back to the built-in text.
    response = admin.post(url, {**data, "channels_zh_tw": ""})
    assert response.status_code == 200 and response.context["form"].errors["channels_zh_tw"]
    admin.post(url, {**data, "hours_zh_tw": "", "channels_zh_tw": "", "process_zh_tw": ""})
    assert not SupportInformation.objects.exists()
    assert AuditEntry.objects.filter(action="support_information.reset").count() == 1
    # Only an administrator changes it.
    assert client_for(people["billing_agent"]).post(url, data).status_code == 403
