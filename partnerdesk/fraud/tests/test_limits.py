"""Credit limits and monthly budgets: what counts against them, the over_limit hits detection reads, and setting
and removing a limit (audited; bad input refused naming the field)."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import LineInput, create_invoice, issue_invoice, record_payment
from partnerdesk.conftest import make_invoice
from partnerdesk.errors import InvalidInput
from partnerdesk.fraud import limits
from partnerdesk.fraud.models import CreditLimit, LimitKind, SignalKind
from partnerdesk.rebilling.models import FileKind, FileStatus
from partnerdesk.rebilling.tests.recon_factory import line, recon_file, subscription

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)


def usage(customer, charges, *, day=TODAY, sub=None, file=None, tax_rate="0", **fields):
    """A usage line; without VAT and price rule (pass-through) unless asked, so its price is its charges."""
    fields = {"service": "Virtual Machines", "region": "China North 3", "product": "meter-vm-d2", **fields}
    return line(file or recon_file(FileKind.USAGE), charges=charges, customer=customer, subscription=sub,
                usage_date=day, tax_rate=tax_rate, **fields)


def test_a_credit_limit_counts_the_unpaid_balance_and_the_usage_not_yet_invoiced(customer_a, customer_b):
    limit = limits.set_limit(customer_a, kind=LimitKind.CREDIT_LIMIT, amount="5000", actor=None)
    make_invoice(customer_a, "1200.00")  # issued, unpaid
    make_invoice(customer_a, "999.00", issue=False)  # a draft is not owed yet
    waiting = usage(customer_a, "300.00")  # charged by the operator, not billed
    usage(customer_a, "45.50", day=TODAY + dt.timedelta(days=1))  # after the day asked about
    usage(customer_b, "700.00")  # another customer's
    line(recon_file(FileKind.LICENSE), charges="800.00", customer=customer_a)  # licenses are billed ahead, invoiced
    replaced = recon_file(FileKind.USAGE)
    usage(customer_a, "111.00", file=replaced)
    replaced.status = FileStatus.REPLACED
    replaced.save()
    assert limits.used(limit, as_of=TODAY) == Decimal("1500.00")

    # Re-billing prices the line onto a draft: still not invoiced, still counted once.
    draft = create_invoice(customer=customer_a, actor=None, lines=[
        LineInput(description="Azure usage", quantity=Decimal("1"), unit_price=Decimal("360.00"))])
    waiting.invoice_line = draft.lines.get()
    waiting.save()
    assert limits.used(limit, as_of=TODAY) == Decimal("1500.00")
    # Issued: the invoice's 360.00 is in the balance now and the line no longer counts (no double count).
    issue_invoice(draft, actor=None, issue_date=dt.date(2026, 11, 20))
    assert limits.used(limit, as_of=TODAY) == Decimal("1560.00")
    # A payment brings it down; money on account as well; never below zero.
    record_payment(customer=customer_a, amount="2000.00", received_on=TODAY, method="bank_transfer", actor=None)
    assert limits.used(limit, as_of=TODAY) == Decimal("0.00")


def test_a_budget_counts_the_months_usage_for_the_customer_or_one_subscription(customer_a):
    azure = subscription(customer_a, operator_id="SUB-A")
    other = subscription(customer_a, operator_id="SUB-B")
    whole = limits.set_limit(customer_a, kind=LimitKind.BUDGET, amount="1000", actor=None)
    one = limits.set_limit(customer_a, kind=LimitKind.BUDGET, amount="100", subscription=azure, actor=None)
    usage(customer_a, "10.00", day=dt.date(2026, 10, 31), sub=azure)  # last month
    usage(customer_a, "20.00", day=dt.date(2026, 11, 1), sub=azure)
    billed = usage(customer_a, "30.00", day=dt.date(2026, 11, 10), sub=other)
    usage(customer_a, "40.00", day=dt.date(2026, 11, 25), sub=azure)  # after the day
    billed.invoice_line = make_invoice(customer_a, "30.00").lines.get()  # invoiced or not, it is the month's spend
    billed.save()
    assert limits.used(whole, as_of=TODAY) == Decimal("50.00")
    assert limits.used(one, as_of=TODAY) == Decimal("20.00")
    assert limits.used(one, as_of=dt.date(2026, 11, 30)) == Decimal("60.00")
    assert limits.used(one, as_of=dt.date(2026, 10, 31)) == Decimal("10.00")


def test_limits_at_100_percent_are_over_limit_hits(customer_a, customer_b):
    azure = subscription(customer_a, operator_id="SUB-AZURE-7", friendly_name="Azure prod")
    limits.set_limit(customer_a, kind=LimitKind.CREDIT_LIMIT, amount="1000", actor=None)
    limits.set_limit(customer_a, kind=LimitKind.BUDGET, amount="400", actor=None)
    limits.set_limit(customer_a, kind=LimitKind.BUDGET, amount="250", subscription=azure, actor=None)
    limits.set_limit(customer_b, kind=LimitKind.CREDIT_LIMIT, amount="1000", actor=None)
    make_invoice(customer_a, "800.00")
    usage(customer_a, "300.00", sub=azure)
    usage(customer_b, "999.99")  # just under

    hits = {h.subject: h for h in limits.limit_hits(as_of=TODAY)}
    assert set(hits) == {"credit_limit", "budget:SUB-AZURE-7"}  # the customer's budget is at 75%
    credit = hits["credit_limit"]
    assert (credit.customer_id, credit.signal, credit.day) == (customer_a.pk, SignalKind.OVER_LIMIT, TODAY)
    assert (credit.score, credit.amount) == (Decimal("1.10"), Decimal("100.00"))
    assert credit.figures == {"kind": "credit_limit", "limit": "1000.00", "used": "1100.00", "over": "100.00",
                              "percent": 110, "balance": "800.00", "unbilled": "300.00", "cost": "300.00"}
    budget = hits["budget:SUB-AZURE-7"]
    assert (budget.subscription_id, budget.score, budget.amount) == (azure.pk, Decimal("1.20"), Decimal("50.00"))
    assert budget.figures["month"] == "2026-11-01" and budget.figures["subscription"] == "Azure prod"

    usage(customer_b, "0.01")  # exactly at the limit: it trips
    assert [h.customer_id for h in limits.limit_hits(as_of=TODAY, customer_ids=[customer_b.pk])] == [customer_b.pk]
    assert limits.limit_hits(as_of=TODAY, customer_ids=[]) == []


def test_setting_changing_and_removing_a_limit_is_audited(customer_a, users):
    actor = users["finance"]
    limit = limits.set_limit(customer_a, kind=LimitKind.CREDIT_LIMIT, amount="5000.00", actor=actor,
                             reason="new customer, card payment")
    again = limits.set_limit(customer_a, kind="credit_limit", amount=Decimal("8000"), actor=actor, reason="paid on time")
    assert again.pk == limit.pk and CreditLimit.objects.count() == 1 and again.amount == Decimal("8000.00")
    set_, changed = AuditEntry.objects.filter(object_type="fraud.creditlimit").order_by("id")
    assert (set_.action, set_.actor, set_.customer_id, set_.reason) == ("credit_limit.set", actor, customer_a.pk,
                                                                       "new customer, card payment")
    assert set_.after == {"kind": "credit_limit", "amount": "5000.00", "subscription_id": None}
    assert changed.action == "credit_limit.changed"
    assert (changed.before["amount"], changed.after["amount"]) == ("5000.00", "8000.00")

    with pytest.raises(InvalidInput) as refused:
        limits.remove_limit(limit, actor=actor, reason="  ")
    assert refused.value.field == "reason"
    limits.remove_limit(limit, actor=actor, reason="moved to prepayment")
    assert not CreditLimit.objects.exists()
    removed = AuditEntry.objects.get(action="credit_limit.removed")
    assert removed.reason == "moved to prepayment" and removed.before["amount"] == "8000.00"
    limits.remove_limit(limit, actor=actor, reason="twice")  # already gone: nothing more
    assert AuditEntry.objects.filter(action="credit_limit.removed").count() == 1


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "overdraft", "amount": "100"}, "kind"),
    ({"kind": "budget", "amount": "abc"}, "amount"),
    ({"kind": "budget", "amount": "-5"}, "amount"),
    ({"kind": "budget", "amount": "0"}, "amount"),
    ({"kind": "budget", "amount": 12.5}, "amount"),
    ({"kind": "budget", "amount": "1.005"}, "amount"),
    ({"kind": "budget", "amount": "1e30"}, "amount"),
    ({"kind": "credit_limit", "amount": "100", "subscription": "mine"}, "subscription"),
    ({"kind": "budget", "amount": "100", "subscription": "theirs"}, "subscription"),
    ({"kind": "budget", "amount": "100", "reason": "x" * 3000}, "reason"),
])
def test_bad_input_is_refused_naming_the_field(customer_a, customer_b, fields, field):
    subs = {"mine": subscription(customer_a), "theirs": subscription(customer_b)}
    if "subscription" in fields:
        fields["subscription"] = subs[fields["subscription"]]
    with pytest.raises(InvalidInput) as refused:
        limits.set_limit(customer_a, actor=None, **fields)
    assert refused.value.field == field
    assert not CreditLimit.objects.exists() and not AuditEntry.objects.filter(object_type="fraud.creditlimit").exists()
