"""Full-text search over cases: Chinese words inside Chinese text, mixed Chinese and English, invoice numbers
and email addresses; scoped by the permission rule (a customer's user: its own cases, public messages only);
a merge keeps the merged case's messages findable. Cases are made through the services."""

import pytest

from partnerdesk.conftest import make_invoice
from partnerdesk.errors import InvalidInput
from partnerdesk.search.services import search
from partnerdesk.support import fulltext, services
from partnerdesk.support.search import search_cases

pytestmark = pytest.mark.django_db


def test_tokens_are_cjk_bigrams_lower_case_words_and_compounds_whole():
    assert fulltext.tokens("发票金额 INV-2026-000123 wang@163.com") == [
        "发票", "票金", "金额", "inv2026000123", "inv", "2026", "000123", "wang163com", "wang", "163", "com"]
    assert fulltext.tokens("请查看Azure账单") == ["请查", "查看", "azure", "账单"]
    assert fulltext.tokens("税") == ["税"]
    # full-width forms typed with a Chinese input method read as their ASCII forms
    assert fulltext.tokens("ＩＮＶ－２０２６") == fulltext.tokens("INV-2026")


@pytest.fixture
def agent(users):
    return users["billing_agent"]


def open_case(customer, description, **kw):
    kw.setdefault("subject", "账单问题")
    return services.open_case(customer=customer, description=description, actor=None, channel="phone",
                              acknowledge=False, **kw)


def found(user, q, **kw):
    hits, _more = search_cases(user, q, **kw)
    return [h.case.pk for h in hits]


def test_a_chinese_word_is_found_inside_chinese_text(users, customer_a):
    case = open_case(customer_a, "我们对十一月的发票金额有疑问，请核实。")
    staff, own = users["billing_agent"], users["customer_a"]
    for q in ["金额", "发票金额", "十一月", "核实"]:
        assert found(staff, q) == [case.pk], q
        assert found(own, q) == [case.pk], q
    assert found(staff, "金钱") == []
    assert found(staff, "金额 退款") == []  # every word must match
    hits, _ = search_cases(staff, "金额")
    assert "发票金额有疑问" in hits[0].snippet


def test_mixed_chinese_and_english(users, customer_a):
    case = open_case(customer_a, "请查看Azure账单中的 Storage 费用 (standard tier)")
    other = open_case(customer_a, "Azure 门户打不开")
    staff = users["finance"]
    assert found(staff, "azure账单") == [case.pk]
    assert found(staff, "STORAGE 费用") == [case.pk]
    assert sorted(found(staff, "Azure")) == sorted([case.pk, other.pk])
    assert found(staff, "Azure 门户") == [other.pk]


def test_an_invoice_number_is_found_whole_and_by_its_sequence(users, customer_a):
    invoice, another = make_invoice(customer_a, "100.00"), make_invoice(customer_a, "200.00")
    case = open_case(customer_a, f"发票 {invoice.number} 金额有误", invoices=[invoice])
    staff = users["collections"]
    assert found(staff, invoice.number) == [case.pk]
    assert found(staff, invoice.number.lower()) == [case.pk]
    assert found(staff, another.number) == []
    hits, _ = search_cases(staff, invoice.number)
    assert invoice.number in hits[0].snippet


def test_an_email_address_is_found(users, customer_a):
    case = open_case(customer_a, "请联系 wang.fang@163.com 或 finance@contoso.example.cn",
                     requester_email="li.lei@qq.com", requester_name="李雷")
    staff = users["admin"]
    assert found(staff, "wang.fang@163.com") == [case.pk]
    assert found(staff, "li.lei@qq.com") == [case.pk]  # the requester (the case's own row)
    assert found(staff, "李雷") == [case.pk]
    assert found(staff, "zhang.wei@163.com") == []
    hits, _ = search_cases(staff, "wang.fang@163.com")
    assert "wang.fang@163.com" in hits[0].snippet


def test_a_customer_user_finds_its_own_cases_only(users, customer_a, customer_b):
    mine = open_case(customer_a, "退款申请：多扣了一个月")
    theirs = open_case(customer_b, "退款申请：重复付款")
    assert found(users["customer_a"], "退款申请") == [mine.pk]
    assert found(users["customer_b"], "退款申请") == [theirs.pk]
    assert sorted(found(users["auditor"], "退款申请")) == sorted([mine.pk, theirs.pk])
    assert found(users["customer_b"], mine.token) == []


