"""A dispute case from opening to the customer hearing the decision: upheld in part with a credit note, or
rejected with the date collections resume; real SMTP, the suite's clock."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.disputes import services
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.dunning.services import undisputed_balance
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.notifications.rendering import format_date
from partnerdesk.notifications.services import send_all_due
from partnerdesk.support import services as support
from partnerdesk.support.models import CaseStatus, CaseType, Channel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def portal_user(users):
    user = users["customer_a"]
    user.email = "alice@contoso.example.cn"
    user.save(update_fields=["email"])
    return user


def open_case(customer, user, invoice, amount="300.00"):
    return services.open_dispute_case(customer=customer, actor=user, amounts=[(invoice, amount)],
                                      reason="5 seats were removed in October", channel=Channel.PORTAL)


def test_upheld_in_part_credit_note_reply_in_the_customers_language_and_close_after_delivery(
        smtp_server, customer_a, users, portal_user):
    invoice = make_invoice(customer_a, "1000.00")
    case = open_case(customer_a, portal_user, invoice)
    assert case.type == CaseType.INVOICE_DISPUTE and list(case.invoices.all()) == [invoice]
    dispute = Dispute.objects.get(case=case)
    assert dispute.status == HoldStatus.OPEN and dispute.amount == Decimal("300.00")
    assert undisputed_balance(invoice) == Decimal("700.00")
    send_all_due()  # the acknowledgement
    acknowledged = len(smtp_server.wait_for(1))

    # The generic Resolve cannot go around the decision.
    with pytest.raises(Conflict) as refused:
        support.resolve(case=case, body="Done.", actor=users["finance"])
    assert refused.value.field == "disputes"

    smtp_server.stop()  # the mail server is down while the agent decides
    services.uphold(case, amount="200.00", actor=users["finance"], message="抱歉给您带来不便。")
    dispute.refresh_from_db()
    invoice.refresh_from_db()
    assert dispute.outcome == DisputeOutcome.PARTLY_UPHELD and dispute.upheld_amount == Decimal("200.00")
    assert dispute.credit_note.amount == Decimal("200.00")
    assert invoice.balance == Decimal("800.00")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED

    # Not closed before the customer has the decision.
    with pytest.raises(Conflict) as refused:
        support.close(case=case, actor=users["finance"])
    assert refused.value.code == "resolution_not_delivered"
    smtp_server.start()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):  # the retry is due
        send_all_due()
    reply = smtp_server.wait_for(acknowledged + 1)[-1]
    text = smtp_server.text(reply)
    assert reply["To"] == "alice@contoso.example.cn" and reply.language.lower().startswith("zh")
    assert invoice.number in text and dispute.credit_note.number in text
    assert "¥300.00" in text and "¥200.00" in text and "¥800.00" in text
    assert "部分" in text and "抱歉给您带来不便。" in text  # in Chinese, with the agent's own words
    assert format_date(dispute.resume_on, "zh-CN") in text  # the 100.00 not upheld is collected again from then
    support.close(case=case, actor=users["finance"])
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"dispute_case.opened", "dispute.opened", "credit_note.issued", "dispute.resolved",
            "dispute_case.decided", "case.resolved", "case.closed"} <= actions


def test_rejected_the_reply_states_the_day_collections_resume_in_english(smtp_server, customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    contact = customer_b.contacts.get()
    case = services.open_dispute_case(customer=customer_b, actor=users["billing_agent"], requester=contact,
                                      amounts=[(invoice, "1000.00")], reason="never ordered", channel=Channel.PHONE)
    [dispute] = services.reject(case, actor=users["billing_agent"], message="The order form is attached.")
    assert dispute.outcome == DisputeOutcome.REJECTED and dispute.resume_on > invoice.due_date
    send_all_due()
    text = smtp_server.text(smtp_server.to(contact.email)[-1])
    assert "cannot uphold it" in text and invoice.number in text and "¥1,000.00" in text
    assert f"resume on {format_date(dispute.resume_on, 'en')}" in text
    assert "The order form is attached." in text


def test_a_stated_resume_date_is_the_one_told(smtp_server, customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = services.open_dispute_case(customer=customer_b, actor=users["billing_agent"],
                                      requester=customer_b.contacts.get(), amounts=[(invoice, "400.00")],
                                      reason="price", channel=Channel.PHONE)
    with pytest.raises(InvalidInput) as refused:
        services.reject(case, actor=users["billing_agent"], resume_on=dt.date(2026, 1, 5))
    assert refused.value.field == "resume_on"
    [dispute] = services.reject(case, actor=users["billing_agent"], resume_on=dt.date(2026, 12, 21))
    assert dispute.resume_on == dt.date(2026, 12, 21)
    assert "21 Dec 2026" in case.messages.filter(is_resolution=True).get().body


def test_amounts_are_checked(customer_a, customer_b, users, portal_user):
    invoice = make_invoice(customer_a, "1000.00")
    for amount in ("1000.01", "0", "-5", "abc", "1.001"):
        with pytest.raises(InvalidInput) as refused:
            open_case(customer_a, portal_user, invoice, amount)
        assert refused.value.field == "amount", amount
    other = make_invoice(customer_b, "500.00")
    with pytest.raises(InvalidInput) as refused:
        open_case(customer_a, portal_user, other)
    assert refused.value.field == "invoice_id"
    case = open_case(customer_a, portal_user, invoice)
    with pytest.raises(InvalidInput) as refused:
        services.uphold(case, amount="300.01", actor=users["finance"])
    assert refused.value.field == "amount"
    assert Dispute.objects.filter(status=HoldStatus.OPEN).count() == 1


def test_an_agent_turns_a_question_into_a_dispute_and_adds_an_invoice(smtp_server, customer_a, users, portal_user):
    first, second = make_invoice(customer_a, "1000.00"), make_invoice(customer_a, "500.00")
    case = support.open_case(customer=customer_a, subject="Seats", description="Why 25 seats?", actor=portal_user)
    agent = users["billing_agent"]
    services.dispute_in_case(case, first, "250.00", actor=agent, reason="seat count")
    services.dispute_in_case(case, second, "500.00", actor=agent, reason="never ordered")
    services.dispute_in_case(case, first, "200.00", actor=agent, reason="customer corrected the figure")
    case.refresh_from_db()
    assert case.type == CaseType.INVOICE_DISPUTE and set(case.invoices.all()) == {first, second}
    assert sorted(d.amount for d in services.open_disputes(case)) == [Decimal("200.00"), Decimal("500.00")]
    # Two open: upholding names the one decided; the first decision is a reply, the last the resolution.
    with pytest.raises(InvalidInput) as refused:
        services.uphold(case, amount="200.00", actor=users["finance"])
    assert refused.value.field == "dispute_id"
    services.uphold(Dispute.objects.get(invoice=first), amount="200.00", actor=users["finance"])
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and Dispute.objects.get(invoice=first).outcome == DisputeOutcome.UPHELD
    services.reject(case, actor=agent)
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert "INV" in case.resolution_message.body and second.number in case.resolution_message.body
