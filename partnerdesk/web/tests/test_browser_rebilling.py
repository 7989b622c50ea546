"""Re-billing in a real browser (Chromium through Playwright): finance uploads the operator's license-based file for
October (the small committed one), sees the lines no customer was found for, maps a subscription to the customer
it belongs to, generates the period's drafts, reviews that customer's draft and issues the drafts; the customer's
portal user then downloads its invoice PDF, which carries the invoice number."""

import datetime as dt
import io
import json
import re
import uuid
from pathlib import Path

import pypdf
import pytest
from django.urls import reverse

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_user
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.customers.models import Subscription
from partnerdesk.customers.services import create_customer
from partnerdesk.rebilling.models import ReconLine

from .browser_support import sign_in, sign_out
from .factories import PASSWORD, make_customer

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)

DATA = Path(__file__).resolve().parents[2] / "rebilling" / "tests" / "data"
MANIFEST = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
LICENSE = next(i for i in MANIFEST["invoices"] if i["kind"] == "license")
# The customer the operator knows by a tenant PartnerDesk does not: its lines wait for finance to map them.
STRANGER = next(c for c in MANIFEST["customers"] if not c["known"])
MAPPED_SUBSCRIPTION = STRANGER["subscriptions"][0]["operator_id"]
QIANHAI = "深圳前海数联"


@pytest.fixture
def browser_context_options():
    return {"accept_downloads": True}


@pytest.fixture
def worker_sends_later(settings):
    """The "invoice issued" emails wait in the queue (the background worker is not part of this story)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def partner(transactional_db):
    """The partner's customers as PartnerDesk knows them (from the file's world), finance, and the portal user of
    the customer PartnerDesk knows under another tenant id and domain."""
    for customer in MANIFEST["customers"]:
        if not customer["known"]:
            continue
        record = create_customer(actor=None, name=customer["name"], tenant_id=uuid.UUID(customer["tenant_id"]),
                                 primary_domain=customer["domain"], language=customer["language"],
                                 contact={"name": "Wang Fang", "email": f"ap@{customer['domain']}"})
        for sub in customer["subscriptions"]:
            if sub["known"]:
                Subscription.objects.create(customer=record, operator_id=sub["operator_id"], offer_id=sub["offer_id"],
                                            offer_name=sub["offer_name"], quantity=sub["quantity"])
    qianhai = make_customer(QIANHAI, "qianhai-new.partner.onmschina.cn", "finance@qianhai.example.cn")
    create_user(actor=None, username="finance", password=PASSWORD, role=Role.FINANCE, validate=False)
    create_user(actor=None, username="qianhai_user", password=PASSWORD, role=Role.CUSTOMER, customer=qianhai,
                validate=False)
    return qianhai


@pytest.mark.django_db(transaction=True)
def test_finance_rebills_the_operators_file_and_the_customer_downloads_its_pdf(live_server, partner, worker_sends_later,
                                                                               browser_page):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    sign_in(page, base, "finance")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # Upload October's license-based file with its operator invoice.
    page.goto(base + reverse("rebilling_files"))
    form = page.locator("#upload-form")
    form.get_by_label("Reconciliation file (CSV)").set_input_files(str(DATA / LICENSE["file"]))
    form.get_by_label("Operator invoice number").fill(LICENSE["number"])
    form.get_by_label("Billing date").fill(LICENSE["billing_date"])
    form.get_by_label("Billing period start").fill(LICENSE["period_start"])
    form.get_by_label("Billing period end").fill(LICENSE["period_end"])
    form.get_by_label("Invoice total (CNY)").fill(LICENSE["total"])
    form.get_by_role("button", name="Import the file").click()
    expect(page.locator(".message.success")).to_contain_text(f"Imported {LICENSE['file']}: {LICENSE['rows']} rows")
    unmatched = int(page.locator(".stat [data-testid=unmatched]").inner_text())
    assert unmatched >= 2
    expect(page.locator("[data-testid=file-total]")).to_have_text(f"¥{float(LICENSE['total']):,.2f}")

    # The unmatched lines, by subscription: finance maps one to the customer it belongs to.
    page.locator("nav.tabs").get_by_role("link", name="Unmatched lines").click()
    group = page.locator(f"[data-testid=unmatched-group][data-key='{MAPPED_SUBSCRIPTION}']")
    expect(group).to_contain_text(STRANGER["name"])
    expect(group.locator("[data-testid=group-lines]")).to_have_text("2")
    group.get_by_label("Customer").fill(QIANHAI)
    group.get_by_label("Reason").fill("前海数联以新租户迁移，旧订阅仍在原租户下计费")
    group.get_by_role("button", name="Map to this customer").click()
    expect(page.locator(".message.success")).to_contain_text(f"{MAPPED_SUBSCRIPTION} is mapped to {QIANHAI}: 2 lines")
    expect(page.locator(f"[data-testid=unmatched-group][data-key='{MAPPED_SUBSCRIPTION}']")).to_have_count(0)
    assert ReconLine.objects.filter(customer=partner, match_method="mapping").count() == 2

    # October's drafts: generated from the matched lines, the unmatched ones left out.
    page.locator("nav.tabs").get_by_role("link", name="Periods and drafts").click()
    expect(page.locator("h1")).to_have_text("Billing period 2026-10")
    page.get_by_role("button", name="Generate drafts for 2026-10").click()
    expect(page.locator(".message.success")).to_contain_text("Drafts for 2026-10:")
    row = page.locator(f"tr[data-customer='{QIANHAI}']")
    expect(row).to_have_count(1)
    draft = Invoice.objects.get(customer=partner, rebilling__period=dt.date(2026, 10, 1))
    expect(row).to_contain_text(f"¥{draft.total:,.2f}")

    # Review the customer's draft: each line says how many operator lines it bills.
    row.get_by_role("link", name=f"Draft #{draft.pk}").click()
    expect(page.locator("h1")).to_contain_text(QIANHAI)
    lines = page.locator("table.draft-lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.first).to_contain_text("Exchange Online (Plan 1)")
    assert sorted(page.locator("[data-testid=source-lines]").all_inner_texts()) == ["1", "1"]
    page.get_by_role("link", name="Billing period 2026-10").click()

    # Issue them all: ledger numbers.
    page.get_by_role("button", name=re.compile(r"^Issue all")).click()
    expect(page.locator(".message.success")).to_contain_text("invoices issued and emailed")
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED and draft.number
    expect(page.locator(f"tr[data-customer='{QIANHAI}']")).to_contain_text(draft.number)
    sign_out(page)

    # The customer downloads its invoice PDF in the portal.
    sign_in(page, base, "qianhai_user")
    page.wait_for_url(re.compile(r"/portal/$"))
    page.goto(base + reverse("portal_invoices"))
    page.click(f"table.invoices a:has-text('{draft.number}')")
    page.wait_for_url(re.compile(rf"/portal/invoices/{draft.pk}/$"))
    with page.expect_download() as info:
        page.click("[data-testid=invoice-pdf]")
    content = Path(info.value.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)
    assert draft.number in text and QIANHAI in text and "Exchange Online (Plan 1)" in text
