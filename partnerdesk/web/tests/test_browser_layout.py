"""The layout holds in a real browser (Chromium through Playwright): at 1366x768, in Chinese and English, the
staff header is one line, no table hides its last column, dates and button labels do not wrap; the customer
portal has no sideways scroll on a phone (375x812). Screenshots of every page land in the test's tmp dir."""

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerdesk.dunning.engine import run_collections

from .browser_support import new_page, sign_in
from .factories import make_customer, make_invoice

pytestmark = pytest.mark.real_clock  # (see partnerdesk/conftest.py: the suite's clock)

STAFF_PAGES = ["dashboard", "customer_list", "invoice_list", "payment_list", "collections_runs", "collections_preview",
               "operator_requests", "policy_list", "report_aging", "report_collections", "audit_list", "customer_import",
               "email_template_list", "user_list", "token_list"]
PORTAL_PAGES = ["portal_home", "portal_invoices", "portal_payments", "portal_statement", "portal_subscriptions",
                "portal_collections_policy"]

# What the page shows, measured in the browser. A text's lines are told apart by the tops of its line boxes.
MEASURE = """() => {
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const lines = e => { const range = document.createRange(); range.selectNodeContents(e);
    return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size; };
  const label = e => (e.innerText || e.value || '').trim().slice(0, 60);
  const header = document.querySelector('header.topbar');
  const link = header.querySelector('nav a') || header.querySelector('.brand');
  const wraps = [...document.querySelectorAll('.table-wrap')].filter(visible)
    .filter(w => w.scrollWidth > w.clientWidth + 1).map(w => label(w.querySelector('th') || w));
  const tables = [...document.querySelectorAll('table')].filter(visible).filter(t => !t.closest('.table-wrap'))
    .filter(t => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1
              || t.getBoundingClientRect().right > window.innerWidth).map(t => label(t.querySelector('th') || t));
  const lastHeads = [...document.querySelectorAll('table thead tr')].filter(visible).map(tr => tr.lastElementChild)
    .filter(th => { const wrap = th.closest('.table-wrap') || th.closest('table').parentElement;
                    return th.getBoundingClientRect().right > Math.min(window.innerWidth, wrap.getBoundingClientRect().right) + 1; })
    .map(label);
  return {
    headerHeight: header.getBoundingClientRect().height,
    lineHeight: link.getBoundingClientRect().height,
    headerRows: new Set([...header.children].filter(visible).map(e => {
      const r = e.getBoundingClientRect(); return Math.round(r.top + r.height / 2) > header.getBoundingClientRect().top
        + header.getBoundingClientRect().height / 2 + 8 ? 'below' : 'row'; })).size,
    clippedWraps: wraps, overflowingTables: tables, clippedLastHeads: lastHeads,
    wrappedDates: [...document.querySelectorAll('td.date')].filter(visible).filter(e => lines(e) > 1).map(label),
    dateCells: document.querySelectorAll('td.date').length,
    wrappedButtons: [...document.querySelectorAll('button, .btn, summary')].filter(visible)
      .filter(e => lines(e) > 1).map(label),
    scrollWidth: document.scrollingElement.scrollWidth,
  };
}"""


@pytest.fixture
def world(people, acme, globex, invoices, acme_subscriptions):
    """Enough on every page to fill its tables: overdue invoices, a payment, a collections run, long names."""
    long_name = make_customer("苏州工业园区恒达精密制造股份有限公司（华东区域结算中心）", "hengda.partner.onmschina.cn",
                              "ap@hengda.example.cn")
    make_invoice(long_name, "123456.78")
    from partnerdesk.billing.services import record_payment

    record_payment(customer=acme, amount="300.00", received_on=timezone.localdate(), method="wechat_pay",
                   reference="WX-4200001234202611300001", actor=people["billing_agent"])
    run_collections(timezone.localdate())
    return people


def signed_in_page(browser, base, username, *, language, width, height):
    accept = {"zh-hans": "zh-CN,zh;q=0.9", "en": "en"}[language]
    page = new_page(browser, viewport={"width": width, "height": height}, locale=accept.split(",")[0],
                    extra_http_headers={"Accept-Language": accept})
    sign_in(page, base, username)
    page.wait_for_url(re.compile(r"/(dashboard|portal)/$"))
    return page


def visit(page, base, name, shots: Path, tag: str) -> dict:
    response = page.goto(base + reverse(name))
    assert response.status == 200, (name, response.status)
    page.screenshot(path=str(shots / f"{tag}-{name}.png"), full_page=True)
    return page.evaluate(MEASURE)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_staff_pages_hold_at_1366_pixels(live_server, transactional_db, world, browser, tmp_path, language):
    page = signed_in_page(browser, live_server.url, "admin", language=language, width=1366, height=768)
    assert page.locator("html").get_attribute("lang") == language
    problems, dates = {}, 0
    for name in STAFF_PAGES:
        seen = visit(page, live_server.url, name, tmp_path, f"staff-{language}")
        dates += seen["dateCells"]
        found = {
            "header is not one line": seen["headerRows"] != 1 or seen["headerHeight"] > 2 * seen["lineHeight"] + 24,
            "table scrolls or is clipped": seen["clippedWraps"] + seen["overflowingTables"] + seen["clippedLastHeads"],
            "date wraps": seen["wrappedDates"],
            "button label wraps": seen["wrappedButtons"],
            "page scrolls sideways": seen["scrollWidth"] > 1366,
        }
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[name] = found
    print(f"screenshots: {tmp_path}")
    assert problems == {}, f"{problems} (screenshots in {tmp_path})"
    assert dates > 10  # the date checks did look at dates


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_portal_fits_a_phone(live_server, transactional_db, world, browser, tmp_path, language):
    page = signed_in_page(browser, live_server.url, "acme_user", language=language, width=375, height=812)
    wide = {}
    for name in PORTAL_PAGES:
        seen = visit(page, live_server.url, name, tmp_path, f"portal-{language}")
        if seen["scrollWidth"] > 375 or seen["wrappedButtons"]:
            wide[name] = (seen["scrollWidth"], seen["wrappedButtons"])
    invoice = world["acme_user"].customer.invoices.exclude(number="").first()
    page.goto(live_server.url + reverse("portal_invoice_detail", args=[invoice.pk]))
    page.screenshot(path=str(tmp_path / f"portal-{language}-invoice.png"), full_page=True)
    if page.evaluate("document.scrollingElement.scrollWidth") > 375:
        wide["portal_invoice_detail"] = page.evaluate("document.scrollingElement.scrollWidth")
    print(f"screenshots: {tmp_path}")
    assert wide == {}, f"{wide} (screenshots in {tmp_path})"
