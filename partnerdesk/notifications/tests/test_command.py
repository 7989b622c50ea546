"""`partnerdesk send-emails` flushes the queue."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from partnerdesk.notifications import services

pytestmark = pytest.mark.django_db


def test_send_emails_flushes_the_queue(smtp_server, customer_a, customer_b):
    with transaction.atomic():
        for customer in (customer_a, customer_b):
            services.queue_email(customer=customer, template_key="collections.reminder",
                                 context={"invoice_number": "INV-1", "due_date": "2026-12-01"})
    out = io.StringIO()
    call_command("send_emails", "--limit", "1", stdout=out)
    assert out.getvalue().strip() == "sent 2, requeued 0, failed 0"
    assert sorted(m["Content-Language"] for m in smtp_server.messages) == ["en", "zh-CN"]


def test_send_emails_says_when_the_server_is_down(smtp_server, customer_a):
    smtp_server.stop()
    with transaction.atomic():
        services.queue_email(customer=customer_a, template_key="collections.reminder", context={})
    out = io.StringIO()
    call_command("send_emails", stdout=out)
    assert out.getvalue().strip() == "sent 0, requeued 1, failed 0 (the mail server could not be reached)"
