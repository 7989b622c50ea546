"""Crash and concurrency: a collections run killed at any point and started again, or two runs started
together, leave exactly the actions, emails and operator changes of one clean run."""

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from partnerdesk.billing.models import Invoice
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers import services as _customers
from partnerdesk.customers.models import Subscription
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning import engine, services
from partnerdesk.dunning.models import CallTask, CollectionsAction, OperatorRequest
from partnerdesk.dunning.tests.test_cycle import at
from partnerdesk.notifications import services as _notifications
from partnerdesk.notifications.models import OutboundEmail

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = "2026-11-24"
ROOT = Path(__file__).resolve().parents[3]


class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.fixture
def world(operator, smtp_server):
    """Ten customers whose invoices sit at every stage of the default policy on AS_OF."""
    rng = random.Random(42)
    as_of = dt.date.fromisoformat(AS_OF)
    with at("2026-09-01"):
        for i in range(10):
            customer = make_customer(f"Customer {i}", language=["zh-CN", "zh-TW", "en"][i % 3],
                                     contact={"name": f"C{i}", "email": f"ap{i}@c{i}.example.cn"})
            for n in range(rng.randint(1, 2)):
                operator.add_subscription(customer, offerName=f"Offer {i}-{n}")
            sync_subscriptions(customer, actor=None)
            for days_past_due in rng.sample([-3, 1, 5, 7, 14, 21, 30], 2):
                due = as_of - dt.timedelta(days=days_past_due)
                make_invoice(customer, f"{100 + i}.00", issue_date=due - dt.timedelta(days=30))
    return as_of


def outcome(smtp_server, operator):
    """Everything a run did, in terms that do not depend on database ids."""
    subject = {e.dedupe_key: e.subject for e in OutboundEmail.objects.all()}
    received = sorted((m["To"], m.subject) for m in smtp_server.messages)
    return {
        # keys of operator confirmations carry the request id, which a reset renumbers: name the subscription instead
        "actions": sorted(key if not key.startswith("opreq:") else f"{kind}:{sub}"
                          for key, kind, sub in CollectionsAction.objects.values_list("key", "kind", "subscription__operator_id")),
        "calls": CallTask.objects.count(),
        "requests": sorted(OperatorRequest.objects.values_list("subscription__operator_id", "status")),
        "operator": sorted((s.operator_id, operator.status(s)) for s in Subscription.objects.select_related("customer")),
        "emails_queued": len(subject),
        "received": received,
        "stages": sorted(Invoice.objects.values_list("number", "collections_stage")),
    }


def clean_run(as_of, smtp_server, status="finished"):
    """Run collections once more; `status` is what the caller expects of it ("nothing_due": an earlier run of the
    day finished all the work, so this one is not recorded again)."""
    with at(AS_OF):
        result = engine.run_collections(as_of, batch_size=2)
    assert result.status == status
    return wait_for_quiet(smtp_server)


def wait_for_quiet(smtp_server):
    """Let queued emails reach the SMTP server (sending runs on commit)."""
    from partnerdesk.notifications.services import send_pending

    # Rows queued by a subprocess carry the real clock's time, which may be after the frozen one.
    OutboundEmail.objects.filter(status="queued").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    with at(AS_OF, hour=12):
        send_pending(limit=1000)
    expected = OutboundEmail.objects.filter(status="sent").count()
    smtp_server.wait_for(expected)
    return expected


def reset_collections(operator, smtp_server):
    """Back to the state before any run, keeping the same customers, invoices and subscriptions."""
    CollectionsAction.objects.all().delete()
    CallTask.objects.all().delete()
    OperatorRequest.objects.all().delete()
    OutboundEmail.objects.all().delete()
    Invoice.objects.update(collections_stage=0)
    for sub in Subscription.objects.select_related("customer"):
        operator.simulator.update_subscription(str(sub.customer.tenant_id), sub.operator_id, status="active", suspensionReasons=[])
    Subscription.objects.update(status="active", suspended_at=None, suspension_reason="")
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()


@pytest.fixture
def reference(world, operator, smtp_server):
    """The outcome of one clean run; the database is then put back as it was."""
    clean_run(world, smtp_server)
    expected = outcome(smtp_server, operator)
    assert expected["actions"] and expected["received"] and any(s == "suspended" for _, s in expected["operator"])
    reset_collections(operator, smtp_server)
    return expected


CRASH_POINTS = ["decide", "queue_emails", "insert_rows", "after_batch", "deletion_warnings", "run_record",
                "operator_finish", "operator_call"]


