"""The monitoring's report: alerts by signal, confirmed and dismissed (precision), money at risk, time to act; its
CSV and its chart, through the service, the API and the page."""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from partnerdesk.conftest import make_customer
from partnerdesk.fraud import charts
from partnerdesk.fraud.models import Alert
from partnerdesk.fraud.reports import alert_report, report_csv

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=SHANGHAI)


def alert(customer, signal="spend_spike", *, opened: dt.datetime, status="open", verdict="", amount="100.00",
          acted: dt.datetime | None = None, subject=None) -> Alert:
    day = opened.astimezone(SHANGHAI).date()
    return Alert.objects.create(customer=customer, signal=signal, subject=subject if subject is not None else
                                f"s{Alert.objects.count()}", status=status, verdict=verdict, score=Decimal("5.00"),
                                amount=Decimal(amount), first_seen_on=day, last_seen_on=day, opened_at=opened,
                                acted_at=acted)


@pytest.fixture
def history(db):
    """November 2026: five spikes (two confirmed, one dismissed, one expected, one open), one usage before payment
    confirmed then cleared, and alerts outside the month that must not count."""
    a, b = make_customer("Contoso 上海"), make_customer("Fabrikam 北京")
    alert(a, opened=at("2026-11-02"), status="confirmed", verdict="fraud", amount="18250.00",
          acted=at("2026-11-02", 11))  # 2 h
    alert(b, opened=at("2026-11-05"), status="cleared", verdict="fraud", amount="4000.50",
          acted=at("2026-11-05", 13))  # 4 h
    alert(a, opened=at("2026-11-10"), status="dismissed", verdict="false_alarm", amount="900.00",
          acted=at("2026-11-11", 9))  # 24 h
    alert(b, opened=at("2026-11-12"), status="expected", verdict="false_alarm", amount="300.00",
          acted=at("2026-11-12", 10))  # 1 h
    alert(a, opened=at("2026-11-20"), amount="1200.00")  # open, not acted on
    alert(b, "usage_before_payment", opened=at("2026-11-15"), status="cleared", verdict="fraud", amount="7000.00",
          acted=at("2026-11-15", 9, 30))  # 0.5 h
    # Outside the month: the day before it starts (Beijing time) and the day after it ends.
    alert(a, opened=at("2026-10-31", 23, 59), status="confirmed", verdict="fraud", amount="99999.00")
    alert(a, opened=at("2026-12-01", 0, 1), status="dismissed", verdict="false_alarm", amount="99999.00")
    return a, b


def test_the_report_counts_alerts_by_signal_with_precision_money_at_risk_and_time_to_act(history):
    report = alert_report(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    rows = {row.signal: row for row in report.rows}
    spikes = rows["spend_spike"]
    assert (spikes.alerts, spikes.open, spikes.confirmed, spikes.dismissed, spikes.expected, spikes.cleared) == (
        5, 1, 2, 2, 1, 1)
    assert spikes.precision == Decimal("50.0")  # 2 confirmed of 4 judged (the expected one was not fraud)
    assert spikes.money_at_risk == Decimal("24650.50")
    assert spikes.confirmed_money == Decimal("22250.50")
    assert spikes.acted == 4 and spikes.median_hours_to_act == Decimal("3.0")  # median of 1, 2, 4, 24 hours
    before_payment = rows["usage_before_payment"]
    assert (before_payment.alerts, before_payment.confirmed, before_payment.precision) == (1, 1, Decimal("100.0"))
    assert before_payment.median_hours_to_act == Decimal("0.5")
    assert rows["new_region"].alerts == 0 and rows["new_region"].precision is None
    assert rows["new_region"].median_hours_to_act is None
    total = report.total
    assert (total.alerts, total.confirmed, total.dismissed) == (6, 3, 2)
    assert total.precision == Decimal("60.0") and total.money_at_risk == Decimal("31650.50")
    assert total.median_hours_to_act == Decimal("2.0")  # 0.5, 1, 2, 4, 24


def test_one_customer_only(history):
    a, _b = history
    report = alert_report(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30), customer_id=a.pk)
    assert report.total.alerts == 3 and report.total.money_at_risk == Decimal("20350.00")


def test_the_csv_has_a_row_per_signal_and_the_total(history):
    report = alert_report(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert [r["signal"] for r in rows][-1] == "total" and len(rows) == 8
    spikes = next(r for r in rows if r["signal"] == "spend_spike")
    assert (spikes["alerts"], spikes["precision_percent"], spikes["money_at_risk"], spikes["median_hours_to_act"]) == (
        "5", "50.0", "24650.50", "3.0")


def test_the_chart_is_svg_without_script_and_names_the_signals(history):
    with translation.override("en"):
        svg = charts.signals_chart(alert_report(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)))
    assert svg.lstrip().startswith("<svg") and "<script" not in svg
    assert "Usage or spend spike" in svg and "Confirmed" in svg


def test_an_alerts_series_chart_marks_the_tripped_point():
    series = [[(dt.date(2026, 11, 1) + dt.timedelta(days=i)).isoformat(), "310.00"] for i in range(22)]
    series.append(["2026-11-23", "18560.00"])
    with translation.override("en"):
        svg = charts.series_chart(series, "2026-11-23")
    assert "<script" not in svg and "Tripped on 2026-11-23" in svg
    assert charts.series_chart([], None) is None
    # A series stored with junk in it still draws what is a point.
    assert "<svg" in charts.series_chart([["2026-11-01", "1.00"], ["nonsense"], ["2026-11-02", "x"]], "2026-11-09")


def test_the_api_report_as_json_and_csv(history, api_client, tokens):
    api = api_client.as_(tokens["auditor"])
    body = api.get("/fraud/reports", start="2026-11-01", end="2026-11-30").json()
    assert body["total"]["alerts"] == 6 and body["total"]["precision_percent"] == "60.0"
    spikes = next(s for s in body["signals"] if s["signal"] == "spend_spike")
    assert spikes["money_at_risk"] == "24650.50" and spikes["median_hours_to_act"] == "3.0"
    resp = api.get("/fraud/reports", start="2026-11-01", end="2026-11-30", format="csv")
    assert resp["Content-Type"].startswith("text/csv")
    assert "spend_spike" in resp.content.decode("utf-8-sig")
    refused = api.get("/fraud/reports", start="2026-11-30", end="2026-11-01")
    assert refused.status_code == 422 and refused.json()["field"] == "start"
    assert api_client.as_(tokens["customer_a"]).get("/fraud/reports").status_code == 403


def test_the_report_page_with_its_chart_and_csv(history, client, users):
    client.force_login(users["finance"])
    page = client.get("/fraud/reports/", {"start": "2026-11-01", "end": "2026-11-30"})
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text and "<script" not in text
    assert "60.0%" in text and "¥31,650.50" in text
    resp = client.get("/fraud/reports/", {"start": "2026-11-01", "end": "2026-11-30", "format": "csv"})
    assert resp["Content-Type"].startswith("text/csv") and "usage_before_payment" in resp.content.decode("utf-8-sig")
    assert client.get("/fraud/reports/", {"start": "2026-11-30", "end": "2026-11-01"}).status_code == 400
    client.force_login(users["customer_a"])
    assert client.get("/fraud/reports/").status_code == 403
