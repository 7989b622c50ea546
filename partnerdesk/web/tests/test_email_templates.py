"""Settings → email templates: every template in every language, read by staff, changed by administrators
(checked before saving, errors on the field at fault, a preview with sample data), and reset to the built-in text."""

import re

import pytest
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.defaults import DEFAULTS, default_template
from partnerdesk.notifications.models import EmailTemplate
from partnerdesk.notifications.services import update_template

from .factories import STAFF, client_for

KEY, LANG = "collections.notice", "zh-CN"
EDIT = reverse("email_template_edit", args=[KEY, LANG])
RESET = reverse("email_template_reset", args=[KEY, LANG])


def field_block(body: str, name: str) -> str:
    """The HTML of the form field `name` (its wrapper div, with the errors under it)."""
    match = re.search(r'<div class="field[^"]*">\s*<label for="id_' + name + r'">.*?</div>', body, re.S)
    assert match, f"no field {name}"
    return match.group(0)


def test_only_administrators_get_the_menu_link(people):
    url = reverse("email_template_list")
    assert url in client_for(people["admin"]).get(reverse("dashboard")).content.decode()
    for role in ["billing_agent", "collections", "finance", "auditor"]:
        assert url not in client_for(people[role]).get(reverse("dashboard")).content.decode(), role


def test_the_list_shows_every_template_in_every_language_and_marks_the_edited_ones(people):
    admin = people["admin"]
    update_template(key=KEY, language="en", subject="Overdue: {{ invoice_number }}", body="Please pay.\n",
                    actor=admin, reason="shorter")
    body = client_for(admin).get(reverse("email_template_list")).content.decode()
    for key in DEFAULTS:
        for language in ["zh-CN", "zh-TW", "en"]:
            assert reverse("email_template_edit", args=[key, language]) in body
    assert body.count('<span class="badge warn">Edited</span>') == 1
    assert body.count('<span class="badge muted">Built-in</span>') == len(DEFAULTS) * 3 - 1
    cell = re.search(r'data-template="collections.notice/en">(.*?)</td>', body, re.S).group(1)
    assert "Edited" in cell and "by admin" in cell and "Overdue: {{ invoice_number }}" in cell
    assert "1 template was changed by an administrator." in body


def test_the_edit_page_shows_the_text_the_variables_and_a_preview_with_sample_data(people):
    body = client_for(people["admin"]).get(EDIT).content.decode()
    default = default_template(KEY, LANG)
    assert 'name="subject"' in body and 'name="body"' in body and 'name="reason"' in body
    assert 'value="' + default.subject.replace('"', "&quot;") + '"' in body
    # the variables, with their sample values as the email shows them
    assert "{{ customer_name }}" in body and "{{ suspension_date }}" in body and "{{ subscriptions }}" in body
    assert "2026年11月24日" in body  # the sample suspension date, written for Simplified Chinese
    # the preview: the template rendered with the sample data
    subject = re.search(r'data-testid="preview-subject">(.*?)<', body).group(1)
    assert "INV-2026-000123" in subject and "{{" not in subject
    preview = re.search(r'data-testid="preview-body">(.*?)</pre>', body, re.S).group(1)
    assert "Contoso 上海" in preview and "12,800.00" in preview and "{{" not in preview
    assert 'id="reset"' not in body  # nothing to reset while the built-in text applies


def test_saving_a_change(people):
    c = client_for(people["admin"])
    response = c.post(EDIT, {"subject": "逾期提醒：{{ invoice_number }}", "body": "{{ customer_name }}：\n\n请于 {{ suspension_date }} 前付款。\n",
                             "reason": "shorter notice", "save": ""})
    assert response.status_code == 302 and response["Location"] == EDIT
    row = EmailTemplate.objects.get(key=KEY, language=LANG)
    assert row.subject == "逾期提醒：{{ invoice_number }}" and row.updated_by == people["admin"]
    entry = AuditEntry.objects.get(action="email_template.updated")
    assert entry.reason == "shorter notice" and entry.actor == people["admin"]
    body = c.get(EDIT).content.decode()
    assert "Saved the email template “Overdue notice” (简体中文)." in body
    assert '<span class="badge warn">Edited</span>' in body and "by admin" in body
    assert "Contoso 上海：\n\n请于 2026年11月24日 前付款。" in body  # the preview of the new text
    assert 'id="reset"' in body


