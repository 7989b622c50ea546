"""Every state change of an email is in the audit log, with who did it and why."""

import pytest
from django.db import transaction

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import BillingContact
from partnerdesk.notifications import services

pytestmark = pytest.mark.django_db


def test_an_emails_life_is_audited(smtp_server, customer_a, users):
    with transaction.atomic():
        email = services.queue_email(customer=customer_a, template_key="collections.reactivated",
                                     context={"subscriptions": ["Microsoft 365 E3"]}, actor=users["collections"])
    services.send_pending()
    email.refresh_from_db()
    services.mark_bounced(email, reason="550 5.1.1 user unknown", actor=users["billing_agent"])
    # The agent corrects the contact's address; the retry goes to the new one.
    BillingContact.objects.filter(customer=customer_a).update(email="ap@contoso.example.cn")
    services.retry(email, actor=users["billing_agent"], reason="address corrected")
    services.send_pending()

    entries = list(AuditEntry.objects.filter(object_type="notifications.outboundemail", object_id=str(email.pk))
                   .order_by("at", "id"))
    assert [(e.action, e.actor_label) for e in entries] == [
        ("email.queued", "collections1"),
        ("email.sent", "system"),
        ("email.bounced", "billing_agent1"),
        ("email.retried", "billing_agent1"),
        ("email.sent", "system"),
    ]
    assert all(e.customer_id == customer_a.pk for e in entries)
    bounced, retried = entries[2], entries[3]
    assert (bounced.before["status"], bounced.after["status"], bounced.reason) == ("sent", "bounced", "550 5.1.1 user unknown")
    assert (retried.after["status"], retried.after["to_address"], retried.reason) == \
        ("queued", "ap@contoso.example.cn", "address corrected")
    assert [m["To"] for m in smtp_server.messages][-1] == "ap@contoso.example.cn"
    assert smtp_server.messages[-1]["Subject"] == "服务已恢复：您的订阅已重新启用"
    assert "Microsoft 365 E3" in smtp_server.text(smtp_server.messages[-1])


def test_a_template_change_is_audited(users):
    services.update_template(key="collections.deletion_warning", language="en", actor=users["admin"], reason="legal review",
                             subject="Your data will be deleted on {{ deletion_date }}", body="Please pay {{ amount_due }}.")
    services.reset_template(key="collections.deletion_warning", language="en", actor=users["admin"])
    assert list(AuditEntry.objects.filter(object_type="notifications.emailtemplate").order_by("id")
                .values_list("action", "actor_label", "reason")) == [
        ("email_template.updated", "admin1", "legal review"),
        ("email_template.reset", "admin1", ""),
    ]
