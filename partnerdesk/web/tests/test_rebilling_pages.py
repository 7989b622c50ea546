"""The re-billing pages as finance and the agents use them: upload a reconciliation file (a bad row imports nothing
and names file, row and column; the same file twice is imported once), a file's lines paged and filtered, replace
with a corrected file (only with a reason), map an unmatched key to a customer (remembered), price rules, a
period's drafts generated, adjusted and issued. Readers without rebilling.manage see no forms and are refused."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.customers.models import Subscription
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling.models import Adjustment, FileStatus, LineMapping, PriceRule, ReconFile, ReconLine
from partnerdesk.rebilling.tests import recon_factory as rf

from .factories import client_for
from .rebilling_support import file_total, license_file, license_row, upload_data

PERIOD = dt.date(2026, 10, 1)


@pytest.fixture
def finance(users):
    return client_for(users["finance"])


@pytest.fixture
def contoso_sub(customer_a):
    return Subscription.objects.create(customer=customer_a, operator_id="pc-sub-contoso-e3", offer_name="Microsoft 365 E3")


@pytest.mark.django_db
def test_a_bad_row_imports_nothing_and_the_page_names_file_row_and_column(finance, customer_a, contoso_sub):
    rows = [license_row(customer_a, subscription_ref=contoso_sub.operator_id) for _ in range(5)]
    rows[3]["ChargeStartDate"] = "2026-13-45"
    response = finance.post(reverse("rebilling_file_upload"), upload_data(license_file(rows), rows))

    assert response.status_code == 400
    body = response.content.decode()
    problem = re.search(r'data-testid="import-problem".*?</div>', body, re.S).group(0)
    assert "recon-2026-10.csv" in problem and "Nothing was imported." in problem
    assert re.search(r'data-testid="problem-row">\s*5\s*<', problem)  # the header is row 1
    assert 'data-testid="problem-column">ChargeStartDate<' in problem
    assert not ReconFile.objects.exists() and not ReconLine.objects.exists()
    assert not OperatorInvoice.objects.exists()  # the invoice is recorded in the same transaction, or not at all

    # Good rows that do not add up to the operator invoice's total: the figures are named, nothing is imported.
    rows[3]["ChargeStartDate"] = "2026-10-01"
    response = finance.post(reverse("rebilling_file_upload"), upload_data(license_file(rows), rows, total="100.00"))
    assert response.status_code == 400
    problem = re.search(r'data-testid="import-problem".*?</div>', response.content.decode(), re.S).group(0)
    assert "recon-2026-10.csv" in problem and "100.00" in problem and file_total(rows) in problem
    assert not ReconFile.objects.exists() and not OperatorInvoice.objects.exists()


@pytest.mark.django_db
def test_upload_matches_and_the_same_file_twice_is_imported_once(finance, customer_a, contoso_sub):
    rows = [license_row(customer_a, subscription_ref=contoso_sub.operator_id, quantity=str(q)) for q in (10, 12, 3)]
    rows.append(license_row(None, subscription_ref="pc-sub-nobody", customer_name="无主 公司, 上海",
                            domain="nobody.example.cn"))
    content = license_file(rows)

    response = finance.post(reverse("rebilling_file_upload"), upload_data(content, rows), follow=True)
    assert response.status_code == 200
    recon_file = ReconFile.objects.get()
    assert response.redirect_chain[-1][0] == reverse("rebilling_file", args=[recon_file.pk])
    body = response.content.decode()
    assert "Imported recon-2026-10.csv: 4 rows, 3 matched, 1 unmatched." in body
    assert re.search(r'data-testid="matched">3<', body) and re.search(r'data-testid="unmatched">1<', body)
    assert "无主 公司, 上海" in body and contoso_sub.operator_id in body
    assert recon_file.operator_invoice.number == "G0010000123"

    # The same content again (another name): nothing changes, the page says where it already is.
    again = finance.post(reverse("rebilling_file_upload"), upload_data(content, rows, name="copy.csv"), follow=True)
    assert f"This file is already imported as file #{recon_file.pk}: nothing changed." in again.content.decode()
    assert ReconFile.objects.count() == 1 and ReconLine.objects.count() == 4

    # The list shows the file with its operator invoice, kind, rows, sums and counts.
    listing = finance.get(reverse("rebilling_files")).content.decode()
    row = re.search(rf'<tr data-file="{recon_file.pk}">.*?</tr>', listing, re.S).group(0)
    for expected in ["G0010000123", "License-based", ">4<", "Imported", 'data-testid="matched">3<',
                     f"¥{recon_file.total:,.2f}"]:
        assert expected in row, expected
    assert re.search(r'data-testid="unmatched"><a [^>]*>1</a>', row)


@pytest.mark.django_db
def test_a_file_page_pages_its_lines_fifty_at_a_time_and_filters_them(users, customer_a):
    recon_file = rf.recon_file(period=PERIOD)
    for i in range(57):
        rf.line(recon_file, customer=customer_a if i % 10 else None, customer_name=f"客户 {i}", charges="10.00")
    ReconFile.objects.filter(pk=recon_file.pk).update(row_count=57)
    auditor = client_for(users["auditor"])
    url = reverse("rebilling_file", args=[recon_file.pk])

    first = auditor.get(url).content.decode()
    assert first.count("<tr data-row=") == 50 and "Page 1 of 2" in first
    assert auditor.get(url + "?page=2").content.decode().count("<tr data-row=") == 7
    unmatched = auditor.get(url + "?show=unmatched").content.decode()
    assert unmatched.count('data-matched="no"') == 6 and 'data-matched="yes"' not in unmatched
    matched = auditor.get(url + "?show=matched").content.decode()
    assert matched.count('data-matched="yes"') == 50 and "Page 1 of 2" in matched
    # The auditor reads; the replace form is finance's.
    assert 'id="replace-form"' not in first and 'id="upload-form"' not in auditor.get(reverse("rebilling_files")).content.decode()
    assert client_for(users["finance"]).get(url).content.decode().count('id="replace-form"') == 1


@pytest.mark.django_db
def test_replace_needs_a_reason_then_replaces_and_is_audited(finance, customer_a, contoso_sub):
    rows = [license_row(customer_a, subscription_ref=contoso_sub.operator_id, quantity="10")]
    finance.post(reverse("rebilling_file_upload"), upload_data(license_file(rows), rows))
    old = ReconFile.objects.get()
    url = reverse("rebilling_file_replace", args=[old.pk])
    # Same invoice total, a corrected split: 8 + 2 seats instead of 10.
    corrected = [license_row(customer_a, subscription_ref=contoso_sub.operator_id, quantity=q) for q in ("8", "2")]
    content = license_file(corrected)

    no_reason = finance.post(url, {"file": SimpleUploadedFile("fixed.csv", content), "reason": ""})
    assert no_reason.status_code == 400
    assert re.search(r'has-error">\s*<label for="replace-reason"', no_reason.content.decode())
    assert ReconFile.objects.count() == 1

    response = finance.post(url, {"file": SimpleUploadedFile("fixed.csv", content), "reason": "operator re-issued"},
                            follow=True)
    new = ReconFile.objects.get(status=FileStatus.ACTIVE)
    assert response.redirect_chain[-1][0] == reverse("rebilling_file", args=[new.pk])
    body = response.content.decode()
    assert "is replaced by fixed.csv: 2 rows, 2 matched, 0 unmatched." in body
    assert "This file replaced" in body and "operator re-issued" in body
    old.refresh_from_db()
    assert (old.status, old.replaced_by_id) == (FileStatus.REPLACED, new.pk)
    assert not ReconLine.objects.filter(file=old).exists()
    assert AuditEntry.objects.filter(action="recon_file.replaced").count() == 1
    old_page = finance.get(reverse("rebilling_file", args=[old.pk])).content.decode()
    assert 'data-testid="replaced"' in old_page and 'id="replace-form"' not in old_page


@pytest.mark.django_db
def test_unmatched_lines_grouped_by_key_and_a_mapping_is_remembered(finance, users, customer_a, customer_b,
                                                                     contoso_sub):
    recon_file = rf.recon_file(period=PERIOD)
    for charges in ("100.00", "50.00", "-20.00"):
        rf.line(recon_file, subscription_ref="pc-sub-lost", customer_name="失配 公司", charges=charges)
    rf.line(recon_file, domain="lost.example.cn", customer_name="域名 公司", charges="5.00")
    page = finance.get(reverse("rebilling_unmatched")).content.decode()
    assert page.count('data-testid="unmatched-group"') == 2
    group = re.search(r'data-key="pc-sub-lost".*?</section>', page, re.S).group(0)
    assert re.search(r'data-testid="group-lines">3<', group) and "¥130.00" in group and "失配 公司" in group
    assert "Subscription (optional)" in group  # a subscription key may name the subscription
    assert "Subscription (optional)" not in re.search(r'data-key="lost.example.cn".*?</section>', page, re.S).group(0)

    # A customer no one has: the form says so, nothing is mapped.
    data = {"key_kind": "subscription", "key": "pc-sub-lost", "customer": "Nobody Ltd", "subscription": "", "reason": ""}
    refused = finance.post(reverse("rebilling_map"), data)
    assert refused.status_code == 400 and "No customer matches “Nobody Ltd”." in refused.content.decode()
    assert not LineMapping.objects.exists()
    # Another customer's subscription is refused on the subscription field.
    data.update(customer=customer_b.name, subscription=contoso_sub.operator_id)
    refused = finance.post(reverse("rebilling_map"), data)
    assert refused.status_code == 400 and f"{customer_b.name} has no subscription" in refused.content.decode()

    data.update(customer=customer_a.name, subscription="Microsoft 365 E3", reason="new tenant, same company")
    response = finance.post(reverse("rebilling_map"), data, follow=True)
    assert "pc-sub-lost is mapped to Contoso 上海: 3 lines matched." in response.content.decode()
    assert ReconLine.objects.filter(customer=customer_a, subscription=contoso_sub, match_method="mapping").count() == 3
    mapping = LineMapping.objects.get()
    assert (mapping.key_kind, mapping.key, mapping.customer_id, mapping.created_by_id) == (
        "subscription", "pc-sub-lost", customer_a.pk, users["finance"].pk)
    assert response.content.decode().count('data-testid="unmatched-group"') == 1

    # The next file's line with that key matches by itself.
    from partnerdesk.rebilling import matching

    later = rf.recon_file(period=dt.date(2026, 11, 1))
    next_line = rf.line(later, subscription_ref="pc-sub-lost")
    matching.match_file(later)
    next_line.refresh_from_db()
    assert next_line.customer_id == customer_a.pk

    # Readers see the groups but no form; posting is refused.
    auditor = client_for(users["auditor"])
    assert 'class="map-form"' not in auditor.get(reverse("rebilling_unmatched")).content.decode()
    assert auditor.post(reverse("rebilling_map"), data).status_code == 403


@pytest.mark.django_db
def test_price_rules_add_edit_delete(finance, users, customer_a):
    new = reverse("rebilling_price_rule_new")
    refused = finance.post(new, {"customer": customer_a.name, "kind": "markup", "rounding": "half_up"})
    assert refused.status_code == 400
    assert re.search(r'has-error">\s*<label for="rule-percent"', refused.content.decode())
    assert not PriceRule.objects.exists()

    response = finance.post(new, {"customer": customer_a.name, "product": "CFQ7TTC0LF8Q", "kind": "markup",
                                  "percent": "12.5", "rounding": "half_up", "note": "合同价"}, follow=True)
    assert "Price rule saved." in response.content.decode()
    rule = PriceRule.objects.get()
    assert (rule.customer_id, rule.product, rule.kind, rule.percent) == (customer_a.pk, "CFQ7TTC0LF8Q", "markup",
                                                                         Decimal("12.5"))
    row = re.search(rf'<tr data-rule="{rule.pk}">.*?</tr>', response.content.decode(), re.S).group(0)
    assert "Contoso 上海" in row and "Markup (%)" in row and "12.5%" in row and "合同价" in row

    # A default rule: every customer.
    finance.post(new, {"customer": "", "product": "", "kind": "discount", "percent": "5", "rounding": "down"})
    assert PriceRule.objects.filter(customer=None, product="", kind="discount").exists()

    edit = reverse("rebilling_price_rule_edit", args=[rule.pk])
    assert 'value="Contoso 上海"' in finance.get(edit).content.decode()
    # The customer and offer stay the rule's, whatever is posted for them.
    finance.post(edit, {"customer": "someone else", "product": "OTHER", "kind": "fixed", "unit_price": "35.5",
                        "rounding": "half_even"})
    rule.refresh_from_db()
    assert (rule.customer_id, rule.product, rule.kind, rule.unit_price, rule.rounding) == (
        customer_a.pk, "CFQ7TTC0LF8Q", "fixed", Decimal("35.5"), "half_even")
    assert PriceRule.objects.count() == 2

    delete = reverse("rebilling_price_rule_delete", args=[rule.pk])
    finance.post(delete, {})  # not confirmed
    assert PriceRule.objects.filter(pk=rule.pk).exists()
    assert "Price rule deleted." in finance.post(delete, {"confirm": "on"}, follow=True).content.decode()
    assert not PriceRule.objects.filter(pk=rule.pk).exists()
    assert AuditEntry.objects.filter(action="price_rule.deleted").count() == 1

    auditor = client_for(users["auditor"])
    assert "Add a price rule" not in auditor.get(reverse("rebilling_price_rules")).content.decode()
    assert auditor.get(new).status_code == 403


@pytest.mark.django_db
def test_a_period_generate_review_adjust_and_issue(finance, users, customer_a, customer_b, contoso_sub):
    recon_file = rf.recon_file(period=PERIOD)
    rf.line(recon_file, customer=customer_a, subscription=contoso_sub, product_name="Microsoft 365 E3",
            charge_type="Cycle fee", quantity="10", unit_price="38.00", charges="380.00")
    rf.line(recon_file, customer=customer_a, subscription=contoso_sub, product_name="Microsoft 365 E3",
            charge_type="Cycle fee", quantity="2", unit_price="38.00", charges="76.00")
    rf.line(recon_file, customer=customer_b, product_name="Dynamics 365", charges="200.00")
    rf.line(recon_file, subscription_ref="pc-sub-lost", charges="999.00")  # unmatched: never billed
    url = reverse("rebilling_period") + "?period=2026-10"

    page = finance.get(url).content.decode()
    assert re.search(r'data-testid="unbilled">3<', page) and re.search(r'data-testid="period-unmatched">1<', page)
    assert "No invoice for 2026-10 yet." in page

    response = finance.post(reverse("rebilling_generate"), {"period": "2026-10"}, follow=True)
    body = response.content.decode()
    assert "Drafts for 2026-10: 2 created, 0 updated, 3 lines billed." in body
    invoices = {i.customer_id: i for i in Invoice.objects.filter(rebilling__period=PERIOD)}
    assert set(invoices) == {customer_a.pk, customer_b.pk}
    draft_a = invoices[customer_a.pk]
    row = re.search(rf'<tr data-invoice="{draft_a.pk}".*?</tr>', body, re.S).group(0)
    assert "Contoso 上海" in row and f"¥{draft_a.subtotal:,.2f}" in row and f"¥{draft_a.total:,.2f}" in row
    assert f"¥{draft_a.tax_total:,.2f}" in row and 'name="invoices"' in row
    # Generating again bills nothing twice.
    again = finance.post(reverse("rebilling_generate"), {"period": "2026-10"}, follow=True).content.decode()
    assert "Nothing new to bill for 2026-10" in again

    # The draft's page: its lines, each with the operator lines it bills; an adjustment is its own line.
    draft_url = reverse("rebilling_draft", args=[draft_a.pk])
    draft_page = finance.get(draft_url).content.decode()
    sources = [int(n) for n in re.findall(r'data-testid="source-lines">(\d+)<', draft_page)]
    assert sum(sources) == 2 and len(sources) == draft_a.lines.count()
    bad = finance.post(reverse("rebilling_adjustment", args=[draft_a.pk]),
                       {"description": "Goodwill", "amount": "-10.00", "reason": ""})
    assert bad.status_code == 400 and not Adjustment.objects.exists()
    total_before = draft_a.total
    response = finance.post(reverse("rebilling_adjustment", args=[draft_a.pk]),
                            {"description": "商誉折让", "amount": "-10.00", "reason": "late onboarding"}, follow=True)
    assert "Adjustment added" in response.content.decode()
    assert 'data-adjustment="yes"' in response.content.decode() and "late onboarding" in response.content.decode()
    draft_a.refresh_from_db()
    assert draft_a.total < total_before and Adjustment.objects.get().reason == "late onboarding"

    # Issue selected: only A's; then issue all: B's too.
    response = finance.post(reverse("rebilling_issue"), {"period": "2026-10", "action": "selected"}, follow=True)
    assert "Select the drafts to issue, or issue all." in response.content.decode()
    response = finance.post(reverse("rebilling_issue"), {"period": "2026-10", "action": "selected",
                                                         "invoices": [draft_a.pk]}, follow=True)
    assert "1 invoice issued and emailed to its customer with the PDF." in response.content.decode()
    draft_a.refresh_from_db()
    assert draft_a.status == InvoiceStatus.ISSUED and draft_a.number
    assert invoices[customer_b.pk].status == InvoiceStatus.DRAFT
    finance.post(reverse("rebilling_issue"), {"period": "2026-10", "action": "all"})
    assert not Invoice.objects.filter(rebilling__period=PERIOD, status=InvoiceStatus.DRAFT).exists()
    issued_page = finance.get(draft_url).content.decode()
    assert draft_a.number in issued_page and 'id="adjustment-form"' not in issued_page

    # Readers: the period and the drafts, no buttons; every change refused.
    auditor = client_for(users["auditor"])
    assert 'id="generate-form"' not in auditor.get(url).content.decode()
    assert auditor.post(reverse("rebilling_generate"), {"period": "2026-10"}).status_code == 403


@pytest.mark.django_db
def test_a_month_not_understood_is_said_and_customers_are_refused(finance, users, customer_a):
    response = finance.get(reverse("rebilling_period") + "?period=2026-13")
    assert response.status_code == 400 and "Enter a month such as 2026-11." in response.content.decode()
    customer = client_for(users["customer_a"])
    for name in ("rebilling_files", "rebilling_unmatched", "rebilling_price_rules", "rebilling_period"):
        assert customer.get(reverse(name)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("language, words", [
    ("zh-hans", ["对账文件", "未匹配的明细", "价格规则", "上传对账文件"]),
    ("zh-hant", ["對帳檔案", "未比對的明細", "價格規則", "上傳對帳檔案"]),
])
def test_the_pages_read_in_chinese(users, customer_a, language, words):
    recon_file = rf.recon_file(period=PERIOD)
    rf.line(recon_file, subscription_ref="pc-sub-lost")
    client = client_for(users["finance"], language=language)
    body = "".join(client.get(reverse(name)).content.decode() for name in (
        "rebilling_files", "rebilling_unmatched", "rebilling_price_rules", "rebilling_price_rule_new"))
    body += client.get(reverse("rebilling_file", args=[recon_file.pk])).content.decode()
    body += client.get(reverse("rebilling_period") + "?period=2026-10").content.decode()
    assert all(w in body for w in words), [w for w in words if w not in body]
    for english in ["Reconciliation files", "Unmatched lines", "Price rules", "Generate drafts", "Upload a",
                    "License-based", "Operator invoice"]:
        assert english not in body, english
