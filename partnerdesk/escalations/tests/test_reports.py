"""The escalations and disputes report on a small fortnight worked out by hand: Thursday 8 to Wednesday 21
October 2026 (Beijing dates), read on Wednesday 21 October at noon. On the official calendar 1-7 October are
the National Day holiday and Saturday 10 October is a make-up working day (调休); 17-18 October is an ordinary
weekend. The operator's billing hours: 09:00-18:00 on working days.

Service requests (B: first response 4 business hours; C: 8; resolution 27 business hours):
 SR0 billing, B, no team: filed Wed 7 Oct 10:00 (a holiday: before the period), answered Thu 8 09:30 (0.5 h,
     due Thu 13:00: met), closed Thu 8 12:00 (3 h, due Sat 10 18:00: met). Not filed in the period.
 SR1 billing, B, team Billing: filed Fri 9 16:00, answered Sat 10 11:00 on the 调休 Saturday (2 + 2 = 4 h, due
     Sat 11:00: met), closed Mon 12 15:00 (2 + 9 + 6 = 17 h, due Tue 13 16:00: met).
 SR2 subscription, C, no team: filed Sat 10 17:00, answered Mon 12 17:30 (1 + 8.5 = 9.5 h; due Mon 16:00:
     missed), not closed (needs our attention); resolution due Wed 14 17:00: passed, missed.
 SR3 billing, B, team Billing: filed Fri 16 16:30, answered Mon 19 11:00 across the weekend (1.5 + 2 = 3.5 h,
     due Mon 11:30: met), still open; resolution due Wed 21 16:30: not passed yet, not counted.
 SR4 technical, C, team Billing: prepared Tue 13, never filed.
First response: 0.5, 3.5, 4, 9.5 h: median 3.75 h, 90th percentile 9.5 h, 3 met of 4. Resolution: 3 and 17 h:
median 10 h, 90th percentile 17 h, 2 met, 1 missed.

Disputes:
 D1 team Billing: 400.00 of a 1,000.00 invoice, opened Fri 9 10:00, upheld in part Tue 13 15:00 (8 + 9 + 9 + 6 =
    32 business hours): 150.00 upheld and credited (credit note).
 D2 no team: 600.00 of a 2,000.00 invoice, opened Mon 12 09:00, rejected Mon 12 17:00 (8 h).
 D3 no team: a 300.00 invoice disputed whole (no amount named), opened Thu 15 11:00, still open.
 D4 opened and resolved in September: outside the period.
Opened: 3, 1,300.00 disputed, 1 still open. Resolved: 2 (1 in part, 1 rejected), 1,000.00 disputed, 150.00
upheld and credited. Time to resolve: median 20 h (2.2 working days), 90th percentile 32 h (3.6).
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from partnerdesk.accounts.services import create_team
from partnerdesk.billing.services import issue_credit_note
from partnerdesk.conftest import make_invoice
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.errors import InvalidInput
from partnerdesk.escalations.models import ServiceRequest
from partnerdesk.escalations.reports import escalation_report, report_csv
from partnerdesk.support import services as support
from partnerdesk.workdays.services import load_year_from_package

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")
SINCE, UNTIL = dt.date(2026, 10, 8), dt.date(2026, 10, 21)
H = 3600


def bj(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=BJ)


@pytest.fixture
def reading_time():
    with time_machine.travel(bj(10, 21, 12), tick=False):
        yield


@pytest.fixture
def fortnight(users, customer_a, customer_b, reading_time):
    load_year_from_package(2026, actor=None)
    billing = create_team(actor=None, name="Billing")

    def case(customer, team=None):
        return support.open_case(customer=customer, subject="发票金额有误", description="请核实", actor=None,
                                 channel="phone", acknowledge=False, team=team)

    def request(case, topic, severity, **times):
        status = times.pop("status")
        return ServiceRequest.objects.create(
            case=case, customer=case.customer, channel="portal", topic=topic, severity=severity, title="账单争议",
            description="客户对发票有异议", contact_name="王芳", contact_email="support@partner.example.cn",
            status=status, **times)

    team_case, other_case = case(customer_a, billing), case(customer_b)
    requests = {
        0: request(other_case, "billing", "moderate", status="closed", created_at=bj(10, 7, 9), filed_at=bj(10, 7, 10),
                   first_response_at=bj(10, 8, 9, 30), first_response_due_at=bj(10, 8, 13), closed_at=bj(10, 8, 12),
                   resolution_due_at=bj(10, 10, 18)),
        1: request(team_case, "billing", "moderate", status="closed", created_at=bj(10, 9, 15), filed_at=bj(10, 9, 16),
                   first_response_at=bj(10, 10, 11), first_response_due_at=bj(10, 10, 11), closed_at=bj(10, 12, 15),
                   resolution_due_at=bj(10, 13, 16)),
        2: request(other_case, "subscription", "minimal", status="attention_needed", created_at=bj(10, 10, 17),
                   filed_at=bj(10, 10, 17), first_response_at=bj(10, 12, 17, 30), first_response_due_at=bj(10, 12, 16),
                   resolution_due_at=bj(10, 14, 17)),
        3: request(team_case, "billing", "moderate", status="open", created_at=bj(10, 16, 16), filed_at=bj(10, 16, 16, 30),
                   first_response_at=bj(10, 19, 11), first_response_due_at=bj(10, 19, 11, 30),
                   resolution_due_at=bj(10, 21, 16, 30)),
        4: request(team_case, "technical", "minimal", status="draft", created_at=bj(10, 13, 10)),
    }

    inv1 = make_invoice(customer_a, "1000.00", issue_date=dt.date(2026, 9, 15))
    inv2 = make_invoice(customer_b, "2000.00", issue_date=dt.date(2026, 9, 15))
    inv3 = make_invoice(customer_b, "300.00", issue_date=dt.date(2026, 9, 20))
    inv4 = make_invoice(customer_a, "500.00", issue_date=dt.date(2026, 8, 20))
    credit = issue_credit_note(invoice=inv1, amount="150.00", reason="两个席位重复计费", actor=None)
    disputes = {
        1: Dispute.objects.create(customer=customer_a, invoice=inv1, case=team_case, reason="席位重复", amount="400.00",
                                  opened_at=bj(10, 9, 10), resolved_at=bj(10, 13, 15), status=HoldStatus.RESOLVED,
                                  outcome=DisputeOutcome.PARTLY_UPHELD, upheld_amount="150.00", credit_note=credit),
        2: Dispute.objects.create(customer=customer_b, invoice=inv2, case=other_case, reason="wrong price",
                                  amount="600.00", opened_at=bj(10, 12, 9), resolved_at=bj(10, 12, 17),
                                  status=HoldStatus.RESOLVED, outcome=DisputeOutcome.REJECTED,
                                  resume_on=dt.date(2026, 10, 19)),
        3: Dispute.objects.create(customer=customer_b, invoice=inv3, reason="not ordered", opened_at=bj(10, 15, 11)),
        4: Dispute.objects.create(customer=customer_a, invoice=inv4, reason="old", amount="100.00",
                                  opened_at=bj(9, 1, 10), resolved_at=bj(9, 2, 10), status=HoldStatus.RESOLVED,
                                  outcome=DisputeOutcome.UPHELD),
    }
    return {"team": billing, "requests": requests, "disputes": disputes}


def test_escalations_by_topic_severity_and_where_they_stand(fortnight, users):
    report = escalation_report(users["billing_agent"], SINCE, UNTIL)
    assert report.filed == 3 and report.drafts == 1
    assert [(r.topic, r.severity, r.count) for r in report.by_topic] == [
        ("billing", "moderate", 2), ("subscription", "minimal", 1)]
    assert report.statuses == {"open": 1, "attention_needed": 1, "closed": 1}
    assert [(topic, n) for topic, _label, n in report.topic_totals()] == [("billing", 2), ("subscription", 1)]


def test_the_operators_times_against_its_targets_on_the_working_day_calendar(fortnight, users):
    report = escalation_report(users["billing_agent"], SINCE, UNTIL)
    first = report.first_response
    assert sorted(first.seconds) == [H // 2, 3.5 * H, 4 * H, 9.5 * H]  # the 调休 Saturday counts, the holiday not
    assert (first.median_seconds, first.p90_seconds) == (3.75 * H, 9.5 * H)
    assert (first.met, first.missed, first.percent_met) == (3, 1, Decimal("75.0"))
    resolution = report.resolution
    assert sorted(resolution.seconds) == [3 * H, 17 * H]
    assert (resolution.median_seconds, resolution.p90_seconds) == (10 * H, 17 * H)
    # SR2's resolution target passed unanswered: missed; SR3's has not passed yet: not counted.
    assert (resolution.met, resolution.missed, resolution.percent_met) == (2, 1, Decimal("66.7"))


def test_disputes_opened_resolved_their_amounts_and_time_to_resolve(fortnight, users):
    report = escalation_report(users["finance"], SINCE, UNTIL)
    assert (report.disputes_opened, report.disputes_still_open) == (3, 1)
    assert report.disputed_opened_amount == Decimal("1300.00")
    partly, rejected = report.outcome(DisputeOutcome.PARTLY_UPHELD), report.outcome(DisputeOutcome.REJECTED)
    assert (partly.count, partly.disputed, partly.upheld, partly.credited) == (
        1, Decimal("400.00"), Decimal("150.00"), Decimal("150.00"))
    assert (rejected.count, rejected.disputed, rejected.upheld, rejected.credited) == (
        1, Decimal("600.00"), Decimal("0.00"), Decimal("0.00"))
    assert report.outcome(DisputeOutcome.UPHELD).count == 0 == report.outcome(DisputeOutcome.WITHDRAWN).count
    total = report.resolved
    assert (total.count, total.disputed, total.upheld, total.credited) == (
        2, Decimal("1000.00"), Decimal("150.00"), Decimal("150.00"))
    took = report.time_to_resolve
    assert sorted(took.seconds) == [8 * H, 32 * H]
    assert (took.median_seconds, took.p90_seconds) == (20 * H, 32 * H)


def test_a_dispute_upheld_in_full_counts_its_disputed_amount_as_upheld(fortnight, users):
    report = escalation_report(users["admin"], dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    upheld = report.outcome(DisputeOutcome.UPHELD)
    assert (upheld.count, upheld.disputed, upheld.upheld, upheld.credited) == (
        1, Decimal("100.00"), Decimal("100.00"), Decimal("0.00"))
    assert report.filed == 0 and report.first_response.count == 0 and report.first_response.percent_met is None


def test_one_teams_report_counts_only_its_cases(fortnight, users):
    report = escalation_report(users["billing_agent"], SINCE, UNTIL, team_id=fortnight["team"].pk)
    assert report.filed == 2 and report.drafts == 1
    assert sorted(report.first_response.seconds) == [3.5 * H, 4 * H]
    assert (report.resolution.count, report.resolution.met, report.resolution.missed) == (1, 1, 0)
    assert report.disputes_opened == 1 and report.disputed_opened_amount == Decimal("400.00")
    assert report.resolved.count == 1 and report.resolved.credited == Decimal("150.00")


def test_the_csv_parts_hold_the_same_figures(fortnight, users):
    report = escalation_report(users["billing_agent"], SINCE, UNTIL)
    summary = {row["metric"]: row["value"] for row in csv.DictReader(io.StringIO(report_csv(report, "summary")))}
    assert summary["requests_filed"] == "3"
    assert summary["first_response_median_hours"] == "3.75"
    assert summary["first_response_percent_met"] == "75.0"
    assert summary["disputes_partly_upheld_upheld_cny"] == "150.00"
    assert summary["time_to_resolve_median_working_days"] == "2.2"
    requests = list(csv.DictReader(io.StringIO(report_csv(report, "requests"))))
    assert [(r["topic"], r["first_response_business_hours"]) for r in requests] == [
        ("billing", "0.50"), ("billing", "4.00"), ("subscription", "9.50"), ("billing", "3.50")]
    assert requests[1]["filed_at"] == "2026-10-09T16:00:00+08:00"
    disputes = list(csv.DictReader(io.StringIO(report_csv(report, "disputes"))))
    assert [(d["outcome"], d["disputed_cny"], d["credited_cny"], d["business_hours_to_resolve"]) for d in disputes] == [
        ("partly_upheld", "400.00", "150.00", "32.00"), ("rejected", "600.00", "", "8.00"), ("", "300.00", "", "")]
    with pytest.raises(InvalidInput) as refused:
        report_csv(report, "everything")
    assert refused.value.field == "part"


def test_who_may_read_it_and_bad_periods(fortnight, users):
    for role in ("collections", "customer_a"):
        with pytest.raises(PermissionDenied):
            escalation_report(users[role], SINCE, UNTIL)
    with pytest.raises(InvalidInput) as refused:
        escalation_report(users["admin"], UNTIL, SINCE)
    assert refused.value.field == "until"
    with pytest.raises(InvalidInput) as refused:
        escalation_report(users["admin"], SINCE, UNTIL, team_id=999999)
    assert refused.value.field == "team_id"


def test_the_api_answers_desk_reports_readers_only(fortnight, api_client, tokens):
    path = f"/escalations/reports?since={SINCE}&until={UNTIL}"
    body = api_client.as_(tokens["billing_agent"]).get(path).json()
    assert body["requests"]["filed"] == 3 and body["requests"]["attention_needed"] == 1
    assert body["requests"]["first_response"] == {"count": 4, "median_seconds": 13500, "p90_seconds": 34200,
                                                  "met": 3, "missed": 1, "percent_met": "75.0"}
    assert body["disputes"]["opened_amount"] == "1300.00"
    assert body["disputes"]["resolved"]["credited"] == "150.00"
    assert body["disputes"]["time_to_resolve"]["median_seconds"] == 72000
    for role in ("collections", "customer_a", "customer_b"):
        refused = api_client.as_(tokens[role]).get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    bad = api_client.as_(tokens["admin"]).get(f"/escalations/reports?since={SINCE}&until={UNTIL}&team_id=999999")
    assert bad.status_code == 422 and bad.json()["field"] == "team_id"
    csv_answer = api_client.as_(tokens["admin"]).get(path + "&format=csv&part=disputes")
    assert csv_answer["Content-Type"].startswith("text/csv")
    assert "partly_upheld,2026-10-09T10:00:00+08:00" in csv_answer.content.decode("utf-8-sig")


def test_the_page_shows_the_figures_as_money_and_numbers_in_the_readers_language(fortnight, users):
    from django.test import Client

    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(users["finance"])
    page = client.get("/support/reports/escalations/", {"since": SINCE, "until": UNTIL})
    assert page.status_code == 200
    text = page.content.decode()
    assert "升级与争议" in text and "<svg" in text and "<script" not in text
    assert "¥1,300.00" in text and "¥150.00" in text and "部分成立" in text and "已驳回" in text
    assert "75.0%" in text and "3.75" in text and "2.2" in text
    team = client.get("/support/reports/escalations/", {"since": SINCE, "until": UNTIL, "team": fortnight["team"].pk})
    assert "¥400.00" in team.content.decode() and "¥1,300.00" not in team.content.decode()


def test_severity_a_is_answered_around_the_clock_and_resolved_in_business_hours(users, customer_a, reading_time):
    load_year_from_package(2026, actor=None)
    case = support.open_case(customer=customer_a, subject="服务中断", description="无法登录", actor=None,
                             channel="phone", acknowledge=False, type="technical", severity="A")
    # Filed on the ordinary Saturday 17 October at 20:00, answered at 21:30, closed on Monday 19 at 10:00.
    ServiceRequest.objects.create(
        case=case, customer=customer_a, channel="api", topic="technical", severity="critical", title="Outage",
        description="Users cannot sign in", contact_name="王芳", contact_email="support@partner.example.cn",
        status="closed", filed_at=bj(10, 17, 20), first_response_at=bj(10, 17, 21, 30),
        first_response_due_at=bj(10, 17, 22), closed_at=bj(10, 19, 10), resolution_due_at=bj(10, 22, 9))
    report = escalation_report(users["admin"], SINCE, UNTIL)
    assert report.first_response.seconds == [1.5 * H] and report.first_response.met == 1
    assert report.resolution.seconds == [1 * H] and report.resolution.met == 1
    assert [(r.topic, r.severity, r.count) for r in report.by_topic] == [("technical", "critical", 1)]
