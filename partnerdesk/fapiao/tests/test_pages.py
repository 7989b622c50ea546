"""The fapiao pages as finance, an agent and a customer use them: the list with its actions, the customer's
invoicing details, the files for the tax platform, and the portal's fapiao status of the customer's own invoices."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from partnerdesk.fapiao import services
from partnerdesk.fapiao.models import BuyerDetails, FapiaoRecord

from .factories import CODE_A, CODE_B, vat_invoice, with_buyer

pytestmark = pytest.mark.django_db


def signed_in(user, language="en"):
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def test_finance_requests_records_and_delivers_from_the_list(users, customer_a):
    with_buyer(customer_a)
    invoice = vat_invoice(customer_a)
    finance = signed_in(users["finance"])
    page = finance.get(reverse("fapiao_list")).content.decode()
    assert 'data-testid="waiting"' in page and invoice.number in page  # issued, no fapiao requested yet

    back = reverse("fapiao_list") + "?status=requested"
    resp = finance.post(reverse("fapiao_request"), {"invoice": invoice.number, "next": back})
    assert resp.status_code == 302 and resp["Location"] == back
    record = FapiaoRecord.objects.get(invoice=invoice)
    page = finance.get(back).content.decode()
    assert f'data-request="{record.pk}"' in page and "Record as issued" in page
    assert "Fapiao requested for invoice" in page and "1000.00 plus 60.00 tax" in page

    resp = finance.post(reverse("fapiao_issue", args=[record.pk]), {"number": "123", "issued_on": "2026-11-20"},
                        follow=True)
    assert "A fapiao number has 20 digits" in resp.content.decode()  # refused, said on the page
    finance.post(reverse("fapiao_issue", args=[record.pk]), {"number": "26312000000000000901", "issued_on": "2026-11-20"})
    finance.post(reverse("fapiao_deliver", args=[record.pk]), {"delivered_on": "2026-11-21"})
    record.refresh_from_db()
    assert (record.status, record.number, record.delivered_on) == ("delivered", "26312000000000000901",
                                                                   dt.date(2026, 11, 21))
    finance.post(reverse("fapiao_reversal", args=[record.pk]), {"reason": "sales_return", "note": "seats returned"})
    finance.post(reverse("fapiao_reversal_reason", args=[record.pk]), {"reason": "issuing_error"})
    finance.post(reverse("fapiao_reversal_done", args=[record.pk]),
                 {"red_letter_number": "26312000000000000902", "reversed_on": "2026-11-23"})
    record.refresh_from_db()
    assert (record.status, record.reversal_reason, record.red_letter_number) == ("reversed", "issuing_error",
                                                                                 "26312000000000000902")

    # An agent reads the list, without the actions.
    page = signed_in(users["billing_agent"]).get(reverse("fapiao_list")).content.decode()
    assert "26312000000000000901" in page and "Record delivery" not in page and "Export" not in page


def test_the_export_and_an_upload_with_a_bad_row(users, customer_a):
    with_buyer(customer_a)
    record = services.request_fapiao(vat_invoice(customer_a), actor=None)
    finance = signed_in(users["finance"])
    resp = finance.get(reverse("fapiao_export"))
    assert resp["Content-Type"] == "text/csv; charset=utf-8" and resp.content.startswith(b"\xef\xbb\xbf")
    assert f"{record.pk},".encode() in resp.content

    upload = io.BytesIO(f"申请编号 request_id,发票号码 fapiao_number,开票日期 issued_on\n{record.pk},2631,2026-11-20\n"
                        .encode())
    resp = finance.post(reverse("fapiao_import"), {"file": SimpleUploadedFile("results.csv", upload.getvalue())})
    page = resp.content.decode()
    assert resp.status_code == 400 and 'data-testid="import-errors"' in page
    assert "results.csv: 1 problem; nothing was imported." in page and "Row 2, column 发票号码 fapiao_number:" in page
    good = f"申请编号 request_id,发票号码 fapiao_number,开票日期 issued_on\n{record.pk},26312000000000001001,2026-11-20\n"
    resp = finance.post(reverse("fapiao_import"), {"file": SimpleUploadedFile("results.csv", good.encode())},
                        follow=True)
    assert "1 issued" in resp.content.decode()
    record.refresh_from_db()
    assert record.number == "26312000000000001001"


def test_the_invoicing_details_form_checks_the_credit_code(users, customer_a):
    finance = signed_in(users["finance"], "zh-hans")
    url = reverse("fapiao_buyer_details", args=[customer_a.pk])
    assert "fapiao_buyer_details" not in finance.get(reverse("customer_detail", args=[customer_a.pk])).content.decode()
    assert url in finance.get(reverse("customer_detail", args=[customer_a.pk])).content.decode()  # reached from it
    data = {"fapiao_type": "special", "buyer_name": "上海康拓信息技术有限公司", "credit_code": CODE_A[:-1] + "4",
            "address": "上海市浦东新区世纪大道 100 号", "phone": "021-5555 0100", "bank": "招商银行上海分行",
            "bank_account": "121901234567890"}
    resp = finance.post(url, data)
    assert resp.status_code == 400 and not BuyerDetails.objects.exists()
    assert "校验" in resp.content.decode()  # the check character, said in the reader's language
    resp = finance.post(url, {**data, "credit_code": CODE_A})
    assert resp.status_code == 302
    assert BuyerDetails.objects.get(customer=customer_a).bank == "招商银行上海分行"

    page = signed_in(users["auditor"]).get(url).content.decode()
    assert 'data-testid="buyer-details"' in page and CODE_A in page and "<form method=\"post\" class=\"stacked\"" not in page
    assert signed_in(users["auditor"]).post(url, {**data, "credit_code": CODE_B}).status_code == 403


def test_the_portal_shows_the_customer_its_own_fapiao_status(users, customer_a, customer_b):
    with_buyer(customer_a)
    with_buyer(customer_b, code=CODE_B)
    delivered, requested, waiting = vat_invoice(customer_a), vat_invoice(customer_a, "500.00"), vat_invoice(customer_a,
                                                                                                          "20.00")
    record = services.request_fapiao(delivered, actor=None)
    services.record_issued(record, number="26312000000000001101", issued_on=dt.date(2026, 11, 2), actor=None)
    services.record_delivered(record, delivered_on=dt.date(2026, 11, 3), actor=None)
    services.request_fapiao(requested, actor=None)
    other = vat_invoice(customer_b, "900.00")
    other_record = services.request_fapiao(other, actor=None)
    services.record_issued(other_record, number="26110000000000001102", issued_on=dt.date(2026, 11, 2), actor=None)

    page = signed_in(users["customer_a"], "zh-hans").get(reverse("portal_fapiao")).content.decode()
    assert "26312000000000001101" in page and "2026-11-02" in page and "2026-11-03" in page
    assert "已送达" in page or "已交付" in page  # delivered, in the reader's language
    for invoice in (delivered, requested, waiting):
        assert f'data-invoice="{invoice.number}"' in page
    assert other.number not in page and "26110000000000001102" not in page and CODE_B not in page
    assert CODE_A in page  # its own invoicing details, to check
    assert signed_in(users["finance"]).get(reverse("portal_fapiao")).status_code == 403


def test_an_admin_makes_a_policy_wait_for_the_fapiao_on_the_policy_page(users):
    from partnerdesk.dunning.policies import default_policy
    from partnerdesk.web.tests.test_no_english_left import _form_data

    policy = default_policy()
    admin = signed_in(users["admin"])
    url = reverse("policy_edit", args=[policy.pk])
    context = admin.get(url).context
    assert "wait_for_fapiao" in context["form"].fields
    data = {**_form_data(context["form"]), "policy-wait_for_fapiao": "on", "policy-reason": "customers pay on fapiao"}
    for form in [*context["formset"].forms, context["formset"].management_form]:
        data.update(_form_data(form))
    assert admin.post(url, data).status_code == 302
    policy.refresh_from_db()
    assert policy.wait_for_fapiao and policy.version == 2
    assert "Waits until the fapiao was delivered" in admin.get(reverse("policy_detail", args=[policy.pk])).content.decode()
    listed = signed_in(users["auditor"]).get("/api/v1/collections/policies")  # (a session: the API reads it too)
    assert listed.json()[0]["wait_for_fapiao"] is True
