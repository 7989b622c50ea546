"""The support desk's reports on a small week of cases made through the services on the suite's calendar
(Monday 23 to Friday 27 November 2026, Beijing dates; no holiday that week), every figure worked out by hand.

Cases (C: first response 8 business hours, next response 9, resolution 90; office hours 09:00-18:00):
 1 billing question, agent1/Billing: opened Mon 10:00, answered Mon 12:00 (2 h), resolved Tue 11:00
   (8 h Monday + 2 h = 10 h), confirmed and scored 5.
 2 invoice dispute, agent1/Billing: opened Mon 14:00 (first response due Tue 13:00), answered Tue 15:00 and
   sent to the operator (10 h: missed), back from the operator Wed 11:00 (3 h + 2 h = 5 h of waiting),
   resolved Wed 16:00 (4 + 9 + 7 = 20 h), scored 2.
 3 billing question, agent2 (no team): opened Tue 09:00, waiting on the customer 10:00 until Wed 09:00 (the
   clocks stand still), answered Wed 10:00 (1 + 1 = 2 h), resolved Wed 12:00 (1 + 3 = 4 h), reopened by the
   customer Thu 10:00 (a next-response clock starts), resolved again Thu 15:00 (4 + 5 = 9 h; next response
   5 h), not scored.
 4 technical, severity A (around the clock), agent2: opened Wed 20:00, never answered: first response due
   Wed 22:00 and resolution Thu 20:00 both missed.
 5 billing question, agent1/Billing: opened and answered the Friday before (outside the period), resolved
   Mon 10:00 (8 h Friday + 1 h = 9 h), not scored.
 6 merged into case 3 on Tue: left out of every figure.
 7 other, customer B, unassigned: opened Thu 09:00, waiting on the operator from 10:00 and still is; its first
   response was due Thu 17:00 (missed).
 8 opened Fri 23:30 Beijing time (UTC: still Friday 15:30): in the period; nothing else happened.
 9 opened Sun 22 23:30 Beijing time and answered at 23:45: outside the period.
The report is read on Saturday 28 November, noon.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import translation

from partnerdesk.accounts.services import create_team
from partnerdesk.errors import InvalidInput
from partnerdesk.support import services
from partnerdesk.support.reports import report_csv, support_report
from partnerdesk.workdays.services import load_year_from_package

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
SINCE, UNTIL = dt.date(2026, 11, 23), dt.date(2026, 11, 27)
READ_AT = dt.datetime(2026, 11, 28, 12, tzinfo=BJ)
H = 3600


def at(day, hour, minute=0):
    return time_machine.travel(dt.datetime(2026, 11, day, hour, minute, tzinfo=BJ), tick=False)


@pytest.fixture
def week(users, customer_a, customer_b):
    load_year_from_package(2026, actor=None)
    agent1, agent2, own = users["billing_agent"], users["finance"], users["customer_a"]
    billing = create_team(actor=None, name="Billing")

    def open_case(customer, **kw):
        return services.open_case(customer=customer, subject="账单问题", description="请核实十一月的发票金额",
                                  actor=None, channel="phone", acknowledge=False, **kw)

    cases = {}
    with at(20, 10):
        cases[5] = open_case(customer_a, assignee=agent1, team=billing)
    with at(20, 11):
        services.reply(case=cases[5], body="收到", actor=agent1)
    with at(22, 23, 30):
        cases[9] = open_case(customer_a)
    with at(22, 23, 45):
        services.reply(case=cases[9], body="收到", actor=agent1)
    with at(23, 10):
        cases[1] = open_case(customer_a, assignee=agent1, team=billing)
        services.resolve(case=cases[5], body="已更正", actor=agent1)
    with at(23, 12):
        services.reply(case=cases[1], body="正在核实", actor=agent1)
    with at(23, 14):
        cases[2] = open_case(customer_a, type="invoice_dispute", assignee=agent1, team=billing)
    with at(24, 9):
        cases[3] = open_case(customer_a, assignee=agent2)
    with at(24, 10):
        services.change_status(case=cases[3], status="waiting_customer", actor=agent2, reason="需要账号")
    with at(24, 11):
        services.resolve(case=cases[1], body="已退款", actor=agent1)
        cases[6] = open_case(customer_a)
    with at(24, 11, 30):
        services.merge(source=cases[6], target=cases[3], actor=agent2, reason="same question")
    with at(24, 12):
        services.confirm_resolution(case=cases[1], actor=own)
        services.record_satisfaction(case=cases[1], score=5, actor=own)
    with at(24, 15):
        services.reply(case=cases[2], body="已提交世纪互联", actor=agent1, status="waiting_operator")
    with at(25, 9):
        services.customer_message(case=cases[3], body="账号是 12345", actor=own)
    with at(25, 10):
        services.reply(case=cases[3], body="已核实", actor=agent2)
    with at(25, 11):
        services.change_status(case=cases[2], status="open", actor=agent1, reason="operator answered")
    with at(25, 12):
        services.resolve(case=cases[3], body="已处理", actor=agent2)
    with at(25, 16):
        services.resolve(case=cases[2], body="已更正发票", actor=agent1)
    with at(25, 20):
        cases[4] = open_case(customer_a, type="technical", severity="A", assignee=agent2)
    with at(26, 9):
        cases[7] = open_case(customer_b, type="other")
    with at(26, 10):
        services.confirm_resolution(case=cases[2], actor=own)
        services.record_satisfaction(case=cases[2], score=2, actor=own)
        services.customer_message(case=cases[3], body="还是不对", actor=own)
        services.change_status(case=cases[7], status="waiting_operator", actor=agent1, reason="ask 21Vianet")
    with at(26, 15):
        services.resolve(case=cases[3], body="再次处理", actor=agent2)
    with at(27, 23, 30):
        cases[8] = open_case(customer_a)
    return cases


@pytest.fixture
def report(week, users):
    with time_machine.travel(READ_AT, tick=False):
        return support_report(users["finance"], SINCE, UNTIL)


def test_first_response_and_resolution_times_in_business_hours(report, week):
    assert sorted(t.case.pk for t in report.first_response.items) == sorted(week[n].pk for n in (1, 2, 3))
    assert sorted(t.seconds for t in report.first_response.items) == [2 * H, 2 * H, 10 * H]
    assert (report.first_response.median_seconds, report.first_response.p90_seconds) == (2 * H, 10 * H)
    assert sorted(t.seconds for t in report.resolution.items) == [9 * H, 9 * H, 10 * H, 20 * H]
    # median of four: (9 + 10) / 2; the 90th percentile by nearest rank: the 4th of 4
    assert (report.resolution.count, report.resolution.median_seconds, report.resolution.p90_seconds) == (
        4, int(9.5 * H), 20 * H)


def test_sla_targets_met_per_agent_team_and_type(report):
    def rows(by):
        with translation.override("en"):
            return [(str(r.label), r.met, r.missed, r.percent_met) for r in report.sla_rows(by)]

    assert (report.sla_total.met, report.sla_total.missed, report.sla_total.percent_met) == (7, 4, Decimal("63.6"))
    assert rows("agent") == [("billing_agent1", 4, 1, Decimal("80.0")), ("finance1", 3, 2, Decimal("60.0")),
                             ("Unassigned", 0, 1, Decimal("0.0"))]
    assert rows("team") == [("No team", 3, 3, Decimal("50.0")), ("Billing", 4, 1, Decimal("80.0"))]
    assert rows("type") == [("Billing question", 6, 0, Decimal("100.0")), ("Invoice dispute", 1, 1, Decimal("50.0")),
                            ("Technical", 0, 2, Decimal("0.0")), ("Other", 0, 1, Decimal("0.0"))]


def test_escalation_rate_and_the_operators_response_time(report, week):
    assert {c.pk for c in report.escalation.cases} == {week[n].pk for n in (1, 2, 3, 4, 7, 8)}
    assert {c.pk for c in report.escalation.counted} == {week[2].pk, week[7].pk}
    assert report.escalation.percent == Decimal("33.3")
    # case 2 waited Tue 15:00 - Wed 11:00: 3 h + 2 h in the operator's hours; case 7 still waits
    assert [(t.case.pk, t.seconds) for t in report.operator.items] == [(week[2].pk, 5 * H), (week[7].pk, None)]
    assert (report.operator.count, report.operator.median_seconds, report.operator.p90_seconds) == (1, 5 * H, 5 * H)
    assert report.operator.still_running == 1


def test_satisfaction_and_reopen_rate(report, week):
    assert {c.pk for c in report.satisfaction.cases} == {week[n].pk for n in (1, 2, 3, 5)}
    assert sorted(report.scores) == [2, 5]
    assert report.average_score == Decimal("3.50") and report.satisfaction.percent == Decimal("50.0")
    assert report.score_distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert {c.pk for c in report.reopen.cases} == {week[n].pk for n in (1, 2, 3)}
    assert [c.pk for c in report.reopen.counted] == [week[3].pk]
    assert report.reopen.percent == Decimal("33.3")


def test_csv_parts(report, week):
    def rows(part):
        return list(csv.reader(io.StringIO(report_csv(report, part))))

    summary = {row[2]: row[3] for row in rows("summary")[1:]}
    assert summary["first_response_median_hours"] == "2.00" and summary["resolution_median_hours"] == "9.50"
    assert summary["resolution_p90_hours"] == "20.00" and summary["operator_median_hours"] == "5.00"
    assert summary["sla_percent_met"] == "63.6" and summary["escalation_percent"] == "33.3"
    assert summary["satisfaction_average"] == "3.50" and summary["reopen_percent"] == "33.3"
    first = rows("first_response")
    assert first[0][:2] == ["case", "customer"] and len(first) == 4
    assert [r[-1] for r in first[1:]] == ["2.00", "10.00", "2.00"]
    assert ["all", "", "", "7", "4", "11", "63.6"] in rows("sla")
    operator = rows("operator")
    assert operator[1][0] == week[2].token and operator[1][6] == "2026-11-24T15:00:00+08:00"
    assert operator[2][0] == week[7].token and operator[2][7:] == ["", ""]
    assert [r[-1] for r in rows("escalation")[1:]].count("yes") == 2
    with pytest.raises(InvalidInput):
        report_csv(report, "everything")


def test_the_period_is_checked_and_the_report_is_for_desk_reports(users):
    with pytest.raises(InvalidInput) as refused:
        support_report(users["admin"], UNTIL, SINCE)
    assert refused.value.field == "until"
    with pytest.raises(InvalidInput) as refused:
        support_report(users["admin"], dt.date(2025, 1, 1), dt.date(2026, 1, 2))  # 367 days
    assert refused.value.field == "since"
    for role in ("collections", "customer_a"):
        with pytest.raises(PermissionDenied):
            support_report(users[role], SINCE, UNTIL)


# --- API and page ---------------------------------------------------------------------------------------------


def test_the_api_gives_the_figures_and_each_part_as_csv(api_client, tokens, week):
    agent = api_client.as_(tokens["billing_agent"])
    with time_machine.travel(READ_AT, tick=False):
        body = agent.get("/support/reports", since="2026-11-23", until="2026-11-27").json()
        csv_resp = agent.get("/support/reports", since="2026-11-23", until="2026-11-27", format="csv", part="sla")
        refused = api_client.as_(tokens["collections"]).get("/support/reports")
        bad = agent.get("/support/reports", since="2026-11-27", until="2026-11-23")
    assert body["first_response"] == {"count": 3, "median_seconds": 2 * H, "p90_seconds": 10 * H}
    assert body["resolution"]["median_seconds"] == int(9.5 * H)
    assert body["operator"] == {"count": 1, "median_seconds": 5 * H, "p90_seconds": 5 * H, "still_waiting": 1}
    assert Decimal(body["sla"]["all"]["percent_met"]) == Decimal("63.6")
    assert [(r["key"], r["met"], r["missed"]) for r in body["sla"]["by_team"]] == [
        ("", 3, 3), (str(week[1].team_id), 4, 1)]
    assert body["sla"]["by_team"][1]["name"] == "Billing"
    assert (body["escalation"]["cases"], body["escalation"]["counted"]) == (6, 2)
    assert body["satisfaction"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert Decimal(body["satisfaction"]["average"]) == Decimal("3.5")
    assert (body["reopen"]["cases"], body["reopen"]["counted"]) == (3, 1)
    assert csv_resp.status_code == 200 and csv_resp["Content-Type"].startswith("text/csv")
    assert csv_resp.content.decode("utf-8-sig").splitlines()[0] == "by,key,name,met,missed,total,percent_met"
    assert refused.status_code == 403
    assert bad.status_code == 422 and bad.json()["field"] == "until"


def test_the_page_shows_the_figures_with_charts_and_its_csv(client, users, week):
    client.force_login(users["auditor"])
    with time_machine.travel(READ_AT, tick=False):
        page = client.get("/support/reports/", {"since": "2026-11-23", "until": "2026-11-27"},
                          headers={"Accept-Language": "en"})
        download = client.get("/support/reports/", {"since": "2026-11-23", "until": "2026-11-27", "part": "operator"})
        wrong = client.get("/support/reports/", {"part": "everything"})
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('class="pygal-chart"') == 6  # times, three SLA groups, rates, scores
    assert "<script" not in text  # pygal's optional tooltip script is left out
    assert "63.6%" in text and "33.3%" in text and "3.50" in text
    assert "billing_agent1" in text and "Billing" in text
    assert download.status_code == 200 and week[2].token in download.content.decode("utf-8-sig")
    assert wrong.status_code == 400
    client.force_login(users["collections"])
    assert client.get("/support/reports/").status_code == 403


def test_names_in_the_charts_are_escaped(client, users, customer_a):
    from partnerdesk.accounts.services import create_team as make_team

    team = make_team(actor=None, name="<script>alert(1)</script>")
    load_year_from_package(2026, actor=None)
    with at(23, 10):
        case = services.open_case(customer=customer_a, subject="x", description="y", actor=None, channel="phone",
                                  acknowledge=False, team=team)
    with at(23, 11):
        services.reply(case=case, body="z", actor=users["admin"])
    client.force_login(users["admin"])
    with time_machine.travel(READ_AT, tick=False):
        text = client.get("/support/reports/", {"since": "2026-11-23", "until": "2026-11-27"}).content.decode()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
