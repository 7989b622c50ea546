"""Review of issue 14's disputes: a dispute of a case is decided only in the case; amounts are capped at what is
still open (a paid invoice is upheld with a refund); a merge cannot strand disputes; the resume day is a working
day; a long message is no error; the credit note reads in the case's language."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import issue_credit_note, record_payment, refund_payment
from partnerdesk.conftest import make_invoice
from partnerdesk.disputes import services
from partnerdesk.dunning import services as dunning
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.support import services as support
from partnerdesk.support.models import Channel

pytestmark = pytest.mark.django_db


def dispute_case(customer, agent, invoice, amount="300.00"):
    return services.open_dispute_case(customer=customer, actor=agent, requester=customer.contacts.get(),
                                      amounts=[(invoice, amount)], reason="seats billed twice", channel=Channel.PHONE)


def test_a_dispute_of_a_case_is_not_ended_through_collections(api_client, tokens, customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice)
    dispute = Dispute.objects.get(case=case)
    note = issue_credit_note(invoice=invoice, amount="300.00", reason="seats", actor=None)
    collections = api_client.as_(tokens["collections"])
    for path, body in [(f"/disputes/{dispute.pk}/end", {"outcome": "upheld", "resolution": "ok",
                                                          "credit_note_id": note.pk}),
                       (f"/disputes/{dispute.pk}/resolve", {"resolution": "withdrawn"})]:
        refused = collections.post(path, body)
        assert refused.status_code == 409, refused.content
        assert refused.json()["field"] == "case_id" and case.token in refused.json()["detail"]

    client = Client()
    client.force_login(users["collections"])
    page = client.post(reverse("dispute_resolve", args=[customer_b.pk, dispute.pk]),
                       {f"resolve-{dispute.pk}-resolution": "paid"})
    assert page.status_code == 200 and case.token in page.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == HoldStatus.OPEN


def test_ending_a_dispute_as_upheld_needs_a_credit_note_of_the_upheld_amount(customer_b):
    invoice = make_invoice(customer_b, "1000.00")
    dispute = dunning.open_dispute(invoice=invoice, reason="seats", amount="300.00", actor=None)
    with pytest.raises(InvalidInput) as refused:
        dunning.end_dispute(dispute, outcome=DisputeOutcome.UPHELD, resolution="agreed", actor=None)
    assert refused.value.field == "credit_note_id"
    note = issue_credit_note(invoice=invoice, amount="100.00", reason="seats", actor=None)
    with pytest.raises(InvalidInput) as refused:
        dunning.end_dispute(dispute, outcome=DisputeOutcome.UPHELD, upheld_amount="300.00", credit_note=note,
                            resolution="agreed", actor=None)
    assert refused.value.field == "credit_note_id"
    ended = dunning.end_dispute(dispute, outcome=DisputeOutcome.PARTLY_UPHELD, upheld_amount="100.00",
                                credit_note=note, resolution="in part", actor=None)
    assert ended.upheld_amount == Decimal("100.00")


def test_the_disputed_amount_is_capped_at_what_is_still_open(api_client, tokens, customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice, amount="300.00")
    issue_credit_note(invoice=invoice, amount="850.00", reason="price corrected", actor=None)  # 150.00 left
    out = api_client.as_(tokens["finance"]).get(f"/cases/{case.pk}/disputes").json()
    assert out["disputes"][0]["amount"] == "150.00"
    with pytest.raises(InvalidInput) as refused:
        services.uphold(case, amount="300.00", actor=users["finance"])
    assert refused.value.field == "amount" and "150.00" in str(refused.value.message)

    dispute = services.uphold(case, amount="150.00", actor=users["finance"])
    assert dispute.outcome == DisputeOutcome.UPHELD  # all that was still open: upheld in full
    reply = case.messages.filter(is_resolution=True).get().body
    assert "you disputed ¥150.00" in reply and "300.00" not in reply


def test_an_invoice_paid_in_full_while_disputed_is_upheld_with_a_refund(customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice, amount="300.00")
    issue_credit_note(invoice=invoice, amount="1000.00", reason="cancelled order", actor=None)
    with pytest.raises(Conflict) as refused:
        services.uphold(case, amount="300.00", actor=users["finance"])
    assert refused.value.field == "refund_id" and invoice.number in str(refused.value.message)

    paid = record_payment(customer=customer_b, amount=Decimal("300.00"), received_on=dt.date(2026, 11, 2),
                          method="bank_transfer", actor=None)
    refund = refund_payment(payment=paid.payment, amount="300.00", reason="dispute upheld", actor=None)
    dispute = services.uphold(case, amount="300.00", actor=users["finance"], refund=refund)
    assert (dispute.outcome, dispute.upheld_amount, dispute.credit_note_id) == ("upheld", Decimal("300.00"), None)
    assert "we have refunded ¥300.00" in case.messages.filter(is_resolution=True).get().body
    assert AuditEntry.objects.get(action="dispute.resolved").after["refund"] == refund.pk


def test_a_case_with_open_disputes_cannot_be_merged(customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    source = dispute_case(customer_b, users["billing_agent"], invoice)
    target = support.open_case(customer=customer_b, actor=users["billing_agent"], subject="Seats",
                               description="how many seats", requester_contact=customer_b.contacts.get())
    with pytest.raises(Conflict) as refused:
        support.merge(source=source, target=target, actor=users["billing_agent"])
    assert refused.value.field == "case_id"
    assert Dispute.objects.get(case=source).status == HoldStatus.OPEN
    support.merge(source=target, target=source, actor=users["billing_agent"])  # into it is fine


def test_a_resume_day_off_moves_to_the_next_working_day_and_is_told(customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice)
    [dispute] = services.reject(case, actor=users["billing_agent"], resume_on=dt.date(2026, 12, 19))  # a Saturday
    assert dispute.resume_on == dt.date(2026, 12, 21)
    assert "21 Dec 2026" in case.messages.filter(is_resolution=True).get().body


def test_a_long_message_is_the_reply_and_no_error(api_client, tokens, customer_b, users):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice)
    message = "The seats were in use. " * 150  # 3,450 characters
    rejected = api_client.as_(tokens["billing_agent"]).post(f"/cases/{case.pk}/disputes/reject",
                                                           {"message": message})
    assert rejected.status_code == 200, rejected.content
    dispute = Dispute.objects.get(case=case)
    assert len(dispute.resolution) <= 2000 and dispute.resolution.startswith("The seats were in use.")
    assert message.strip() in case.messages.filter(is_resolution=True).get().body


@pytest.mark.parametrize("language, reason", [("zh-CN", "争议已在 %s 中获支持"), ("zh-TW", "爭議已在 %s 中獲支持"),
                                              ("en", "Dispute upheld in %s")])
def test_the_credit_note_reads_in_the_cases_language(customer_b, users, language, reason):
    contact = customer_b.contacts.get()
    contact.language = language
    contact.save(update_fields=["language"])
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice)
    dispute = services.uphold(case, amount="100.00", actor=users["finance"])
    assert dispute.credit_note.reason == reason % case.token


def test_the_case_page_upholds_a_paid_invoices_dispute_with_the_refund(customer_b, users, client):
    invoice = make_invoice(customer_b, "1000.00")
    case = dispute_case(customer_b, users["billing_agent"], invoice, amount="300.00")
    issue_credit_note(invoice=invoice, amount="1000.00", reason="cancelled order", actor=None)
    paid = record_payment(customer=customer_b, amount=Decimal("300.00"), received_on=dt.date(2026, 11, 2),
                          method="bank_transfer", actor=None)
    refund = refund_payment(payment=paid.payment, amount="300.00", reason="dispute upheld", actor=None)
    client.force_login(users["finance"])
    page = client.get(f"/support/cases/{case.pk}/").content.decode()
    assert 'name="dispute-uphold-refund"' in page and f'value="{refund.pk}"' in page
    dispute = Dispute.objects.get(case=case)
    answer = client.post(f"/support/cases/{case.pk}/disputes/uphold/",
                         {"dispute-uphold-dispute": dispute.pk, "dispute-uphold-amount": "300.00",
                          "dispute-uphold-refund": refund.pk})
    assert answer.status_code == 302
    dispute.refresh_from_db()
    assert dispute.outcome == "upheld" and dispute.credit_note_id is None
