"""Emails on the customer page (status, bounces and failures, sending again), and a collections run from the
web that queues them and fills the collections log."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.dunning.models import CollectionsAction, CollectionsRun
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.notifications.services import queue_email

from .factories import client_for, make_invoice

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def emails(acme):
    with transaction.atomic():
        sent = queue_email(customer=acme, template_key="collections.reminder", context={"invoice_number": "INV-1"})
        failed = queue_email(customer=acme, template_key="collections.notice", context={"invoice_number": "INV-1"})
        bounced = queue_email(customer=acme, template_key="collections.notice", context={"invoice_number": "INV-2"})
    OutboundEmail.objects.filter(pk=sent.pk).update(status=EmailStatus.SENT, subject="Payment reminder INV-1")
    OutboundEmail.objects.filter(pk=failed.pk).update(status=EmailStatus.FAILED, attempts=5,
                                                      last_error="SMTP 421: service not available")
    OutboundEmail.objects.filter(pk=bounced.pk).update(status=EmailStatus.BOUNCED, last_error="550 5.1.1 user unknown")
    return {"sent": sent, "failed": failed, "bounced": bounced}


def test_the_customer_page_lists_emails_with_failures_and_bounces(people, acme, emails):
    body = client_for(people["auditor"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert 'id="emails"' in body and "Payment reminder INV-1" in body
    assert "SMTP 421: service not available" in body and "550 5.1.1 user unknown" in body
    assert '<span class="badge danger">Bounced</span>' in body and '<span class="badge danger">Failed</span>' in body
    assert "Send again" not in body  # the auditor may not
    agent_body = client_for(people["billing_agent"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert agent_body.count("Send again") == 2  # the failed and the bounced one, not the sent one


def test_sending_a_failed_email_again(people, acme, emails):
    c = client_for(people["collections"])
    response = c.post(reverse("email_retry", args=[acme.pk, emails["bounced"].pk]), follow=True)
    assert "The email will be sent again to ap@acme.example.cn." in response.content.decode()
    emails["bounced"].refresh_from_db()
    assert emails["bounced"].status == EmailStatus.QUEUED
    assert AuditEntry.objects.filter(action="email.retried").exists()
    # A sent email cannot be retried: the refusal is shown, translated.
    response = client_for(people["collections"], language="zh-hans").post(
        reverse("email_retry", args=[acme.pk, emails["sent"].pk]), follow=True)
    assert "只有发送失败或被退回的邮件才能重新发送" in response.content.decode()


def test_retry_permissions_and_scoping(people, acme, globex, emails):
    assert client_for(people["finance"]).post(reverse("email_retry", args=[acme.pk, emails["failed"].pk])).status_code == 403
    assert client_for(people["admin"]).post(reverse("email_retry", args=[globex.pk, emails["failed"].pk])).status_code == 404
    assert client_for(people["admin"]).get(reverse("email_retry", args=[acme.pk, emails["failed"].pk])).status_code == 405


def test_the_dashboard_lists_failed_and_bounced_emails(people, emails):
    body = client_for(people["finance"]).get(reverse("dashboard")).content.decode()
    assert "SMTP 421: service not available" in body and "550 5.1.1 user unknown" in body


def test_running_collections_from_the_web_queues_the_reminder(people, acme):
    invoice = make_invoice(acme, "1280.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))
    with time_machine.travel(dt.datetime(2026, 10, 28, 9, tzinfo=BEIJING), tick=False):
        response = client_for(people["collections"]).post(reverse("collections_run_now"), follow=True)
        assert "Invoices that reached a stage: 1. Emails queued: 1." in response.content.decode()
        assert CollectionsRun.objects.get().status == "finished"
        action = CollectionsAction.objects.get(customer=acme)
        assert action.kind == "reminder" and action.invoice == invoice
        body = client_for(people["collections"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "Reminder sent" in body and "collections.reminder" in body
    assert OutboundEmail.objects.filter(customer=acme, template_key="collections.reminder").count() == 1
    # A second run the same day adds nothing.
    with time_machine.travel(dt.datetime(2026, 10, 28, 10, tzinfo=BEIJING), tick=False):
        client_for(people["collections"]).post(reverse("collections_run_now"))
    assert CollectionsAction.objects.filter(customer=acme).count() == 1
