"""What one batch of the collections run writes: the log, call tasks, operator requests and emails, each
from one set-based statement. Focused on the rules the whole-cycle tests do not reach: suspending only the
subscriptions billed on the invoice, stages skipped over by a missed run, who an email goes to, and a
batch recorded twice."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.db.models import ProtectedError

from partnerdesk.billing.models import Invoice
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.models import BillingContact, Subscription
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning import engine
from partnerdesk.dunning.models import ActionKind, CallTask, CollectionsAction, OperatorRequest, SuspendScope
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.tests.test_cycle import at
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.notifications.sending import NO_RECIPIENT

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = dt.date(2026, 11, 24)


def record(as_of=AS_OF):
    with at(as_of.isoformat()):
        due = engine.decide(as_of)
        return due, engine.record_due(due, as_of=as_of)


def stage_at(offset_days):
    return default_policy().stages.get(offset_days=offset_days)


def test_a_stage_that_suspends_the_invoices_subscriptions_leaves_the_others_alone(operator, smtp_server):
    suspension = stage_at(21)
    suspension.suspend_scope = SuspendScope.INVOICE
    suspension.save()
    with at("2026-10-01"):
        customer = make_customer("Northwind 深圳")
        for offer in ("Microsoft 365 E3", "Azure plan", "Exchange Online"):
            operator.add_subscription(customer, offerName=offer)
        billed, other, cancelled = sync_subscriptions(customer, actor=None)
    Subscription.objects.filter(pk=cancelled.pk).update(status="cancelled")
    invoice = make_invoice(customer, "300.00", issue_date=AS_OF - dt.timedelta(days=51), subscription=billed)
    make_invoice(customer, "50.00", issue_date=AS_OF - dt.timedelta(days=40), subscription=cancelled)  # due 10 days ago

    due, counts = record()

    assert {d.invoice_id: d.target.offset_days for d in due}[invoice.pk] == 21
    requests = OperatorRequest.objects.all()
    assert [(r.subscription_id, r.action) for r in requests] == [(billed.pk, "suspend")]
    assert requests[0].reason == f"Non-payment: invoice {invoice.number} unpaid 21 days after its due date"
    assert requests[0].cause == f"inv:{invoice.pk}:st:{suspension.pk}"
    log = CollectionsAction.objects.get(kind=ActionKind.SUSPEND)
    assert log.invoice_id == invoice.pk and log.detail == {"subscriptions": [billed.pk]}
    # The cancelled subscription's invoice is not at a suspension stage, and "other" was never billed.
    assert counts["operator_requests"] == 1
    assert other.pk not in [r.subscription_id for r in requests]


def test_a_suspension_of_all_subscriptions_names_each_active_one_in_order(operator, smtp_server):
    with at("2026-10-01"):
        customer = make_customer("Tailspin 广州")
        for offer in ("C", "A", "B"):
            operator.add_subscription(customer, offerName=offer)
        subs = sync_subscriptions(customer, actor=None)
    make_invoice(customer, "300.00", issue_date=AS_OF - dt.timedelta(days=51))

    record()

    log = CollectionsAction.objects.get(kind=ActionKind.SUSPEND)
    assert log.detail == {"subscriptions": sorted(s.pk for s in subs)}
    assert sorted(OperatorRequest.objects.values_list("subscription_id", flat=True)) == sorted(s.pk for s in subs)
    # The queued rows keep no database-level foreign key; Django still refuses to delete what they point at.
    with pytest.raises(ProtectedError) as refused:
        subs[0].delete()
    assert any(isinstance(o, OperatorRequest) for o in refused.value.protected_objects)


def test_a_customer_with_a_queued_email_cannot_be_deleted(smtp_server):
    from django.db import transaction

    from partnerdesk.notifications.services import queue_email

    customer = make_customer("Margie's Travel 厦门")
    with transaction.atomic():
        queue_email(customer=customer, template_key="collections.reminder", context={})
    with pytest.raises(ProtectedError) as refused:
        customer.delete()
    assert any(isinstance(o, OutboundEmail) for o in refused.value.protected_objects)


def test_stages_skipped_by_missed_runs_still_flag_their_calls_but_send_only_todays_notice(smtp_server):
    customer = make_customer("Litware 成都", language="zh-TW")
    invoice = make_invoice(customer, "1234.50", issue_date=AS_OF - dt.timedelta(days=45))  # due 15 days ago

    due, counts = record()

    [d] = due
    assert (d.done_position, d.target.offset_days) == (0, 14)
    final_notice = stage_at(14)
    keys = sorted(CollectionsAction.objects.values_list("key", flat=True))
    assert keys == sorted([f"inv:{invoice.pk}:st:{final_notice.pk}:notice", f"inv:{invoice.pk}:st:{final_notice.pk}:call"])
    assert CallTask.objects.get().note == f"{invoice.number}: {final_notice.name}"
    email = OutboundEmail.objects.get()
    assert email.dedupe_key == f"inv:{invoice.pk}:st:{final_notice.pk}:notice"
    assert email.template_key == final_notice.template_key
    assert email.context == {
        "invoice_number": invoice.number, "amount_due": "1234.50", "currency": "CNY", "due_date": "2026-11-09",
        "days_overdue": 15, "suspension_date": "2026-11-30", "deletion_date": "2027-01-29", "stage": final_notice.name,
        "amount_disputed": "",  # nothing under dispute
    }
    assert counts == {"actions": 2, "emails": 1, "calls": 1, "operator_requests": 0, "moved": 1}
    assert Invoice.objects.get(pk=invoice.pk).collections_stage == final_notice.position


def test_an_email_goes_to_the_primary_contact_in_its_language_and_is_kept_as_failed_without_one(smtp_server):
    with_contacts = make_customer("Adatum 杭州", language="zh-CN", contact={"name": "Ops", "email": "ops@adatum.example.cn"})
    BillingContact.objects.filter(customer=with_contacts).update(is_primary=False)
    BillingContact.objects.create(customer=with_contacts, name="AP", email="ap@adatum.example.cn", language="en", is_primary=True)
    without_contact = make_customer("Fourth Coffee 南京", language="zh-TW", contact={})
    assert not BillingContact.objects.filter(customer=without_contact).exists()
    for customer in (with_contacts, without_contact):
        make_invoice(customer, "99.00", issue_date=AS_OF - dt.timedelta(days=31))  # due yesterday: the first notice

    record()

    sent = OutboundEmail.objects.get(customer=with_contacts)
    assert (sent.to_address, sent.language) == ("ap@adatum.example.cn", "en")
    [message] = smtp_server.wait_for(1)  # the worker sends it on commit; the one without an address never goes
    assert message["To"] == "ap@adatum.example.cn" and "Overdue" in message.subject
    unsent = OutboundEmail.objects.get(customer=without_contact)
    assert (unsent.to_address, unsent.language, unsent.status, unsent.last_error) == ("", "zh-TW", EmailStatus.FAILED, NO_RECIPIENT)
    assert json.loads(json.dumps(unsent.context))["days_overdue"] == 1


def test_a_batch_recorded_twice_adds_nothing_the_second_time(operator, smtp_server):
    with at("2026-10-01"):
        customer = make_customer("Proseware 武汉")
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        sync_subscriptions(customer, actor=None)
    for days in (27, 31, 37, 44, 51):  # every stage of the default policy, reached today
        make_invoice(customer, "10.00", issue_date=AS_OF - dt.timedelta(days=days))
    with at(AS_OF.isoformat()):
        due = engine.decide(AS_OF)
        first = engine.record_due(due, as_of=AS_OF)
        before = (CollectionsAction.objects.count(), OutboundEmail.objects.count(), CallTask.objects.count(),
                  OperatorRequest.objects.count())
        again = engine.record_due(due, as_of=AS_OF)  # as a run restarted after a crash might
    assert len(due) == 5 and first["actions"] == before[0] and first["emails"] == before[1] == 4
    assert again == {"actions": 0, "emails": 0, "calls": 0, "operator_requests": 0, "moved": 0}
    assert (CollectionsAction.objects.count(), OutboundEmail.objects.count(), CallTask.objects.count(),
            OperatorRequest.objects.count()) == before


def vacuums_of_the_invoice_table():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'billing_invoice'")
        return cursor.fetchone()[0]


def test_a_run_that_moved_many_invoices_vacuums_the_invoice_table_on_postgresql(monkeypatch, smtp_server):
    monkeypatch.setattr(engine, "TIDY_AFTER", 2)  # "many", for a test
    customer = make_customer("Wingtip 西安", contact={})
    for days in (27, 31):
        make_invoice(customer, "10.00", issue_date=AS_OF - dt.timedelta(days=days))
    before = vacuums_of_the_invoice_table() if connection.vendor == "postgresql" else None
    with at(AS_OF.isoformat()):
        result = engine.run_collections(AS_OF)
        assert result.status == "finished" and result.counts["due"] == 2
        if connection.vendor == "postgresql":
            assert result.tidy_seconds > 0
            assert vacuums_of_the_invoice_table() == before + 1
        else:  # SQLite rewrites index entries in place: nothing to tidy
            assert result.tidy_seconds == 0
        assert engine.run_collections(AS_OF).tidy_seconds == 0  # nothing moved the second time


def test_a_suspension_date_in_a_year_the_calendar_has_not_read_yet_is_worked_out_before_recording(smtp_server):
    """Working out the suspension date for the email may read the working-day calendar. On PostgreSQL that read
    must not happen while the batch's rows are being copied on the same connection (the run would wait on itself)."""
    from partnerdesk.workdays import services as workdays

    suspension = stage_at(21)
    suspension.day_kind = "business"
    suspension.save()
    customer = make_customer("Blue Yonder 天津")
    as_of = dt.date(2026, 12, 10)
    invoice = make_invoice(customer, "88.00", issue_date=dt.date(2026, 11, 13))  # due 13 December: the reminder
    workdays.clear_cache()
    with at(as_of.isoformat()):
        due = engine.decide(as_of)
        assert 2027 not in workdays._cache  # deciding never needed January's calendar
        counts = engine.record_due(due, as_of=as_of)
    assert counts["emails"] == 1
    context = OutboundEmail.objects.get(customer=customer).context
    assert context["invoice_number"] == invoice.number
    assert context["suspension_date"] > "2027-01-01"  # 21 business days after 13 December, past the new year



