"""The collections pages staff work in: each open invoice's next action from its own subscriptions, the operator
requests, a run's page, "Run collections now", and calls to make, one per customer and day."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.services import suspend_subscription, sync_subscriptions
from partnerdesk.dunning.engine import run_collections
from partnerdesk.dunning.models import CallTask, CollectionsRun, OperatorRequest
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.tests.test_cycle import at

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user, language="en"):
    c = Client(headers={"Accept-Language": language})
    c.force_login(user)
    return c


def invoice_row(html: str, invoice) -> str:
    match = re.search(rf'<tr data-invoice="{invoice.pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {invoice.number}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_each_open_invoice_shows_the_deletion_dates_of_its_own_subscription(operator, users, smtp_server):
    """Two subscriptions suspended on different days: each invoice's next action is its own subscription's
    data-deletion warning, not the other's (issue 12: INV-2026-000019/-000020 of 成都锦城软件有限公司)."""
    with at("2026-10-01"):
        customer = make_customer("成都锦城软件有限公司", contact={"name": "陈静", "email": "ap@jincheng.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        operator.add_subscription(customer, offerName="Exchange Online (Plan 1)")
        exchange, e3 = sorted(sync_subscriptions(customer, actor=None), key=lambda s: s.offer_name)
        early = make_invoice(customer, "300.00", issue_date=dt.date(2026, 9, 9), subscription=e3)
        late = make_invoice(customer, "200.00", issue_date=dt.date(2026, 10, 1), subscription=exchange)
    assert (early.due_date, late.due_date) == (dt.date(2026, 10, 9), dt.date(2026, 10, 31))
    with at("2026-10-30"):
        suspend_subscription(e3, actor=None, reason_code="non_payment", reason="INV early unpaid")
    with at("2026-11-21"):
        suspend_subscription(exchange, actor=None, reason_code="non_payment", reason="INV late unpaid")
    last = default_policy().stages.order_by("-position").first()
    assert last.suspend  # (the default policy ends with the suspension; warnings follow it)
    Invoice.objects.filter(pk__in=[early.pk, late.pk]).update(collections_stage=last.position)

    with at("2026-11-24", hour=10):
        html = signed_in(users["collections"]).get(reverse("customer_detail", args=[customer.pk])).content.decode()
    # Warned 45 and 55 days after its own suspension; the data deleted 60 days after it.
    assert "Data deletion warning · 2026-12-14" in invoice_row(html, early)
    assert "2026-12-29" in invoice_row(html, early)
    assert "Data deletion warning · 2027-01-05" in invoice_row(html, late)
    assert "2027-01-20" in invoice_row(html, late) and "2026-12-29" not in invoice_row(html, late)


@pytest.fixture
def overdue_world(operator, smtp_server):
    """Two customers: one with three invoices reaching the final notice (a call) on 2026-11-24, one a reminder."""
    with at("2026-10-01"):
        calls = make_customer("上海云启信息科技有限公司", contact={"name": "王芳", "email": "wangfang@yunqi.example.cn"})
        invoices = [make_invoice(calls, amount, issue_date=dt.date(2026, 10, 11)) for amount in ("100.00", "200.00", "300.00")]
        quiet = make_customer("Fabrikam 北京", language="en")
        reminder = make_invoice(quiet, "50.00", issue_date=dt.date(2026, 10, 28))
    return calls, invoices, quiet, reminder


def test_calls_to_make_are_one_per_customer_and_day_and_done_with_one_click(overdue_world, users):
    calls_customer, invoices, quiet, _ = overdue_world
    with at("2026-11-24"):
        run_collections(dt.date(2026, 11, 24))
    assert CallTask.objects.filter(customer=calls_customer, done_at__isnull=True).count() == 3
    agent = signed_in(users["collections"])
    with at("2026-11-24", hour=10):
        dashboard = agent.get(reverse("dashboard")).content.decode()
    groups = re.findall(r'data-call-group="([^"]+)"', dashboard)
    assert groups == [f"{calls_customer.pk}-20261124"]  # one call, naming the three invoices
    for invoice in invoices:
        assert invoice.number in dashboard
    ids = list(CallTask.objects.filter(customer=calls_customer).values_list("pk", flat=True))
    url = reverse("calls_complete", args=[calls_customer.pk])
    prefix = f"calls-{groups[0]}"
    with at("2026-11-24", hour=10):
        empty = agent.post(url, {"call": ids, "back": "dashboard", f"{prefix}-note": " "})
        assert empty.status_code == 200 and CallTask.objects.filter(done_at__isnull=True).count() == 3
        done = agent.post(url, {"call": ids, "back": "dashboard", f"{prefix}-note": "Will pay all three on Friday"},
                          follow=True)
    assert "marked done (3 invoices)" in done.content.decode()
    assert not CallTask.objects.filter(done_at__isnull=True).exists()
    entries = AuditEntry.objects.filter(action="collections.call_done")
    assert entries.count() == 3 and {e.reason for e in entries} == {"Will pay all three on Friday"}
    # Another customer's page cannot close them (and a customer user cannot at all).
    assert agent.post(reverse("calls_complete", args=[quiet.pk]), {"call": ids}).status_code == 404
    assert signed_in(users["customer_a"]).post(url, {"call": ids}).status_code == 403


def test_run_now_confirms_first_and_a_run_with_nothing_due_adds_no_row(overdue_world, users):
    calls_customer, invoices, quiet, reminder = overdue_world
    agent = signed_in(users["collections"])
    with at("2026-11-24", hour=10):
        confirm = agent.get(reverse("collections_run_now")).content.decode()
    assert "A run now would act on 4 invoices" in confirm and invoices[0].number in confirm
    assert not CollectionsRun.objects.exists()  # asking records nothing
    with at("2026-11-24", hour=10):
        response = agent.post(reverse("collections_run_now"), follow=True)
    run = CollectionsRun.objects.get()
    assert response.redirect_chain[-1][0] == reverse("collections_run_detail", args=[run.pk])
    page = response.content.decode()
    assert "Invoices that reached a stage: 4" in page
    for customer in (calls_customer, quiet):  # per customer, with links to the customer and the invoices
        assert f'data-customer="{customer.pk}"' in page and reverse("customer_detail", args=[customer.pk]) in page
    assert reverse("invoice_detail", args=[reminder.pk]) in page
    assert page.count(reverse("invoice_detail", args=[invoices[1].pk])) == 2  # its notice and its call

    with at("2026-11-24", hour=11):
        confirm = agent.get(reverse("collections_run_now")).content.decode()
        assert "Nothing is due today." in confirm
        for _ in range(3):
            again = agent.post(reverse("collections_run_now"), follow=True).content.decode()
            assert "Nothing was due for 2026-11-24" in again
    assert CollectionsRun.objects.count() == 1  # no row of zeros per click
    runs = agent.get(reverse("collections_runs")).content.decode()
    assert reverse("collections_run_detail", args=[run.pk]) in runs


def test_the_operator_requests_page_lists_all_requests_with_filters(operator, users, smtp_server):
    with at("2026-10-01"):
        customer = make_customer("Contoso 上海")
        operator.add_subscription(customer, offerName="Microsoft 365 E3")
        [sub] = sync_subscriptions(customer, actor=None)
        other = make_customer("Fabrikam 北京", language="en")
        operator.add_subscription(other, offerName="Dynamics 365 Sales")
        [other_sub] = sync_subscriptions(other, actor=None)
    done = OperatorRequest.objects.create(subscription=sub, customer=customer, action="suspend", cause="inv:1:st:5",
                                          reason="Non-payment", status="done")
    failing = OperatorRequest.objects.create(subscription=other_sub, customer=other, action="suspend",
                                             cause=f"manual:{users['admin'].pk}:x", reason="Fraud", attempts=2,
                                             requested_by=users["admin"], last_error="operator answered 503")
    reactivation = OperatorRequest.objects.create(subscription=sub, customer=customer, action="reactivate",
                                                  cause="payment:9", reason="Paid", status="cancelled")
    viewer = signed_in(users["finance"])  # collections.view: may look, not retry

    def listed(**filters):
        html = viewer.get(reverse("operator_requests"), filters).content.decode()
        return [int(i) for i in re.findall(r'data-request="(\d+)"', html)]

    assert listed() == [reactivation.pk, failing.pk, done.pk]  # all of them, newest first
    assert listed(status="failing") == [failing.pk]
    assert listed(status="done") == [done.pk]
    assert listed(action="reactivate") == [reactivation.pk]
    assert listed(cause="manual") == [failing.pk]
    assert listed(cause="collections") == [reactivation.pk, done.pk]
    assert listed(customer=customer.pk) == [reactivation.pk, done.pk]
    assert listed(status="nonsense") == []
    assert "Try again now" not in viewer.get(reverse("operator_requests")).content.decode()

    agent = signed_in(users["collections"])
    page = reverse("operator_requests") + "?status=failing"
    response = agent.post(reverse("operator_requests_retry"), {"request": failing.pk, "next": page}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert AuditEntry.objects.filter(action="operator_request.retried", object_id=str(failing.pk)).exists()
