"""What PartnerDesk itself wrote into its records reads in Chinese on Chinese pages: the audit log's actor
("system") and objects ("draft #21", "collections.suspended to …"), and the default policy's names in the
policy editor. What people typed stays as typed, and saving the default names unchanged keeps them shared."""

import datetime as dt
import re
from decimal import Decimal

from django.urls import reverse

from partnerdesk.billing.services import LineInput, create_invoice
from partnerdesk.dunning.models import CollectionsPolicy
from partnerdesk.notifications.services import queue_email

from .factories import client_for

ENGLISH_LEFT = [r">\s*system\s*<", r"draft #\d+", r"[\w.]+\.[\w]+ to \S+@", "Standard", "First notice",
                "Second notice", "Final notice", r"value=\"Reminder\"", r"value=\"Suspension\"",
                "Reminder 3 days before the due date"]


def english_left(body: str) -> list[str]:
    return [pattern for pattern in ENGLISH_LEFT if re.search(pattern, body)]


def test_the_audit_log_names_partnerdesk_and_its_objects_in_chinese(people, acme):
    draft = create_invoice(customer=acme, actor=None, issue=False, issue_date=dt.date(2026, 11, 1),
                           lines=[LineInput(description="Microsoft 365 E3", quantity=Decimal(1), unit_price=Decimal("230.00"))])
    queue_email(customer=acme, template_key="collections.suspended", actor=None, context={})
    for language, words in [("zh-hans", ["PartnerDesk（自动）", f"草稿发票 #{draft.pk}", "发送至 ap@acme.example.cn 的邮件"]),
                            ("zh-hant", ["PartnerDesk（自動）", f"草稿發票 #{draft.pk}", "寄至 ap@acme.example.cn 的郵件"])]:
        body = client_for(people["auditor"], language=language).get(reverse("audit_list")).content.decode()
        assert english_left(body) == [], language
        assert all(w in body for w in words), [w for w in words if w not in body]
    english = client_for(people["auditor"]).get(reverse("audit_list")).content.decode()
    assert f"draft invoice #{draft.pk}" in english and "PartnerDesk (automatic)" in english
    # the API and the CSV keep the record as written
    assert "draft #" in client_for(people["auditor"]).get(reverse("audit_export")).content.decode()


def test_the_policy_editor_shows_the_default_names_in_chinese_and_keeps_them_shared(people):
    policy = CollectionsPolicy.objects.get(is_default=True)
    url = reverse("policy_edit", args=[policy.pk])
    admin = client_for(people["admin"], language="zh-hans")
    body = admin.get(url).content.decode()
    assert english_left(body) == []
    assert 'value="标准"' in body and 'value="第一次逾期通知"' in body
    # Saved as shown (only the grace days changed), the names stay the default's: English in English.
    form = admin.get(url).context
    data = {**{k: v for k, v in _form_data(form["form"]).items()}, "policy-grace_days": "2", "policy-reason": "宽限两天"}
    for stage_form in form["formset"].forms:
        data.update(_form_data(stage_form))
    data.update(_form_data(form["formset"].management_form))
    response = admin.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    policy.refresh_from_db()
    assert (policy.name, policy.grace_days) == ("Standard", 2)
    assert "First notice" in [s.name for s in policy.stages.all()]
    assert "First notice" in client_for(people["admin"]).get(reverse("policy_detail", args=[policy.pk])).content.decode()


def _form_data(form) -> dict:
    """What the browser would post for a rendered form: each field's shown value."""
    data = {}
    for bound in form:
        value = bound.value()
        if value is None or value is False:
            continue
        if value is True:
            value = "on"
        data[bound.html_name] = value if not isinstance(value, list) else value
    return data
