"""Disputes by amount: while a dispute is open, collections leaves the disputed amount alone and goes on for the
undisputed rest; after a rejection, what was not upheld is collected again from the day told to the customer,
with the stage after the one the invoice had reached, and the policy's spacing after it."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import issue_credit_note, record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.models import ActionKind, CollectionsAction, DisputeOutcome, OperatorRequest
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.services import (
    change_disputed_amount,
    disputed_amounts,
    end_dispute,
    open_dispute,
    still_overdue,
    undisputed_balance,
)
from partnerdesk.dunning.tests.test_cycle import at, run
from partnerdesk.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account(operator, smtp_server):
    """An English-speaking customer with one subscription at the operator and a 1,000.00 invoice due 2026-10-31."""
    with at("2026-10-01"):
        customer = make_customer("Tailspin Toys 苏州", language="en",
                                 contact={"name": "Ava Chen", "email": "ava@tailspin.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=10)
        [sub] = sync_subscriptions(customer, actor=None)
        invoice = make_invoice(customer, "1000.00", issue_date=dt.date(2026, 10, 1))
    assert invoice.due_date == dt.date(2026, 10, 31)
    return customer, invoice, sub


def kinds(customer):
    return sorted(CollectionsAction.objects.filter(customer=customer).values_list("kind", flat=True))


def test_the_reminder_and_notice_are_for_the_undisputed_rest_and_name_the_disputed_part(account, smtp_server):
    customer, invoice, sub = account
    with at("2026-10-20"):
        open_dispute(invoice=invoice, reason="Three seats billed after they were removed", amount="300.00", actor=None)
    assert undisputed_balance(invoice) == Decimal("700.00")
    assert disputed_amounts(customer) == {invoice.pk: Decimal("300.00")}

    run("2026-10-28")
    reminder = smtp_server.wait_for(1)[-1]
    assert reminder["To"] == "ava@tailspin.example.cn"
    assert "Amount due:  CNY 700.00" in reminder.text
    assert "Under dispute: CNY 300.00 (not being collected while the dispute is open)" in reminder.text
    assert "1,000.00" not in reminder.text

    run("2026-11-01")
    notice = smtp_server.wait_for(2)[-1]
    assert invoice.number in notice.subject and "overdue" in notice.text
    assert "Amount due:         CNY 700.00" in notice.text and "CNY 300.00" in notice.text
    assert "21 Nov 2026" in notice.text  # the suspension date is the policy's as usual: the rest is overdue


def test_the_disputed_amount_is_named_in_chinese_too(operator, smtp_server):
    with at("2026-10-01"):
        customer = make_customer("上海云启信息科技有限公司", language="zh-CN",
                                 contact={"name": "王芳", "email": "wangfang@yunqi.example.cn"})
        invoice = make_invoice(customer, "1000.00", issue_date=dt.date(2026, 10, 1))
    with at("2026-10-20"):
        open_dispute(invoice=invoice, reason="席位数量不对", amount="300.00", actor=None)
    run("2026-11-01")
    notice = smtp_server.wait_for(1)[-1]
    assert notice.language == "zh-CN"
    assert "应付金额：CNY 700.00" in notice.text and "另有争议金额：CNY 300.00（争议处理期间不予催收）" in notice.text


def test_an_invoice_disputed_in_full_gets_nothing(account, operator, smtp_server):
    customer, invoice, sub = account
    with at("2026-10-20"):
        open_dispute(invoice=invoice, reason="Not our order", amount="1000.00", actor=None)
    for day in ["2026-10-28", "2026-11-01", "2026-11-07", "2026-11-14", "2026-11-21", "2026-11-30"]:
        run(day)
    assert smtp_server.messages == [] and kinds(customer) == []
    assert operator.status(sub) == "active"
    with at("2026-11-30"):
        assert not still_overdue(customer) and undisputed_balance(invoice) == 0


def test_the_policy_minimum_applies_to_the_undisputed_amount(operator, smtp_server):
    policy = default_policy()
    policy.min_overdue_amount = Decimal("500.00")
    policy.save()
    with at("2026-10-01"):
        below = make_customer("Below the minimum 广州", language="en")
        above = make_customer("Above the minimum 杭州", language="en")
        small_rest = make_invoice(below, "1000.00", issue_date=dt.date(2026, 10, 1))
        large_rest = make_invoice(above, "1000.00", issue_date=dt.date(2026, 10, 1))
    with at("2026-10-20"):
        open_dispute(invoice=small_rest, reason="Wrong unit price", amount="600.00", actor=None)  # 400.00 left
        open_dispute(invoice=large_rest, reason="Wrong unit price", amount="400.00", actor=None)  # 600.00 left
    run("2026-10-28")  # the reminder looks at the invoice's undisputed amount
    run("2026-11-01")  # the notice at the customer's undisputed overdue amount
    assert kinds(below) == []
    assert kinds(above) == [ActionKind.NOTICE, ActionKind.REMINDER]
    assert len(smtp_server.wait_for(2)) == 2 and all("600.00" in m.text for m in smtp_server.messages)


def test_suspension_is_decided_on_the_undisputed_overdue_amount(account, operator, smtp_server):
    customer, invoice, sub = account
    with at("2026-10-01"):
        other = make_customer("Wide World Importers 天津", language="en")
        operator.add_subscription(other, offerName="Microsoft 365 E3", quantity=3)
        [other_sub] = sync_subscriptions(other, actor=None)
        other_invoice = make_invoice(other, "1000.00", issue_date=dt.date(2026, 10, 1))
    with at("2026-11-02"):
        # The customer's only overdue amount is disputed (all of it); the other disputes a part.
        open_dispute(invoice=invoice, reason="Not our order", actor=None)
        open_dispute(invoice=other_invoice, reason="Seats billed twice", amount="250.00", actor=None)
        assert not still_overdue(customer) and still_overdue(other)
    run("2026-11-21")
    assert operator.status(sub) == "active" and OperatorRequest.objects.filter(customer=customer).count() == 0
    assert operator.status(other_sub) == "suspended"
    suspended = smtp_server.wait_for(1)[-1]
    assert "Microsoft 365 E3" in suspended.text and suspended["To"] == other.primary_contact.email

    # Paying "the rest" settles the undisputed part only, which is all that was overdue: access comes back.
    with at("2026-11-22", hour=14):
        result = record_payment(customer=other, amount=Decimal("800.00"), received_on=dt.date(2026, 11, 22),
                                method="bank_transfer", actor=None)
        other_invoice.refresh_from_db()
        result.payment.refresh_from_db()
        assert other_invoice.balance == Decimal("250.00") and result.payment.unallocated == Decimal("50.00")
        assert not still_overdue(other) and undisputed_balance(other_invoice) == 0
    assert operator.status(other_sub) == "active"


def test_after_a_rejection_collections_resumes_on_the_stated_day_with_the_next_stage(account, operator, smtp_server):
    """After a rejection collections starts over with the first overdue notice on the stated day (review of
    issue 14: it used to go on with the stage after the one reached, so a customer could be suspended on the
    resume day without a notice about the disputed amount); later stages keep the policy's spacing from there."""
    customer, invoice, sub = account
    run("2026-11-01")  # first notice: the invoice has reached stage 2 of 5
    assert len(smtp_server.wait_for(1)) == 1
    with at("2026-11-03"):
        dispute = open_dispute(invoice=invoice, reason="Seats billed after cancellation", actor=None)
    for day in ["2026-11-07", "2026-11-14", "2026-11-21", "2026-11-30"]:
        run(day)
    assert len(smtp_server.messages) == 1

    with at("2026-12-01"):
        dispute = end_dispute(dispute, outcome=DisputeOutcome.REJECTED, actor=None, resume_on=dt.date(2026, 12, 10),
                              resolution="The seats were in use until 31 October: the invoice stands")
    assert dispute.resume_on == dt.date(2026, 12, 10)
    assert dispute.collections_due_date == dt.date(2026, 12, 9)  # the first overdue notice (+1) falls on 10 December

    run("2026-12-01")  # the suspension (+21) would long have passed: nothing happens before the stated day
    run("2026-12-09")
    assert len(smtp_server.messages) == 1 and operator.status(sub) == "active"

    run("2026-12-10")  # the first overdue notice again, with the new suspension date
    second = smtp_server.wait_for(2)[-1]
    assert "Amount due:         CNY 1,000.00" in second.text and "Under dispute" not in second.text
    assert "30 Dec 2026" in second.text
    assert [a.stage.offset_days for a in CollectionsAction.objects.filter(customer=customer).order_by("id")] == [1, 1]
    run("2026-12-10")  # twice the same day: nothing twice
    assert len(smtp_server.messages) == 2

    run("2026-12-15")
    assert len(smtp_server.messages) == 2
    run("2026-12-16")  # the second notice keeps the policy's spacing: 6 days on
    assert "30 Dec 2026" in smtp_server.wait_for(3)[-1].subject
    run("2026-12-23")  # the final notice
    assert len(smtp_server.wait_for(4)) == 4
    run("2026-12-29")
    assert operator.status(sub) == "active"
    run("2026-12-30")
    assert operator.status(sub) == "suspended"


