"""The customer list (search, filter, balances, paging) and the customer page."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerdesk.billing.services import record_payment

from .factories import client_for, make_customer, make_invoice


def list_page(user, **params):
    return client_for(user).get(reverse("customer_list"), params)


def test_list_shows_customers_with_their_open_and_overdue_balance(people, invoices):
    body = list_page(people["billing_agent"]).content.decode()
    assert "Acme 上海" in body and "Globex 北京" in body
    assert "¥3,500.00" in body  # Acme: 1,000 + 2,500 open
    assert "¥800.00" in body
    assert "ap@acme.example.cn" in body


def test_search_matches_name_domain_tenant_id_and_contact_email(people, acme, globex):
    agent = people["billing_agent"]
    for q in ["acme", "ACME.partner", str(acme.tenant_id), str(acme.tenant_id)[:8], "ap@acme"]:
        body = list_page(agent, q=q).content.decode()
        assert "Acme 上海" in body and "Globex 北京" not in body, q
    assert "No customers match" in list_page(agent, q="nobody-here").content.decode()


def test_status_filter(people, acme, globex):
    from partnerdesk.customers.services import update_customer

    update_customer(globex, actor=None, status="on_hold")
    body = list_page(people["billing_agent"], status="on_hold").content.decode()
    assert "Globex 北京" in body and "Acme 上海" not in body


def test_the_list_pages_and_does_not_query_per_customer(people):
    for i in range(30):
        customer = make_customer(f"Tenant {i:02d}", f"t{i}.example.cn", f"ap{i}@t{i}.example.cn")
        make_invoice(customer, "100.00")
    c = client_for(people["billing_agent"])
    with CaptureQueriesContext(connection) as queries:
        body = c.get(reverse("customer_list")).content.decode()
    # session, user, two counts, the page, its contacts, and the filters' policies and owners
    assert len(queries) <= 10
    assert "Page 1 of 2" in body and "Tenant 29" not in body
    assert "Tenant 29" in list_page(people["billing_agent"], page=2).content.decode()


def test_the_list_shows_the_same_balance_as_the_customers_page_when_credit_is_unapplied(people, acme, globex, invoices):
    from partnerdesk.billing.services import customer_balance

    # Globex pays more than it owes: 800 open, 1,000 paid, 200 in credit. Acme still owes 3,500.
    record_payment(customer=globex, amount="1000.00", received_on=dt.date(2026, 3, 2), method="bank_transfer",
                   reference="GLX-1", actor=people["billing_agent"])
    assert customer_balance(globex) == -200
    body = list_page(people["billing_agent"], q="Globex").content.decode()
    assert "-¥200.00" in body  # not ¥800.00: the unapplied credit counts, as on the customer page
    detail = client_for(people["billing_agent"]).get(reverse("customer_detail", args=[globex.pk])).content.decode()
    assert "-¥200.00" in detail and "In credit" in detail
    sorted_body = list_page(people["billing_agent"], sort="-balance").content.decode()
    assert sorted_body.index("Acme 上海") < sorted_body.index("Globex 北京")


def test_sorting_by_open_balance(people, invoices):
    body = list_page(people["billing_agent"], sort="-balance").content.decode()
    assert body.index("Acme 上海") < body.index("Globex 北京")


def test_customer_page_shows_details_balance_invoices_and_activity(people, acme, invoices):
    record_payment(customer=acme, amount="300.00", received_on=dt.date(2026, 3, 2), method="alipay",
                   reference="ALI-778", actor=people["billing_agent"])
    body = client_for(people["billing_agent"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "Wang Fang" in body and "ap@acme.example.cn" in body
    assert "¥3,200.00" in body  # balance
    assert invoices["acme_old"].number in body
    assert "ALI-778" in body
    assert "payment.recorded" in body  # recent audit entries
    assert reverse("customer_statement", args=[acme.pk]) in body
    assert "Record payment" in body and "Sync from operator" in body


def test_customer_page_shows_times_in_the_customers_time_zone(people, globex):
    body = client_for(people["billing_agent"]).get(reverse("customer_detail", args=[globex.pk])).content.decode()
    assert "Times are shown in Asia/Taipei" in body


def test_sync_button_mirrors_subscriptions_from_the_operator(people, acme, operator):
    operator.add(acme, "sub-1", "Office 365 E1")
    c = client_for(people["collections"])
    response = c.post(reverse("customer_sync", args=[acme.pk]), follow=True)
    body = response.content.decode()
    assert "Synced 1 subscription from the operator" in body
    assert "Office 365 E1" in body


def test_sync_failure_is_a_message_not_a_500(people, acme, operator):
    import partnerdesk.gateway as gateway

    operator.fail_with = gateway.OperatorError("operator unreachable after 4 attempts")
    response = client_for(people["admin"]).post(reverse("customer_sync", args=[acme.pk]), follow=True)
    assert response.status_code == 200
    assert "operator unreachable after 4 attempts" in response.content.decode()
