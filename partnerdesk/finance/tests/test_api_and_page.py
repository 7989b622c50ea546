"""The same figures through the API (JSON and CSV) and on the finance page (tables, charts without script, CSVs)."""

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from partnerdesk.accounts.models import Role
from partnerdesk.accounts.services import create_api_token, create_user


@pytest.fixture
def finance_user(db):
    return create_user(actor=None, username="fin1", password="x", role=Role.FINANCE, validate=False)


@pytest.fixture
def api(client, finance_user):
    token = create_api_token(user=finance_user, name="test", actor=finance_user)[1]

    def get(path, **headers):
        return client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token}", **headers})

    return get


def _csv(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads the Chinese names as UTF-8
    return list(csv.reader(io.StringIO(text[1:])))


def test_exposure_and_margin_through_the_api(world, api):
    body = api("/finance/exposure?period=2026-10").json()
    rows = {r["customer_name"] or "UNMATCHED": r for r in body["rows"]}
    assert rows["Northwind 广州"]["exposure"] == "251.12" and rows["Northwind 广州"]["margin_percent"] == "-13.0"
    assert rows["UNMATCHED"]["unmatched"] is True and rows["UNMATCHED"]["operator_charged"] == "113.00"
    assert body["total"]["exposure"] == "1098.62" and body["total"]["operator_charged"] == "2599.00"
    assert body["operator"] == {"invoices": 2, "amount": "2599.00", "paid": "1000.00", "owed": "1599.00"}
    one = api(f"/finance/exposure?period=2026-10&customer={world['a'].pk}").json()
    assert [r["exposure"] for r in one["rows"]] == ["734.50"] and one["customer_id"] == world["a"].pk

    lines = _csv(api("/finance/exposure?period=2026-10&format=csv"))
    assert lines[0][:4] == ["period", "customer_id", "customer", "operator_charged"]
    by_name = {line[2]: line for line in lines[1:6]}
    assert by_name["Contoso 上海"][3:10] == ["1469.00", "1641.60", "820.80", "820.80", "172.60", "10.5", "734.50"]
    assert by_name["TOTAL"][9] == "1098.62" and by_name["UNMATCHED"][9] == "113.00"
    assert lines[-1] == ["2026-10", "2", "2599.00", "1000.00", "1599.00"]

    margin = api("/finance/margin?period=2026-11&months=3").json()
    assert [(p["period"], p["margin"], p["exposure"]) for p in margin["periods"]] == [
        ("2026-09", "-500.00", "500.00"), ("2026-10", "20.60", "1098.62"), ("2026-11", "-226.00", "226.00")]
    assert _csv(api("/finance/margin?period=2026-11&months=3&format=csv"))[2][:5] == [
        "2026-10", "2599.00", "2619.60", "1576.57", "20.60"]


def test_leakage_and_cash_flow_through_the_api(world, api):
    leak = api("/finance/leakage?as_of=2026-11-16").json()
    assert leak["totals"] == {"not_rebilled": {"count": 4, "amount": "839.00"},
                              "unbacked": {"count": 1, "amount": "100.00"},
                              "unknown_subscriptions": {"count": 2, "amount": "226.00"}}
    assert [r["reason"] for r in leak["not_rebilled"]] == ["stale", "generated", "void", "unmatched"]
    unknown = _csv(api("/finance/leakage?as_of=2026-11-16&format=csv&part=unknown_subscriptions"))
    assert ["SUB-X9", "未知客户有限公司", "unknown.partner.onmschina.cn", "", "2026-10", "2026-10", "1", "113.00"] in unknown

    flow = api("/finance/cash-flow?as_of=2026-11-16&weeks=12&opening_balance=1000.00").json()
    assert flow["shortfall_week"] == "2026-12-07"
    assert [w["balance"] for w in flow["weeks"]][:5] == ["700.00", "1100.00", "62.23", "-163.77", "657.03"]
    assert [w["week"] for w in flow["weeks"] if w["shortfall"]] == [4]  # (weeks count from 1 in the API)
    g002 = next(i for i in flow["items"] if i["invoice"] == "G002")
    assert (g002["due_date"], g002["expected_on"], g002["week"]) == ("2027-01-01", "2027-01-04", 8)
    weeks = _csv(api("/finance/cash-flow?as_of=2026-11-16&opening_balance=1000&format=csv"))
    assert weeks[1] == ["opening", "2026-11-16", "", "", "", "", "1000.00", ""]
    assert weeks[5] == ["4", "2026-12-07", "2026-12-13", "0.00", "226.00", "-226.00", "-163.77", "yes"]
    items = _csv(api("/finance/cash-flow?as_of=2026-11-16&format=csv&part=items"))
    assert ["in", world["inv_c"].number, str(world["c"].pk), "Northwind 广州", "2026-11-20", "2026-12-02", "12",
            "222.23", "3"] in items


@pytest.mark.parametrize(("path", "field"), [
    ("/finance/exposure?period=2026-13", "period"),
    ("/finance/exposure?period=2026-10&customer=999999", "customer"),
    ("/finance/margin?period=2026-10&months=0", "months"),
    ("/finance/cash-flow?weeks=0", "weeks"),
    ("/finance/cash-flow?weeks=500", "weeks"),
    ("/finance/cash-flow?opening_balance=NaN", "opening_balance"),
    ("/finance/leakage?stale_days=-1", "stale_days"),
])
def test_bad_filters_are_4xx_naming_the_field(world, api, path, field):
    response = api(path)
    assert response.status_code in (404, 422), response.content
    assert field in response.content.decode()


def test_the_finance_page(world, finance_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(finance_user)
    url = reverse("finance_dashboard")
    page = client.get(url + "?period=2026-10&weeks=12&opening_balance=1000.00").content.decode()
    for figure in ["¥2,599.00", "¥2,619.60", "¥1,098.62", "¥734.50", "¥251.12", "Not matched to a customer",
                   "未知客户有限公司", "SUB-X9", "Support fee", "Billed on a void invoice"]:
        assert figure in page, figure
    assert page.count('class="pygal-chart"') == 3 or page.count("<svg") >= 3
    assert "<script" not in page  # pygal's tooltip script is left out: a CSP will refuse inline scripts
    assert "Shortfall in the week of" in page  # (the week depends on today's clock; the figures above do not)

    export = client.get(url + "?period=2026-10&part=exposure")
    assert export["Content-Type"].startswith("text/csv") and "1098.62" in export.content.decode()
    for part in ["margin", "not_rebilled", "unbacked", "unknown_subscriptions", "cash_flow", "cash_flow_items"]:
        response = client.get(url + f"?period=2026-10&part={part}")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv"), part
    assert client.get(url + "?period=2026-10&part=nonsense").status_code == 400
    assert client.get(url + "?period=13-2026&part=exposure").status_code == 400
    bad = client.get(url + "?period=2026-13")
    assert bad.status_code == 200 and "Give a month such as 2026-10." in bad.content.decode()

    one = client.get(url + f"?period=2026-10&customer={world['c'].pk}").content.decode()
    assert "Showing Northwind 广州 only." in one and "¥251.12" in one and "¥734.50" not in one


def test_the_page_reads_in_chinese(world, finance_user):
    for language, words in [("zh-hans", ["敞口", "漏损"]), ("zh-hant", ["曝險", "漏損"])]:
        client = Client(headers={"Accept-Language": language})
        client.force_login(finance_user)
        page = client.get(reverse("finance_dashboard") + "?period=2026-10").content.decode()
        for word in words:
            assert word in page, (language, word)


def test_the_page_fills_in_the_defaults_and_refuses_an_unknown_customer(world, finance_user):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(finance_user)
    page = client.get(reverse("finance_dashboard") + "?period=2026-10").content.decode()
    assert 'name="weeks" value="12"' in page and 'name="stale_days" value="30"' in page
    assert "Cash flow, the next 12 weeks" in page
    unknown = client.get(reverse("finance_dashboard") + "?period=2026-10&customer=999999").content.decode()
    assert "There is no customer 999999." in unknown and "Exposure and margin" not in unknown
