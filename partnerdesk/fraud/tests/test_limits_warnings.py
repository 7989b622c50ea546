"""Credit-limit warnings at 80% and 100% reach the customer's billing contacts at a real SMTP server, once each
however often the job runs, in the customer's language, and the account's agent too."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_user
from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.models import Customer
from partnerdesk.customers.owners import assign_owner
from partnerdesk.customers.services import add_contact
from partnerdesk.fraud import limits
from partnerdesk.fraud.models import LimitKind, LimitWarning
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.notifications.services import send_pending
from partnerdesk.rebilling.models import FileKind
from partnerdesk.rebilling.tests.recon_factory import line, recon_file

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)
AGENT = "zhou.min@northwind.example.cn"


def usage(customer, charges, *, day=TODAY, tax_rate="0"):
    """A usage line the operator charged for the customer, not yet invoiced to it (no VAT, no price rule unless
    asked: its price is its charges)."""
    return line(recon_file(FileKind.USAGE), charges=charges, customer=customer, usage_date=day, service="Virtual Machines",
                region="China North 3", product="meter-vm-d2", tax_rate=tax_rate)


def agent():
    return create_user(actor=None, username="zhou", password="x", role=Role.BILLING_AGENT, email=AGENT, validate=False)


def test_an_english_customer_is_warned_at_80_and_100_percent_once_each(smtp_server):
    customer = make_customer("Fabrikam Ltd", language="en", contact={"name": "Bob", "email": "bob@fabrikam.example.cn"})
    assign_owner(Customer.objects.filter(pk=customer.pk), owner=agent(), actor=None)  # the account's agent
    add_contact(customer, actor=None, name="Ann", email="ann@fabrikam.example.cn")  # a second billing contact
    add_contact(customer, actor=None, name="Ops", email="ops@fabrikam.example.cn", kind="technical")
    limit = limits.set_limit(customer, kind=LimitKind.CREDIT_LIMIT, amount="10000.00", actor=None)
    make_invoice(customer, "6000.00")  # issued, unpaid

    assert limits.send_limit_warnings(as_of=TODAY) == 0  # 60%
    usage(customer, "2500.00")  # 85%
    assert limits.send_limit_warnings(as_of=TODAY) == 1
    assert limits.send_limit_warnings(as_of=TODAY) == 0  # the job ran twice
    send_pending()
    messages = smtp_server.wait_for(3)
    assert len(messages) == 3
    for address in ("bob@fabrikam.example.cn", "ann@fabrikam.example.cn"):
        [mail] = smtp_server.to(address)
        assert mail.language == "en"
        assert mail.subject == "85% of your credit limit used: CNY 8,500.00 of 10,000.00"
        assert "Unpaid invoices: CNY 6,000.00" in mail.text and "Usage not yet invoiced (incl. tax): CNY 2,500.00" in mail.text
        assert "We will tell you again at 100%" in mail.text
    assert smtp_server.to("ops@fabrikam.example.cn") == []  # technical contacts are not told
    [to_agent] = smtp_server.to(AGENT)
    assert to_agent.subject == "Fabrikam Ltd：信用额度已使用 85%"
    assert f"/customers/{customer.pk}/" in to_agent.text

    usage(customer, "1600.00")  # 101%
    assert limits.send_limit_warnings(as_of=TODAY) == 1
    assert limits.send_limit_warnings(as_of=TODAY) == 0
    assert limits.send_limit_warnings(as_of=TODAY + dt.timedelta(days=3)) == 0  # later the same month
    send_pending()
    assert len(smtp_server.wait_for(6)) == 6
    reached = smtp_server.to("bob@fabrikam.example.cn")[1]
    assert reached.subject == "Your credit limit is used up (101%): CNY 10,100.00 of 10,000.00"
    assert reached.language == "en" and "pay in advance" in reached.text
    assert "已用尽" in smtp_server.to(AGENT)[1].text
    send_pending()
    assert len(smtp_server.messages) == 6 and OutboundEmail.objects.count() == 6

    assert sorted(LimitWarning.objects.values_list("level", "period", "used")) == [
        (80, dt.date(2026, 11, 1), Decimal("8500.00")), (100, dt.date(2026, 11, 1), Decimal("10100.00"))]
    entries = AuditEntry.objects.filter(action="credit_limit.warning_sent", object_id=str(limit.pk)).order_by("id")
    assert [e.after["level"] for e in entries] == [80, 100]
    assert sorted(entries[0].after["to"]) == sorted(["bob@fabrikam.example.cn", "ann@fabrikam.example.cn", AGENT])


def test_a_traditional_chinese_customer_past_the_limit_at_once_gets_only_the_100_percent_warning(smtp_server):
    customer = make_customer("台北雲端股份有限公司", language="zh-TW",
                             contact={"name": "陳先生", "email": "chen@taipei-cloud.example.tw"})
    limits.set_limit(customer, kind=LimitKind.CREDIT_LIMIT, amount="2000.00", actor=None)
    usage(customer, "2345.67")

    assert limits.send_limit_warnings(as_of=TODAY) == 1
    assert limits.send_limit_warnings(as_of=TODAY) == 0
    send_pending()
    [mail] = smtp_server.wait_for(1)
    assert mail.language == "zh-TW"
    assert mail.subject == "信用額度已用盡（117%）：CNY 2,345.67 / 2,000.00"
    assert "台北雲端股份有限公司 您好" in mail.text and "尚未開立發票的用量（含稅）：CNY 2,345.67" in mail.text
    assert not set(mail.subject + mail.text) & set("们发这订据删应费务单请时")  # no Simplified character
    # The 80% warning is not sent after the 100% one; no agent is set, so nobody else is told.
    assert limits.send_limit_warnings(as_of=TODAY + dt.timedelta(days=1)) == 0
    assert OutboundEmail.objects.count() == 1

    # A new month: still past the limit, so warned once again.
    assert limits.send_limit_warnings(as_of=dt.date(2026, 12, 1)) == 1
    assert limits.send_limit_warnings(as_of=dt.date(2026, 12, 2)) == 0
    send_pending()
    assert smtp_server.wait_for(2)[1].subject == "信用額度已用盡（117%）：CNY 2,345.67 / 2,000.00"


def test_a_budget_warning_names_the_subscription_and_the_month(smtp_server):
    from partnerdesk.rebilling.tests.recon_factory import subscription

    customer = make_customer("Contoso 上海", contact={"name": "李雷", "email": "li@contoso.example.cn"})
    azure = subscription(customer, operator_id="SUB-AZURE-1", friendly_name="Azure 生产环境")
    limits.set_limit(customer, kind=LimitKind.BUDGET, amount="1000.00", subscription=azure, actor=None)
    line(recon_file(FileKind.USAGE), charges="850.00", customer=customer, subscription=azure, usage_date=TODAY,
         tax_rate="0")

    assert limits.send_limit_warnings(as_of=TODAY) == 1
    send_pending()
    [mail] = smtp_server.wait_for(1)
    assert mail.language == "zh-CN"
    assert mail.subject == "订阅 Azure 生产环境 的2026年11月预算已使用 85%：CNY 850.00 / 1,000.00"
    assert "在 2026年11月 的用量费用已达到月度预算的 85%" in mail.text


def test_a_warning_another_worker_took_is_not_sent_again():
    customer = make_customer("Fabrikam Ltd", language="en")
    limit = limits.set_limit(customer, kind=LimitKind.CREDIT_LIMIT, amount="100.00", actor=None)
    usage(customer, "90.00")
    spent = limits.measure([limit], as_of=TODAY)[limit.pk]
    period = TODAY.replace(day=1)
    # Two workers read "not yet warned" at once; the first takes the claim, the second finds it taken.
    assert limits._warn_once(limit, [80], spent, period, TODAY) == 1
    assert limits._warn_once(limit, [80], spent, period, TODAY) == 0
    assert LimitWarning.objects.count() == 1 and OutboundEmail.objects.count() == 1
    assert AuditEntry.objects.filter(action="credit_limit.warning_sent").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_warning_once():
    customer = make_customer("Fabrikam Ltd", language="en", contact={"name": "Bob", "email": "bob@fabrikam.example.cn"})
    limits.set_limit(customer, kind=LimitKind.CREDIT_LIMIT, amount="100.00", actor=None)
    usage(customer, "95.00")
    start, results, errors = threading.Barrier(2), [], []

    def worker():
        try:
            start.wait(timeout=10)
            results.append(limits.send_limit_warnings(as_of=TODAY))
        except Exception as exc:  # reported below: a worker's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and sorted(results) == [0, 1]
    assert LimitWarning.objects.count() == 1 and OutboundEmail.objects.count() == 1
    assert AuditEntry.objects.filter(action="credit_limit.warning_sent").count() == 1
