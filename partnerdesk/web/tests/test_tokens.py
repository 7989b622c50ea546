"""Personal API tokens: the raw value is shown once; only the owner can revoke."""

from django.urls import reverse

from partnerdesk.accounts.models import ApiToken
from partnerdesk.accounts.services import create_api_token, user_for_token

from .factories import client_for


def test_create_shows_the_token_once(people):
    c = client_for(people["billing_agent"])
    response = c.post(reverse("token_list"), {"name": "reconciliation script"})
    raw = response.context["raw_token"]
    assert raw.startswith("pd_") and raw in response.content.decode()
    assert user_for_token(raw) == people["billing_agent"]
    assert "no-store" in response["Cache-Control"]
    again = c.get(reverse("token_list")).content.decode()
    assert raw not in again and "reconciliation script" in again


def test_a_token_needs_a_name(people):
    response = client_for(people["acme_user"]).post(reverse("token_list"), {"name": ""})
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_revoke_own_token(people):
    token, raw = create_api_token(user=people["finance"], name="ci", actor=people["finance"])
    page = client_for(people["finance"]).get(reverse("token_list")).content.decode()
    # Revoking asks first: the button that does it sits behind the "Revoke" disclosure, saying what it breaks.
    assert "<summary>Revoke</summary>" in page and "stops working at once" in page and "Revoke “ci”" in page
    response = client_for(people["finance"]).post(reverse("token_revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    assert user_for_token(raw) is None


def test_another_users_token_cannot_be_revoked(people):
    token, raw = create_api_token(user=people["finance"], name="ci", actor=people["finance"])
    assert client_for(people["admin"]).post(reverse("token_revoke", args=[token.pk])).status_code == 404
    assert client_for(people["acme_user"]).post(reverse("token_revoke", args=[token.pk])).status_code == 404
    assert user_for_token(raw) == people["finance"]


def test_reloading_the_page_that_shows_a_new_token_does_not_create_another(people):
    c = client_for(people["finance"])
    form = {"name": "对账脚本", "form_key": "k-42"}
    first = c.post(reverse("token_list"), form)
    assert first.context["raw_token"]
    again = c.post(reverse("token_list"), form)  # the browser's "resend" on reload
    assert again.context["raw_token"] is None
    assert "This form already created its token" in again.content.decode()
    assert ApiToken.objects.filter(user=people["finance"]).count() == 1
    assert c.post(reverse("token_list"), {"name": "second", "form_key": "k-43"}).context["raw_token"]
    assert ApiToken.objects.filter(user=people["finance"]).count() == 2
