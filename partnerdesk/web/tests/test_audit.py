"""The audit log page and its CSV export, with the same filters."""

import csv
import datetime as dt
import io

from django.urls import reverse

from partnerdesk.billing.services import record_payment

from .factories import client_for


def test_audit_log_filters_by_customer_action_and_actor(people, acme, globex, invoices):
    record_payment(customer=acme, amount="10.00", received_on=dt.date(2026, 3, 1), method="alipay", actor=people["finance"])
    c = client_for(people["auditor"])
    page = c.get(reverse("audit_list"), {"customer": acme.pk, "action": "payment."}).context["page"]
    assert {e.action for e in page.object_list} == {"payment.recorded", "payment.allocated"}
    assert all(e.customer_id == acme.pk for e in page.object_list)
    page = c.get(reverse("audit_list"), {"actor": "finance"}).context["page"]
    assert page.paginator.count == 2
    page = c.get(reverse("audit_list"), {"customer": globex.pk}).context["page"]
    assert {e.action for e in page.object_list} == {"customer.created", "user.created", "invoice.created", "invoice.issued"}


def test_bad_filter_dates_are_form_errors(people):
    response = client_for(people["auditor"]).get(reverse("audit_list"), {"since": "2026-05-01", "until": "2026-04-01"})
    assert response.status_code == 200
    assert "until" in response.context["form"].errors
    assert client_for(people["auditor"]).get(reverse("audit_export"), {"since": "yesterday"}).status_code == 400


def test_export_honours_the_filters(people, acme, globex, invoices):
    response = client_for(people["collections"]).get(reverse("audit_export"), {"customer": globex.pk})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {r["customer_id"] for r in rows} == {str(globex.pk)}
    assert {r["action"] for r in rows} == {"customer.created", "user.created", "invoice.created", "invoice.issued"}


def test_audit_is_staff_only(people):
    assert client_for(people["acme_user"]).get(reverse("audit_list")).status_code == 403
    assert client_for(people["acme_user"]).get(reverse("audit_export")).status_code == 403


def test_actions_and_the_reasons_partnerdesk_wrote_read_in_the_readers_language(people, acme, invoices):
    from partnerdesk.accounts.services import create_api_token, revoke_api_token

    token, _raw = create_api_token(user=people["finance"], name="bank feed", actor=people["finance"])
    revoke_api_token(token, actor=people["finance"], reason="revoked by its owner in the web UI")
    record_payment(customer=acme, amount="10.00", received_on=dt.date(2026, 3, 1), method="alipay", actor=people["finance"],
                   reason="客户来电确认")
    body = client_for(people["auditor"], language="zh-hans").get(reverse("audit_list")).content.decode()
    assert "已记录收款" in body and "payment.recorded" in body  # the name, and the code to filter by
    assert "已吊销 API 令牌" in body and "由其所有者在网页界面中吊销" in body
    assert "客户来电确认" in body  # what a person typed, as typed
    body = client_for(people["auditor"], language="zh-hant").get(reverse("audit_list")).content.decode()
    assert "已記錄收款" in body and "由其擁有者在網頁介面中撤銷" in body
    body = client_for(people["auditor"]).get(reverse("audit_list")).content.decode()
    assert "Payment recorded" in body and "revoked by its owner in the web UI" in body


def test_the_action_filter_finds_actions_by_their_name_in_the_readers_language(people, acme, invoices):
    record_payment(customer=acme, amount="10.00", received_on=dt.date(2026, 3, 1), method="alipay", actor=people["finance"])
    for language, words in [("zh-hans", "收款"), ("zh-hant", "收款"), ("en", "payment")]:
        page = client_for(people["auditor"], language=language).get(reverse("audit_list"), {"action": words}).context["page"]
        assert {e.action for e in page.object_list} == {"payment.recorded", "payment.allocated"}, language
    page = client_for(people["auditor"], language="zh-hans").get(reverse("audit_list"), {"action": "发票已开具"}).context["page"]
    assert {e.action for e in page.object_list} == {"invoice.issued"}
