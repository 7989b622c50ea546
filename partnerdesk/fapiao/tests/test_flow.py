"""The fapiao of an invoice, from request to delivery, and its red-letter reversal when a credit note takes back
what it invoiced; the buyer's unified social credit code is checked by its check character."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import issue_credit_note, void_invoice
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.fapiao import queries, services
from partnerdesk.fapiao.models import BuyerDetails, FapiaoRecord, FapiaoStatus

from .factories import CODE_A, CODE_B, vat_invoice, with_buyer

pytestmark = pytest.mark.django_db

NUMBER = "26312000000012345678"  # 2026, Shanghai (31), channel 2, sequence


# --- the buyer's details ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [CODE_A, CODE_B, "91440300708461136T", " 9135 0100-M000 100y43 "])
def test_a_real_credit_code_is_accepted_and_stored_in_capitals(code):
    assert services.clean_credit_code(code) in (CODE_A, CODE_B, "91440300708461136T")


@pytest.mark.parametrize(("code", "words"), [
    ("91350100M000100Y44", "check character"),  # one character mistyped: the check character gives it away
    ("91350100M000010Y43", "check character"),  # two characters swapped
    ("91350100M0001O0Y43", "'O'"),  # O is never used (it reads as 0)
    ("9135010SM000100Y43", "'S'"),
    ("91350100M000100Y4", "18 characters, not 17"),
    ("", "required"),
])
def test_a_wrong_credit_code_is_refused_naming_what_is_wrong(code, words):
    with pytest.raises(InvalidInput) as refused:
        services.clean_credit_code(code)
    assert refused.value.field == "credit_code" and words in str(refused.value)


def test_a_special_fapiao_needs_address_phone_bank_and_account(customer_a):
    with pytest.raises(InvalidInput) as refused:
        services.set_buyer_details(customer_a, actor=None, buyer_name="上海康拓有限公司", credit_code=CODE_A,
                                   fapiao_type="special", address="上海市", phone="021-5555 0100", bank="招商银行")
    assert refused.value.field == "bank_account"
    assert not BuyerDetails.objects.exists()
    details = with_buyer(customer_a, special=True)
    assert details.fapiao_type == "special" and details.bank_account == "1219 0123 4567 890"
    entry = AuditEntry.objects.get(action="fapiao.buyer_details_changed")
    assert entry.customer == customer_a and entry.before is None and entry.after["credit_code"] == CODE_A


# --- request, issue, deliver --------------------------------------------------------------------------------------


def test_request_issue_and_deliver_through_the_api(api_client, tokens, users, customer_a, customer_b):
    with_buyer(customer_a, special=True)
    invoice = vat_invoice(customer_a)
    finance = api_client.as_(tokens["finance"])

    resp = finance.post("/fapiao/requests", {"invoice_id": invoice.pk})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["status"], body["amount"], body["tax"], body["fapiao_type"]) == ("requested", "1000.00", "60.00",
                                                                                    "special")
    record = FapiaoRecord.objects.get(pk=body["id"])
    assert record.buyer_name == "Contoso 上海有限公司" and record.credit_code == CODE_A
    assert record.buyer_extra["bank"] == "招商银行上海分行"  # the details as sent: kept if the customer's change
    # Already covered in full: a second request is refused.
    again = finance.post("/fapiao/requests", {"invoice_id": invoice.pk})
    assert again.status_code == 409 and again.json()["field"] == "invoice_id"

    # The number is checked: 20 digits, starting with the year of issue, used once.
    for number, field, status in [("2631200000001234567", "number", 422), ("25312000000012345678", "number", 422),
                                  ("2.63120000000123E+19", "number", 422)]:
        resp = finance.post(f"/fapiao/records/{record.pk}/issue", {"number": number, "issued_on": "2026-11-20"})
        assert (resp.status_code, resp.json()["field"]) == (status, field), resp.content
    resp = finance.post(f"/fapiao/records/{record.pk}/issue", {"number": NUMBER, "issued_on": "2026-11-25"})
    assert resp.status_code == 422 and "future" in resp.json()["detail"]  # (the suite's day is 2026-11-24)
    resp = finance.post(f"/fapiao/records/{record.pk}/issue", {"number": NUMBER, "issued_on": "2026-11-20"})
    assert resp.status_code == 200 and resp.json()["status"] == "issued" and resp.json()["number"] == NUMBER

    resp = finance.post(f"/fapiao/records/{record.pk}/deliver", {"delivered_on": "2026-11-19"})
    assert resp.status_code == 422 and resp.json()["field"] == "delivered_on"  # before it was issued
    resp = finance.post(f"/fapiao/records/{record.pk}/deliver", {"delivered_on": "2026-11-21"})
    assert resp.json()["status"] == "delivered" and resp.json()["delivered_on"] == "2026-11-21"
    again = finance.post(f"/fapiao/records/{record.pk}/deliver", {"delivered_on": "2026-11-22"})
    assert again.status_code == 409
    actions = list(AuditEntry.objects.filter(object_type="fapiao.fapiaorecord").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["fapiao.requested", "fapiao.issued", "fapiao.delivered"]

    # The customer's own user reads it; another customer's does not find it; neither may change it.
    own = api_client.as_(tokens["customer_a"])
    assert own.get(f"/fapiao/records/{record.pk}").json()["number"] == NUMBER
    assert [r["id"] for r in own.get("/fapiao/records").json()["items"]] == [record.pk]
    assert api_client.as_(tokens["customer_b"]).get(f"/fapiao/records/{record.pk}").status_code == 404
    assert api_client.as_(tokens["customer_b"]).get("/fapiao/records").json()["items"] == []
    assert own.post(f"/fapiao/records/{record.pk}/reversal", {"reason": "issuing_error"}).status_code == 403

    # Another fapiao may not carry the same number.
    other = vat_invoice(customer_b, "200.00")
    with_buyer(customer_b, code=CODE_B)
    second = services.request_fapiao(other, actor=None)
    with pytest.raises(Conflict) as clash:
        services.record_issued(second, number=NUMBER, issued_on=dt.date(2026, 11, 20), actor=None)
    assert invoice.number in str(clash.value)


def test_only_an_issued_invoice_of_a_customer_with_details_gets_a_fapiao(customer_a):
    draft = vat_invoice(customer_a, issue=False)
    issued = vat_invoice(customer_a)
    with pytest.raises(InvalidInput) as refused:
        services.request_fapiao(issued, actor=None)
    assert refused.value.field == "customer_id"  # no invoicing details yet
    with_buyer(customer_a)
    with pytest.raises(Conflict):
        services.request_fapiao(draft, actor=None)
    void_invoice(issued, actor=None, reason="duplicate")
    with pytest.raises(Conflict) as refused:
        services.request_fapiao(issued, actor=None)
    assert "void" in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        services.request_fapiao(vat_invoice(customer_a), actor=None, fapiao_type="special")
    assert refused.value.field == "fapiao_type"  # a general buyer has no bank details for a special one
    assert not FapiaoRecord.objects.exists()


# --- a credit note asks for the red-letter reversal --------------------------------------------------------------


def _delivered(invoice, number=NUMBER):
    record = services.request_fapiao(invoice, actor=None)
    services.record_issued(record, number=number, issued_on=dt.date(2026, 10, 8), actor=None)
    return services.record_delivered(record, delivered_on=dt.date(2026, 10, 9), actor=None)


def test_a_full_credit_asks_for_a_red_letter_reversal_for_an_issuing_error(customer_a, users):
    with_buyer(customer_a)
    invoice = vat_invoice(customer_a)
    record = _delivered(invoice)

    note = issue_credit_note(invoice=invoice, amount="1060.00", reason="Billed the wrong customer", actor=None)
    record.refresh_from_db()
    assert record.status == FapiaoStatus.REVERSAL_REQUESTED and record.credit_note == note
    assert record.reversal_reason == "issuing_error" and record.reversal_requested_at is not None
    entry = AuditEntry.objects.get(action="fapiao.reversal_requested")
    assert entry.customer == customer_a and entry.after["credit_note"] == note.pk

    # Finance chooses another reason, then records the red-letter fapiao the platform issued.
    services.change_reversal_reason(record, reason_code="service_terminated", actor=users["finance"],
                                    note="the customer left")
    with pytest.raises(InvalidInput):
        services.change_reversal_reason(record, reason_code="because", actor=users["finance"])
    with pytest.raises(Conflict):  # the red-letter number cannot be the fapiao's own
        services.record_reversal_done(record, red_letter_number=NUMBER, reversed_on=dt.date(2026, 11, 20),
                                      actor=users["finance"])
    services.record_reversal_done(record, red_letter_number="26312000000099990001", reversed_on=dt.date(2026, 11, 20),
                                  actor=users["finance"])
    record.refresh_from_db()
    assert (record.status, record.reversal_reason, record.red_letter_number) == (
        "reversed", "service_terminated", "26312000000099990001")
    assert queries.uncovered(invoice) == 0  # nothing is invoiced any more: nothing to request
    assert queries.delivered_dates([invoice.pk]) == {}  # and the buyer holds no fapiao for it


def test_a_partial_credit_asks_for_a_sales_discount_and_the_fapiao_stands_for_the_rest(customer_a):
    with_buyer(customer_a)
    invoice = vat_invoice(customer_a)
    record = _delivered(invoice)

    issue_credit_note(invoice=invoice, amount="106.00", reason="Two seats removed", actor=None)
    record.refresh_from_db()
    assert (record.status, record.reversal_reason) == ("reversal_requested", "sales_discount")
    assert queries.delivered_dates([invoice.pk]) == {invoice.pk: dt.date(2026, 10, 9)}  # still in the buyer's hands
    services.record_reversal_done(record, red_letter_number="26312000000099990002", reversed_on=dt.date(2026, 11, 2),
                                  actor=None)
    assert queries.standing_amount(FapiaoRecord.objects.get(pk=record.pk)) == Decimal("954.00")
    assert queries.uncovered(invoice) == 0
    assert queries.delivered_dates([invoice.pk]) == {invoice.pk: dt.date(2026, 10, 9)}


def test_a_reason_named_in_the_credit_note_is_the_red_letter_reason_and_a_full_reversal_leaves_the_rest_to_request(
        customer_a):
    with_buyer(customer_a)
    invoice = vat_invoice(customer_a)
    record = _delivered(invoice)

    issue_credit_note(invoice=invoice, amount="530.00", reason="服务终止：客户提前退订一半席位", actor=None)
    record.refresh_from_db()
    assert record.reversal_reason == "service_terminated"  # reverses the whole fapiao
    services.record_reversal_done(record, red_letter_number="26312000000099990003", reversed_on=dt.date(2026, 11, 2),
                                  actor=None)
    # What the invoice still invoices (1,060.00 - 530.00) needs a new fapiao, at the invoice's tax share.
    assert queries.uncovered(invoice) == Decimal("530.00")
    again = services.request_fapiao(invoice, actor=None)
    assert (again.amount, again.tax) == (Decimal("500.00"), Decimal("30.00"))


def test_a_fapiao_only_requested_is_cut_to_what_is_still_invoiced_or_withdrawn(customer_a):
    with_buyer(customer_a)
    invoice = vat_invoice(customer_a)
    requested = services.request_fapiao(invoice, actor=None)

    issue_credit_note(invoice=invoice, amount="106.00", reason="Two seats removed", actor=None)
    requested.refresh_from_db()
    assert (requested.status, requested.amount, requested.tax) == ("requested", Decimal("900.00"), Decimal("54.00"))
    assert AuditEntry.objects.filter(action="fapiao.request_reduced").count() == 1

    issue_credit_note(invoice=invoice, amount="954.00", reason="Cancelled", actor=None)
    assert not FapiaoRecord.objects.filter(pk=requested.pk).exists()
    assert AuditEntry.objects.get(action="fapiao.request_withdrawn").object_id == str(requested.pk)


def test_deciding_collections_costs_one_query_more_only_under_a_policy_that_waits(customer_a):
    from django.db import connection

    from partnerdesk.dunning.engine import decide
    from partnerdesk.dunning.policies import default_policy

    invoice = vat_invoice(customer_a)  # due 2026-10-31: overdue on the suite's day
    policy = default_policy()

    def queries_and_due():
        seen = []
        with connection.execute_wrapper(lambda execute, sql, *args: seen.append(sql) or execute(sql, *args)):
            due = decide(dt.date(2026, 11, 24))
        return len(seen), [d.invoice_id for d in due]

    usual, due = queries_and_due()
    assert due == [invoice.pk]
    policy.wait_for_fapiao = True
    policy.save()
    waiting, due = queries_and_due()
    assert (waiting, due) == (usual + 1, [])
