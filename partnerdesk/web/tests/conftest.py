"""Web test fixtures: two customers (Acme, Globex), one staff user per role, a portal user per customer,
and a stand-in for the operator. Everything is built through the services."""

import datetime as dt
from pathlib import Path

import pytest

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_user
from partnerdesk.customers.services import sync_subscriptions

from .browser_support import CHROMIUM, CHROMIUM_ARGS, new_page, screenshot_open_pages
from .factories import PASSWORD, STAFF, FakeOperator, make_customer, make_invoice


@pytest.fixture
def acme(db):
    return make_customer("Acme 上海", "acme.partner.onmschina.cn", "ap@acme.example.cn")


@pytest.fixture
def globex(db):
    return make_customer("Globex 北京", "globex.partner.onmschina.cn", "billing@globex.example.cn",
                         time_zone="Asia/Taipei", language="zh-TW")


@pytest.fixture
def people(db, acme, globex):
    """One user per staff role (username = role) and the portal users 'acme_user' and 'globex_user'."""
    users = {role: create_user(actor=None, username=role, password=PASSWORD, role=role, validate=False) for role in STAFF}
    users["acme_user"] = create_user(actor=None, username="acme_user", password=PASSWORD, role=Role.CUSTOMER,
                                     customer=acme, validate=False)
    users["globex_user"] = create_user(actor=None, username="globex_user", password=PASSWORD, role=Role.CUSTOMER,
                                       customer=globex, validate=False)
    return users


@pytest.fixture
def invoices(acme, globex):
    """Acme owes 1,000.00 (overdue) and 2,500.00; Globex owes 800.00."""
    return {
        "acme_old": make_invoice(acme, "1000.00", issue_date=dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4)),
        "acme_new": make_invoice(acme, "2500.00", issue_date=dt.date(2026, 3, 1), due_date=dt.date(2026, 3, 31)),
        "globex": make_invoice(globex, "800.00", issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 3, 3)),
    }


@pytest.fixture
def operator(monkeypatch):
    """Point the customers service at a fake operator instead of Partner Center."""
    import partnerdesk.gateway as gateway

    fake = FakeOperator()
    monkeypatch.setattr(gateway, "get_gateway", lambda: fake)
    return fake


@pytest.fixture
def acme_subscriptions(acme, operator):
    operator.add(acme, "sub-acme-e3", "Microsoft 365 E3")
    operator.add(acme, "sub-acme-d365", "Dynamics 365 Sales")
    return {s.operator_id: s for s in sync_subscriptions(acme, actor=None)}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def browser(monkeypatch, tmp_path, request):
    """A Chromium browser (Playwright) for the browser tests. If the test fails, a screenshot of every page open
    in it lands in tmp_path (see browser_support.screenshot_open_pages)."""
    # Missing Chromium is a failure, not a skip: `make test` installs it (scripts/system-test-deps.sh).
    assert Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}: run scripts/system-test-deps.sh as root"
    from playwright import sync_api

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls in the test are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            screenshot_open_pages(chromium, tmp_path)
        chromium.close()


@pytest.fixture
def browser_context_options():
    """Options for browser_page's context beyond asking for English; a test module overrides this fixture to
    change them (downloads, JavaScript, the viewport)."""
    return {}


@pytest.fixture
def browser_page(browser, browser_context_options):
    """A fresh Chromium page asking for English; a screenshot lands in tmp_path if the test fails."""
    return new_page(browser, **browser_context_options)