def test_a_later_dispute_supersedes_the_earlier_ones_resume_date(account, operator, smtp_server):
    customer, invoice, sub = account
    with at("2026-11-03"):
        first = open_dispute(invoice=invoice, reason="Wrong price", actor=None)
        end_dispute(first, outcome=DisputeOutcome.REJECTED, resolution="Price per the contract", actor=None,
                    resume_on=dt.date(2026, 12, 10))
        second = open_dispute(invoice=invoice, reason="Seats billed twice", amount="100.00", actor=None)
        end_dispute(second, outcome=DisputeOutcome.WITHDRAWN, resolution="Customer found the second order", actor=None)
    run("2026-11-07")  # the withdrawn dispute states no date: the policy's own schedule applies again
    assert kinds(customer) == [ActionKind.NOTICE]


def test_the_default_resume_date_is_a_working_day_a_week_on(account):
    customer, invoice, sub = account
    with at("2026-12-05"):  # a Saturday: seven days on is a Saturday too, so Monday 14 December
        dispute = open_dispute(invoice=invoice, reason="Wrong price", amount="300.00", actor=None)
        dispute = end_dispute(dispute, outcome=DisputeOutcome.REJECTED, resolution="Price per the contract", actor=None)
    assert dispute.resume_on == dt.date(2026, 12, 14)


