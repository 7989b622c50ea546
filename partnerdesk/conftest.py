"""Shared fixtures: a partner with one user per role, and two customers with their own portal users."""

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_api_token, create_user
from partnerdesk.billing.services import LineInput, create_invoice
from partnerdesk.customers.services import create_customer
from partnerdesk.notifications.tests.conftest import smtp_server  # noqa: F401  (shared: a real SMTP server)

STAFF_ROLES = [Role.ADMIN, Role.BILLING_AGENT, Role.COLLECTIONS, Role.FINANCE, Role.AUDITOR]
SUITES_DAY = dt.datetime(2026, 11, 24, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _the_suites_clock(request):
    """Every test runs on a ticking clock that starts at 24 November 2026, 10:00 in Beijing: the suite's data is
    dated around then (invoices, payments, due dates), and a payment more than a year old is refused, so the
    suite passes the same on any later machine date. Tests marked real_clock keep the machine's clock: a browser
    does, and would drop session cookies that expire by a pinned one."""
    if request.node.get_closest_marker("real_clock"):
        yield
        return
    with time_machine.travel(SUITES_DAY, tick=True):
        yield


def make_customer(name="Contoso 上海", **fields):
    fields.setdefault("contact", {"name": "Li Lei", "email": f"billing@{uuid.uuid4().hex[:8]}.example.cn"})
    return create_customer(actor=None, name=name, tenant_id=fields.pop("tenant_id", uuid.uuid4()), **fields)


def make_invoice(customer, amount="1000.00", *, issue_date=None, due_date=None, issue=True, subscription=None,
                 notify_customer=False):
    """An invoice as a test's starting point: issued without the "invoice issued" email unless asked."""
    issue_date = issue_date or dt.date(2026, 10, 1)
    return create_invoice(customer=customer, actor=None, issue=issue, issue_date=issue_date, due_date=due_date,
                          notify_customer=notify_customer,
                          lines=[LineInput(description="Microsoft 365 E3", quantity=Decimal("1"),
                                           unit_price=Decimal(amount), subscription=subscription)])


@pytest.fixture
def customer_a(db):
    return make_customer("Contoso 上海", primary_domain="contoso.partner.onmschina.cn")


@pytest.fixture
def customer_b(db):
    return make_customer("Fabrikam 北京", primary_domain="fabrikam.partner.onmschina.cn", language="en")


@pytest.fixture
def users(db, customer_a, customer_b):
    """One user per staff role, plus a portal user for each customer ('customer_a', 'customer_b')."""
    out = {role.value: create_user(actor=None, username=f"{role.value}1", password="x", role=role, validate=False)
           for role in STAFF_ROLES}
    out["customer_a"] = create_user(actor=None, username="alice", password="x", role=Role.CUSTOMER, customer=customer_a, validate=False)
    out["customer_b"] = create_user(actor=None, username="bob", password="x", role=Role.CUSTOMER, customer=customer_b, validate=False)
    return out


@pytest.fixture
def tokens(users):
    """A raw API token for each user in `users`."""
    return {name: create_api_token(user=u, name="test", actor=u)[1] for name, u in users.items()}


@pytest.fixture
def api_client(client):
    """Django's test client speaking JSON to /api/v1 with a bearer token."""

    class ApiClient:
        def __init__(self, token=None):
            self.token = token

        def as_(self, token):
            return ApiClient(token)

        def _headers(self, extra):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            headers.update(extra or {})
            return headers

        def get(self, path, **params):
            return client.get("/api/v1" + path, params, headers=self._headers(None))

        def post(self, path, data=None, *, raw=None, headers=None):
            import json

            body = raw if raw is not None else json.dumps(data if data is not None else {})
            return client.generic("POST", "/api/v1" + path, body, content_type="application/json", headers=self._headers(headers))

        def patch(self, path, data):
            import json

            return client.generic("PATCH", "/api/v1" + path, json.dumps(data), content_type="application/json", headers=self._headers(None))

        def delete(self, path):
            return client.delete("/api/v1" + path, headers=self._headers(None))

    return ApiClient()


@pytest.fixture(scope="session")
def simulator_handle():
    """The local Partner Center simulator, over real HTTP, for the whole session."""
    from partnerdesk.gateway.simulator import start_simulator

    handle = start_simulator(client_id="partnerdesk-tests", client_secret="sim-" + uuid.uuid4().hex)
    yield handle
    handle.stop()


class Operator:
    """The operator as a test sees it: seed subscriptions for a customer, read back what the operator holds."""

    def __init__(self, handle):
        self.handle = handle
        self.simulator = handle.simulator

    def add_subscription(self, customer, **fields):
        fields.setdefault("offerId", "CFQ7TTC0LFLX")
        fields.setdefault("billingType", "license")
        fields.setdefault("friendlyName", fields.get("offerName", "Microsoft 365 E3"))
        return self.simulator.add_subscription(str(customer.tenant_id), **fields)

    def status(self, subscription):
        return self.simulator.get(str(subscription.customer.tenant_id), subscription.operator_id)["status"]

    def queue_faults(self, faults, **kw):
        self.simulator.queue_faults(faults, **kw)


@pytest.fixture
def operator(simulator_handle, settings):
    """Point the gateway at the simulator, with fast retries; the simulator starts each test empty."""
    handle = simulator_handle
    handle.simulator.reset()
    settings.PARTNER_CENTER = {
        **settings.PARTNER_CENTER,
        "BASE_URL": handle.url,
        "TOKEN_URL": handle.token_url,
        "PARTNER_TENANT_ID": "partner.onmschina.cn",
        "CLIENT_ID": handle.simulator.client_id,
        "CLIENT_SECRET": handle.simulator.client_secret,
        "RESOURCE": "https://partner.partnercenterapi.microsoftonline.cn",
        "TIMEOUT_SECONDS": 2.0,
        "MAX_ATTEMPTS": 3,
        "BACKOFF_SECONDS": 0.01,
        "MAX_RETRY_AFTER_SECONDS": 0.05,
    }
    return Operator(handle)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    """Test rows are rolled back, so the per-process working-day cache must not outlive a test."""
    from partnerdesk.workdays.services import clear_cache

    clear_cache()
    yield
    clear_cache()
