"""Small factories for the web tests, all through the services, and a stand-in for the operator."""

import datetime as dt
import uuid
from decimal import Decimal

from django.test import Client

from partnerdesk.billing.services import LineInput, create_invoice
from partnerdesk.customers.services import create_customer

PASSWORD = "Correct-Horse-42"
STAFF = ["admin", "billing_agent", "collections", "finance", "auditor"]


def make_customer(name, domain, email, **fields):
    return create_customer(actor=None, name=name, tenant_id=uuid.uuid4(), primary_domain=domain,
                           contact={"name": "Wang Fang", "email": email}, **fields)


def make_invoice(customer, amount, *, issue_date=dt.date(2026, 1, 5), due_date=None, description="Microsoft 365 E3",
                 notify_customer=False):
    """An issued invoice to start a test from (without the "invoice issued" email unless asked)."""
    return create_invoice(customer=customer, actor=None, issue=True, issue_date=issue_date, due_date=due_date,
                          notify_customer=notify_customer,
                          lines=[LineInput(description=description, quantity=Decimal("1"), unit_price=Decimal(amount))])


def client_for(user, language="en", **kwargs):
    """A test client signed in as the user, asking for pages in the given language."""
    c = Client(headers={"Accept-Language": language}, **kwargs)
    if user is not None:
        c.force_login(user)
    return c


class FakeOperator:
    """The operator as the customers service sees it: list, suspend and reactivate subscriptions."""

    def __init__(self):
        self.subscriptions = {}  # tenant id -> {subscription id: resource}
        self.fail_with = None

    def add(self, customer, sub_id, name="Microsoft 365 E3", status="active"):
        self.subscriptions.setdefault(str(customer.tenant_id), {})[sub_id] = {
            "id": sub_id, "offerId": "CFQ7TTC0LF8Q", "offerName": name, "friendlyName": name, "quantity": 25,
            "status": status, "billingType": "license", "billingCycle": "monthly", "termDuration": "P1Y",
            "autoRenewEnabled": True, "suspensionReasons": [], "attributes": {"etag": "e1"},
        }

    def _check(self):
        if self.fail_with is not None:
            raise self.fail_with

    def list_subscriptions(self, tenant_id):
        self._check()
        return list(self.subscriptions.get(tenant_id, {}).values())

    def _set(self, tenant_id, sub_id, status, reasons):
        self._check()
        resource = self.subscriptions[tenant_id][sub_id]
        resource.update(status=status, suspensionReasons=reasons)
        return dict(resource)

    def suspend_subscription(self, tenant_id, sub_id):
        return self._set(tenant_id, sub_id, "suspended", ["CustomerCancellation"])

    def reactivate_subscription(self, tenant_id, sub_id):
        return self._set(tenant_id, sub_id, "active", [])