@pytest.mark.parametrize("subject, body, field, message", [
    ("Overdue {{ invoice_number }}", "Dear {{ customer_nmae }},\n", "body",
     "The body template uses an unknown variable &#x27;customer_nmae&#x27;."),
    ("Overdue {% if invoice_number %}", "Please pay.\n", "subject", "The subject template does not compile:"),
    ("Overdue {{ invoice_number }", "Please pay.\n", "subject", "The subject template has a tag that is not closed properly."),
    ("", "Please pay.\n", "subject", "This field is required."),
    ("Overdue", "   \n", "body", "This field is required."),
])
def test_a_broken_template_is_refused_with_the_error_on_its_field(people, subject, body, field, message):
    response = client_for(people["admin"]).post(EDIT, {"subject": subject, "body": body, "reason": "", "save": ""})
    assert response.status_code == 200
    page = response.content.decode()
    block = field_block(page, field)
    assert "has-error" in block and message in block
    other = "subject" if field == "body" else "body"
    assert "has-error" not in field_block(page, other)
    assert "Correct the errors above to see the preview." in page
    assert not EmailTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action="email_template.updated").exists()


def test_previewing_a_change_does_not_save_it(people):
    response = client_for(people["admin"]).post(EDIT, {"subject": "Heads up {{ invoice_number }}",
                                                       "body": "Hello {{ customer_name }}, due {{ due_date }}.\n",
                                                       "preview": "1"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Preview of your change (not saved)" in body
    assert 'data-testid="preview-subject">Heads up INV-2026-000123<' in body
    assert "Hello Contoso 上海, due 2026年10月31日." in body
    assert 'value="Heads up {{ invoice_number }}"' in body  # the form keeps what was typed
    assert not EmailTemplate.objects.exists()


def test_the_preview_is_escaped_in_the_page(people):
    c = client_for(people["admin"])
    c.post(EDIT, {"subject": "Hi", "body": "<script>alert(1)</script> {{ customer_name }}\n", "save": ""})
    body = c.get(EDIT).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Contoso 上海" in body


def test_resetting_to_the_built_in_text(people):
    admin = people["admin"]
    update_template(key=KEY, language=LANG, subject="Changed", body="Changed.\n", actor=admin)
    c = client_for(admin)
    response = c.post(RESET, {"reason": "back to the reviewed text"})
    assert response.status_code == 302 and response["Location"] == EDIT
    assert not EmailTemplate.objects.exists()
    assert AuditEntry.objects.get(action="email_template.reset").reason == "back to the reviewed text"
    body = c.get(EDIT).content.decode()
    assert "is back to the built-in text" in body and '<span class="badge muted">Built-in</span>' in body
    assert default_template(KEY, LANG).subject.split("{{")[0] in body


@pytest.mark.parametrize("role", [r for r in STAFF if r != "admin"])
def test_other_staff_read_templates_but_may_not_change_them(people, role):
    c = client_for(people[role])
    assert c.get(reverse("email_template_list")).status_code == 200
    response = c.get(EDIT)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="template-form"' not in body and 'name="subject"' not in body and RESET not in body
    assert 'data-testid="preview-subject">' in body  # the preview is for everyone who may read
    assert c.post(EDIT, {"subject": "x", "body": "y", "save": ""}).status_code == 403
    assert c.post(EDIT, {"subject": "x", "body": "y", "preview": "1"}).status_code == 403
    assert c.post(RESET, {}).status_code == 403
    assert not EmailTemplate.objects.exists()


def test_customer_users_and_anonymous_users_are_kept_out(people):
    for url in [reverse("email_template_list"), EDIT]:
        assert client_for(people["acme_user"]).get(url).status_code == 403
        response = client_for(None).get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("key, language", [("collections.nope", "zh-CN"), (KEY, "fr"), (KEY, "zh-hans")])
def test_unknown_templates_and_languages_are_not_found(people, key, language):
    c = client_for(people["admin"])
    assert c.get(reverse("email_template_edit", args=[key, language])).status_code == 404
    assert c.post(reverse("email_template_reset", args=[key, language])).status_code == 404


@pytest.mark.parametrize("language, words", [
    ("zh-hans", ["邮件模板", "已编辑", "预览"]),
    ("zh-hant", ["郵件範本", "已編輯", "預覽"]),
])
def test_the_pages_are_translated(people, language, words):
    update_template(key=KEY, language=LANG, subject="Changed", body="Changed.\n", actor=people["admin"])
    c = client_for(people["admin"], language=language)
    body = c.get(reverse("email_template_list")).content.decode() + c.get(EDIT).content.decode()
    for word in words:
        assert word in body
