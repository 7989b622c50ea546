"""The web desk in a real browser (Chromium through Playwright): an agent records a payment, a customer sees
only its own invoices, and the language switch turns the page into Simplified Chinese."""

import re

import pytest
from django.urls import reverse

from .browser_support import sign_in, sign_out

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)


@pytest.mark.django_db(transaction=True)
def test_agent_records_a_payment_and_a_customer_sees_only_its_own(live_server, transactional_db, people, invoices,
                                                                   browser_page):
    page, base = browser_page, live_server.url
    from playwright.sync_api import expect

    # A billing agent signs in, lands on the dashboard and goes to the customer list.
    sign_in(page, base, "billing_agent")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.click("header nav a[href='/customers/']")
    expect(page.locator("h1")).to_have_text("Customers")

    # Search narrows the list to Acme.
    page.fill("form.filters input[name=q]", "acme")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.customers tbody tr")).to_have_count(1)
    expect(page.locator("table.customers")).not_to_contain_text("Globex")

    # Open Acme: it owes 3,500.00.
    page.click("table.customers a:has-text('Acme')")
    balance = page.locator("[data-testid=balance]")
    expect(balance).to_have_text("¥3,500.00")

    # Record a payment of 1,200.00; the page shows the new balance.
    page.click("a:has-text('Record payment')")
    page.fill("input[name=amount]", "1200.00")
    page.select_option("select[name=method]", "alipay")
    page.fill("input[name=reference]", "ALI-2026-0042")
    page.click("#payment-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/\d+/$"))
    expect(page.locator(".message.success")).to_contain_text("New balance: ¥2,300.00")
    expect(balance).to_have_text("¥2,300.00")
    expect(page.locator("table.payments")).to_contain_text("ALI-2026-0042")
    sign_out(page)

    # Acme's portal user sees Acme's invoices and nothing of Globex.
    sign_in(page, base, "acme_user")
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("nav a[href='/portal/invoices/']")
    invoice_table = page.locator("table.invoices")
    expect(invoice_table).to_contain_text(invoices["acme_old"].number)
    expect(invoice_table).to_contain_text(invoices["acme_new"].number)
    expect(invoice_table).not_to_contain_text(invoices["globex"].number)
    assert page.goto(base + reverse("portal_invoice_detail", args=[invoices["globex"].pk])).status == 404
    assert page.goto(base + reverse("invoice_detail", args=[invoices["globex"].pk])).status == 403

    # The header switches the language to Simplified Chinese.
    page.goto(base + reverse("portal_invoices"))
    page.click("form.lang button[value=zh-hans]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("发票")
    expect(page.locator("header nav")).to_contain_text("概览")
    expect(page.locator("table.invoices")).to_contain_text("逾期")  # (both are past due: shown as overdue)



@pytest.mark.django_db(transaction=True)
def test_a_customer_user_reads_and_acknowledges_its_collections_policy(live_server, transactional_db, people, acme,
                                                                        browser_page):
    import datetime as dt

    from partnerdesk.dunning.models import PolicyAcknowledgement

    from .factories import make_invoice

    page, base = browser_page, live_server.url
    from playwright.sync_api import expect
    # Due 2026-12-31 with the default policy: reminder 12-28, suspension 2027-01-21, data deletion 2027-03-22.
    invoice = make_invoice(acme, "1280.00", issue_date=dt.date(2026, 12, 1), due_date=dt.date(2026, 12, 31))

    sign_in(page, base, "acme_user")
    page.wait_for_url(re.compile(r"/portal/$"))
    page.click("nav a[href='/portal/collections-policy/']")
    expect(page.locator("h1")).to_have_text("Collections policy")
    row = page.locator(f"tr[data-invoice='{invoice.number}']")
    expect(row.locator("td.reminder")).to_have_text("2026-12-28")
    expect(row.locator("td.suspension")).to_have_text("2027-01-21")
    expect(row.locator("td.deletion")).to_have_text("2027-03-22")
    expect(page.locator("ol.process")).to_contain_text("21 days after the due date, your subscriptions are suspended")
    expect(page.locator("[data-testid=acknowledgement]")).to_have_text("Not acknowledged yet.")

    page.click("button:has-text('I acknowledge this collections policy')")
    page.wait_for_url(re.compile(r"/portal/collections-policy/$"))
    expect(page.locator(".message.success")).to_contain_text("You have acknowledged the collections policy")
    expect(page.locator("[data-testid=acknowledgement]")).to_contain_text("Acknowledged by acme_user on")
    expect(page.locator("button:has-text('I acknowledge')")).to_have_count(0)
    assert PolicyAcknowledgement.objects.filter(customer=acme, user=people["acme_user"]).count() == 1

    # The PDF link serves a PDF.
    response = page.request.get(base + reverse("portal_collections_policy_pdf"))
    assert response.ok and response.headers["content-type"] == "application/pdf"


@pytest.mark.django_db(transaction=True)
def test_an_admin_edits_an_email_template_and_an_agent_closes_a_call(live_server, transactional_db, people, invoices,
                                                                     browser_page):
    import datetime as dt

    from partnerdesk.dunning.models import CallTask
    from partnerdesk.notifications.models import EmailTemplate

    page, base = browser_page, live_server.url
    from playwright.sync_api import expect
    call = CallTask.objects.create(customer=invoices["acme_old"].customer, invoice=invoices["acme_old"],
                                   key="browser:call", due_on=dt.date(2026, 2, 18))

    # The administrator opens the email templates from the menu and the English payment reminder.
    sign_in(page, base, "admin")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    page.click("header .user-menu summary")  # settings live in the user menu
    page.click("header .user-menu a[href='/settings/email-templates/']")
    expect(page.locator("h1")).to_have_text("Email templates")
    page.click("td[data-template='collections.reminder/en'] a")
    expect(page.locator("h1")).to_contain_text("Payment reminder")

    # A new subject, previewed with the sample data before saving.
    page.fill("input[name=subject]", "Due soon: {{ invoice_number }}")
    page.click("button[name=preview]")
    expect(page.locator("[data-testid=preview-subject]")).to_have_text("Due soon: INV-2026-000123")
    assert not EmailTemplate.objects.exists()

    # A typo in the body is refused on the body field; the fixed text is saved and previewed.
    page.fill("textarea[name=body]", "Dear {{ customer_nmae }},")
    page.click("button[name=save]")
    expect(page.locator(".field.has-error")).to_contain_text("uses an unknown variable 'customer_nmae'")
    page.fill("textarea[name=body]", "Dear {{ customer_name }}, please pay {{ invoice_number }}.")
    page.click("button[name=save]")
    expect(page.locator(".message.success")).to_contain_text("Saved the email template")
    expect(page.locator("[data-testid=preview-body]")).to_contain_text("Dear Contoso 上海, please pay INV-2026-000123.")
    assert EmailTemplate.objects.get(key="collections.reminder", language="en").subject == "Due soon: {{ invoice_number }}"
    sign_out(page)

    # A collections agent closes the call from the dashboard: a note is required.
    sign_in(page, base, "collections")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    # One row per customer and day: one call, whatever the number of invoices it is about.
    group = f"tr[data-call-group='{call.customer_id}-{call.due_on:%Y%m%d}']"
    row = page.locator(group)
    row.locator("summary").click()
    row.locator("button[type=submit]").click()
    row = page.locator(group)
    expect(row.locator(".field.has-error")).to_contain_text("This field is required.")
    row.locator("textarea").fill("Will pay on Friday.")
    row.locator("button[type=submit]").click()
    expect(page.locator(".message.success")).to_contain_text("Call to Acme 上海 marked done (1 invoice).")
    expect(page.locator(group)).to_have_count(0)
    call.refresh_from_db()
    assert call.done_at is not None and call.note.endswith("Will pay on Friday.")