def test_upheld_in_part_with_a_credit_note(account):
    customer, invoice, sub = account
    with at("2026-11-03"):
        dispute = open_dispute(invoice=invoice, reason="Five seats billed twice", amount="300.00", actor=None)
        note = issue_credit_note(invoice=invoice, amount="100.00", reason="Two seats billed twice", actor=None)
        dispute = end_dispute(dispute, outcome=DisputeOutcome.PARTLY_UPHELD, upheld_amount="100.00", credit_note=note,
                              resolution="Two of the five seats were billed twice", actor=None)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("900.00") and undisputed_balance(invoice) == Decimal("900.00")
    assert (dispute.outcome, dispute.upheld_amount, dispute.credit_note_id) == ("partly_upheld", Decimal("100.00"), note.pk)
    assert dispute.resume_on == dt.date(2026, 11, 10)
    entry = AuditEntry.objects.filter(action="dispute.resolved").get()
    assert entry.after["outcome"] == "partly_upheld" and entry.after["resume_on"] == "2026-11-10"


def test_the_disputed_amount_is_checked_and_audited(account):
    customer, invoice, sub = account
    with at("2026-11-03"):
        for amount in ["0.00", "1000.01", "-5", "12.345"]:
            with pytest.raises(InvalidInput) as refused:
                open_dispute(invoice=invoice, reason="Wrong price", amount=amount, actor=None)
            assert refused.value.field == "amount"
        dispute = open_dispute(invoice=invoice, reason="Wrong price", amount="300.00", actor=None)
        with pytest.raises(Conflict):
            open_dispute(invoice=invoice, reason="Again", amount="100.00", actor=None)
        with pytest.raises(InvalidInput) as refused:
            change_disputed_amount(dispute, amount="1500.00", actor=None, reason="more seats")
        assert refused.value.field == "amount"
        change_disputed_amount(dispute, amount="450.00", actor=None, reason="Two more seats were wrong")
        with pytest.raises(InvalidInput) as refused:
            end_dispute(dispute, outcome=DisputeOutcome.PARTLY_UPHELD, upheld_amount="450.00", resolution="x", actor=None)
        assert refused.value.field == "upheld_amount"
    assert undisputed_balance(invoice) == Decimal("550.00")
    opened = AuditEntry.objects.get(action="dispute.opened")
    changed = AuditEntry.objects.get(action="dispute.amount_changed")
    assert opened.after["amount"] == "300.00" and changed.before == {"amount": "300.00"} and changed.after["amount"] == "450.00"


