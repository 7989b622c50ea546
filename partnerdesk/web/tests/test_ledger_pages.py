"""The pages that change ledger and customer records, through the test client as an agent or finance user
would use them: the same validation, permission rule and audit as the API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import CreditNote, Invoice, InvoiceStatus, Payment
from partnerdesk.billing.services import record_payment
from partnerdesk.customers.models import BillingContact, Customer

from .factories import client_for, make_invoice

pytestmark = pytest.mark.django_db
TENANT = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def management(prefix, total):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0"}


def line(i, description, unit_price, quantity="1", tax_rate="0", subscription=""):
    return {f"lines-{i}-description": description, f"lines-{i}-quantity": quantity,
            f"lines-{i}-unit_price": unit_price, f"lines-{i}-tax_rate": tax_rate, f"lines-{i}-subscription": subscription}


# --- customers and contacts ---------------------------------------------------------------------------------


def test_an_agent_creates_a_customer_with_its_primary_contact(people):
    agent = client_for(people["billing_agent"])
    assert agent.get(reverse("customer_new")).status_code == 200
    resp = agent.post(reverse("customer_new"), {
        "name": "成都锦城软件有限公司", "tenant_id": TENANT, "primary_domain": "jincheng.partner.onmschina.cn",
        "payment_terms_days": "15", "credit_limit": "¥50,000", "language": "zh-CN", "time_zone": "Asia/Shanghai",
        "contact_name": "刘洋", "contact_email": "liuyang@jincheng.example.cn"})
    customer = Customer.objects.get(tenant_id=TENANT)
    assert resp.status_code == 302 and resp["Location"] == reverse("customer_detail", args=[customer.pk])
    assert customer.payment_terms_days == 15 and customer.credit_limit == Decimal("50000.00")
    contact = customer.contacts.get()
    assert contact.is_primary and contact.email == "liuyang@jincheng.example.cn"
    assert AuditEntry.objects.filter(action="customer.created", customer=customer, actor=people["billing_agent"]).exists()
    page = agent.get(resp["Location"]).content.decode()
    assert "liuyang@jincheng.example.cn" in page and "Contacts" in page


def test_a_known_tenant_id_is_refused_on_its_field(people, acme):
    agent = client_for(people["billing_agent"])
    resp = agent.post(reverse("customer_new"), {"name": "Copy", "tenant_id": str(acme.tenant_id),
                                                "payment_terms_days": "30", "credit_limit": "0", "language": "en",
                                                "time_zone": "UTC"})
    assert resp.status_code == 200
    assert "tenant_id" in resp.context["form"].errors
    assert Customer.objects.filter(tenant_id=acme.tenant_id).count() == 1


def test_edit_and_close_a_customer_with_a_reason(people, acme):
    agent = client_for(people["billing_agent"])
    resp = agent.post(reverse("customer_edit", args=[acme.pk]), {
        "name": acme.name, "tenant_id": str(acme.tenant_id), "primary_domain": "acme.cn", "payment_terms_days": "45",
        "credit_limit": "1000.00", "language": "en", "time_zone": "Asia/Hong_Kong", "status": "active",
        "reason": "new contract"})
    assert resp.status_code == 302
    acme.refresh_from_db()
    assert (acme.primary_domain, acme.payment_terms_days, acme.time_zone) == ("acme.cn", 45, "Asia/Hong_Kong")
    assert AuditEntry.objects.get(action="customer.updated").reason == "new contract"
    # Closing needs a reason.
    assert agent.post(reverse("customer_deactivate", args=[acme.pk]), {"reason": ""}).status_code == 200
    resp = agent.post(reverse("customer_deactivate", args=[acme.pk]), {"reason": "moved to another partner"})
    assert resp.status_code == 302
    acme.refresh_from_db()
    assert acme.status == "closed"
    assert AuditEntry.objects.filter(action="customer.updated", reason="moved to another partner").exists()


def test_contacts_added_edited_and_removed(people, acme):
    agent = client_for(people["billing_agent"])
    resp = agent.post(reverse("contact_new", args=[acme.pk]), {
        "name": "陈静", "email": "chen@acme.example.cn", "kind": "technical", "language": "zh-TW",
        "time_zone": "Asia/Taipei"})
    assert resp.status_code == 302
    tech = acme.contacts.get(email="chen@acme.example.cn")
    assert (tech.kind, tech.language, tech.time_zone, tech.is_primary) == ("technical", "zh-TW", "Asia/Taipei", False)

    primary = acme.contacts.get(is_primary=True)
    url = reverse("contact_edit", args=[acme.pk, primary.pk])
    form = agent.get(url).context["form"]
    data = {**{k: v for k, v in form.initial.items() if v is not None}, "email": "ap-new@acme.example.cn",
            "reason": "typo in the address"}
    data["is_primary"] = "on"
    assert agent.post(url, data).status_code == 302
    primary.refresh_from_db()
    assert primary.email == "ap-new@acme.example.cn"
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.after["email"] == "ap-new@acme.example.cn" and entry.actor == people["billing_agent"]

    # A bad email comes back on its field; a technical contact cannot be made primary.
    resp = agent.post(url, {**data, "email": "nope"})
    assert "email" in resp.context["form"].errors
    tech_url = reverse("contact_edit", args=[acme.pk, tech.pk])
    resp = agent.post(tech_url, {"name": tech.name, "email": tech.email, "kind": "technical", "is_primary": "on",
                                 "language": "en", "time_zone": "UTC"})
    assert resp.status_code == 200 and resp.context["form"].errors["is_primary"]

    # The primary cannot be removed while another contact exists; the other can.
    resp = agent.post(reverse("contact_remove", args=[acme.pk, primary.pk]))
    assert resp.status_code == 302 and BillingContact.objects.filter(pk=primary.pk).exists()
    resp = agent.post(reverse("contact_remove", args=[acme.pk, tech.pk]))
    assert resp.status_code == 302 and not BillingContact.objects.filter(pk=tech.pk).exists()
    assert AuditEntry.objects.filter(action="contact.removed").count() == 1


def test_another_customer_s_contact_is_not_found(people, acme, globex):
    contact = globex.contacts.get()
    agent = client_for(people["billing_agent"])
    assert agent.get(reverse("contact_edit", args=[acme.pk, contact.pk])).status_code == 404


# --- invoices -------------------------------------------------------------------------------------------------


def test_lines_are_added_and_removed_without_javascript(people, acme):
    agent = client_for(people["billing_agent"])
    url = reverse("invoice_new", args=[acme.pk])
    page = agent.get(url)
    assert len(page.context["lines"].forms) == 1
    data = {**management("lines", 1), **line(0, "Microsoft 365 E3", "38.00", "10"), "add_line": "1"}
    page = agent.post(url, data)
    assert page.status_code == 200 and len(page.context["lines"].forms) == 2
    assert page.context["lines"].forms[0].initial["description"] == "Microsoft 365 E3"
    assert not page.context["lines"].forms[1].errors  # a new row shows no errors
    data = {**management("lines", 3), **line(0, "A", "1.00"), **line(1, "B", "2.00"), **line(2, "C", "3.00"),
            "remove_line": "1"}
    page = agent.post(url, data)
    assert [f.initial["description"] for f in page.context["lines"].forms] == ["A", "C"]
    assert not Invoice.objects.filter(customer=acme).exists()


def test_draft_then_edit_then_issue(people, acme, acme_subscriptions):
    agent = client_for(people["billing_agent"])
    sub = acme_subscriptions["sub-acme-e3"]
    data = {**management("lines", 3), **line(0, "Microsoft 365 E3", "38.00", "10", "0.06", str(sub.pk)),
            **line(1, "", ""), **line(2, "Azure", "500.00"), "due_date": "2026-12-31", "notes": "November"}
    resp = agent.post(reverse("invoice_new", args=[acme.pk]), data)
    assert resp.status_code == 302
    draft = Invoice.objects.get(customer=acme)
    assert draft.status == InvoiceStatus.DRAFT and draft.total == Decimal("902.80")  # the blank row is dropped
    assert draft.lines.first().subscription == sub

    edit = reverse("invoice_edit", args=[draft.pk])
    page = agent.get(edit)
    assert [f.initial["description"] for f in page.context["lines"].forms] == ["Microsoft 365 E3", "Azure"]
    resp = agent.post(edit, {**management("lines", 1), **line(0, "Azure", "600.00", "1", "0.06"),
                             "reason": "Azure only", "issue": "1"})
    assert resp.status_code == 302
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED and draft.number and draft.total == Decimal("636.00")
    assert AuditEntry.objects.get(action="invoice.draft_updated").reason == "Azure only"
    # An issued invoice is no longer edited.
    assert agent.get(edit).status_code == 302


def test_a_refused_line_shows_on_its_row(people, acme, globex, operator):
    operator.add(globex, "sub-globex", "Globex sub")
    from partnerdesk.customers.services import sync_subscriptions

    other = sync_subscriptions(globex, actor=None)[0]
    agent = client_for(people["billing_agent"])
    resp = agent.post(reverse("invoice_new", args=[acme.pk]), {**management("lines", 2), **line(0, "ok", "1.00"),
                                                                **line(1, "x", "0.00", "0")})
    assert resp.status_code == 200
    assert resp.context["lines"].forms[1].errors["quantity"]
    resp = agent.post(reverse("invoice_new", args=[acme.pk]), {**management("lines", 1),
                                                                **line(0, "x", "1.00", subscription=str(other.pk))})
    assert resp.status_code == 200 and resp.context["lines"].forms[0].errors["subscription"]
    assert not Invoice.objects.filter(customer=acme).exists()


def test_issue_and_void_with_a_reason(people, acme):
    agent = client_for(people["billing_agent"])
    from partnerdesk.billing.services import LineInput, create_invoice

    draft = create_invoice(customer=acme, actor=None, lines=[LineInput("Azure", Decimal("1"), Decimal("100.00"))])
    assert agent.post(reverse("invoice_issue", args=[draft.pk])).status_code == 302
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    page = agent.get(reverse("invoice_detail", args=[draft.pk])).content.decode()
    assert reverse("invoice_void", args=[draft.pk]) in page
    assert agent.post(reverse("invoice_void", args=[draft.pk]), {"reason": ""}).status_code == 200
    assert agent.post(reverse("invoice_void", args=[draft.pk]), {"reason": "duplicate"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.VOID and draft.void_reason == "duplicate"


def test_a_credit_note_with_lines(people, acme):
    invoice = make_invoice(acme, "1000.00")
    finance = client_for(people["finance"])
    url = reverse("credit_note_new", args=[invoice.pk])
    page = finance.post(url, {**management("lines", 1), "lines-0-description": "2 seats", "lines-0-amount": "76.00",
                              "reason": "seats billed twice", "add_line": "1"})
    assert len(page.context["lines"].forms) == 2 and page.context["form"].initial["reason"] == "seats billed twice"
    resp = finance.post(url, {**management("lines", 2), "lines-0-description": "2 seats", "lines-0-amount": "76.00",
                              "lines-1-description": "Goodwill", "lines-1-amount": "24.00", "reason": "seats billed twice"})
    assert resp.status_code == 302
    note = CreditNote.objects.get(invoice=invoice)
    assert note.amount == Decimal("100.00") and note.lines.count() == 2
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("900.00")
    # More than the balance is refused on the form.
    resp = finance.post(url, {**management("lines", 1), "lines-0-description": "x", "lines-0-amount": "5000.00",
                              "reason": "too much"})
    assert resp.status_code == 200 and CreditNote.objects.count() == 1


# --- payments -------------------------------------------------------------------------------------------------


def test_reverse_a_payment_from_its_page(people, acme, invoices):
    payment = record_payment(customer=acme, amount="1000.00", received_on=dt.date(2026, 11, 20), method="alipay",
                             reference="ALI-DUP", actor=None).payment
    agent = client_for(people["billing_agent"])
    page = agent.get(reverse("payment_detail", args=[payment.pk])).content.decode()
    assert invoices["acme_old"].number in page and reverse("payment_reverse", args=[payment.pk]) in page
    resp = agent.post(reverse("payment_reverse", args=[payment.pk]), {"reason": "recorded twice"})
    assert resp.status_code == 200 and resp.context["form"].errors["confirm"]  # asked to confirm
    resp = agent.post(reverse("payment_reverse", args=[payment.pk]), {"reason": "recorded twice", "confirm": "on"})
    assert resp.status_code == 302
    payment.refresh_from_db()
    invoices["acme_old"].refresh_from_db()
    assert payment.is_reversed and invoices["acme_old"].balance == Decimal("1000.00")
    page = agent.get(reverse("payment_detail", args=[payment.pk])).content.decode()
    assert "Reversed on" in page and "recorded twice" in page
    assert Payment.objects.filter(pk=payment.pk).exists()  # kept, not deleted


def test_refund_and_move_from_the_payment_page(people, acme, invoices):
    payment = record_payment(customer=acme, amount="1200.00", received_on=dt.date(2026, 11, 20), method="alipay",
                             actor=None).payment  # 1,000 on the old invoice, 200 on the new one
    finance = client_for(people["finance"])
    resp = finance.post(reverse("allocation_move", args=[payment.pk]), {
        "from_invoice": invoices["acme_old"].pk, "to_invoice": invoices["acme_new"].pk, "amount": "300.00",
        "reason": "the customer paid the March invoice"})
    assert resp.status_code == 302
    invoices["acme_old"].refresh_from_db()
    invoices["acme_new"].refresh_from_db()
    assert invoices["acme_old"].balance == Decimal("300.00") and invoices["acme_new"].balance == Decimal("2000.00")
    # Too much for the target: refused on the amount field.
    resp = finance.post(reverse("allocation_move", args=[payment.pk]), {
        "from_invoice": invoices["acme_old"].pk, "to_invoice": invoices["acme_new"].pk, "amount": "5000.00",
        "reason": "x"})
    assert resp.status_code == 200 and resp.context["form"].errors["amount"]

    credit = record_payment(customer=acme, amount="5000.00", received_on=dt.date(2026, 11, 21), method="bank_transfer",
                            actor=None).payment
    credit.refresh_from_db()
    left = credit.unallocated
    assert left > 0
    resp = finance.post(reverse("payment_refund", args=[credit.pk]), {"amount": "100.00", "method": "bank_transfer",
                                                                      "reason": "overpaid"})
    assert resp.status_code == 302
    credit.refresh_from_db()
    assert credit.refunded_amount == Decimal("100.00")
    resp = finance.post(reverse("payment_refund", args=[credit.pk]), {"amount": "99999.00", "method": "bank_transfer",
                                                                      "reason": "too much"})
    assert resp.status_code == 200 and resp.context["form"].errors["amount"]


def test_pages_render_in_chinese(people, acme, invoices):
    agent = client_for(people["billing_agent"], language="zh-hans")
    body = agent.get(reverse("invoice_new", args=[acme.pk])).content.decode()
    assert "添加一行" in body
