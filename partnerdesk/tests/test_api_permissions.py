"""The permission matrix of the REST API: every route, every role, and a customer user of another customer.

The objects acted on all belong to customer A. 'customer_a' is A's own portal user, 'customer_b' the
portal user of another customer: it must get 404 for A's objects (never their data), 403 for staff routes.
"""

import datetime as dt
import json

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import record_payment
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.models import Customer, Subscription

ROLES = ["admin", "billing_agent", "collections", "finance", "auditor", "customer_a", "customer_b"]
STAFF = {"admin", "billing_agent", "collections", "finance", "auditor"}
READERS = STAFF | {"customer_a"}  # who may read customer A's data


@pytest.fixture
def world(users, tokens, customer_a, customer_b, operator):
    """Customer A with a draft and a paid invoice, a payment with credit left, an active and a suspended
    subscription known to the operator simulator; customer B with an invoice of its own."""
    active = operator.add_subscription(customer_a, offer_name="Microsoft 365 E3", quantity=10)
    suspended = operator.add_subscription(customer_a, offer_name="Exchange Online (Plan 1)", status="suspended")
    sub = Subscription.objects.create(customer=customer_a, operator_id=active["id"], offer_name="Microsoft 365 E3", status="active")
    sus = Subscription.objects.create(customer=customer_a, operator_id=suspended["id"], offer_name="Exchange Online",
                                      status="suspended", suspension_reason="non_payment")
    issued = make_invoice(customer_a, "500.00")
    draft = make_invoice(customer_a, "80.00", issue=False)
    payment = record_payment(customer=customer_a, amount="700.00", received_on=dt.date(2026, 11, 1), method="alipay", actor=None).payment
    other_invoice = make_invoice(customer_b, "999.00")
    return {"A": customer_a.pk, "B": customer_b.pk, "sub": sub.pk, "sus": sus.pk, "inv": issued.pk, "draft": draft.pk,
            "pay": payment.pk, "other_inv": other_invoice.pk, "tenant_a": str(customer_a.tenant_id)}


def everyone(status):
    return {role: status for role in ROLES}


def read_own(ok=200):
    return {**{r: ok for r in READERS}, "customer_b": 404}


def change(ok, allowed):
    """A change to one of A's objects: `allowed` roles succeed, other staff and A's user get 403, B's user 404."""
    out = {r: (ok if r in allowed else 403) for r in ROLES}
    out["customer_b"] = 404
    return out


def staff_only(ok=200):
    return {r: (ok if r in STAFF else 403) for r in ROLES}


def create(ok, allowed):
    """Creating something (body names customer A): not allowed -> 403, allowed but not A's -> 404."""
    out = {r: (ok if r in allowed else 403) for r in ROLES}
    if "customer_b" in allowed:
        out["customer_b"] = 404
    return out


CSV = "name,tenant_id,contact_name,contact_email\nNew Co,6b0e4e1c-7a4a-4c53-9a0e-0f0f3b7f2d11,Wang Fang,wf@newco.cn\n"