@pytest.mark.parametrize("seed", range(8))
def test_a_run_killed_at_a_random_point_finishes_without_repeating(world, reference, operator, smtp_server, monkeypatch, seed):
    rng = random.Random(seed)
    # Crash twice, then let it finish: first at each crash point in turn (so every point is covered), then at a
    # random one; each time at a random call of it.
    crashed = []
    ran_through = False  # whether an attempt's run finished (a crash after it, in the operator requests, or none)
    for attempt, point in enumerate((CRASH_POINTS[seed % len(CRASH_POINTS)], rng.choice(CRASH_POINTS))):
        nth = 1 if attempt == 0 else rng.randint(1, 5 if point == "insert_rows" else 3)
        calls = {"n": 0}

        def crash(*args, _point=point, _nth=nth, _calls=calls, _real=None, **kwargs):
            _calls["n"] += 1
            if _calls["n"] == _nth:
                crashed.append(_point)  # noted here: a crash inside a background task is not re-raised to us
                raise Crash(_point)
            return _real(*args, **kwargs) if _real else None

        if point == "decide":
            monkeypatch.setattr(engine, "decide", lambda *a, **k: crash(*a, _real=real_decide, **k))
        elif point == "queue_emails":
            monkeypatch.setattr(_notifications, "queue_emails_select", lambda *a, **k: crash(*a, _real=real_queue, **k))
        elif point == "insert_rows":  # any of the recording statements: the log, calls, operator requests, stages
            monkeypatch.setattr(engine, "run_sql", lambda *a, **k: crash(*a, _real=real_run_sql, **k))
        elif point == "deletion_warnings":
            monkeypatch.setattr(engine, "record_deletion_warnings", lambda *a, **k: crash(*a, _real=real_deletion, **k))
        elif point == "run_record":
            monkeypatch.setattr(engine, "record", lambda *a, **k: crash(*a, _real=real_record, **k))
        elif point == "operator_finish":
            monkeypatch.setattr(services, "_tell_customer_when_all_done", lambda *a, **k: crash(*a, _real=real_tell, **k))
        elif point == "operator_call":
            monkeypatch.setattr(_customers, "_operator_call", lambda *a, **k: crash(*a, _real=real_operator_call, **k))
        hook = (lambda i: crash()) if point == "after_batch" else None
        try:
            with at(AS_OF):
                engine.run_collections(dt.date.fromisoformat(AS_OF), batch_size=2, on_batch=hook)
                ran_through = True
                services.process_operator_requests()
        except Crash:
            pass
        monkeypatch.undo()
        # A crash leaves a claimed request in progress: it is picked up again once its claim is stale.
        OperatorRequest.objects.filter(status="in_progress").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert crashed and crashed[0] == CRASH_POINTS[seed % len(CRASH_POINTS)], "the first crash must happen"
    clean_run(world, smtp_server, status="nothing_due" if ran_through else "finished")
    with at(AS_OF, hour=10):
        OperatorRequest.objects.filter(status="pending").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        services.process_operator_requests()
    wait_for_quiet(smtp_server)
    assert outcome(smtp_server, operator) == reference


real_decide = engine.decide
real_deletion = engine.record_deletion_warnings
real_record = engine.record
real_tell = services._tell_customer_when_all_done
real_run_sql = engine.run_sql
real_queue = _notifications.queue_emails_select
real_operator_call = _customers._operator_call


def test_two_runs_started_together_act_once(world, reference, operator, smtp_server):
    barrier = threading.Barrier(2)
    results = []

    def one_run():
        barrier.wait()
        with at(AS_OF):
            results.append(engine.run_collections(dt.date.fromisoformat(AS_OF), batch_size=2).status)
        connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) in (["busy", "finished"], ["finished", "finished"])
    wait_for_quiet(smtp_server)
    assert outcome(smtp_server, operator) == reference


def _subprocess_env(operator, smtp_server):
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    conf = operator.handle
    return dict(os.environ, DATABASE_URL=url, PARTNERDESK_MODE="test", DJANGO_SETTINGS_MODULE="partnerdesk.settings",
                # As in production: the run only queues; the worker sends emails and calls the operator afterwards.
                PARTNERDESK_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
                PARTNER_CENTER_BASE_URL=conf.url, PARTNER_CENTER_TOKEN_URL=conf.token_url,
                PARTNER_CENTER_TENANT_ID="partner.onmschina.cn", PARTNER_CENTER_CLIENT_ID=conf.simulator.client_id,
                PARTNER_CENTER_CLIENT_SECRET=conf.simulator.client_secret, PARTNER_CENTER_BACKOFF="0.01",
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=str(smtp_server.port))


def test_a_real_process_killed_with_sigkill_and_restarted(world, reference, operator, smtp_server):
    """The collections command in its own process, killed with SIGKILL mid-run, then run again."""
    env = _subprocess_env(operator, smtp_server)
    cmd = [sys.executable, "manage.py", "collections", "run", "--as-of", AS_OF]
    rng = random.Random(7)
    for _ in range(3):
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The killed run's lease would block the next run for its TTL; a restart after a crash takes it over.
        from partnerdesk.dunning.models import RunLock
        RunLock.objects.update(expires_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        OperatorRequest.objects.filter(status="in_progress").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with at(AS_OF, hour=10):
        OperatorRequest.objects.filter(status="pending").update(next_attempt_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        services.process_operator_requests()
    wait_for_quiet(smtp_server)
    assert outcome(smtp_server, operator) == reference
