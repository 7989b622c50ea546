"""Who may open which page: every page for its roles, 403 for the wrong desk, 404 for another customer's data."""

import pytest
from django.test import Client
from django.urls import reverse

from .factories import PASSWORD, STAFF, client_for


def staff_urls(customer, invoice):
    return [
        reverse("customer_list"),
        reverse("customer_detail", args=[customer.pk]),
        reverse("customer_statement", args=[customer.pk]),
        reverse("invoice_detail", args=[invoice.pk]),
        reverse("audit_list"),
        reverse("audit_export"),
    ]


PORTAL_URLS = ["portal_home", "portal_invoices", "portal_payments", "portal_statement", "portal_subscriptions"]


@pytest.mark.parametrize("role", STAFF)
def test_every_staff_role_sees_the_staff_pages(people, acme, invoices, role):
    c = client_for(people[role])
    for url in staff_urls(acme, invoices["acme_old"]):
        assert c.get(url).status_code == 200, url


@pytest.mark.parametrize("role", STAFF)
def test_staff_are_refused_the_portal(people, role):
    c = client_for(people[role])
    for name in PORTAL_URLS:
        assert c.get(reverse(name)).status_code == 403, name


def test_customer_user_gets_403_on_staff_pages_even_for_its_own_customer(people, acme, globex, invoices):
    c = client_for(people["acme_user"])
    for url in staff_urls(acme, invoices["acme_old"]) + staff_urls(globex, invoices["globex"]):
        assert c.get(url).status_code == 403, url
    for url in [reverse("customer_import"), reverse("payment_new", args=[acme.pk])]:
        assert c.get(url).status_code == 403, url
    assert c.post(reverse("payment_new", args=[acme.pk]), {"amount": "1.00"}).status_code == 403
    assert c.post(reverse("customer_sync", args=[acme.pk])).status_code == 403


def test_customer_user_sees_its_portal(people, invoices):
    c = client_for(people["acme_user"])
    for name in PORTAL_URLS:
        assert c.get(reverse(name)).status_code == 200, name
    assert c.get(reverse("portal_invoice_detail", args=[invoices["acme_old"].pk])).status_code == 200


def test_customer_user_gets_404_for_another_customers_invoice(people, invoices):
    c = client_for(people["acme_user"])
    response = c.get(reverse("portal_invoice_detail", args=[invoices["globex"].pk]))
    assert response.status_code == 404
    assert invoices["globex"].number not in response.content.decode()
    assert c.get(reverse("portal_invoice_detail", args=[999999])).status_code == 404


def test_portal_lists_only_the_users_own_invoices(people, invoices):
    body = client_for(people["acme_user"]).get(reverse("portal_invoices")).content.decode()
    assert invoices["acme_old"].number in body and invoices["acme_new"].number in body
    assert invoices["globex"].number not in body
    body = client_for(people["globex_user"]).get(reverse("portal_home")).content.decode()
    assert invoices["globex"].number in body and invoices["acme_old"].number not in body
    assert "Acme" not in body


def test_missing_objects_are_404_for_staff(people):
    c = client_for(people["billing_agent"])
    assert c.get(reverse("customer_detail", args=[999999])).status_code == 404
    assert c.get(reverse("invoice_detail", args=[999999])).status_code == 404
    assert c.get(reverse("customer_statement", args=[999999])).status_code == 404
    assert c.post(reverse("payment_new", args=[999999]), {"amount": "1"}).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(db, acme):
    c = Client()
    for url in [reverse("home"), reverse("customer_list"), reverse("customer_detail", args=[acme.pk]),
                reverse("portal_home"), reverse("audit_list"), reverse("token_list")]:
        response = c.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_home_sends_each_user_to_their_desk(people):
    assert client_for(people["auditor"]).get(reverse("home"))["Location"] == reverse("dashboard")
    assert client_for(people["acme_user"]).get(reverse("home"))["Location"] == reverse("portal_home")


def test_auditor_reads_but_every_change_is_refused(people, acme, acme_subscriptions):
    c = client_for(people["auditor"])
    sub = acme_subscriptions["sub-acme-e3"]
    body = c.get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "Record payment" not in body and "Sync from operator" not in body
    assert reverse("subscription_suspend", args=[acme.pk, sub.pk]) not in body
    refused = [
        (reverse("payment_new", args=[acme.pk]), {"amount": "10.00", "received_on": "2026-03-01", "method": "alipay"}),
        (reverse("customer_sync", args=[acme.pk]), {}),
        (reverse("subscription_suspend", args=[acme.pk, sub.pk]), {"reason_code": "non_payment", "reason": "x"}),
        (reverse("subscription_reactivate", args=[acme.pk, sub.pk]), {"reason": "x"}),
        (reverse("customer_import"), {}),
    ]
    for url, data in refused:
        assert c.post(url, data).status_code == 403, url
    sub.refresh_from_db()
    assert sub.status == "active"
    assert not acme.payments.exists()


def test_posts_need_a_csrf_token(people, acme):
    c = Client(enforce_csrf_checks=True)
    c.force_login(people["billing_agent"])
    response = c.post(reverse("payment_new", args=[acme.pk]),
                      {"amount": "10.00", "received_on": "2026-03-01", "method": "alipay"})
    assert response.status_code == 403
    assert not acme.payments.exists()


def test_sign_out_is_a_post(people):
    c = Client()
    assert c.login(username="finance", password=PASSWORD)
    assert c.get(reverse("logout")).status_code == 405
    assert c.post(reverse("logout"))["Location"] == reverse("login")
    assert c.get(reverse("customer_list")).status_code == 302
