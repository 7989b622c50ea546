"""Suspending and reactivating a subscription, and the data deletion date that suspension starts."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.services import suspend_subscription

from .factories import client_for


def suspend(client, acme, sub, **data):
    form = {"reason_code": "non_payment", "reason": "Invoice 90 days overdue", **data}
    return client.post(reverse("subscription_suspend", args=[acme.pk, sub.pk]), form, follow=True)


def test_suspending_shows_the_deletion_date_prominently(people, acme, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-e3"]
    response = suspend(client_for(people["collections"]), acme, sub)
    body = response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "suspended" and sub.suspension_reason == "non_payment"
    deletion = sub.data_deletion_date
    assert deletion == timezone.localdate() + dt.timedelta(days=60)
    assert f"Data will be deleted on {deletion.isoformat()} (60 days)" in body
    assert "deletion-banner" in body
    entry = AuditEntry.objects.get(action="subscription.suspended")
    assert entry.reason == "Invoice 90 days overdue" and entry.actor == people["collections"]


def test_the_reason_is_required(people, acme, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-e3"]
    response = suspend(client_for(people["billing_agent"]), acme, sub, reason="  ")
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    sub.refresh_from_db()
    assert sub.status == "active"


def test_an_unknown_reason_code_is_a_form_error(people, acme, acme_subscriptions):
    response = suspend(client_for(people["billing_agent"]), acme, acme_subscriptions["sub-acme-e3"], reason_code="bored")
    assert "reason_code" in response.context["form"].errors


def test_suspending_a_suspended_subscription_is_a_message(people, acme, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-e3"]
    suspend_subscription(sub, actor=None, reason_code="fraud", reason="card theft")
    sub.refresh_from_db()
    response = suspend(client_for(people["billing_agent"]), acme, sub)
    assert response.status_code == 200
    assert "Only an active subscription can be suspended; this one is suspended." in response.content.decode()


def test_operator_failure_queues_the_request_and_nothing_changes(people, acme, acme_subscriptions, operator):
    import partnerdesk.gateway as gateway

    operator.fail_with = gateway.OperatorError("Partner Center returned 503")
    sub = acme_subscriptions["sub-acme-e3"]
    response = suspend(client_for(people["billing_agent"]), acme, sub)
    # Queued, retried with backoff: nothing changes until the operator confirms.
    assert response.redirect_chain and "The operator cannot be reached just now" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "active"


def test_an_unreachable_operator_queues_the_suspension_and_says_so_in_the_readers_language(people, acme, acme_subscriptions,
                                                                                   operator):
    import partnerdesk.gateway as gateway

    operator.fail_with = gateway.OperatorUnavailable(
        "The operator is unavailable: PATCH /v1/customers/x/subscriptions/y failed after 4 attempts "
        "(last: HTTP 503). Try again later.",
        detail="PATCH /v1/customers/x/subscriptions/y failed after 4 attempts (last: HTTP 503)")
    sub = acme_subscriptions["sub-acme-e3"]
    response = suspend(client_for(people["billing_agent"], language="zh-hans"), acme, sub)
    # Queued like the collections' own suspensions, and said so in plain words (the detail kept on the request).
    assert response.redirect_chain
    body = response.content.decode()
    assert "目前无法连接运营商。" in body and "暂停待处理" in body  # (the error itself is under "waiting for the operator")
    from partnerdesk.dunning.models import OperatorRequest

    request = OperatorRequest.objects.get(subscription=sub)
    assert request.status == "pending" and "HTTP 503" in request.last_error and request.reason


def test_reactivating(people, acme, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-d365"]
    suspend_subscription(sub, actor=None, reason_code="non_payment", reason="overdue")
    c = client_for(people["admin"])
    page = c.get(reverse("subscription_reactivate", args=[acme.pk, sub.pk])).content.decode()
    assert "Data will be deleted on" in page
    response = c.post(reverse("subscription_reactivate", args=[acme.pk, sub.pk]), {"reason": "Paid in full"}, follow=True)
    assert "is active again" in response.content.decode()
    sub.refresh_from_db()
    assert sub.status == "active" and sub.data_deletion_date is None


def test_another_customers_subscription_is_not_found_under_this_customer(people, acme, globex, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-e3"]
    response = client_for(people["admin"]).post(reverse("subscription_suspend", args=[globex.pk, sub.pk]),
                                                {"reason_code": "fraud", "reason": "x"})
    assert response.status_code == 404


def test_portal_shows_the_deletion_banner_to_the_customer(people, acme, acme_subscriptions):
    sub = acme_subscriptions["sub-acme-e3"]
    suspend_subscription(sub, actor=None, reason_code="non_payment", reason="overdue")
    sub.refresh_from_db()
    c = client_for(people["acme_user"])
    for name in ["portal_home", "portal_subscriptions"]:
        body = c.get(reverse(name)).content.decode()
        assert f"Data will be deleted on {sub.data_deletion_date.isoformat()}" in body, name
    body = client_for(people["acme_user"], language="zh-hans").get(reverse("portal_subscriptions")).content.decode()
    assert f"数据将于 {sub.data_deletion_date.isoformat()} 删除" in body


def test_a_subscriptions_term_reads_in_words(people, acme, acme_subscriptions):
    from partnerdesk.customers.models import Subscription

    Subscription.objects.filter(customer=acme).update(term_duration="P1Y")
    c = client_for(people["billing_agent"])
    body = c.get(reverse("customer_detail", args=[acme.pk]), headers={"Accept-Language": "en"}).content.decode()
    assert "1 year" in body and "P1Y" not in body
    c.cookies["django_language"] = "zh-hant"
    assert "1 年" in c.get(reverse("customer_detail", args=[acme.pk])).content.decode()


def test_the_term_filter():
    from django.utils import translation

    from partnerdesk.web.templatetags.desk import term

    with translation.override("en"):
        assert [term(t) for t in ("P1M", "P3Y", "P1Y", "", None, "P2W")] == ["1 month", "3 years", "1 year", "—", "—", "P2W"]
    with translation.override("zh-hans"):
        assert term("P1M") == "1 个月"
