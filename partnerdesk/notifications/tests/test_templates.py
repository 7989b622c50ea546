"""The built-in templates read well in every language; an administrator's edit is checked, used and audited."""

import re

import pytest
from django.db import transaction

from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import InvalidInput, NotFound
from partnerdesk.notifications import services
from partnerdesk.notifications.defaults import DEFAULTS, SAMPLE_CONTEXT
from partnerdesk.notifications.models import EmailTemplate
from partnerdesk.notifications.rendering import format_amount, format_date, render_source

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u4e00-\u9fff]")
SIMPLIFIED_ONLY = set("们发这订据删应费务单请时")
TRADITIONAL_ONLY = set("們發這訂據刪應費務單請時")


@pytest.mark.parametrize("key", sorted(DEFAULTS))
@pytest.mark.parametrize("language", ["zh-CN", "zh-TW", "en"])
def test_every_default_renders_cleanly(key, language):
    subject, body = render_source(*DEFAULTS[key][language], SAMPLE_CONTEXT, language, check=True)
    text = subject + body
    assert "{" not in text and "\x00" not in text
    assert SAMPLE_CONTEXT["partner_name"] in body and SAMPLE_CONTEXT["support_email"] in body
    if language == "en":
        assert not HAN.search(text.replace(SAMPLE_CONTEXT["customer_name"], ""))
    else:
        assert HAN.search(subject) and "您好" in body
        # Simplified for zh-CN, Traditional for zh-TW: no character of the other script slips in.
        wrong = TRADITIONAL_ONLY if language == "zh-CN" else SIMPLIFIED_ONLY
        assert not (set(text) & wrong)


def test_the_suspension_email_says_what_why_what_to_do_and_when_data_goes():
    _, body = render_source(*DEFAULTS["collections.suspended"]["en"], SAMPLE_CONTEXT, "en")
    for phrase in ["we have suspended", "remains unpaid", "To restore service", "pay the overdue amount",
                   "before 23 Jan 2027", "within 60 days", "  · Microsoft 365 E3\n  · Exchange Online (Plan 1)\n"]:
        assert phrase in body


def test_dates_and_amounts_read_naturally():
    assert format_date("2026-11-24", "zh-CN") == "2026年11月24日"
    assert format_date("2026-01-05", "zh-TW") == "2026年1月5日"
    assert format_date("2026-11-24", "en") == "24 Nov 2026"
    assert format_date("2026-11-24T10:30:00+08:00", "en") == "24 Nov 2026"
    assert format_date("next week", "en") == "next week"
    assert format_amount("1234567.5") == "1,234,567.50"


def test_an_administrators_version_is_used_for_the_next_send(smtp_server, customer_a, users):
    with transaction.atomic():
        email = services.queue_email(customer=customer_a, template_key="collections.reminder",
                                     context={"invoice_number": "INV-2026-000042", "due_date": "2026-12-01"})
    services.update_template(key="collections.reminder", language="zh-CN", actor=users["admin"],
                             subject="请于 {{ due_date }} 前支付 {{ invoice_number }}",
                             body="{{ customer_name }}：\n\n发票 {{ invoice_number }} 将于 {{ due_date }} 到期。\n")
    services.send_pending()

    [message] = smtp_server.messages
    assert message["Subject"] == "请于 2026年12月1日 前支付 INV-2026-000042"
    assert smtp_server.text(message) == "Contoso 上海：\n\n发票 INV-2026-000042 将于 2026年12月1日 到期。\n"
    email.refresh_from_db()
    assert email.subject == "请于 2026年12月1日 前支付 INV-2026-000042"

    entry = AuditEntry.objects.get(action="email_template.updated")
    assert entry.actor_label == "admin1"
    assert entry.before["subject"] == DEFAULTS["collections.reminder"]["zh-CN"].subject
    assert entry.after["subject"].startswith("请于")
    # The other languages keep their defaults.
    assert services.template_info("collections.reminder", "en")["is_default"]


@pytest.mark.parametrize("subject, body, field, message", [
    ("{% if %}", "ok", "subject", "does not compile"),
    ("Invoice {{ invoice_number }}", "{% for x in subscriptions %}never closed", "body", "does not compile"),
    ("Invoice {{ invoice_number }}", "{{ invoice_number|no_such_filter }}", "body", "does not compile"),
    ("Invoice {{ invoice_number }}", "Dear {{ custmer_name }}", "body", "unknown variable 'custmer_name'"),
    ("Invoice {{ invoice_numbr }}", "ok", "subject", "unknown variable"),
    ("Invoice", '{% include "web/base.html" %}', "body", "cannot be rendered"),
    ("Due {{ due_date }", "ok", "subject", "not closed"),
    ("Due", "{% if subscriptions %x", "body", "not closed"),
    ("   ", "ok", "subject", "required"),
    ("Invoice", "  ", "body", "required"),
    ("{% if False %}x{% endif %}", "ok", "subject", "renders empty"),
])
def test_a_broken_template_is_refused_naming_the_field(users, subject, body, field, message):
    with pytest.raises(InvalidInput) as err:
        services.update_template(key="collections.notice", language="en", subject=subject, body=body, actor=users["admin"])
    assert err.value.field == field and message in str(err.value)
    assert not EmailTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="email_template").exists()


def test_unknown_templates_and_languages(users):
    with pytest.raises(NotFound) as err:
        services.update_template(key="collections.nope", language="en", subject="x", body="y", actor=users["admin"])
    assert err.value.field == "key"
    with pytest.raises(NotFound) as err:
        services.template_info("collections.notice", "fr")
    assert err.value.field == "language"


def test_reset_brings_the_default_back(users):
    services.update_template(key="collections.notice", language="zh-TW", subject="逾期：{{ invoice_number }}",
                             body="請付款。", actor=users["admin"])
    assert not services.template_info("collections.notice", "zh-TW")["is_default"]

    services.reset_template(key="collections.notice", language="zh-TW", actor=users["admin"], reason="back to standard")
    info = services.template_info("collections.notice", "zh-TW")
    assert info["is_default"] and info["subject"] == DEFAULTS["collections.notice"]["zh-TW"].subject
    entry = AuditEntry.objects.get(action="email_template.reset")
    assert (entry.before["subject"], entry.reason) == ("逾期：{{ invoice_number }}", "back to standard")
    services.reset_template(key="collections.notice", language="zh-TW", actor=users["admin"])  # nothing left: no-op
    assert AuditEntry.objects.filter(action="email_template.reset").count() == 1
