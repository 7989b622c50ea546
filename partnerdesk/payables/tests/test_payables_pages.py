"""The payables pages as finance and the rest of the staff use them: the standing at the top of the list, an
invoice's page with its payments and the "record payment" form, correcting the due date, finance's settings."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.payables.models import FinanceSettings, OperatorInvoice, OperatorPayment
from partnerdesk.web.tests.factories import client_for

from .conftest import day, operator_invoice

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_list_shows_the_standing_and_each_invoices_figures(users, calendar_2026):
    operator_invoice("21V-202608-H", "2026-09-01", "100000.00")  # due 1 October, pay by 8 October
    paid = operator_invoice("21V-202609-0001", "2026-10-01", "2000.00")  # due 31 October
    client_for(users["finance"]).post(reverse("payables_payment_new", args=[paid.pk]),
                                      {"amount": "2000.00", "paid_on": "2026-10-30", "idempotency_key": "k"})
    page = client_for(users["auditor"]).get(reverse("payables_invoices"), {"as_of": "2026-11-02"})
    assert page.status_code == 200
    text = text_of(page)
    assert "Delinquent" in text and "no new customers, no new orders, no quantity changes and no add-ons" in text
    assert 'data-standing="delinquent"' in page.content.decode()
    row = text.split("21V-202608-H", 1)[1].split("21V-", 1)[0]
    for figure in ("2026-09-01", "2026-08-01 – 2026-08-31", "¥100,000.00", "2026-10-01",
                   "pay by 2026-10-08 (banks closed on the due date)", "32 days overdue", "¥3,000.00", "Late"):
        assert figure in row, figure
    paid_row = text.split("21V-202609-0001", 1)[1]
    assert "paid 2026-10-30" in paid_row and "Paid" in paid_row
    # Today (24 November 2026) it is still unpaid: 54 days overdue, still in the second month (to 1 December).
    today = text_of(client_for(users["billing_agent"]).get(reverse("payables_invoices")))
    assert "54 days overdue" in today and "¥3,000.00" in today
    # No "record" action for those who only read.
    assert reverse("payables_invoice_new") not in page.content.decode()


def test_finance_records_an_invoice_sets_its_due_date_and_pays_it(users, calendar_2026):
    finance = client_for(users["finance"])
    created = finance.post(reverse("payables_invoice_new"), {
        "number": "21V-202610-0007", "billing_date": "2026-11-01", "period_start": "2026-10-01",
        "period_end": "2026-10-31", "amount": "¥12,345.67"})
    invoice = OperatorInvoice.objects.get(number="21V-202610-0007")
    assert created.status_code == 302 and created["Location"] == reverse("payables_invoice", args=[invoice.pk])
    assert (invoice.amount, invoice.due_date) == (Decimal("12345.67"), day("2026-12-01"))

    # The due date agreed with 21Vianet: Saturday 5 December, so pay by Monday the 7th.
    edit = reverse("payables_invoice_edit", args=[invoice.pk])
    form = {"billing_date": "2026-11-01", "period_start": "2026-10-01", "period_end": "2026-10-31",
            "amount": "12345.67", "notes": "", "reason": "agreed by phone"}
    missing = finance.post(edit, {**form, "due_terms": "agreed"})
    assert missing.status_code == 200 and "Give the date agreed with 21Vianet." in missing.content.decode()
    assert finance.post(edit, {**form, "due_terms": "agreed", "due_date": "2026-12-05"}).status_code == 302
    entry = AuditEntry.objects.get(action="operator_invoice.updated")
    assert entry.after == {"due_date": "2026-12-05", "due_date_set": True} and entry.reason == "agreed by phone"
    page = text_of(finance.get(reverse("payables_invoice", args=[invoice.pk])))
    assert "2026-12-05 · set by finance" in page and "2026-12-07 · the due date is not a working day" in page

    pay = reverse("payables_payment_new", args=[invoice.pk])
    payment = {"amount": "12,000.00", "paid_on": "2026-11-20", "reference": "CMB-1120", "idempotency_key": "form-1"}
    assert finance.post(pay, payment).status_code == 302
    assert finance.post(pay, payment).status_code == 302  # the same form sent twice
    assert OperatorPayment.objects.count() == 1
    over = finance.post(pay, {**payment, "amount": "400.00", "idempotency_key": "form-2"})
    assert over.status_code == 200 and "Only 345.67 is still owed on 21V-202610-0007" in text_of(over)
    finance.post(pay, {**payment, "amount": "345.67", "idempotency_key": "form-3"})
    page = text_of(finance.get(reverse("payables_invoice", args=[invoice.pk])))
    assert "Paid in full on 2026-11-20" in page and "CMB-1120" in page and "operator-payment-form" not in page
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on) == ("paid", day("2026-11-20"))


def test_finance_settings_are_read_by_staff_and_changed_by_finance(users):
    finance = client_for(users["finance"])
    url = reverse("payables_settings")
    form = {"late_charge_percent": "2", "warn_days_before_due": "7", "delinquent_after_days": "30",
            "reconciliation_tolerance": "0.00", "reason": "legal maximum"}
    refused = finance.post(url, form)
    assert refused.status_code == 200 and "1.5%" in text_of(refused)
    assert finance.post(url, {**form, "late_charge_percent": "1.25"}).status_code == 302
    row = FinanceSettings.objects.get()
    assert (row.late_charge_monthly_rate, row.warn_days_before_due) == (Decimal("0.0125"), 7)
    auditor = client_for(users["auditor"])
    page = auditor.get(url).content.decode()
    assert 'value="1.25"' in page and "Finance and administrators change these settings." in page
    assert auditor.post(url, form).status_code == 403


@pytest.mark.parametrize("language, words", [
    ("zh-hans", ["应付世纪互联款项", "逾期", "最晚付款日"]),
    ("zh-hant", ["應付世紀互聯款項", "逾期", "最晚付款日"]),
])
def test_the_pages_read_in_chinese(users, calendar_2026, language, words):
    invoice = operator_invoice("21V-202608-H", "2026-09-01", "100000.00")
    c = client_for(users["finance"], language=language)
    body = c.get(reverse("payables_invoices")).content.decode() + c.get(
        reverse("payables_invoice", args=[invoice.pk])).content.decode()
    for word in words:
        assert word in body, word
