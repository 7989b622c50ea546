"""Every page in English, Simplified and Traditional Chinese; the header switches language."""

import pytest
from django.test import Client
from django.urls import reverse

from .factories import client_for

STAFF_PAGES = ["customer_list", "audit_list", "token_list", "customer_import", "dashboard", "collections_preview",
               "collections_runs", "policy_list", "report_aging", "report_collections"]


@pytest.mark.parametrize("language, customers, balance_owed", [
    ("en", "Customers", "Balance owed"),
    ("zh-hans", "客户", "应付余额"),
    ("zh-hant", "客戶", "應付餘額"),
])
def test_staff_pages_in_each_language(people, acme, invoices, language, customers, balance_owed):
    c = client_for(people["admin"], language=language)
    for name in STAFF_PAGES:
        response = c.get(reverse(name))
        assert response.status_code == 200
        assert f'<html lang="{language}">' in response.content.decode()
    assert customers in c.get(reverse("customer_list")).content.decode()
    assert balance_owed in c.get(reverse("customer_detail", args=[acme.pk])).content.decode()


@pytest.mark.parametrize("language, issued", [("zh-hans", "已开具"), ("zh-hant", "已開立")])
def test_model_choice_labels_are_translated(people, invoices, language, issued):
    import datetime as dt

    from .factories import make_invoice

    # The fixture's invoices are past due (shown as overdue); this one is not due yet.
    make_invoice(people["acme_user"].customer, "10.00", issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 20))
    body = client_for(people["acme_user"], language=language).get(reverse("portal_invoices")).content.decode()
    assert issued in body and "逾期" in body


def test_default_language_is_simplified_chinese(db):
    body = Client().get(reverse("login")).content.decode()
    assert '<html lang="zh-hans">' in body and "登录" in body


def test_the_header_switches_language(people):
    c = client_for(people["acme_user"])
    assert "Overview" in c.get(reverse("portal_home")).content.decode()
    response = c.post(reverse("set_language"), {"language": "zh-hant", "next": reverse("portal_home")})
    assert response.status_code == 302
    body = c.get(reverse("portal_home")).content.decode()
    assert "總覽" in body and '<html lang="zh-hant">' in body


@pytest.mark.parametrize("accept, lang", [("zh-CN,zh;q=0.9,en;q=0.8", "zh-hans"), ("zh-TW,zh;q=0.9", "zh-hant"),
                                          ("en-US,en;q=0.9", "en")])
def test_the_browsers_accept_language_is_honoured(db, accept, lang):
    body = Client(headers={"Accept-Language": accept}).get(reverse("login")).content.decode()
    assert f'<html lang="{lang}">' in body


@pytest.mark.parametrize("language, words", [
    ("en", ["Dashboard", "Open receivables", "Over 90 days", "Collections policies"]),
    ("zh-hans", ["仪表板", "未结应收账款", "90 天以上", "催收政策"]),
    ("zh-hant", ["儀表板", "未結應收帳款", "90 天以上", "催收政策"]),
])
def test_collections_pages_are_translated(people, invoices, language, words):
    c = client_for(people["admin"], language=language)
    body = c.get(reverse("dashboard")).content.decode() + c.get(reverse("policy_list")).content.decode()
    for word in words:
        assert word in body


def _po_entries(path):
    """(flags, msgid, msgstr) of each singular entry of a .po file (a small reader; enough for Django's output).
    An entry with a context (msgctxt) has gettext's own key for it as msgid: "context\x04msgid"."""
    import ast

    entries, flags, field, parts = [], "", None, {"msgid": [], "msgstr": [], "msgctxt": []}

    def flush():
        if parts["msgid"] is not None and (parts["msgid"] or parts["msgstr"]):
            context = "".join(parts["msgctxt"])
            msgid = "".join(parts["msgid"])
            entries.append((flags, f"{context}\x04{msgid}" if context else msgid, "".join(parts["msgstr"])))

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            flags, field, parts = "", None, {"msgid": [], "msgstr": [], "msgctxt": []}
        elif line.startswith("#,"):
            flags = line
        elif line.startswith("#~"):
            parts["msgid"] = None  # obsolete
        elif line.startswith(("msgid_plural", "msgstr[")):
            field = None
            if line.startswith("msgid_plural"):
                parts["msgid"] = None  # plural entries: gettext checks those itself
        elif line.startswith(("msgid ", "msgstr ", "msgctxt ")) and parts["msgid"] is not None:
            field, rest = line.split(" ", 1)
            parts[field].append(ast.literal_eval(rest))
        elif line.startswith('"') and field and parts["msgid"] is not None:
            parts[field].append(ast.literal_eval(line))
    return entries


@pytest.mark.parametrize("locale_dir", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated_and_compiled(locale_dir):
    import gettext
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "locale" / locale_dir / "LC_MESSAGES"
    entries = [(f, i, s) for f, i, s in _po_entries(folder / "django.po") if i]
    assert len(entries) > 500
    assert not [i for f, i, s in entries if "fuzzy" in f], "fuzzy entries show in English: translate them"
    assert not [i for f, i, s in entries if not s], "untranslated entries"
    catalogue = gettext.GNUTranslations(open(folder / "django.mo", "rb"))
    stale = [i for f, i, s in entries if catalogue.gettext(i) != s]
    assert not stale, f"django.mo is older than django.po (run `make messages`): {stale[:5]}"
