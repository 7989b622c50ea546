"""A customer's figures on a case and canned replies filled with them, from real invoices, payments, holds and
subscriptions; the built-in canned replies per language."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice
from partnerdesk.billing.services import record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.models import Subscription, SubscriptionStatus, SuspensionReason
from partnerdesk.dunning.services import add_promise, open_dispute, set_profile
from partnerdesk.support import services
from partnerdesk.support.canned import (
    DEFAULT_CANNED_REPLIES,
    canned_replies_for,
    ensure_default_canned_replies,
)
from partnerdesk.support.figures import customer_figures, render_canned
from partnerdesk.support.models import CannedReply

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)  # the suite's day (a Tuesday)


def case_for(customer, users, language=None):
    case = services.open_case(customer=customer, subject="我的账单", description="请问我还欠多少钱？",
                              actor=users["billing_agent"], channel="phone", acknowledge=False)
    if language:
        case.language = language
        case.save(update_fields=["language"])
    return case


def canned(body, language="zh-CN"):
    return CannedReply.objects.create(title=f"t-{uuid.uuid4().hex[:6]}", language=language, body=body)


@pytest.fixture
def owing(customer_a):
    """Contoso owes 12,800.00 due 20 Nov (reminder and first notice done) and 1,000.50 due 10 Dec."""
    overdue = make_invoice(customer_a, "12800.00", issue_date=dt.date(2026, 10, 21), due_date=dt.date(2026, 11, 20))
    Invoice.objects.filter(pk=overdue.pk).update(collections_stage=2)  # the runs of 17 and 21 Nov did their part
    later = make_invoice(customer_a, "1000.50", issue_date=dt.date(2026, 11, 10), due_date=dt.date(2026, 12, 10))
    overdue.refresh_from_db()
    return overdue, later


def test_the_figures_come_from_the_ledger_and_the_collections_policy(customer_a, owing):
    overdue, later = owing
    figures = customer_figures(customer_a)

    assert figures.as_of == TODAY
    assert (figures.balance, figures.overdue, figures.currency) == (Decimal("13800.50"), Decimal("12800.00"), "CNY")
    assert figures.oldest_overdue == overdue and figures.oldest_overdue_days == 4
    # The default policy: notices 1, 7 and 14 days after the due date, suspension after 21. Two stages are done,
    # so the next run to act is the second notice, 7 days after 20 November.
    step = figures.next_collections
    assert (step.date, step.stage, step.invoice_number) == (dt.date(2026, 11, 27), "Second notice", overdue.number)
    assert "notice" in step.actions
    # Nothing suspended yet: the planned dates of the published policy, and the 60-day rule after them.
    assert figures.suspension_planned
    assert (figures.suspension_date, figures.deletion_date) == (dt.date(2026, 12, 11), dt.date(2027, 2, 9))
    assert figures.suspended == [] and figures.disputes == [] and figures.promises == []


def test_a_canned_reply_carries_the_figures_in_the_case_language(customer_a, users, owing):
    overdue, _ = owing
    body = ("{customer_name} 的余额 {currency} {balance}，逾期 {overdue}（{oldest_overdue_invoice}），"
            "下一步 {next_collections_date}，暂停 {suspension_date}，删除 {deletion_date}，工单 {case_token}。")
    case = case_for(customer_a, users)
    assert render_canned(canned(body), case) == (
        f"Contoso 上海 的余额 CNY 13,800.50，逾期 12,800.00（{overdue.number}），下一步 2026年11月27日，"
        f"暂停 2026年12月11日，删除 2027年2月9日，工单 {case.token}。")

    english = case_for(customer_a, users, language="en")
    text = render_canned(canned("Next step on {next_collections_date}; data deleted on {deletion_date}.", "en"), english)
    assert text == "Next step on 27 Nov 2026; data deleted on 9 Feb 2027."


def test_unknown_placeholders_stay_as_written(customer_a, users, owing):
    case = case_for(customer_a, users, language="en")
    text = render_canned(canned("{balance} {unknown} { balance } {Balance} {{balance}} {", "en"), case)
    assert text == "13,800.50 {unknown} { balance } {Balance} {13,800.50} {"


def test_a_held_invoice_waits_and_the_next_step_is_the_other_one(customer_a, users, owing):
    overdue, later = owing
    dispute = open_dispute(invoice=overdue, reason="数量不对", actor=users["collections"])
    promise = add_promise(customer=customer_a, amount=Decimal("1000.50"), promised_date=dt.date(2026, 11, 30),
                          invoice=later, actor=users["collections"])
    figures = customer_figures(customer_a)
    assert figures.disputes == [dispute] and figures.promises == [promise]
    # Both invoices are held (the dispute; the promise until 30 Nov): the first thing collections does is the
    # later invoice's reminder, 3 days before its due date, once the promise has lapsed.
    step = figures.next_collections
    assert (step.date, step.stage, step.invoice_number) == (dt.date(2026, 12, 7), "Reminder", later.number)


def test_suspended_subscriptions_give_the_actual_dates(customer_a, users, owing):
    Subscription.objects.create(
        customer=customer_a, operator_id=str(uuid.uuid4()), offer_name="Microsoft 365 E3",
        status=SubscriptionStatus.SUSPENDED, suspension_reason=SuspensionReason.NON_PAYMENT,
        # 01:30 on 11 November in Beijing is still 10 November in UTC: the operator counts in Beijing time.
        suspended_at=dt.datetime(2026, 11, 10, 17, 30, tzinfo=dt.UTC))
    figures = customer_figures(customer_a)
    assert not figures.suspension_planned
    assert (figures.suspension_date, figures.deletion_date) == (dt.date(2026, 11, 11), dt.date(2027, 1, 10))
    [item] = figures.suspended
    assert (item.suspension_date, item.deletion_date) == (dt.date(2026, 11, 11), dt.date(2027, 1, 10))
    case = case_for(customer_a, users, language="zh-TW")
    assert render_canned(canned("{suspension_date} / {deletion_date}", "zh-TW"), case) == "2026年11月11日 / 2027年1月10日"


def test_nothing_owed_and_exempt_customers_read_none(customer_b, users):
    invoice = make_invoice(customer_b, "500.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))
    record_payment(customer=customer_b, amount=Decimal("500.00"), received_on=dt.date(2026, 11, 2),
                   method="bank_transfer", reference="PAID", actor=users["finance"])
    figures = customer_figures(customer_b)
    assert (figures.balance, figures.overdue, figures.oldest_overdue, figures.next_collections) == (
        Decimal("0.00"), Decimal("0.00"), None, None)
    case = case_for(customer_b, users, language="en")
    body = "{balance} {oldest_overdue_invoice} {next_collections_date} {suspension_date}"
    assert render_canned(canned(body, "en"), case) == "0.00 (none) (none) (none)"
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"

    exempt = make_customer("豁免客户", language="zh-TW")
    make_invoice(exempt, "800.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))
    set_profile(customer=exempt, actor=users["admin"], exempt=True, reason="strategic account")
    figures = customer_figures(exempt)
    assert figures.exempt and figures.next_collections is None and figures.overdue == Decimal("800.00")
    case = case_for(exempt, users, language="zh-TW")
    assert render_canned(canned("{next_collections_date}", "zh-TW"), case) == "（無）"


def test_the_built_in_canned_replies_are_made_once_and_fill_completely(customer_a, users, owing):
    assert ensure_default_canned_replies() == sum(len(v) for v in DEFAULT_CANNED_REPLIES.values())
    assert ensure_default_canned_replies() == 0  # a second call changes nothing
    entries = AuditEntry.objects.filter(action="support.canned_reply_created")
    assert entries.count() == CannedReply.objects.count() == 12
    for language in ("zh-CN", "zh-TW", "en"):
        replies = list(canned_replies_for(language))
        assert len(replies) == 4
        case = case_for(customer_a, users, language=language)
        for reply in replies:
            text = render_canned(reply, case)
            assert "{" not in text and "}" not in text, (language, reply.title)
            if "{balance}" in reply.body:
                assert "13,800.50" in text, (language, reply.title)
            if "{overdue}" in reply.body:
                assert "12,800.00" in text, (language, reply.title)


def test_an_administrators_edit_survives_ensure(users):
    ensure_default_canned_replies()
    CannedReply.objects.get(title="Payment received", language="en").delete()
    ensure_default_canned_replies()  # a deleted built-in comes back, with the built-in text
    assert CannedReply.objects.get(title="Payment received", language="en").body.startswith("Thank you")
    edited = CannedReply.objects.get(title="已收到付款", language="zh-CN")
    edited.body = "谢谢！"
    edited.save()
    ensure_default_canned_replies()
    edited.refresh_from_db()
    assert edited.body == "谢谢！"