# (method, path, body, expected status per role)
MATRIX = [
    ("GET", "/me", None, everyone(200)),
    ("GET", "/tokens", None, everyone(200)),
    ("POST", "/tokens", {"name": "ci"}, everyone(201)),
    ("GET", "/customers", None, everyone(200)),
    ("POST", "/customers", {"name": "Northwind", "tenant_id": "0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77"},
     create(201, {"admin", "billing_agent"})),
    ("POST", "/customers/import", "CSV", create(201, {"admin", "billing_agent"})),
    ("GET", "/customers/{A}", None, read_own()),
    ("PATCH", "/customers/{A}", {"primary_domain": "contoso.cn", "reason": "domain moved"}, change(200, {"admin", "billing_agent"})),
    ("GET", "/customers/{A}/balance", None, read_own()),
    ("GET", "/customers/{A}/statement", None, read_own()),
    ("GET", "/customers/{A}/subscriptions", None, read_own()),
    ("POST", "/customers/{A}/subscriptions/sync", None, change(200, {"admin", "billing_agent", "collections"})),
    ("GET", "/subscriptions/{sub}", None, read_own()),
    ("POST", "/subscriptions/{sub}/suspend", {"reason_code": "non_payment", "reason": "90 days overdue"},
     change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/subscriptions/{sus}/reactivate", {"reason": "paid in full"}, change(200, {"admin", "billing_agent", "collections"})),
    ("GET", "/invoices", None, everyone(200)),
    ("GET", "/invoices/{inv}", None, read_own()),
    ("POST", "/invoices", {"customer_id": "{A}", "lines": [{"description": "Azure usage", "unit_price": "120.50"}]},
     create(201, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{draft}/issue", None, change(200, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{draft}/void", {"reason": "duplicate"}, change(200, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{open_inv}/credit-notes", {"amount": "10.00", "reason": "goodwill"}, change(201, {"admin", "finance"})),
    ("GET", "/payments", None, everyone(200)),
    ("GET", "/payments/{pay}", None, read_own()),
    ("POST", "/payments", {"customer_id": "{A}", "amount": "50.00", "received_on": "2026-11-02", "method": "bank_transfer"},
     create(201, {"admin", "billing_agent", "collections", "finance"})),
    ("POST", "/payments/{pay}/refunds", {"amount": "20.00", "reason": "overpaid"}, change(201, {"admin", "finance"})),
    ("GET", "/audit", None, staff_only()),
    ("GET", "/audit/export.csv", None, staff_only()),
]


def _fill(value, world):
    text = json.dumps(value) if not isinstance(value, str) else value
    for key, val in world.items():
        text = text.replace("\"{" + key + "}\"", str(val)).replace("{" + key + "}", str(val))
    return text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_api_permission_matrix(client, world, tokens, role, method, path, body, expected):
    if "{open_inv}" in path:
        # Credit on account is applied as soon as an invoice is issued, so the open invoice is made here.
        world = {**world, "open_inv": make_invoice(Customer.objects.get(pk=world["A"]), "1000.00").pk}
    url = "/api/v1" + _fill(path, world)
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    before = AuditEntry.objects.count()
    if body == "CSV":
        from django.core.files.uploadedfile import SimpleUploadedFile

        resp = client.post(url, {"file": SimpleUploadedFile("c.csv", CSV.encode())}, headers=headers)
    elif body is None and method == "GET":
        resp = client.get(url, headers=headers)
    else:
        resp = client.generic(method, url, _fill(body or {}, world), content_type="application/json", headers=headers)
    assert resp.status_code == expected[role], resp.content[:300]
    text = resp.content.decode()
    if resp.status_code in (403, 404):
        assert AuditEntry.objects.count() == before, "a refused request changed something"
        assert "Contoso" not in text
    if role == "customer_b":
        # never another customer's data, whatever the route
        assert "Contoso" not in text and world["tenant_a"] not in text
    if role.startswith("customer") and resp.status_code == 200 and method == "GET" and path in ("/invoices", "/payments", "/customers"):
        ids = {item.get("customer_id", item.get("id")) for item in resp.json()["items"]}
        assert ids <= {world["A"] if role == "customer_a" else world["B"]}
    if resp.status_code in (200, 201) and method != "GET" and path not in ("/tokens",):
        assert AuditEntry.objects.count() > before, "a state change left no audit record"


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_anonymous_gets_401(client, world, method, path, body, expected):
    resp = client.generic(method, "/api/v1" + _fill(path, world), "{}", content_type="application/json")
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthenticated"


def test_revoked_token_stops_working(client, users, tokens):
    from partnerdesk.accounts.models import ApiToken
    from partnerdesk.accounts.services import revoke_api_token

    headers = {"Authorization": f"Bearer {tokens['finance']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    for token in ApiToken.objects.filter(user=users["finance"]):
        revoke_api_token(token, actor=users["finance"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    stored = ApiToken.objects.filter(user=users["finance"]).values_list("token_hash", flat=True)
    assert tokens["finance"] not in list(stored)  # only the hash is at rest
