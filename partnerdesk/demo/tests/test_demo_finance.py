"""The demo's finance story (partnerdesk.demo.finance): loaded in-process on the suite's database (SQLite or
PostgreSQL), the finance pages show its figures: re-billing files, unmatched lines, price rules and drafts,
payables with a late invoice, fapiao in every status, and the finance dashboard's exposure, leakage and shortfall."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerdesk.accounts.models import User
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.demo.data import load_demo
from partnerdesk.fapiao.models import FapiaoRecord, FapiaoStatus
from partnerdesk.finance import reports
from partnerdesk.payables import standing
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.rebilling.models import FileStatus, LineMapping, PriceRule, ReconFile, ReconLine
from partnerdesk.web.templatetags.desk import money

TODAY = dt.date(2026, 11, 24)  # the suite's clock


def figure(html: str, name: str) -> str:
    """The text of the element marked data-figure=name (its value div for a stat card)."""
    found = re.search(rf'data-figure="{name}"[^>]*>(?:\s*<div class="label">.*?</div>\s*<div class="value">)?'
                      r'(.*?)</(?:div|td|p)>', html, re.S)
    assert found, f"no data-figure={name}"
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip()


@pytest.fixture
def demo(operator, db):
    return load_demo(simulator=operator.simulator)


def page(client, user, name, query="", **kwargs):
    client.force_login(User.objects.get(username=user))
    response = client.get(reverse(name, kwargs=kwargs) + query)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


def test_the_demo_tells_the_finance_story_on_every_finance_page(demo, client):
    story = demo["finance"]
    older, middle, latest = story["periods"]
    assert latest == dt.date(2026, 10, 1) and story["billing_dates"][-1] == dt.date(2026, 11, 9)

    # Re-billing: two files per period, all imported (and the current period's usage so far, the fraud story's);
    # a mapping remembered; lines of a newcomer waiting to be mapped.
    files = ReconFile.objects.filter(status=FileStatus.ACTIVE)
    assert files.count() == 7
    html = page(client, "finance", "rebilling_files")
    for f in files:
        assert f.filename in html
    assert LineMapping.objects.filter(customer=story["relocated"]).exists()
    assert ReconLine.objects.filter(customer=story["relocated"], match_method="mapping").count() > 60
    unmatched = ReconLine.objects.filter(customer__isnull=True)
    assert unmatched.exists() and set(unmatched.values_list("customer_name", flat=True)) == {story["newcomer"]}
    assert story["newcomer"] in page(client, "agent", "rebilling_unmatched")
    assert PriceRule.objects.count() == 4
    assert "默认加价 12%" in page(client, "finance", "rebilling_price_rules")

    # The two older periods issued (with numbers and PDFs); the latest waiting for review, one draft adjusted.
    for period in (older, middle):
        issued = Invoice.objects.filter(rebilling__period=period).exclude(status=InvoiceStatus.DRAFT)
        assert issued.count() >= 25
        # every draft issued, but a credit-only one (a cancellation), which no invoice can carry
        assert not Invoice.objects.filter(rebilling__period=period, status="draft", total__gt=0).exists()
        html = page(client, "finance", "rebilling_period", f"?period={period:%Y-%m}")
        assert issued.first().number in html
    drafts = Invoice.objects.filter(rebilling__period=latest, status=InvoiceStatus.DRAFT)
    assert drafts.count() >= 25
    assert Invoice.objects.filter(rebilling__period=latest).exclude(status=InvoiceStatus.DRAFT).count() == 0
    adjusted = drafts.get(customer=demo["customers"][0])
    assert adjusted.lines.filter(adjustment__isnull=False).get().amount == Decimal("-200.00")
    # (the period page opens on the latest month with a file: the fraud story's usage so far, this month's)
    assert f"{TODAY:%Y-%m}" in page(client, "finance", "rebilling_period")
    html = page(client, "finance", "rebilling_period", f"?period={latest:%Y-%m}")
    assert f"{latest:%Y-%m}" in html and demo["customers"][0].name in html
    rebilled = Invoice.objects.filter(rebilling__period=middle, status=InvoiceStatus.ISSUED).first()
    client.force_login(User.objects.get(username="finance"))
    pdf = client.get(reverse("invoice_pdf", kwargs={"pk": rebilled.pk}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    # Payables: six operator invoices (and the fraud story's, for the usage so far: billed today, due in 30 days);
    # the oldest license invoice paid a week late (its late charge), the middle one half paid and late now, the
    # latest two due in 15 days.
    assert OperatorInvoice.objects.count() == 7
    positions = {p.invoice.number: p for p in standing.positions(as_of=TODAY)
                 if p.invoice.number != demo["fraud"]["usage_file"]}
    paid_late = [p for p in positions.values() if p.paid_late]
    late = [p for p in positions.values() if p.late]
    assert len(paid_late) == 1 and paid_late[0].late_charge == (paid_late[0].invoice.amount * Decimal("0.015")).quantize(Decimal("0.01"))
    assert len(late) == 1 and late[0].status == "partially_paid" and late[0].late_charge > 0
    assert sorted(p.days_left for p in positions.values() if p.days_left is not None) == [15, 15]
    account = standing.account_standing(TODAY)
    assert account.status == "late"
    html = page(client, "finance", "payables_invoices")
    assert 'data-standing="late"' in html
    assert figure(html, "overdue") == money(account.overdue) and account.overdue > 0
    assert figure(html, "outstanding") == money(account.outstanding)
    assert money(late[0].late_charge) in html and money(paid_late[0].late_charge) in html

    # Fapiao in every status, a red-letter reversal done and one waiting; the customer sees its own in the portal.
    statuses = set(FapiaoRecord.objects.values_list("status", flat=True))
    assert statuses == set(FapiaoStatus.values), statuses
    html = page(client, "finance", "fapiao_list")
    for record in FapiaoRecord.objects.filter(number__isnull=False)[:5]:
        assert record.number in html
    own = FapiaoRecord.objects.filter(customer=demo["customers"][0], number__isnull=False).first()
    assert own is not None and own.number in page(client, "portal", "portal_fapiao")

    # Finance: the latest period's exposure (nothing issued yet: all of it), margin on the older periods, leakage of
    # each kind, and a shortfall in the cash flow.
    exposure = reports.exposure(latest)
    assert exposure.total.charged > 0 and exposure.total.billed == 0 and exposure.total.exposure > 0
    html = page(client, "finance", "finance_dashboard", f"?period={latest:%Y-%m}")
    assert figure(html, "charged") == money(exposure.total.charged)
    assert figure(html, "exposure") == money(exposure.total.exposure)
    older_exposure = reports.exposure(older)
    assert older_exposure.total.billed > older_exposure.total.charged > 0  # a margin
    assert older_exposure.total.paid > 0 and older_exposure.total.exposure > 0  # some customers have not paid
    html_older = page(client, "finance", "finance_dashboard", f"?period={older:%Y-%m}")
    assert figure(html_older, "billed") == money(older_exposure.total.billed)
    assert figure(html_older, "paid") == money(older_exposure.total.paid)
    assert figure(html_older, "margin") == money(older_exposure.total.margin)
    leaks = reports.leakage(TODAY)
    reasons = {item.reason for item in leaks.not_rebilled}
    assert {"generated", "unmatched"} <= reasons, reasons
    assert leaks.unbacked and leaks.unknown
    assert {u.customer_name for u in leaks.unknown} >= {story["unknown_subscription_owner"].name, story["newcomer"]}
    for name, (count, amount) in [("not_rebilled", leaks.not_rebilled_totals), ("unbacked", leaks.unbacked_totals)]:
        assert count > 0 and money(amount) in figure(html, name)
    cash = reports.cash_flow(TODAY)
    assert cash.shortfall is not None and cash.total_outflow > 0 and cash.total_inflow > 0
    assert f"{cash.shortfall.start:%Y-%m-%d}" in figure(html, "shortfall")
    assert html.count("<svg") >= 3  # the margin, cash-flow and balance charts
