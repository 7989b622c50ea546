"""SLA clocks on real cases, through the services: China's calendar (a weekend, National Day, a make-up
working day), the clock paused while the case waits on the customer, each target with its own "met at",
severity A around the clock, and the breach warning and notice sent once each.

Expected times were worked out by hand (Beijing time) from the State Council's 2026 schedule."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerdesk.audit.models import AuditEntry
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.support import alerts, services
from partnerdesk.support.models import CaseStatus, SlaAlert, SlaClock, SlaTarget
from partnerdesk.workdays.services import load_year_from_package

pytestmark = pytest.mark.django_db
BJ = ZoneInfo("Asia/Shanghai")


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


@pytest.fixture(autouse=True)
def calendar_2026(db):
    load_year_from_package(2026, actor=None)


@pytest.fixture
def agent(django_user_model):
    return django_user_model.objects.create_user("agent-sla", email="agent@partner.example.cn", role="billing_agent")


def clock(case, target, sequence=1) -> SlaClock:
    return SlaClock.objects.get(case=case, target=target, sequence=sequence)


def open_at(when, customer, **kw):
    with time_machine.travel(when, tick=False):
        return services.open_case(customer=customer, subject="账单疑问", description="十月发票金额不对",
                                  actor=None, channel="phone", acknowledge=False, now=when, **kw)


def test_severity_c_over_national_day_and_a_make_up_saturday(customer_a, agent):
    # Wed 30 Sep 2026 15:00, C = 8 business hours: 3 h that day; 1-7 Oct off; 5 h on Thu 8 Oct.
    case = open_at(bj(2026, 9, 30, 15), customer_a, severity="C")
    assert clock(case, SlaTarget.FIRST_RESPONSE).deadline_at == bj(2026, 10, 8, 14)
    case.refresh_from_db()
    assert case.next_deadline_at == bj(2026, 10, 8, 14)  # the queue's sort key is the earliest deadline
    # Fri 9 Oct 15:00: 3 h that day; Sat 10 Oct is a make-up working day (调休): 5 h from 09:00 that Saturday.
    later = open_at(bj(2026, 10, 9, 15), customer_a, severity="C")
    assert clock(later, SlaTarget.FIRST_RESPONSE).deadline_at == bj(2026, 10, 10, 14)


def test_severity_b_across_a_weekend_with_the_clock_paused_while_waiting_on_the_customer(customer_a, agent):
    # Fri 20 Nov 16:00, B = 4 business hours: due Mon 23 Nov 11:00.
    case = open_at(bj(2026, 11, 20, 16), customer_a, severity="B")
    assert clock(case, SlaTarget.FIRST_RESPONSE).deadline_at == bj(2026, 11, 23, 11)
    # At 17:00 (1 h used) the agent asks the customer a question without answering: waiting on the customer.
    with time_machine.travel(bj(2026, 11, 20, 17), tick=False):
        services.change_status(case=case, status=CaseStatus.WAITING_CUSTOMER, actor=agent, now=bj(2026, 11, 20, 17))
    paused = clock(case, SlaTarget.FIRST_RESPONSE)
    assert paused.deadline_at is None and paused.running_since is None
    assert paused.elapsed == dt.timedelta(hours=1)
    case.refresh_from_db()
    assert case.next_deadline_at is None  # nothing is due while the customer has the ball
    # The customer answers on Tue 24 Nov 10:00: 3 h left, due 13:00 the same day (the weekend and Monday
    # spent waiting do not count).
    with time_machine.travel(bj(2026, 11, 24, 10), tick=False):
        services.customer_message(case=case, body="补充信息", channel="email", now=bj(2026, 11, 24, 10))
    resumed = clock(case, SlaTarget.FIRST_RESPONSE)
    assert resumed.deadline_at == bj(2026, 11, 24, 13)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    # The agent answers at 12:30: the first response is met, in time; resolution keeps running.
    with time_machine.travel(bj(2026, 11, 24, 12, 30), tick=False):
        services.reply(case=case, body="您好，已核实。", actor=agent, now=bj(2026, 11, 24, 12, 30))
    met = clock(case, SlaTarget.FIRST_RESPONSE)
    assert met.met_at == bj(2026, 11, 24, 12, 30) and met.breached_at is None and met.was_met_in_time
    assert clock(case, SlaTarget.RESOLUTION).met_at is None


def test_next_response_clock_per_customer_message_and_breach(customer_a, agent):
    case = open_at(bj(2026, 11, 23, 9), customer_a, severity="C")
    with time_machine.travel(bj(2026, 11, 23, 10), tick=False):
        services.reply(case=case, body="收到", actor=agent, now=bj(2026, 11, 23, 10))
    # The customer writes on Wed 25 Nov 17:00; C's next response is 9 business hours: Thu 26 Nov 17:00.
    with time_machine.travel(bj(2026, 11, 25, 17), tick=False):
        services.customer_message(case=case, body="还有一个问题", channel="portal", now=bj(2026, 11, 25, 17))
    nxt = clock(case, SlaTarget.NEXT_RESPONSE)
    assert nxt.deadline_at == bj(2026, 11, 26, 17)
    # Answered late, on Fri 27 Nov 09:30: met, but breached at the deadline.
    with time_machine.travel(bj(2026, 11, 27, 9, 30), tick=False):
        services.reply(case=case, body="回复", actor=agent, now=bj(2026, 11, 27, 9, 30))
    nxt.refresh_from_db()
    assert nxt.met_at == bj(2026, 11, 27, 9, 30)
    assert nxt.breached_at == bj(2026, 11, 26, 17) and nxt.was_met_in_time is False


def test_severity_a_runs_around_the_clock(customer_a, agent):
    # Sat 3 Oct 2026 (National Day) 23:30, technical, A = 2 hours around the clock: due Sun 4 Oct 01:30.
    case = open_at(bj(2026, 10, 3, 23, 30), customer_a, severity="A", type="technical")
    assert clock(case, SlaTarget.FIRST_RESPONSE).deadline_at == bj(2026, 10, 4, 1, 30)


def test_warning_and_breach_notices_are_sent_once_each(customer_a, agent):
    from partnerdesk.accounts.models import Team

    lead = type(agent).objects.create_user("lead-sla", email="lead@partner.example.cn", role="billing_agent")
    team = Team.objects.create(name="Billing", lead=lead)
    case = open_at(bj(2026, 11, 23, 9), customer_a, severity="B", team=team, assignee=agent)
    deadline = clock(case, SlaTarget.FIRST_RESPONSE).deadline_at
    assert deadline == bj(2026, 11, 23, 13)
    with time_machine.travel(bj(2026, 11, 23, 12), tick=False):
        assert alerts.send_sla_alerts(now=bj(2026, 11, 23, 12)) == {"warning": 0, "breach": 0}
    with time_machine.travel(bj(2026, 11, 23, 12, 40), tick=False):
        assert alerts.send_sla_alerts(now=bj(2026, 11, 23, 12, 40)) == {"warning": 1, "breach": 0}
        assert alerts.send_sla_alerts(now=bj(2026, 11, 23, 12, 45)) == {"warning": 0, "breach": 0}
    with time_machine.travel(bj(2026, 11, 23, 13, 5), tick=False):
        assert alerts.send_sla_alerts(now=bj(2026, 11, 23, 13, 5)) == {"warning": 0, "breach": 1}
        assert alerts.send_sla_alerts(now=bj(2026, 11, 23, 13, 10)) == {"warning": 0, "breach": 0}
    assert SlaAlert.objects.filter(clock__case=case).count() == 2
    sent = sorted(OutboundEmail.objects.filter(template_key__startswith="support.sla_")
                  .values_list("template_key", "to_address"))
    assert sent == [("support.sla_breach", "agent@partner.example.cn"), ("support.sla_breach", "lead@partner.example.cn"),
                    ("support.sla_warning", "agent@partner.example.cn"), ("support.sla_warning", "lead@partner.example.cn")]
    assert AuditEntry.objects.filter(action="case.sla_breach", object_id=str(case.pk)).count() == 1
    breached = clock(case, SlaTarget.FIRST_RESPONSE)
    assert breached.breached_at == deadline and breached.breach_notified_at is not None


def test_the_timers_command_sends_each_notice_once(customer_a, agent, capsys):
    from django.core.management import call_command

    open_at(bj(2026, 11, 23, 9), customer_a, severity="B", assignee=agent)
    with time_machine.travel(bj(2026, 11, 23, 14), tick=False):
        call_command("support", "timers")
        call_command("support", "timers")
    out = capsys.readouterr().out.splitlines()
    assert "sla breaches 1" in out[0] and "sla breaches 0" in out[1]
    assert OutboundEmail.objects.filter(template_key="support.sla_breach", to_address=agent.email).count() == 1


def test_a_business_hours_deadline_after_the_weekend_is_warned_of_on_friday_evening(customer_a, agent):
    # B opened Fri 27 Nov 14:10: 3 h 50 that day, 10 min on Monday: due Mon 30 Nov 09:10.
    case = open_at(bj(2026, 11, 27, 14, 10), customer_a, severity="B", assignee=agent)
    assert clock(case, SlaTarget.FIRST_RESPONSE).deadline_at == bj(2026, 11, 30, 9, 10)
    # Fri 17:55: 15 business minutes left (5 today, 10 on Monday), within the 30-minute warning, although
    # the deadline is more than two days away on the wall clock: warned now, as the queue shows it.
    with time_machine.travel(bj(2026, 11, 27, 17, 55), tick=False):
        assert alerts.send_sla_alerts(now=bj(2026, 11, 27, 17, 55)) == {"warning": 1, "breach": 0}
