"""The search service: each kind found by what a billing team types, in Chinese and English, for staff only."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from partnerdesk.billing.services import record_payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.customers.models import BillingContact, Subscription
from partnerdesk.errors import InvalidInput
from partnerdesk.search.services import search


@pytest.fixture
def chengdu(db):
    customer = make_customer("成都锦城软件有限公司", primary_domain="jincheng.partner.onmschina.cn",
                             contact={"name": "张伟", "email": "zhangwei@jincheng.example.cn", "phone": "+86 28 8765 4321"})
    Subscription.objects.create(customer=customer, operator_id="5f1c2d3e-0000-4a6b-9c8d-7e6f5a4b3c2d",
                                offer_name="Microsoft 365 商业标准版", friendly_name="成都 M365")
    return customer


def found(results, kind):
    return [h.title for h in results.of_kind(kind)]


@pytest.mark.parametrize("q", ["成都锦城", "jincheng.partner", "JINCHENG"])
def test_a_customer_is_found_by_its_chinese_name_and_its_domain(users, chengdu, q):
    assert found(search(users["billing_agent"], q), "customer") == ["成都锦城软件有限公司"]


def test_a_customer_is_found_by_its_tenant_id_whole_or_in_part(users, chengdu):
    hits = search(users["auditor"], str(chengdu.tenant_id)).of_kind("customer")
    assert [h.id for h in hits] == [chengdu.pk]
    assert [h.id for h in search(users["auditor"], str(chengdu.tenant_id)[:8]).of_kind("customer")] == [chengdu.pk]


@pytest.mark.parametrize("q", ["张伟", "zhangwei@", "8765 4321"])
def test_a_contact_is_found_by_name_email_or_phone_and_names_its_customer(users, chengdu, q):
    hits = search(users["finance"], q).of_kind("contact")
    assert [(h.title, h.customer_name) for h in hits] == [("张伟", "成都锦城软件有限公司")]


def test_an_english_contact_name_is_found_regardless_of_case(users, customer_a, customer_b):
    # both customers' contact is "Li Lei" (see partnerdesk/conftest.py)
    hits = search(users["collections"], "li lei").of_kind("contact")
    assert sorted((h.title, h.customer_name) for h in hits) == [("Li Lei", "Contoso 上海"), ("Li Lei", "Fabrikam 北京")]


def test_an_invoice_is_found_by_its_number_exact_match_first(users, customer_a, customer_b):
    invoices = [make_invoice(customer_a, "100.00") for _ in range(3)] + [make_invoice(customer_b, "5.00")]
    target = invoices[1]
    results = search(users["billing_agent"], target.number)
    assert found(results, "invoice")[0] == target.number
    assert results.of_kind("invoice")[0].customer_id == customer_a.pk
    # part of a number finds every invoice that has it, drafts (no number) never
    make_invoice(customer_a, "1.00", issue=False)
    assert len(found(search(users["billing_agent"], "INV-"), "invoice")) == 4


def test_a_payment_is_found_by_its_wechat_pay_reference(users, customer_a):
    record_payment(customer=customer_a, amount="320.00", received_on=dt.date(2026, 11, 20), method="wechat_pay",
                   reference="4200002126202611201234567890", actor=None)
    record_payment(customer=customer_a, amount="10.00", received_on=dt.date(2026, 11, 21), method="alipay",
                   reference="ALI-0001", actor=None)
    hits = search(users["billing_agent"], "4200002126202611201234567890").of_kind("payment")
    assert [(h.title, h.customer_id) for h in hits] == [("4200002126202611201234567890", customer_a.pk)]
    assert found(search(users["billing_agent"], "20261120"), "payment") == ["4200002126202611201234567890"]


@pytest.mark.parametrize("q", ["5f1c2d3e-0000", "成都 M365", "商业标准版"])
def test_a_subscription_is_found_by_operator_id_or_name(users, chengdu, q):
    assert found(search(users["billing_agent"], q), "subscription") == ["成都 M365"]


def test_one_query_finds_several_kinds_and_each_hit_says_its_kind(users, chengdu):
    results = search(users["admin"], "成都")
    assert {h.kind for h in results.hits} == {"customer", "subscription"}
    with translation.override("en"):
        assert {h.kind_label for h in results.hits} == {"Customer", "Subscription"}
    with translation.override("zh-hans"):
        assert {h.kind_label for h in results.hits} == {"客户", "订阅"}


def test_like_wildcards_are_plain_characters(users, customer_a, customer_b):
    assert search(users["admin"], "%").hits == []
    assert search(users["admin"], "_").hits == []
    BillingContact.objects.create(customer=customer_b, name="100%_Pure", email="pure@example.cn")
    assert found(search(users["admin"], "0%_p"), "contact") == ["100%_Pure"]


def test_an_empty_query_finds_nothing_and_a_long_one_is_refused(users, customer_a):
    assert search(users["admin"], "   ").hits == []
    with pytest.raises(InvalidInput):
        search(users["admin"], "x" * 201)
    with pytest.raises(InvalidInput):
        search(users["admin"], "a\x00b")


def test_hits_per_kind_are_bounded_and_the_rest_announced(users, customer_a):
    for _ in range(4):
        make_invoice(customer_a, "10.00")
    results = search(users["admin"], "INV-", limit=3)
    assert len(results.of_kind("invoice")) == 3 and results.more == {"invoice"}


@pytest.mark.parametrize("who", ["customer_a", "customer_b"])
def test_customer_users_cannot_search(users, customer_a, who):
    with pytest.raises(PermissionDenied):
        search(users[who], "Contoso")


def test_an_inactive_staff_user_cannot_search(users, customer_a):
    users["admin"].is_active = False
    with pytest.raises(PermissionDenied):
        search(users["admin"], "Contoso")


def test_the_api_searches_for_staff_and_refuses_customer_users(api_client, tokens, customer_a):
    invoice = make_invoice(customer_a, "80.00")
    response = api_client.as_(tokens["finance"]).get("/search", q=invoice.number)
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == invoice.number and body["more"] == []
    assert [(h["kind"], h["id"], h["customer_id"], h["title"]) for h in body["hits"]] == [
        ("invoice", invoice.pk, customer_a.pk, invoice.number)]
    assert api_client.as_(tokens["finance"]).get("/search", q="上海").json()["hits"][0]["customer_name"] == "Contoso 上海"
    assert api_client.as_(tokens["customer_a"]).get("/search", q=invoice.number).status_code == 403
    assert api_client.as_(tokens["finance"]).get("/search", q="x" * 201).status_code == 422
    assert api_client.as_(tokens["finance"]).get("/search", q="x", limit=51).status_code == 422
