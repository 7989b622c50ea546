"""Real commits: queueing needs the change's transaction, and several workers sending at once deliver every
email exactly once."""

import threading

import pytest
from django.db import connection, transaction

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.notifications import services
from partnerdesk.notifications.models import EmailStatus, OutboundEmail

WORKERS = 3
EMAILS = 40


@pytest.mark.django_db(transaction=True)
def test_queueing_outside_a_transaction_is_refused(customer_a):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.queue_email(customer=customer_a, template_key="collections.reminder", context={})
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.queue_emails_bulk([{"customer": customer_a, "template_key": "collections.reminder", "context": {}}])
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_deliver_each_email_exactly_once(smtp_server, settings):
    # No task runs at commit here: the workers below are the only senders.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    customer = make_customer("Contoso 上海")
    with transaction.atomic():
        services.queue_emails_bulk([
            {"customer": customer, "template_key": "collections.reminder", "dedupe_key": f"reminder:{i}",
             "context": {"invoice_number": f"INV-2026-{i:06d}", "due_date": "2026-11-30"}}
            for i in range(EMAILS)
        ])

    start = threading.Barrier(WORKERS)
    results, errors = {}, []

    def work(name):
        try:
            start.wait()
            results[name] = services.send_all_due(limit=5, worker_id=name)
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert len(subjects) == EMAILS and len(set(subjects)) == EMAILS
    assert sum(r["sent"] for r in results.values()) == EMAILS
    assert OutboundEmail.objects.filter(status=EmailStatus.SENT, attempts=1).count() == EMAILS
    assert AuditEntry.objects.filter(action="email.sent").count() == EMAILS