def test_two_invoices_reaching_suspension_together_suspend_and_tell_the_customer_once(operator, smtp_server):
    with at("2026-10-01"):
        customer = make_customer("Wide World Importers 青岛", contact={"name": "AP", "email": "ap@wwi.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        operator.add_subscription(customer, offerName="Azure plan")
        subs = sync_subscriptions(customer, actor=None)
    for amount in ("100.00", "200.00"):  # both due 21 days ago: both reach the suspension stage today
        make_invoice(customer, amount, issue_date=AS_OF - dt.timedelta(days=51))
    with at(AS_OF.isoformat()):
        result = engine.run_collections(AS_OF)  # the worker carries the requests out as they are queued (tests)
    assert result.counts["operator_requests"] == 4  # two causes, two subscriptions each
    for sub in subs:
        assert operator.status(sub) == "suspended"
    statuses = sorted(OperatorRequest.objects.values_list("status", flat=True))
    assert statuses == ["done", "done", "skipped", "skipped"]
    suspended_log = CollectionsAction.objects.filter(kind=ActionKind.SUSPENDED)
    assert sorted(suspended_log.values_list("subscription_id", flat=True)) == sorted(s.pk for s in subs)
    emails = OutboundEmail.objects.filter(customer=customer, template_key="collections.suspended")
    assert emails.count() == 1
    [message] = [m for m in smtp_server.wait_for(1) if m["To"] == "ap@wwi.example.cn" and "暂停" in m.subject]
    assert "Microsoft 365 E3" in message.text and "Azure plan" in message.text


def test_two_workers_suspending_a_customers_subscriptions_crosswise_still_tell_it_once(operator, smtp_server):
    """Two invoices reach suspension together, and two workers carry out their requests at once: each suspends
    one of the subscriptions and finds the other already suspended by the other worker. The customer gets one
    email naming both, whichever worker finishes last."""
    from partnerdesk.dunning.services import _carry_out

    with at("2026-10-01"):
        customer = make_customer("Wide World Importers 烟台", contact={"name": "AP", "email": "ap@wwi-yt.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        operator.add_subscription(customer, offerName="Azure plan")
        first_sub, second_sub = sync_subscriptions(customer, actor=None)
    for amount in ("100.00", "200.00"):
        make_invoice(customer, amount, issue_date=AS_OF - dt.timedelta(days=51))
    record()
    by_cause = {}
    for req in OperatorRequest.objects.order_by("id"):
        by_cause.setdefault(req.cause, {})[req.subscription_id] = req
    first_cause, second_cause = by_cause.values()
    crosswise = [first_cause[first_sub.pk], second_cause[second_sub.pk], first_cause[second_sub.pk],
                 second_cause[first_sub.pk]]
    with at(AS_OF.isoformat(), hour=9):
        outcomes = []
        for req in crosswise:
            req = OperatorRequest.objects.select_related("subscription__customer").get(pk=req.pk)
            outcomes.append(_carry_out(req))
            if len(outcomes) < 4:  # not yet: a request of the causes is still to be carried out
                assert not OutboundEmail.objects.filter(template_key="collections.suspended").exists()
    assert outcomes == ["done", "done", "skipped", "skipped"]
    [email] = OutboundEmail.objects.filter(customer=customer, template_key="collections.suspended")
    assert email.context["subscriptions"] == [str(first_sub), str(second_sub)]
    assert not OperatorRequest.objects.filter(status="done", told_at__isnull=True).exists()


def test_two_workers_suspending_the_same_subscription_at_once_record_it_once(operator, smtp_server):
    """Both read the subscription as active and both call the operator; the one that records second finds the
    suspension already recorded by the other and stands down."""
    from partnerdesk.dunning.services import _carry_out

    with at("2026-10-01"):
        customer = make_customer("Wide World Importers 威海", contact={"name": "AP", "email": "ap@wwi-wh.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        [sub] = sync_subscriptions(customer, actor=None)
    for amount in ("100.00", "200.00"):
        make_invoice(customer, amount, issue_date=AS_OF - dt.timedelta(days=51))
    record()
    first, second = OperatorRequest.objects.order_by("id").select_related("subscription__customer")
    assert first.subscription == second.subscription == sub
    with at(AS_OF.isoformat(), hour=9):
        assert _carry_out(first) == "done"
        assert _carry_out(second) == "skipped"  # its copy of the subscription still read "active"
    sub.refresh_from_db()
    assert sub.status == "suspended"
    assert CollectionsAction.objects.filter(kind=ActionKind.SUSPENDED).count() == 1
    [email] = OutboundEmail.objects.filter(customer=customer, template_key="collections.suspended")
    assert email.context["subscriptions"] == [str(sub)]
    suspended_at = sub.suspended_at
    with at(AS_OF.isoformat(), hour=10):
        from partnerdesk.customers.services import suspend_subscription
        stale = Subscription.objects.get(pk=sub.pk)
        stale.status = "active"
        suspend_subscription(stale, actor=None, reason_code="non_payment", reason="again")
    sub.refresh_from_db()
    assert sub.suspended_at == suspended_at  # the suspension began when it first did


def _two_invoices_suspending_one_subscription_each(operator, name, email):
    suspension = stage_at(21)
    suspension.suspend_scope = SuspendScope.INVOICE
    suspension.save()
    with at("2026-10-01"):
        customer = make_customer(name, contact={"name": "AP", "email": email})
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        operator.add_subscription(customer, offerName="Azure plan")
        first_sub, second_sub = sync_subscriptions(customer, actor=None)
    invoices = [make_invoice(customer, amount, issue_date=AS_OF - dt.timedelta(days=51), subscription=sub)
                for amount, sub in (("100.00", first_sub), ("200.00", second_sub))]
    record()
    first, second = OperatorRequest.objects.order_by("subscription_id").select_related("subscription__customer")
    assert (first.subscription, second.subscription) == (first_sub, second_sub) and first.cause != second.cause
    return customer, invoices, first, second


def test_two_workers_finishing_at_once_tell_the_customer_once(operator, smtp_server, monkeypatch):
    """Each worker suspends one subscription at the operator, then records it and checks, before committing,
    whether the other is done. On PostgreSQL both start recording together (a barrier holds them until both have
    the operator's answer): without the customer's lock each would see the other still to do, and nobody would
    email. SQLite lets one writer in at a time, so there they race as they come."""
    import threading

    from partnerdesk.dunning import services

    customer, invoices, first, second = _two_invoices_suspending_one_subscription_each(
        operator, "Contoso 秦皇岛", "ap@contoso-qhd.example.cn")
    if connection.vendor == "postgresql":
        from partnerdesk.customers import services as customers

        barrier = threading.Barrier(2, timeout=20)
        real_suspend = customers.suspend_subscription

        def suspend_then_wait(*args, **kwargs):
            done = real_suspend(*args, **kwargs)
            barrier.wait()
            return done

        monkeypatch.setattr(customers, "suspend_subscription", suspend_then_wait)
    outcomes, errors = [], []

    def worker(pk):
        try:
            outcomes.append(services._carry_out(OperatorRequest.objects.select_related("subscription__customer").get(pk=pk)))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    with at(AS_OF.isoformat(), hour=9):
        threads = [threading.Thread(target=worker, args=(req.pk,)) for req in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors and outcomes == ["done", "done"]
    [email] = OutboundEmail.objects.filter(customer=customer, template_key="collections.suspended")
    assert sorted(email.context["subscriptions"]) == sorted([str(first.subscription), str(second.subscription)])


def test_a_payment_before_the_days_suspensions_settle_leaves_nothing_untold(operator, smtp_server):
    """One suspension is done and its email waits for the other, still queued; then the customer pays. The queued
    one is cancelled, the done one is undone, and the customer hears "access restored", not a late "suspended"."""
    from partnerdesk.billing.services import record_payment
    from partnerdesk.dunning.services import _carry_out

    customer, invoices, first, second = _two_invoices_suspending_one_subscription_each(
        operator, "Contoso 大连", "ap@contoso-dl.example.cn")
    with at(AS_OF.isoformat(), hour=9):
        assert _carry_out(first) == "done"
        assert not OutboundEmail.objects.filter(template_key="collections.suspended").exists()  # waits for the other
        record_payment(customer=customer, amount="300.00", received_on=AS_OF, method="bank_transfer", actor=None)
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert not OperatorRequest.objects.filter(status="done", told_at__isnull=True).exists()  # nothing left untold
    assert not OutboundEmail.objects.filter(template_key="collections.suspended").exists()
    [restored] = OutboundEmail.objects.filter(template_key="collections.reactivated")
    assert restored.context["subscriptions"] == [str(first.subscription)]


def test_a_suspension_a_sync_saw_first_still_records_its_reason(operator, smtp_server, monkeypatch):
    """A sync between the operator's answer and the local update records the suspension without a reason; the
    suspension still reads "non-payment", so paying reactivates it."""
    from partnerdesk.customers import services as customers
    from partnerdesk.dunning.services import _carry_out

    customer, invoices, first, second = _two_invoices_suspending_one_subscription_each(
        operator, "Contoso 营口", "ap@contoso-yk.example.cn")
    real_call = customers._operator_call
    synced = []

    def call_then_sync(fn, *args, **kwargs):
        answer = real_call(fn, *args, **kwargs)
        if not synced:
            synced.append(True)
            sync_subscriptions(customer, actor=None)  # another worker's sync lands first
        return answer

    monkeypatch.setattr(customers, "_operator_call", call_then_sync)
    with at(AS_OF.isoformat(), hour=9):
        assert _carry_out(first) == "done"
    sub = Subscription.objects.get(pk=first.subscription_id)
    assert sub.status == "suspended" and sub.suspension_reason == "non_payment"


@pytest.mark.parametrize("operator_fails", [False, True])
def test_suspensions_of_the_same_day_are_told_together_unless_one_keeps_failing(operator, smtp_server, operator_fails):
    from partnerdesk.dunning.services import _carry_out

    customer, invoices, first, second = _two_invoices_suspending_one_subscription_each(
        operator, "Fabrikam 无锡", "ap@fabrikam-wx.example.cn")
    first_sub, second_sub = first.subscription, second.subscription
    suspended_emails = OutboundEmail.objects.filter(customer=customer, template_key="collections.suspended").order_by("id")
    with at(AS_OF.isoformat(), hour=9):
        assert _carry_out(first) == "done"
        assert not suspended_emails.exists()  # the other suspension of the day is on its first try
        if operator_fails:
            operator.queue_faults([{"status": 500}] * 3, methods=["PATCH"])  # the gateway tries 3 times
            assert _carry_out(second) == "retry"
            # It no longer holds up the email for what is done; it will have its own.
            assert [e.context["subscriptions"] for e in suspended_emails.all()] == [[str(first_sub)]]
            second.refresh_from_db()
        assert _carry_out(second) == "done"
    told = [e.context["subscriptions"] for e in suspended_emails.all()]
    if operator_fails:
        assert told == [[str(first_sub)], [str(second_sub)]]
    else:
        assert told == [[str(first_sub), str(second_sub)]]


def test_the_published_dates_follow_a_late_suspension(operator, smtp_server):
    from partnerdesk.dunning.publication import published_policy
    from partnerdesk.dunning.services import process_operator_requests

    with at("2026-10-01"):
        customer = make_customer("Lucerne Publishing 长沙")
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        sync_subscriptions(customer, actor=None)
        invoice = make_invoice(customer, "500.00", issue_date=dt.date(2026, 10, 1))  # due 31 October
    before = published_policy(customer, as_of=dt.date(2026, 11, 20)).invoices[0]
    assert (before.suspension_date, before.deletion_date) == (dt.date(2026, 11, 21), dt.date(2027, 1, 20))  # the plan
    with at("2026-11-25"):  # the run was not scheduled for four days: the suspension happens late
        engine.run_collections(dt.date(2026, 11, 25))
        process_operator_requests()
    assert Invoice.objects.get(pk=invoice.pk).collections_stage == stage_at(21).position
    after = published_policy(customer, as_of=dt.date(2026, 11, 25)).invoices[0]
    assert (after.suspension_date, after.deletion_date) == (dt.date(2026, 11, 25), dt.date(2027, 1, 24))  # what happened
    assert Subscription.objects.get(customer=customer).data_deletion_date == after.deletion_date