def test_the_api_takes_and_shows_the_amount_outcome_and_resume_date(api_client, tokens, customer_a):
    agent, portal = api_client.as_(tokens["collections"]), api_client.as_(tokens["customer_a"])
    invoice = make_invoice(customer_a, "1000.00", issue_date=dt.date(2026, 10, 1))

    too_much = agent.post(f"/invoices/{invoice.pk}/disputes", {"reason": "Wrong price", "amount": "1000.01"})
    assert too_much.status_code == 422 and too_much.json()["field"] == "amount"
    opened = agent.post(f"/invoices/{invoice.pk}/disputes", {"reason": "Wrong price", "amount": "300.00"})
    assert opened.status_code == 201
    dispute = opened.json()
    assert (dispute["amount"], dispute["status"], dispute["outcome"], dispute["resume_on"]) == ("300.00", "open", "", None)

    published = portal.get(f"/customers/{customer_a.pk}/collections-policy").json()
    [line] = published["invoices"]
    assert (line["disputed"], line["counts"], line["on_hold"]) == ("300.00", "700.00", False)

    changed = agent.post(f"/disputes/{dispute['id']}/amount", {"amount": "350.00", "reason": "One more seat"})
    assert changed.status_code == 200 and changed.json()["amount"] == "350.00"
    refused = agent.post(f"/disputes/{dispute['id']}/end", {"outcome": "lost", "resolution": "no"})
    assert refused.status_code == 422 and refused.json()["field"] == "outcome"
    ended = agent.post(f"/disputes/{dispute['id']}/end", {"outcome": "rejected", "resolution": "Price per the contract",
                                                         "resume_on": "2026-12-10"})
    assert ended.status_code == 200
    assert (ended.json()["outcome"], ended.json()["resume_on"], ended.json()["status"]) == ("rejected", "2026-12-10", "resolved")


def test_the_pages_show_the_disputed_part_and_what_still_counts(users, customer_a):
    from django.urls import reverse

    from partnerdesk.web.tests.factories import client_for

    invoice = make_invoice(customer_a, "1000.00", issue_date=dt.date(2026, 10, 1))
    staff = client_for(users["collections"])
    refused = staff.post(reverse("dispute_open", args=[customer_a.pk]), {
        "dispute-invoice": invoice.pk, "dispute-amount": "1,000.01", "dispute-reason": "Wrong price"})
    assert refused.status_code == 200 and "more than invoice" in refused.content.decode()
    opened = staff.post(reverse("dispute_open", args=[customer_a.pk]), {
        "dispute-invoice": invoice.pk, "dispute-amount": "300", "dispute-reason": "Wrong price"}, follow=True)
    body = opened.content.decode()
    assert "for ¥300.00: collections leaves that amount alone" in body
    row = body[body.index(f'data-invoice="{invoice.pk}"'):]
    row = row[:row.index("</tr>")]
    assert "¥300.00" in row and "¥700.00" in row and "Collections on hold" not in row

    portal = client_for(users["customer_a"], language="zh-hans")
    page = portal.get(reverse("portal_collections_policy")).content.decode()
    assert "争议中" in page and "催收中" in page and "¥700.00" in page
    assert "您对发票中的某一金额提出争议期间，我们不催收该金额" in page


def test_a_customer_who_paid_the_rest_and_lost_the_dispute_gets_a_notice_before_any_suspension(
        account, operator, smtp_server):
    """Review of issue 14: the undisputed rest went through every stage (suspended, then paid and reactivated);
    after the rejection collections starts over with a notice about the disputed amount on the stated day."""
    customer, invoice, sub = account
    with at("2026-10-20"):
        dispute = open_dispute(invoice=invoice, reason="Three seats billed twice", amount="300.00", actor=None)
    for day in ["2026-10-28", "2026-11-01", "2026-11-07", "2026-11-14", "2026-11-21"]:
        run(day)
    assert operator.status(sub) == "suspended"
    with at("2026-11-22", hour=14):
        record_payment(customer=customer, amount=Decimal("700.00"), received_on=dt.date(2026, 11, 22),
                       method="bank_transfer", actor=None)
    assert operator.status(sub) == "active"
    sent = len(smtp_server.wait_for(6))

    with at("2026-12-01"):
        end_dispute(dispute, outcome=DisputeOutcome.REJECTED, actor=None, resume_on=dt.date(2026, 12, 10),
                    resolution="The seats were in use")
    run("2026-12-09")
    assert len(smtp_server.messages) == sent
    run("2026-12-10")
    notice = smtp_server.wait_for(sent + 1)[-1]
    assert "Amount due:         CNY 300.00" in notice.text and "30 Dec 2026" in notice.text
    assert operator.status(sub) == "active"
    run("2026-12-29")
    assert operator.status(sub) == "active"
    run("2026-12-30")
    assert operator.status(sub) == "suspended"
