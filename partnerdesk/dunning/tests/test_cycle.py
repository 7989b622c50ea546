"""One customer walked through a whole collections cycle on a frozen clock: reminder, notices, suspension
at the operator, payment, automatic reactivation, and the emails the customer actually received."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerdesk.billing.services import record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.engine import run_collections
from partnerdesk.dunning.models import ActionKind, CallTask, CollectionsAction, OperatorRequest
from partnerdesk.dunning.services import add_promise, open_dispute, resolve_dispute

pytestmark = pytest.mark.django_db(transaction=True)
BEIJING = ZoneInfo("Asia/Shanghai")


def at(day: str, hour=9):
    """Travel to 09:00 Beijing time on a day (the scheduled run's time)."""
    d = dt.date.fromisoformat(day)
    return time_machine.travel(dt.datetime(d.year, d.month, d.day, hour, tzinfo=BEIJING), tick=False)


def run(day: str):
    with at(day):
        return run_collections(dt.date.fromisoformat(day))


@pytest.fixture
def account(operator, smtp_server):
    """A zh-CN customer with two subscriptions at the operator and one invoice due 2026-10-31."""
    with at("2026-10-01"):
        customer = make_customer("上海云启信息科技有限公司", language="zh-CN",
                                 contact={"name": "王芳", "email": "wangfang@yunqi.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=25)
        operator.add_subscription(customer, offerName="Exchange Online (Plan 1)", quantity=5)
        subs = sync_subscriptions(customer, actor=None)
        invoice = make_invoice(customer, "1280.00", issue_date=dt.date(2026, 10, 1))
    assert invoice.due_date == dt.date(2026, 10, 31)
    return customer, invoice, subs


def kinds(customer):
    return sorted(CollectionsAction.objects.filter(customer=customer).values_list("kind", flat=True))


def test_whole_cycle_reminder_notices_suspension_payment_reactivation(account, operator, smtp_server):
    customer, invoice, subs = account
    assert run("2026-10-27").counts["due"] == 0  # 4 days before due: nothing yet

    run("2026-10-28")  # reminder, 3 days before due
    reminder = smtp_server.wait_for(1)[-1]
    assert reminder["To"] == "wangfang@yunqi.example.cn"
    assert invoice.number in reminder.subject and reminder.language == "zh-CN"
    assert "2026年10月31日" in reminder.text  # the due date, in the customer's language

    for day, expected in [("2026-11-01", 2), ("2026-11-07", 3), ("2026-11-14", 4)]:
        run(day)
        notice = smtp_server.wait_for(expected)[-1]
        assert invoice.number in notice.text
        assert "2026年11月21日" in notice.text  # the suspension date is stated
    assert CallTask.objects.filter(customer=customer).count() == 1  # the final notice flags a call

    # Nothing happens in between, and a rerun on the same day does nothing new.
    run("2026-11-15")
    run("2026-11-14")
    assert len(smtp_server.messages) == 4

    result = run("2026-11-21")  # suspension day
    assert result.counts["operator_requests"] == 2
    for sub in subs:
        assert operator.status(sub) == "suspended"
        sub.refresh_from_db()
        assert sub.status == "suspended" and sub.suspension_reason == "non_payment"
        assert sub.data_deletion_date == dt.date(2027, 1, 20)
    suspended = smtp_server.wait_for(5)[4]  # one email, naming both subscriptions
    assert "Microsoft 365 E3" in suspended.text and "Exchange Online (Plan 1)" in suspended.text
    assert "2027年1月20日" in suspended.text  # when the data would be deleted

    run("2026-11-21")
    assert len(smtp_server.messages) == 5 and OperatorRequest.objects.count() == 2

    with at("2026-11-22", hour=14):
        record_payment(customer=customer, amount=Decimal("1280.00"), received_on=dt.date(2026, 11, 22),
                       method="bank_transfer", reference="ICBC-7788", actor=None)
    for sub in subs:
        assert operator.status(sub) == "active"
        sub.refresh_from_db()
        assert sub.status == "active" and sub.suspended_at is None
    restored = smtp_server.wait_for(6)[5]  # access restored: the loop is closed
    assert restored.language == "zh-CN" and "Microsoft 365 E3" in restored.text
    assert kinds(customer).count(ActionKind.REACTIVATED) == 2

    run("2026-11-28")
    assert len(smtp_server.messages) == 6  # paid: collections has nothing more to say


def test_open_dispute_holds_every_action(account, operator, smtp_server):
    customer, invoice, subs = account
    with at("2026-10-20"):
        dispute = open_dispute(invoice=invoice, reason="Seat count on the invoice is wrong", actor=None)
    for day in ["2026-10-28", "2026-11-01", "2026-11-07", "2026-11-14", "2026-11-21", "2026-11-30"]:
        run(day)
    assert smtp_server.messages == [] and kinds(customer) == []
    assert all(operator.status(s) == "active" for s in subs)

    with at("2026-12-01"):
        resolve_dispute(dispute, resolution="Explained the prorated seats; customer agreed", actor=None)
    run("2026-12-01")  # collections resumes at the stage the invoice has reached: suspension
    assert all(operator.status(s) == "suspended" for s in subs)


def test_promise_to_pay_holds_until_its_date(account, operator, smtp_server):
    customer, invoice, subs = account
    run("2026-11-01")
    assert len(smtp_server.wait_for(1)) == 1
    with at("2026-11-02"):
        add_promise(customer=customer, amount="1280.00", promised_date=dt.date(2026, 11, 25), actor=None,
                    note="Finance director promised payment after month-end close")
    for day in ["2026-11-07", "2026-11-14", "2026-11-21", "2026-11-25"]:
        run(day)
    assert len(smtp_server.messages) == 1
    assert all(operator.status(s) == "active" for s in subs)
    run("2026-11-26")  # promise broken: the overdue stage applies at once
    assert all(operator.status(s) == "suspended" for s in subs)


def test_moving_to_a_stricter_policy_keeps_the_invoice_in_place(account, operator, smtp_server):
    from partnerdesk.dunning.models import CollectionsPolicy, PolicyStage
    from partnerdesk.dunning.services import set_profile

    customer, invoice, subs = account
    run("2026-11-01")  # first notice (+1) done: stage 2 of the standard policy
    invoice.refresh_from_db()
    assert invoice.collections_stage == 2
    strict = CollectionsPolicy.objects.create(name="Strict", deletion_warning_days=[45])
    for position, (offset, suspend) in enumerate([(-7, False), (1, False), (5, True)], start=1):
        PolicyStage.objects.create(policy=strict, position=position, name=f"S{position}", offset_days=offset,
                                   suspend=suspend, send_notice=not suspend)
    with at("2026-11-02"):
        set_profile(customer=customer, actor=None, policy=strict, reason="")
    invoice.refresh_from_db()
    assert invoice.collections_stage == 2  # -7 and +1 are behind it, in the strict policy too
    run("2026-11-05")  # the strict policy suspends at +5
    assert all(operator.status(s) == "suspended" for s in subs)
    first_notice, suspended = smtp_server.wait_for(2)
    assert "逾期" in first_notice.subject and "暂停" in suspended.subject
    assert len(smtp_server.messages) == 2  # the first notice is not repeated under the new policy


def test_a_disputed_invoice_does_not_block_reactivation(account, operator, smtp_server):
    customer, invoice, subs = account
    with at("2026-10-01"):
        second = make_invoice(customer, "300.00", issue_date=dt.date(2026, 10, 2))
    run("2026-11-22")  # both overdue past +21: suspended
    assert all(operator.status(s) == "suspended" for s in subs)
    with at("2026-11-23"):
        open_dispute(invoice=second, reason="Customer says the seats were cancelled in September", actor=None)
        record_payment(customer=customer, amount=Decimal("1280.00"), received_on=dt.date(2026, 11, 23),
                       method="alipay", actor=None, allocations=[(invoice, Decimal("1280.00"))])
    assert all(operator.status(s) == "active" for s in subs)  # only the disputed invoice is unpaid


def test_a_payment_while_the_operator_is_down_cancels_the_queued_suspension(account, operator, smtp_server):
    customer, invoice, subs = account
    operator.queue_faults([{"status": 503}] * 6, methods=["PATCH"])
    run("2026-11-21")
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"pending"}
    with at("2026-11-21", hour=15):
        record_payment(customer=customer, amount=Decimal("1280.00"), received_on=dt.date(2026, 11, 21),
                       method="bank_transfer", actor=None)
    with at("2026-11-22"):
        from partnerdesk.dunning.services import process_operator_requests

        process_operator_requests()
    assert set(OperatorRequest.objects.values_list("status", flat=True)) == {"cancelled"}
    assert all(operator.status(s) == "active" for s in subs)


def test_a_credit_note_that_clears_the_overdue_balance_reactivates(account, operator, smtp_server):
    from partnerdesk.billing.services import issue_credit_note

    customer, invoice, subs = account
    run("2026-11-21")
    assert all(operator.status(s) == "suspended" for s in subs)
    with at("2026-11-22"):
        issue_credit_note(invoice=invoice, amount="1280.00", reason="Seats were never delivered", actor=None)
    assert all(operator.status(s) == "active" for s in subs)


def test_data_deletion_warnings_45_and_55_days_after_suspension(account, operator, smtp_server):
    customer, invoice, subs = account
    run("2026-11-21")
    sent = len(smtp_server.wait_for(1))  # the suspension (this run starts at the suspension stage)
    for day in ["2027-01-04", "2027-01-05", "2027-01-05", "2027-01-14", "2027-01-15", "2027-01-20"]:
        run(day)
    warnings = smtp_server.messages[sent:]
    assert len(warnings) == 2  # day 45 and day 55, each once; nothing on the deletion day itself
    assert all("2027年1月20日" in m.text and "Exchange Online (Plan 1)" in m.text for m in warnings)
    assert sorted(CollectionsAction.objects.filter(kind=ActionKind.DELETION_WARNING)
                  .values_list("detail__days_after_suspension", flat=True)) == [45, 45, 55, 55]  # one per subscription


def test_dry_run_names_what_is_due_and_changes_nothing(account, operator, smtp_server, capsys):
    from django.core.management import call_command

    customer, invoice, subs = account
    with at("2026-11-21"):
        call_command("collections", "run", "--as-of", "2026-11-21", "--dry-run")
    out = capsys.readouterr().out
    assert f"{customer.name}\t{invoice.number}" in out and "Suspension" in out
    assert not CollectionsAction.objects.exists() and all(operator.status(s) == "active" for s in subs)


def test_a_failed_run_is_marked_failed(account, operator, smtp_server, monkeypatch):
    from partnerdesk.dunning import engine
    from partnerdesk.dunning.models import CollectionsRun

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(engine, "record_due", broken)
    with pytest.raises(RuntimeError):
        run("2026-11-01")
    assert list(CollectionsRun.objects.values_list("status", flat=True)) == ["failed"]
