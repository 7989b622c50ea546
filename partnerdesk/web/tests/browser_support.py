"""What the browser tests (Chromium through Playwright) share: where Chromium is and how it starts, a page asking
for English, signing in and out, and screenshots of the open pages when a test fails. The fixtures built on
these (browser, browser_page) are in conftest.py."""

import re

from django.urls import reverse

from .factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--disable-quic"]
ENGLISH = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en"}}


def new_page(browser, **context_options):
    """A page in a new context of the browser, asking for English unless context_options say otherwise."""
    context = browser.new_context(**{**ENGLISH, **context_options})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page, base, username, password=PASSWORD):
    """Submit the login form; where the user lands is the test's to check."""
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.stacked button[type=submit]")


def sign_out(page):
    page.click("header .who button")
    page.wait_for_url(re.compile(r"/login/"))


def screenshot_open_pages(browser, folder):
    """A full-page screenshot of every page open in the browser: folder/failure.png if there is one page,
    folder/failure-<context>-<page>.png for each if there are more."""
    pages = [(i, j, page) for i, context in enumerate(browser.contexts) for j, page in enumerate(context.pages)]
    for i, j, page in pages:
        shot = folder / ("failure.png" if len(pages) == 1 else f"failure-{i}-{j}.png")
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot of a page at the failure: {shot}")
