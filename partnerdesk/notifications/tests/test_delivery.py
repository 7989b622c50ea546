"""A change queues an email in its own transaction; the worker delivers it over real SMTP, in the customer's
language, exactly once, and keeps trying (then gives up visibly) when the mail server is away."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.customers.models import BillingContact
from partnerdesk.customers.services import add_contact
from partnerdesk.notifications import sending, services
from partnerdesk.notifications.models import EmailStatus, OutboundEmail

pytestmark = pytest.mark.django_db

SUSPENSION = {
    "invoice_number": "INV-2026-000123",
    "amount_due": "12800.00",
    "currency": "CNY",
    "due_date": "2026-10-31",
    "suspension_date": "2026-11-24",
    "deletion_date": "2027-01-23",
    "subscriptions": ["Microsoft 365 E3", "Exchange Online (Plan 1)"],
}


def queue(customer, key="collections.suspended", context=None, **kw):
    """Queue as a service does: inside the transaction of the change."""
    with transaction.atomic():
        return services.queue_email(customer=customer, template_key=key,
                                    context={"customer_name": customer.name, **(context or SUSPENSION)}, **kw)


def refreshed(email):
    email.refresh_from_db()
    return email


@pytest.mark.parametrize("language, subject, phrases", [
    ("zh-CN", "重要：您的订阅因逾期未付已被暂停",
     ["您好", "发票 INV-2026-000123（到期日 2026年10月31日）逾期未付", "我们已于 2026年11月24日 暂停",
      "2027年1月23日", "支付逾期款项 CNY 12,800.00", "数据将被永久删除", "  · Microsoft 365 E3\n"]),
    ("zh-TW", "重要：您的訂閱因逾期未付已被暫停",
     ["您好", "2026年11月24日", "2027年1月23日", "資料將被永久刪除", "世紀互聯", "CNY 12,800.00"]),
    ("en", "Your subscriptions have been suspended for non-payment",
     ["Dear", "as of 24 Nov 2026", "before 23 Jan 2027", "due on 31 Oct 2026", "CNY 12,800.00",
      "  · Exchange Online (Plan 1)"]),
])
def test_the_customer_receives_the_email_in_its_language(smtp_server, django_capture_on_commit_callbacks,
                                                         language, subject, phrases):
    customer = make_customer("客戶 " + language, language=language)
    with django_capture_on_commit_callbacks(execute=True):  # the commit enqueues the send task (run at once here)
        email = queue(customer)

    [message] = smtp_server.messages
    contact = customer.primary_contact
    assert message["To"] == contact.email
    assert message["Subject"] == subject
    assert message["Content-Language"] == language
    assert message.get_body(("plain",)).get_content_charset() == "utf-8"
    body = smtp_server.text(message)
    for phrase in phrases:
        assert phrase in body
    assert "{{" not in body and "{%" not in body

    email = refreshed(email)
    assert (email.status, email.attempts, email.language) == (EmailStatus.SENT, 1, language)
    assert email.sent_at is not None and email.message_id == message["Message-ID"]
    assert email.subject == subject and "2026" in email.body  # what was sent is kept


def test_the_email_goes_to_the_primary_contact_in_the_contacts_language(smtp_server):
    customer = make_customer("Contoso 上海", language="zh-CN")
    # Made primary through the service: a customer has one primary billing contact (a database constraint).
    add_contact(customer, actor=None, name="Wang Fang", email="ap@contoso.example.cn", language="en", is_primary=True)
    email = queue(customer)
    assert (email.to_address, email.language) == ("ap@contoso.example.cn", "en")

    services.send_pending()
    assert smtp_server.to("ap@contoso.example.cn")[0]["Subject"].startswith("Your subscriptions have been suspended")


def test_a_dedupe_key_queues_exactly_once(smtp_server, customer_a):
    first = queue(customer_a, dedupe_key="inv-123:suspended")
    again = queue(customer_a, dedupe_key="inv-123:suspended")
    with transaction.atomic():
        attempted = services.queue_emails_bulk([{"customer": customer_a, "template_key": "collections.suspended",
                                                 "context": SUSPENSION, "dedupe_key": "inv-123:suspended"}])
    assert again.pk == first.pk and attempted == 1
    assert OutboundEmail.objects.filter(dedupe_key="inv-123:suspended").count() == 1

    services.send_all_due()
    services.send_all_due()
    assert len(smtp_server.messages) == 1
    assert AuditEntry.objects.filter(action="email.queued").count() == 1


def test_queueing_is_part_of_the_change(customer_a):
    try:
        with transaction.atomic():
            queue(customer_a)
            raise ValueError("the change failed")
    except ValueError:
        pass
    assert not OutboundEmail.objects.exists()


def test_rendering_waits_for_the_send(customer_a):
    email = queue(customer_a)
    assert (email.subject, email.body) == ("", "")


def test_mail_server_down_then_back(smtp_server, customer_a):
    smtp_server.stop()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue(customer_a)
        result = services.send_pending()
    email = refreshed(email)
    assert result["server_error"] and result["requeued"] == 1
    assert (email.status, email.attempts) == (EmailStatus.QUEUED, 1)
    assert "Connection refused" in email.last_error or "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at == start + dt.timedelta(minutes=5)
    assert email.subject.startswith("重要：您的订阅")  # rendered, ready for staff to read

    smtp_server.start()
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        assert services.send_pending()["claimed"] == 0  # not due yet: backoff
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert services.send_pending()["sent"] == 1
    email = refreshed(email)
    assert (email.status, email.attempts, email.last_error) == (EmailStatus.SENT, 2, "")
    assert len(smtp_server.messages) == 1


def test_an_outage_costs_one_attempt_not_one_per_email(smtp_server, customer_a, customer_b):
    smtp_server.stop()
    emails = [queue(customer_a, dedupe_key="a"), queue(customer_b, dedupe_key="b"), queue(customer_a, dedupe_key="c")]
    result = services.send_all_due()
    assert result["claimed"] == 1 and result["server_error"]
    assert sorted(refreshed(e).attempts for e in emails) == [0, 0, 1]


def test_after_five_attempts_the_email_fails_visibly(smtp_server, customer_a):
    smtp_server.stop()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue(customer_a)
    delays = []
    for hour in range(5):
        with time_machine.travel(start + dt.timedelta(hours=hour), tick=False):
            services.send_pending()
            email = refreshed(email)
            delays.append(email.next_attempt_at - timezone.now())
    assert (email.status, email.attempts) == (EmailStatus.FAILED, 5)
    assert delays[:4] == [dt.timedelta(minutes=m) for m in (5, 10, 20, 40)]
    failed = AuditEntry.objects.get(action="email.failed", object_id=str(email.pk))
    assert (failed.actor_label, failed.customer_id, failed.after["status"]) == ("system", customer_a.pk, "failed")
    with time_machine.travel(start + dt.timedelta(days=1), tick=False):
        assert services.send_pending()["claimed"] == 0


def test_a_refused_recipient_fails_at_once(smtp_server, customer_a):
    email = queue(customer_a)
    smtp_server.refuse(email.to_address)
    assert services.send_pending()["failed"] == 1
    email = refreshed(email)
    assert email.status == EmailStatus.FAILED and email.attempts == 1 and "550" in email.last_error
    assert smtp_server.messages == []


def test_a_customer_without_an_address_shows_a_failed_email(smtp_server, users):
    customer = make_customer("No Contact Ltd", contact=None)
    email = queue(customer)
    assert (email.status, email.last_error) == (EmailStatus.FAILED, sending.NO_RECIPIENT)

    BillingContact.objects.create(customer=customer, name="Zhao Min", email="finance@nocontact.example.cn")
    services.retry(email, actor=users["billing_agent"])
    services.send_pending()
    assert refreshed(email).status == EmailStatus.SENT
    assert smtp_server.to("finance@nocontact.example.cn")


def test_a_worker_that_died_mid_send_leaves_the_email_claimable(smtp_server, customer_a):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        email = queue(customer_a)
        sending.claim_next("worker-that-crashed")  # claimed, then the process died
        assert services.send_pending()["claimed"] == 0
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        assert services.send_pending(worker_id="worker-2")["sent"] == 1
    email = refreshed(email)
    assert (email.status, email.claimed_by) == (EmailStatus.SENT, "worker-2")
    assert len(smtp_server.messages) == 1


def test_bulk_queue_resolves_recipients_in_one_query(smtp_server, django_assert_max_num_queries):
    customers = [make_customer(f"客户 {i}", language=lang) for i, lang in enumerate(["zh-CN", "zh-TW", "en"] * 4)]
    no_contact = make_customer("No Contact Ltd", contact=None)
    rows = [{"customer": c, "template_key": "collections.reminder", "dedupe_key": f"reminder:{c.pk}",
             "context": {"customer_name": c.name, "invoice_number": f"INV-{c.pk}", "amount_due": "99.5",
                         "currency": "CNY", "due_date": "2026-11-30"}} for c in [*customers, no_contact]]
    rows.append({"customer_id": customers[0].pk, "template_key": "collections.reminder", "context": {},
                 "to": "cfo@example.cn", "language": "en"})
    with transaction.atomic():
        # The recipients of all 13 customers in one query, then the insert (on PostgreSQL: look up known keys,
        # a savepoint and one COPY): a fixed number, whatever the number of rows.
        with django_assert_max_num_queries(5):
            assert services.queue_emails_bulk(rows) == len(rows)
        assert services.queue_emails_bulk(rows[:3]) == 3  # a rerun: nothing new

    assert OutboundEmail.objects.count() == len(rows)
    assert OutboundEmail.objects.get(customer=no_contact).status == EmailStatus.FAILED
    assert services.send_all_due()["sent"] == len(rows) - 1
    by_address = {m["To"]: m for m in smtp_server.messages}
    assert by_address[customers[1].primary_contact.email]["Subject"] == \
        f"付款提醒：發票 INV-{customers[1].pk} 將於 2026年11月30日 到期"
    assert "CNY 99.50" in smtp_server.text(by_address[customers[2].primary_contact.email])
    assert by_address["cfo@example.cn"]["Content-Language"] == "en"
