"""Reports: AR aging (one query, buckets, as of a past day), DSO, collections activity, CSV and the API."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from partnerdesk.billing.services import record_payment, void_invoice
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.dunning.models import ActionKind, CollectionsAction, CollectionsRun
from partnerdesk.reports import services

API_URLS = pytest.mark.urls("partnerdesk.reports.tests.urls")

AS_OF = dt.date(2026, 11, 20)
D = Decimal


def inv(customer, amount, issued, due):
    return make_invoice(customer, amount, issue_date=dt.date.fromisoformat(issued), due_date=dt.date.fromisoformat(due))


@pytest.fixture
def ledger(customer_a, customer_b):
    """Contoso: current 1000, 1-30 days 500, 31-60 days 300. Fabrikam: 61-90 days 200, over 90 days 100
    of which 50 is paid on 2026-11-15; plus a draft and a void invoice that never count."""
    inv(customer_a, "1000.00", "2026-10-25", "2026-11-24")
    inv(customer_a, "500.00", "2026-10-01", "2026-11-10")
    inv(customer_a, "300.00", "2026-09-01", "2026-10-01")
    inv(customer_b, "200.00", "2026-08-01", "2026-09-15")
    old = inv(customer_b, "100.00", "2026-07-01", "2026-08-01")
    record_payment(customer=customer_b, amount="50.00", received_on=dt.date(2026, 11, 15), method="alipay", actor=None)
    make_invoice(customer_b, "999.00", issue=False)
    void_invoice(inv(customer_b, "777.00", "2026-10-01", "2026-10-31"), actor=None, reason="wrong customer")
    return {"contoso": customer_a, "fabrikam": customer_b, "old": old}


def test_aging_buckets_per_customer_and_total_in_one_query(ledger, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = services.aging(AS_OF)
    by_name = {r.customer_name: r for r in report.rows}
    contoso, fabrikam = by_name["Contoso 上海"], by_name["Fabrikam 北京"]
    assert contoso.buckets() == {"current": D("1000.00"), "days_1_30": D("500.00"), "days_31_60": D("300.00"),
                                 "days_61_90": D("0.00"), "over_90": D("0.00")}
    assert fabrikam.buckets() == {"current": D("0.00"), "days_1_30": D("0.00"), "days_31_60": D("0.00"),
                                  "days_61_90": D("200.00"), "over_90": D("50.00")}
    assert contoso.total == D("1800.00") and contoso.overdue == D("800.00")
    assert report.total.total == D("2050.00") and report.total.overdue == D("1050.00")
    assert report.total.over_90 == D("50.00")
    assert all(isinstance(v, Decimal) for v in report.total.buckets().values())


def test_aging_as_of_an_earlier_day_ignores_later_payments_and_invoices(ledger):
    report = services.aging(dt.date(2026, 11, 14))
    fabrikam = next(r for r in report.rows if r.customer_name == "Fabrikam 北京")
    assert fabrikam.over_90 == D("100.00")  # the 50.00 arrived on the 15th
    earlier = services.aging(dt.date(2026, 10, 20), customer_ids=[ledger["contoso"].pk]).rows[0]
    # On 2026-10-20 the invoice issued on 10-25 did not exist yet, the one due on 11-10 was current
    # and the one due on 10-01 was 19 days past due.
    assert (earlier.current, earlier.days_1_30, earlier.days_31_60) == (D("500.00"), D("300.00"), D("0.00"))


def test_bucket_boundaries(db):
    c = make_customer("Boundary Ltd")
    for days_past_due, amount in [(0, "1.00"), (1, "2.00"), (30, "4.00"), (31, "8.00"), (60, "16.00"),
                                  (61, "32.00"), (90, "64.00"), (91, "128.00"), (-5, "256.00")]:
        due = AS_OF - dt.timedelta(days=days_past_due)
        make_invoice(c, amount, issue_date=min(due, AS_OF) - dt.timedelta(days=1), due_date=due)
    row = services.aging(AS_OF, customer_ids=[c.pk]).rows[0]
    assert row.buckets() == {"current": D("257.00"), "days_1_30": D("6.00"), "days_31_60": D("24.00"),
                             "days_61_90": D("96.00"), "over_90": D("128.00")}


def test_aging_filters_customers_and_drops_settled_ones(ledger):
    report = services.aging(AS_OF, customer_ids=[ledger["fabrikam"].pk])
    assert [r.customer_name for r in report.rows] == ["Fabrikam 北京"]
    assert report.total.total == D("250.00")
    record_payment(customer=ledger["fabrikam"], amount="250.00", received_on=AS_OF, method="alipay", actor=None)
    assert services.aging(AS_OF, customer_ids=[ledger["fabrikam"].pk]).rows == []


def test_dso(ledger):
    # Receivables 2050.00; invoiced 2026-08-23..2026-11-20: 1000 + 500 + 300 = 1800.00; 2050 / 1800 * 90 = 102.5
    detail = services.dso_detail(AS_OF, period_days=90)
    assert (detail.receivables, detail.invoiced) == (D("2050.00"), D("1800.00"))
    assert services.days_sales_outstanding(AS_OF) == D("102.5")
    assert services.days_sales_outstanding(dt.date(2026, 6, 1)) is None  # nothing invoiced: undefined


def test_collections_by_day_counts_kinds_and_lists_runs(customer_a):
    def act(key, kind, day):
        CollectionsAction.objects.create(key=key, customer=customer_a, kind=kind, as_of=dt.date.fromisoformat(day))

    act("a", ActionKind.REMINDER, "2026-11-01")
    act("b", ActionKind.REMINDER, "2026-11-01")
    act("c", ActionKind.NOTICE, "2026-11-02")
    act("d", ActionKind.SUSPENDED, "2026-11-03")
    act("e", ActionKind.NOTICE, "2026-10-31")  # before the period
    CollectionsRun.objects.create(as_of=dt.date(2026, 11, 1), status="finished", counts={"due": 2, "emails": 2})
    CollectionsRun.objects.create(as_of=dt.date(2026, 11, 2), dry_run=True, status="finished")
    report = services.collections_by_day(dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    assert [d.day.day for d in report.days] == [1, 2, 3]
    assert report.days[0].counts["reminder"] == 2 and report.days[0].total == 2
    assert report.days[1].counts == {**dict.fromkeys(services.ACTION_KINDS, 0), "notice": 1}
    assert report.totals["suspended"] == 1 and report.total == 4
    assert [(r.as_of.day, r.status, r.counts["due"]) for r in report.runs] == [(1, "finished", 2)]
    rows = list(csv.reader(io.StringIO(services.collections_csv(report))))
    assert rows[0][:3] == ["day", "reminder", "notice"] and rows[1][:3] == ["2026-11-01", "2", "0"]
    assert rows[-1][0] == "TOTAL"


def test_collections_by_day_refuses_a_reversed_or_huge_range(db):
    from partnerdesk.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.collections_by_day(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
    with pytest.raises(InvalidInput):
        services.collections_by_day(dt.date(2024, 1, 1), dt.date(2026, 1, 1))


def test_aging_csv(ledger):
    rows = list(csv.reader(io.StringIO(services.aging_csv(services.aging(AS_OF)))))
    assert rows[0] == ["as_of", "customer_id", "customer", "current", "days_1_30", "days_31_60", "days_61_90",
                       "over_90", "overdue", "total"]
    assert rows[1][2:] == ["Contoso 上海", "1000.00", "500.00", "300.00", "0.00", "0.00", "800.00", "1800.00"]
    assert rows[-1][2] == "TOTAL" and rows[-1][-1] == "2050.00"


# --- the API ------------------------------------------------------------------------------------------------


@API_URLS
def test_api_aging_json_and_csv(ledger, tokens, api_client):
    response = api_client.as_(tokens["finance"]).get("/reports/aging", as_of="2026-11-20")
    assert response.status_code == 200
    body = response.json()
    assert body["total"]["total"] == "2050.00" and body["total"]["days_61_90"] == "200.00"
    assert [r["customer_name"] for r in body["rows"]] == ["Contoso 上海", "Fabrikam 北京"]
    csv_response = api_client.as_(tokens["finance"]).get("/reports/aging", as_of="2026-11-20", format="csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    text = csv_response.content.decode("utf-8-sig")
    assert "Fabrikam 北京" in text and "TOTAL" in text


@API_URLS
def test_api_dso_and_collections(ledger, tokens, api_client):
    body = api_client.as_(tokens["auditor"]).get("/reports/dso", as_of="2026-11-20").json()
    assert body == {"as_of": "2026-11-20", "period_days": 90, "receivables": "2050.00", "invoiced": "1800.00",
                    "dso": "102.5"}
    response = api_client.as_(tokens["collections"]).get("/reports/collections", since="2026-11-01", until="2026-11-03")
    assert response.status_code == 200 and len(response.json()["days"]) == 3
    bad = api_client.as_(tokens["collections"]).get("/reports/collections", since="2026-11-03", until="2026-11-01")
    assert bad.status_code == 422 and bad.json()["field"] == "until"


@API_URLS
@pytest.mark.parametrize("who", ["billing_agent", "customer_a"])
def test_api_reports_need_reports_view(ledger, tokens, api_client, who):
    for path in ["/reports/aging", "/reports/dso", "/reports/collections"]:
        assert api_client.as_(tokens[who]).get(path).status_code == 403
    assert api_client.get("/reports/aging").status_code == 401
