"""Finance is warned before an operator invoice's due date is missed: each finance user once per invoice and due
date, however often the job runs; the mail arrives at a real SMTP server."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.notifications.services import send_pending
from partnerdesk.payables import services
from partnerdesk.payables.models import DueDateWarning
from partnerdesk.payables.tasks import schedule_warnings, warn_due_dates

from .conftest import day, operator_invoice

pytestmark = pytest.mark.django_db

FINANCE = ["wang.fang@northwind.example.cn", "zhao.lei@northwind.example.cn"]


def test_each_finance_user_is_warned_once_per_due_date(calendar_2026, finance_people, smtp_server):
    invoice = operator_invoice("21V-202610-0042", "2026-10-20", "12345.67")  # due Thursday 19 November
    services.record_operator_payment(invoice, amount="2345.67", paid_on=day("2026-11-02"), actor=None)
    paid = operator_invoice("21V-202610-0043", "2026-10-20", "50.00")
    services.record_operator_payment(paid, amount="50.00", paid_on=day("2026-11-02"), actor=None)

    # 5 days before (the default): nothing on the 13th, the warning on the 14th, nothing new after.
    assert warn_due_dates(as_of=day("2026-11-13"))["warned"] == 0
    assert warn_due_dates(as_of=day("2026-11-14")) == {"warned": 1, "emails": 2, "already_warned": 0,
                                                       "no_recipients": 0}
    assert warn_due_dates(as_of=day("2026-11-14"))["emails"] == 0  # the job ran twice
    assert warn_due_dates(as_of=day("2026-11-16")) == {"warned": 0, "emails": 0, "already_warned": 1,
                                                       "no_recipients": 0}
    send_pending()
    send_pending()
    messages = smtp_server.wait_for(2)
    assert len(messages) == 2 and OutboundEmail.objects.count() == 2
    assert sorted(rcpt for _, rcpts in smtp_server.envelopes for rcpt in rcpts) == FINANCE
    message = smtp_server.to(FINANCE[0])[0]
    assert message.subject == "世纪互联发票 21V-202610-0042 将于 2026年11月19日 到期：应付 CNY 10,000.00"
    assert "剩余天数：5 天" in message.text and "/payables/invoices/" in message.text
    assert "最晚付款日" not in message.text  # 19 November is a working day
    assert "185.19" in message.text  # a month late would cost 1.5% of 12,345.67
    entry = AuditEntry.objects.get(action="operator_invoice.warning_sent")
    assert entry.object_repr == "21V-202610-0042" and sorted(entry.after["to"]) == FINANCE

    # Finance moves the due date with 21Vianet: a new due date, warned about again.
    services.update_operator_invoice(invoice, actor=None, due_date=day("2026-11-30"), reason="extension agreed")
    assert warn_due_dates(as_of=day("2026-11-24"))["warned"] == 0
    assert warn_due_dates(as_of=day("2026-11-25"))["emails"] == 2
    send_pending()
    assert len(smtp_server.wait_for(4)) == 4
    assert list(DueDateWarning.objects.values_list("due_date", flat=True).order_by("due_date")) == [
        day("2026-11-19"), day("2026-11-30")]


def test_a_holiday_due_date_is_warned_with_its_pay_by_date_until_then(calendar_2026, finance_people, smtp_server):
    operator_invoice("21V-202608-H", "2026-09-01", "100000.00")  # due 1 October (holiday), pay by 8 October
    assert warn_due_dates(as_of=day("2026-10-09"))["warned"] == 0  # already late: the standing says so
    assert warn_due_dates(as_of=day("2026-10-05"))["warned"] == 1  # past the due date, not the pay-by date
    send_pending()
    message = smtp_server.wait_for(1)[0]
    assert "最晚付款日：2026年10月8日" in message.text and "剩余天数：3 天" in message.text


def test_nobody_to_tell_keeps_the_warning_for_later(calendar_2026, users, smtp_server):
    operator_invoice("21V-202610-0044", "2026-10-20", "1000.00")
    assert warn_due_dates(as_of=day("2026-11-15"))["no_recipients"] == 1
    assert not DueDateWarning.objects.exists()
    users["finance"].email = "wang.fang@northwind.example.cn"
    users["finance"].save(update_fields=["email"])
    assert warn_due_dates(as_of=day("2026-11-16"))["emails"] == 1


def test_the_command_warns_shows_the_standing_and_schedules(calendar_2026, finance_people, smtp_server):
    invoice = operator_invoice("21V-202609-0001", "2026-09-20", "8000.00")  # due 20 October (Tuesday)
    out = io.StringIO()
    call_command("payables", "warn", "--as-of", "2026-10-16", stdout=out)
    assert "warned 1, emails 2" in out.getvalue()
    out = io.StringIO()
    call_command("payables", "standing", "--as-of", "2026-11-24", stdout=out)
    text = out.getvalue()
    assert text.startswith("2026-11-24: delinquent") and "21V-202609-0001: due 2026-10-20" in text
    assert "35 days overdue" in text and "late charge 240.00" in text and "no new customers" in text
    assert invoice.amount == Decimal("8000.00")
    with pytest.raises(CommandError):
        call_command("payables", "warn", "--schedule", "5", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("payables", "warn", "--as-of", "24/11/2026", stdout=io.StringIO())
    # The test settings run tasks at once, with no queue to wait in: nothing is scheduled.
    assert schedule_warnings(86400) is False
