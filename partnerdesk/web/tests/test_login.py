"""Signing in: role-based landing, throttling after repeated failures, and clearing on success."""

from django.test import Client, override_settings
from django.urls import reverse

from partnerdesk.accounts.models import LoginFailure

from .factories import PASSWORD


def sign_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_login_page_renders(db):
    response = Client(headers={"Accept-Language": "en"}).get(reverse("login"))
    assert response.status_code == 200
    assert "Sign in to PartnerDesk" in response.content.decode()


def test_staff_land_on_the_dashboard_and_customers_on_their_portal(people):
    c = Client()
    response = sign_in(c, "billing_agent", PASSWORD, next="")
    assert response.status_code == 302
    assert c.get(response["Location"])["Location"] == reverse("dashboard")
    c = Client()
    response = sign_in(c, "acme_user", PASSWORD)
    assert c.get(response["Location"])["Location"] == reverse("portal_home")


def test_wrong_password_shows_the_form_and_records_a_failure(people):
    c = Client(headers={"Accept-Language": "en"})
    response = sign_in(c, "billing_agent", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert LoginFailure.objects.filter(username="billing_agent").count() == 1


@override_settings(LOGIN_THROTTLE_ATTEMPTS=3)
def test_sign_in_is_refused_after_too_many_failures_even_with_the_right_password(people):
    c = Client(headers={"Accept-Language": "en"})
    for _ in range(3):
        assert sign_in(c, "billing_agent", "wrong").status_code == 200
    response = sign_in(c, "billing_agent", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in c.session
    assert c.get(reverse("customer_list")).status_code == 302
    # other users from the same address are not locked out by three failures
    assert sign_in(Client(), "finance", PASSWORD).status_code == 302


def test_the_throttle_follows_the_configured_number_of_attempts(people, settings):
    c = Client(headers={"Accept-Language": "en"})
    for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS - 1):
        sign_in(c, "collections", "wrong")
    assert sign_in(c, "collections", PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(people):
    c = Client()
    sign_in(c, "finance", "wrong")
    sign_in(c, "FINANCE", "wrong")
    assert LoginFailure.objects.filter(username="finance").count() == 2
    assert sign_in(c, "finance", PASSWORD).status_code == 302
    assert not LoginFailure.objects.filter(username="finance").exists()


@override_settings(LOGIN_THROTTLE_ATTEMPTS=2)
def test_an_empty_password_does_not_reset_the_throttle(people):
    c = Client()
    sign_in(c, "admin", "wrong")
    sign_in(c, "admin", "")  # an incomplete form is neither a failure nor a success
    sign_in(c, "admin", "wrong")
    assert sign_in(c, "admin", PASSWORD).status_code == 200
    assert "_auth_user_id" not in c.session


@override_settings(LOGIN_THROTTLE_ATTEMPTS=1)
def test_behind_a_trusted_proxy_the_throttle_counts_the_address_the_proxy_saw(people, settings):
    settings.TRUSTED_PROXIES = 1
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the proxy
    # Four failures (the per-address limit) from one client, who also forges an address on the left...
    for name in ("a1", "a2", "a3", "a4"):
        sign_in(Client(**via_proxy, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7"), name, "wrong")
    assert set(LoginFailure.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    # ...lock out that client, whatever it claims, but not another client behind the same proxy.
    assert "Too many failed" in sign_in(Client(**via_proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7",
                                               headers={"Accept-Language": "en"}), "finance", PASSWORD).content.decode()
    assert sign_in(Client(**via_proxy, HTTP_X_FORWARDED_FOR="198.51.100.4"), "finance", PASSWORD).status_code == 302
    # Without a trusted proxy the header is ignored: a client cannot choose the address it is counted under.
    settings.TRUSTED_PROXIES = 0
    LoginFailure.objects.all().delete()
    sign_in(Client(REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.99"), "b1", "wrong")
    assert list(LoginFailure.objects.values_list("ip_address", flat=True)) == ["192.0.2.1"]
