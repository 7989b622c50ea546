"""An internal case (the partner's own, e.g. about an operator request that keeps failing) concerns a customer
but is never shown to that customer's users: not in the API, not in the portal."""

import pytest

from partnerdesk.support import services
from partnerdesk.support.models import Channel


@pytest.fixture
def internal_case(customer_a, users):
    return services.open_case(customer=customer_a, subject="运营方一直拒绝恢复订阅", description="403 from the operator",
                              actor=users["admin"], channel=Channel.INTERNAL, acknowledge=False)


def test_the_customer_cannot_see_an_internal_case(internal_case, customer_a, users, tokens, api_client, client):
    public = services.open_case(customer=customer_a, subject="发票问题", description="?", actor=users["customer_a"],
                                requester_user=users["customer_a"])
    as_customer = api_client.as_(tokens["customer_a"])
    assert as_customer.get(f"/cases/{internal_case.pk}").status_code == 404
    assert as_customer.get(f"/cases/{public.pk}").status_code == 200
    listed = {row["id"] for row in as_customer.get("/cases").json()["items"]}
    assert public.pk in listed and internal_case.pk not in listed
    assert api_client.as_(tokens["admin"]).get(f"/cases/{internal_case.pk}").status_code == 200

    client.force_login(users["customer_a"])
    assert client.get(f"/portal/support/{internal_case.pk}/").status_code == 404
    page = client.get("/portal/support/").content.decode()
    assert "运营方一直拒绝恢复订阅" not in page and "发票问题" in page