def test_internal_notes_are_never_found_by_a_customer(users, customer_a, agent):
    case = open_case(customer_a, "折扣问题")
    services.add_note(case=case, body="内部：给他们八折优惠，别告诉客户 secretcode", actor=agent)
    services.add_event(case, "bounce noted: bounced-to@example.cn")
    services.reply(case=case, body="您好，我们正在核实八折优惠的问题。", actor=agent)
    own = users["customer_a"]
    for q in ["secretcode", "别告诉客户", "bounced-to@example.cn", "八折优惠 别告诉"]:
        assert found(own, q) == [], q
        assert found(agent, q) == [case.pk], q
    # A word in both a public reply and the note: the customer's snippet is the public reply's, always.
    hits, _ = search_cases(own, "八折优惠")
    assert [h.case.pk for h in hits] == [case.pk]
    assert hits[0].message_kind == "public" and "别告诉" not in hits[0].snippet
    staff_hits, _ = search_cases(agent, "secretcode")
    assert staff_hits[0].message_kind == "internal" and "secretcode" in staff_hits[0].snippet


def test_a_merge_keeps_the_messages_findable_on_the_case_that_goes_on(users, customer_a, agent):
    source = open_case(customer_a, "发票抬头写错了", subject="发票抬头")
    target = open_case(customer_a, "请重开发票", subject="重开发票")
    services.add_note(case=source, body="抬头应为上海康拓 note-on-source", actor=agent)
    services.merge(source=source, target=target, actor=agent, reason="same question")
    own = users["customer_a"]
    assert found(own, "抬头写错") == [target.pk]
    assert found(agent, "note-on-source") == [target.pk]
    hits, _ = search_cases(own, "抬头写错")
    assert "发票抬头写错了" in hits[0].snippet
    # the merged case's number still finds it (closed, pointing at the target); staff also find the target's
    # event that names it
    assert found(own, source.token) == [source.pk]
    assert found(agent, source.token) == [target.pk, source.pk]


def test_newest_first_and_paged(users, customer_a):
    cases = [open_case(customer_a, f"第{n}次 对账单 请求") for n in range(5)]
    staff = users["admin"]
    first, more = search_cases(staff, "对账单", limit=2)
    assert [h.case.pk for h in first] == [cases[4].pk, cases[3].pk] and more
    last, more = search_cases(staff, "对账单", limit=2, offset=4)
    assert [h.case.pk for h in last] == [cases[0].pk] and not more


def test_bad_queries(users):
    assert search_cases(users["admin"], "   ") == ([], False)
    assert search_cases(users["admin"], "!!! ???") == ([], False)
    with pytest.raises(InvalidInput) as refused:
        search_cases(users["admin"], "x" * 201)
    assert refused.value.field == "q"
    with pytest.raises(InvalidInput) as refused:
        search_cases(users["admin"], "发票", limit=0)
    assert refused.value.field == "limit"


# --- the API and the global search ----------------------------------------------------------------------------


def test_the_search_route_is_not_taken_for_a_case_id(api_client, tokens, users, customer_a, customer_b, agent):
    case = open_case(customer_a, "发票金额有疑问 请核实")
    services.add_note(case=case, body="内部备注 发票金额 已核对", actor=agent)
    open_case(customer_b, "发票金额有疑问")
    resp = api_client.as_(tokens["customer_a"]).get("/cases/search", q="发票金额")
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert [item["id"] for item in body["items"]] == [case.pk] and body["has_more"] is False
    assert body["items"][0]["message_kind"] == "public" and "内部备注" not in resp.content.decode()
    staff = api_client.as_(tokens["finance"]).get("/cases/search", q="已核对").json()
    assert [item["token"] for item in staff["items"]] == [case.token]
    assert staff["items"][0]["message_kind"] == "internal"
    too_long = api_client.as_(tokens["finance"]).get("/cases/search", q="发" * 201)
    assert too_long.status_code == 422 and too_long.json()["field"] == "q"
    assert api_client.as_(tokens["finance"]).get("/cases/search", q="x", limit=101).status_code == 422
    assert api_client.get("/cases/search", q="发票").status_code == 401


def test_the_staff_search_has_a_cases_kind(client, users, customer_a, agent):
    case = open_case(customer_a, "请退还十月多收的服务费 <b>bold</b>")
    results = search(agent, "多收")
    assert [(h.kind, h.id) for h in results.hits] == [("case", case.pk)]
    client.force_login(agent)
    page = client.get("/search/", {"q": "多收"}, headers={"Accept-Language": "en"}).content.decode()
    assert case.token in page and "多收的服务费" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
