"""A collections policy that waits for the fapiao: an invoice whose buyer has no fapiao yet is not reminded, not
given notice and not suspended; once the fapiao is delivered, its stages count from the later of the due date and
the delivery, so the customer gets the whole of its time to pay. The published policy says so."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.engine import preview
from partnerdesk.dunning.models import CollectionsAction, CollectionsPolicy
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.policy_editing import POLICY_FIELDS, STAGE_FIELDS, update_policy
from partnerdesk.dunning.publication import published_policy
from partnerdesk.dunning.tests.test_cycle import at, run
from partnerdesk.fapiao import services
from partnerdesk.web.collections_text import process_text

from .factories import vat_invoice, with_buyer

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_fapiao(policy=None):
    """The policy, edited as an admin does (a new version), to wait for the fapiao."""
    policy = policy or default_policy()
    settings = {**{name: getattr(policy, name) for name in POLICY_FIELDS}, "wait_for_fapiao": True}
    stages = [{"id": s.pk, **{name: getattr(s, name) for name in STAGE_FIELDS}} for s in policy.stages.all()]
    return update_policy(policy, settings=settings, stages=stages, actor=None, reason="customers pay on fapiao")


def kinds(customer):
    return sorted(CollectionsAction.objects.filter(customer=customer).values_list("kind", flat=True))


@pytest.fixture
def account(operator, smtp_server):
    """A zh-CN customer with a subscription at the operator and a 1,060.00 invoice due 2026-10-31, its fapiao
    issued on 8 October; the default policy waits for the fapiao."""
    from partnerdesk.conftest import make_customer

    with at("2026-10-01"):
        customer = make_customer("上海云启信息科技有限公司", language="zh-CN",
                                 contact={"name": "王芳", "email": "wangfang@yunqi.example.cn"})
        operator.add_subscription(customer, offerName="Microsoft 365 E3", quantity=25)
        [sub] = sync_subscriptions(customer, actor=None)
        with_buyer(customer)
        invoice = vat_invoice(customer)
        fapiao = services.request_fapiao(invoice, actor=None)
    with at("2026-10-08"):
        services.record_issued(fapiao, number="26312000000000000801", issued_on=dt.date(2026, 10, 8), actor=None)
    assert invoice.due_date == dt.date(2026, 10, 31)
    return customer, invoice, sub, fapiao, wait_for_fapiao()


def test_collections_wait_until_the_fapiao_is_delivered_then_count_from_the_delivery(account, operator, smtp_server):
    customer, invoice, sub, fapiao, policy = account
    assert policy.wait_for_fapiao and policy.version == 2

    # The reminder, the notices and the suspension day of the usual policy pass: nothing happens for the invoice.
    for day in ["2026-10-28", "2026-11-01", "2026-11-07", "2026-11-14", "2026-11-21"]:
        assert run(day).counts.get("due", 0) == 0, day
    assert smtp_server.messages == [] and kinds(customer) == []
    assert operator.status(sub) == "active"
    with at("2026-11-21"):
        timeline = published_policy(customer).invoices[0]
    assert timeline.awaiting_fapiao and timeline.on_hold and timeline.reminder_date is None

    # Delivered on 22 November: the stages now count from then. The reminder (3 days before) is due at once,
    # the first notice a day after the delivery, and the suspension 21 days after it, not at once.
    with at("2026-11-22"):
        services.record_delivered(fapiao, delivered_on=dt.date(2026, 11, 22), actor=None)
        timeline = published_policy(customer).invoices[0]
        assert not timeline.awaiting_fapiao and not timeline.on_hold
        assert (timeline.reminder_date, timeline.suspension_date) == (dt.date(2026, 11, 19), dt.date(2026, 12, 13))
        ahead = [(item.date, item.stage) for item in preview(dt.date(2026, 11, 22), 3, customer_ids=[customer.pk])]
    assert ahead == [(dt.date(2026, 11, 22), "Reminder"), (dt.date(2026, 11, 23), "First notice")]
    run("2026-11-22")
    reminder = smtp_server.wait_for(1)[-1]
    assert invoice.number in reminder.subject and reminder.language == "zh-CN"
    run("2026-11-23")
    notice = smtp_server.wait_for(2)[-1]
    assert invoice.number in notice.text and "2026年12月13日" in notice.text  # suspension counted from the delivery
    assert kinds(customer) == ["notice", "reminder"]
    run("2026-12-12")
    assert operator.status(sub) == "active"
    run("2026-12-13")
    assert operator.status(sub) == "suspended"


def test_a_policy_that_does_not_wait_duns_as_usual_and_a_fapiao_delivered_before_the_due_date_changes_nothing(
        account, smtp_server):
    customer, invoice, sub, fapiao, policy = account
    with at("2026-10-20"):
        services.record_delivered(fapiao, delivered_on=dt.date(2026, 10, 20), actor=None)
    run("2026-10-28")  # 3 days before the due date, as usual
    assert invoice.number in smtp_server.wait_for(1)[-1].subject

    from partnerdesk.conftest import make_customer

    with at("2026-10-01"):
        other = make_customer("北京未来科技有限公司", language="en")
        other_policy = CollectionsPolicy.objects.create(name="No fapiao needed")
        for stage in policy.stages.all():
            stage.pk, stage.policy = None, other_policy
            stage.save()
        from partnerdesk.dunning.models import CollectionsProfile

        CollectionsProfile.objects.create(customer=other, policy=other_policy)
        unfapiaoed = vat_invoice(other)
    run("2026-10-28")
    assert unfapiaoed.number in smtp_server.wait_for(2)[-1].subject  # no fapiao, no wait: reminded


@pytest.mark.parametrize(("language", "words"), [
    ("zh-hans", "发票送达"), ("zh-hant", "發票送達"), ("en", "Collections start only once the fapiao")])
def test_the_published_policy_says_it_waits_for_the_fapiao(account, users, language, words):
    customer, invoice, sub, fapiao, policy = account
    with translation.override(language):
        notes = process_text(policy, list(policy.stages.all())).notes
    assert any(words in note for note in notes), notes
    assert not any(words in note for note in process_text(CollectionsPolicy(name="x"), []).notes)

    users["customer_a"].customer = customer
    users["customer_a"].save()
    client = Client()
    client.force_login(users["customer_a"])
    with at("2026-11-01"):
        body = client.get("/portal/collections-policy/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert words in body and 'data-testid="awaiting-fapiao"' in body
