"""Matching reconciliation lines to customers and subscriptions, in the contract's order."""

from decimal import Decimal

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.errors import InvalidInput
from partnerdesk.rebilling import matching
from partnerdesk.rebilling.models import FileKind, FileStatus, LineMapping, MatchMethod, ReconLine
from partnerdesk.rebilling.tests import recon_factory as rf


def _refresh(*lines):
    return [ReconLine.objects.get(pk=x.pk) for x in lines]


@pytest.mark.django_db
def test_match_file_in_the_contracts_order(customer_a, customer_b):
    sub_a = rf.subscription(customer_a, "PC-SUB-A")
    twin1 = make_customer("Twin 1", primary_domain="shared.example.cn")
    make_customer("Twin 2", primary_domain="SHARED.example.cn")
    lic = rf.recon_file(FileKind.LICENSE)
    by_sub = rf.line(lic, subscription_ref="PC-SUB-A", billing_subscription_ref="BILL-1",
                     customer_ref=str(customer_b.tenant_id))  # the subscription number wins over the tenant
    by_tenant = rf.line(lic, customer_ref=str(customer_b.tenant_id).upper(), subscription_ref="UNKNOWN-1")
    by_domain = rf.line(lic, domain="Contoso.Partner.OnMSChina.cn", subscription_ref="UNKNOWN-2")
    shared = rf.line(lic, domain="shared.example.cn")  # two customers have it: neither
    nothing = rf.line(lic, subscription_ref="UNKNOWN-3", customer_name="无名 公司")

    # An importer may match each line as it reads it (LineMatcher): the same answers as matching the file after.
    matcher = matching.LineMatcher()
    streamed = {x.pk: matcher.match(x.kind, x.subscription_ref, x.billing_subscription_ref, x.customer_ref, x.domain)
                for x in (by_sub, by_tenant, by_domain, shared, nothing)}

    summary = matching.match_file(lic)

    assert summary == matching.MatchSummary(matched=3, unmatched=2)
    for x in _refresh(by_sub, by_tenant, by_domain, shared, nothing):
        expected = (x.customer_id, x.subscription_id, x.match_method) if x.customer_id else None
        assert streamed[x.pk] == expected
    by_sub, by_tenant, by_domain, shared, nothing = _refresh(by_sub, by_tenant, by_domain, shared, nothing)
    assert (by_sub.customer_id, by_sub.subscription_id, by_sub.match_method) == (customer_a.pk, sub_a.pk, "subscription")
    assert (by_tenant.customer_id, by_tenant.subscription_id, by_tenant.match_method) == (customer_b.pk, None, "customer_id")
    assert (by_domain.customer_id, by_domain.match_method) == (customer_a.pk, "domain")
    assert shared.customer_id is None and nothing.customer_id is None
    assert twin1.pk not in {by_sub.customer_id, by_tenant.customer_id, by_domain.customer_id}

    # A usage file's lines carry the billing platform's SubscriptionID: a license line matched with it leads them.
    usage = rf.recon_file(FileKind.USAGE)
    follower = rf.line(usage, billing_subscription_ref="BILL-1", service="Virtual Machines")
    stranger = rf.line(usage, billing_subscription_ref="BILL-2", customer_ref="not-a-tenant")
    assert matching.match_file(usage) == matching.MatchSummary(matched=1, unmatched=1)
    follower, stranger = _refresh(follower, stranger)
    assert (follower.customer_id, follower.subscription_id, follower.match_method) == (
        customer_a.pk, sub_a.pk, MatchMethod.BILLING_SUBSCRIPTION)
    assert stranger.customer_id is None

    # Nothing already matched is touched again: a second run matches nothing.
    assert matching.match_file(lic).matched == 0


@pytest.mark.django_db
def test_unmatched_groups_and_a_remembered_mapping(customer_a, customer_b, users):
    sub_b = rf.subscription(customer_b, "PC-SUB-B")
    lic = rf.recon_file(FileKind.LICENSE)
    lines = [rf.line(lic, subscription_ref="LOST-9", customer_name="失配 公司", charges=c) for c in ("10.00", "-2.50")]
    by_tenant = rf.line(lic, customer_ref="0000aaaa-0000-0000-0000-000000000001", domain="x.example.cn", charges="7.00")
    by_domain = rf.line(lic, domain="Y.example.cn", charges="1.00")
    replaced = rf.recon_file(FileKind.LICENSE)
    rf.line(replaced, subscription_ref="LOST-9")
    replaced.status = FileStatus.REPLACED
    replaced.save()
    matching.match_file(lic)

    groups = matching.unmatched_groups()
    assert [(g.key_kind, g.key, g.line_count, g.charges) for g in groups] == [
        ("subscription", "LOST-9", 2, Decimal("7.50")),  # only active files count
        ("customer_id", "0000aaaa-0000-0000-0000-000000000001", 1, Decimal("7.00")),
        ("domain", "Y.example.cn", 1, Decimal("1.00")),
    ]
    assert groups[0].customer_name == "失配 公司"

    with pytest.raises(InvalidInput) as refused:
        matching.map_key(key_kind="subscription", key="LOST-9", customer=customer_a, subscription=sub_b,
                         actor=users["finance"])
    assert refused.value.field == "subscription"

    summary = matching.map_key(key_kind="subscription", key=" LOST-9 ", customer=customer_b, subscription=sub_b,
                               actor=users["finance"], reason="renamed at the operator")
    assert summary == matching.MatchSummary(matched=2, unmatched=2)
    assert {(x.customer_id, x.subscription_id, x.match_method) for x in _refresh(*lines)} == {
        (customer_b.pk, sub_b.pk, "mapping")}
    entry = AuditEntry.objects.get(action="recon_mapping.created")
    assert entry.customer_id == customer_b.pk and entry.reason == "renamed at the operator"

    # Tenant ids map without case or dashes; domains without case.
    assert matching.map_key(key_kind="customer_id", key="0000AAAA000000000000000000000001", customer=customer_a,
                            actor=users["finance"]).matched == 1
    assert matching.map_key(key_kind="domain", key="y.EXAMPLE.cn", customer=customer_a, actor=users["finance"]) \
        == matching.MatchSummary(matched=1, unmatched=0)
    assert _refresh(by_tenant, by_domain)[0].customer_id == customer_a.pk
    assert matching.unmatched_groups() == []

    # The mappings are remembered for the next file.
    nxt = rf.recon_file(FileKind.USAGE)
    again = [rf.line(nxt, subscription_ref="LOST-9"), rf.line(nxt, customer_ref="0000aaaa-0000-0000-0000-000000000001"),
             rf.line(nxt, domain="Y.EXAMPLE.CN")]
    assert matching.match_file(nxt) == matching.MatchSummary(matched=3, unmatched=0)
    assert [x.customer_id for x in _refresh(*again)] == [customer_b.pk, customer_a.pk, customer_a.pk]
    assert LineMapping.objects.count() == 3


@pytest.mark.django_db
def test_match_unmatched_after_a_new_subscription(customer_a):
    lic = rf.recon_file(FileKind.LICENSE)
    waiting = rf.line(lic, subscription_ref="PC-LATE")
    assert matching.match_file(lic) == matching.MatchSummary(matched=0, unmatched=1)
    sub = rf.subscription(customer_a, "PC-LATE")
    assert matching.match_unmatched() == matching.MatchSummary(matched=1, unmatched=0)
    assert _refresh(waiting)[0].subscription_id == sub.pk
