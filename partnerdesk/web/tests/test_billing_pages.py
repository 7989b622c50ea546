"""The statement and invoice pages, for staff and in the portal."""

import datetime as dt

from django.urls import reverse

from partnerdesk.billing.services import issue_credit_note, record_payment

from .factories import client_for


def test_statement_has_a_running_balance_open_items_and_totals(people, acme, invoices):
    record_payment(customer=acme, amount="400.00", received_on=dt.date(2026, 2, 10), method="wechat_pay",
                   reference="WX-1", actor=None)
    response = client_for(people["finance"]).get(reverse("customer_statement", args=[acme.pk]), {"as_of": "2026-03-15"})
    assert response.status_code == 200
    statement = response.context["statement"]
    assert [line.balance for line in statement.lines] == [1000, 600, 3100]
    body = response.content.decode()
    assert "¥3,100.00" in body and "WX-1" in body
    assert invoices["acme_old"].number in body
    assert statement.open_items[0].days_overdue == (dt.date(2026, 3, 15) - dt.date(2026, 2, 4)).days


def test_statement_as_of_an_earlier_day(people, acme, invoices):
    response = client_for(people["auditor"]).get(reverse("customer_statement", args=[acme.pk]), {"as_of": "2026-01-31"})
    assert response.context["statement"].balance == 1000
    assert invoices["acme_new"].number not in response.content.decode()


def test_a_bad_statement_date_is_a_form_error(people, acme):
    response = client_for(people["finance"]).get(reverse("customer_statement", args=[acme.pk]), {"as_of": "2026-13-45"})
    assert response.status_code == 200
    assert "as_of" in response.context["form"].errors
    assert response.context["statement"] is None


def test_portal_statement_is_the_users_own(people, invoices):
    response = client_for(people["globex_user"]).get(reverse("portal_statement"), {"as_of": "2026-12-31"})
    assert response.context["statement"].customer.name == "Globex 北京"
    body = response.content.decode()
    assert invoices["globex"].number in body and invoices["acme_old"].number not in body


def test_invoice_page_shows_lines_allocations_and_credit_notes(people, acme, invoices):
    invoice = invoices["acme_old"]
    record_payment(customer=acme, amount="300.00", received_on=dt.date(2026, 2, 1), method="alipay",
                   reference="ALI-9", actor=None)
    issue_credit_note(invoice=invoice, amount="100.00", reason="Goodwill for outage", actor=None,
                      issued_on=dt.date(2026, 2, 2))
    for user, url in [(people["billing_agent"], reverse("invoice_detail", args=[invoice.pk])),
                      (people["acme_user"], reverse("portal_invoice_detail", args=[invoice.pk]))]:
        body = client_for(user).get(url).content.decode()
        assert invoice.number in body
        assert "Microsoft 365 E3" in body
        assert "ALI-9" in body and "Goodwill for outage" in body
        assert "¥600.00" in body  # 1,000 - 300 - 100


def test_portal_does_not_show_drafts(people, acme):
    from partnerdesk.billing.services import LineInput, create_invoice

    draft = create_invoice(customer=acme, actor=None, lines=[LineInput("Draft work", 1, 10)])
    c = client_for(people["acme_user"])
    assert c.get(reverse("portal_invoice_detail", args=[draft.pk])).status_code == 404
    assert "Draft work" not in c.get(reverse("portal_invoices")).content.decode()
