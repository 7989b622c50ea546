"""From hits to alerts: one alert (and one case) per incident, updated once a day while the signal keeps
firing; expected patterns keep the same pattern quiet; a closed incident does not reopen for the same hits."""

import datetime as dt

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.fraud import services
from partnerdesk.fraud.alerts import record_hits
from partnerdesk.fraud.models import Alert, ExpectedPattern, SignalRule
from partnerdesk.fraud.tests.conftest import AS_OF, spike
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.support.models import Case

pytestmark = pytest.mark.django_db

TOMORROW = AS_OF + dt.timedelta(days=1)


@pytest.fixture
def customer(db, fraud_team):
    return make_customer("杭州云启网络有限公司", contact={"name": "周敏", "email": "ap@yunqi.example.cn"})


def test_a_new_alert_opens_one_case_with_the_evidence(customer, fraud_team):
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    alert = Alert.objects.get()
    assert (alert.signal, alert.subject, alert.status, alert.verdict) == (
        "spend_spike", "meter:virtual-machines-d4", "open", "")
    assert (str(alert.score), str(alert.amount), alert.tripped) == ("9.40", "18250.00", "2026-11-23")
    assert (alert.first_seen_on, alert.last_seen_on, alert.times_seen) == (AS_OF, AS_OF, 1)
    assert alert.series[-1] == ["2026-11-23", "18560.00"] and alert.figures["baseline"] == "310.00"
    case = Case.objects.get()
    assert alert.case == case and case.customer == customer and case.team == fraud_team
    assert (case.type, case.channel, case.severity) == ("fraud_misuse", "internal", "B")
    assert customer.name in case.subject
    assert not OutboundEmail.objects.exists()  # internal: nobody is told of the case
    assert AuditEntry.objects.get(action="fraud_alert.opened").after["case"] == case.token


def test_a_signal_that_keeps_firing_updates_the_open_alert_once_per_day(customer):
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    assert record_hits([spike(customer, score="12.00")], as_of=AS_OF) == (0, 0)  # the same day: nothing
    alert = Alert.objects.get()
    assert (alert.times_seen, str(alert.score)) == (1, "9.40")

    later = spike(customer, day=TOMORROW, score="11.25", amount="20100.50", tripped="2026-11-24",
                  figures={"baseline": "312.00", "value": "20412.50"})
    assert record_hits([later], as_of=TOMORROW) == (0, 1)
    assert record_hits([later], as_of=TOMORROW) == (0, 0)
    alert.refresh_from_db()
    assert (alert.times_seen, alert.first_seen_on, alert.last_seen_on) == (2, AS_OF, TOMORROW)
    assert (str(alert.score), str(alert.amount), alert.tripped, alert.figures["value"]) == (
        "11.25", "20100.50", "2026-11-24", "20412.50")
    assert Alert.objects.count() == 1 and Case.objects.count() == 1
    # A computation for an earlier day does not move the alert back.
    assert record_hits([spike(customer)], as_of=AS_OF) == (0, 0)
    alert.refresh_from_db()
    assert (alert.times_seen, alert.last_seen_on) == (2, TOMORROW)


def test_each_incident_is_its_own_alert(customer):
    other = make_customer("南京远航贸易有限公司")
    hits = [spike(customer), spike(customer, subject="meter:gpu-nc6"),
            spike(customer, signal="new_region", subject="region:china-north-3", tripped=None),
            spike(other)]
    assert record_hits(hits, as_of=AS_OF) == (4, 0)
    assert Case.objects.count() == 4
    # The same hit twice in one batch is one incident.
    assert record_hits([spike(customer, subject="meter:x"), spike(customer, subject="meter:x", score="3")],
                       as_of=AS_OF) == (1, 0)


def test_an_expected_pattern_stops_the_same_pattern_alerting(customer, users):
    agent = users["collections"]
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    alert = Alert.objects.get()
    pattern = services.mark_expected(alert, actor=agent, reason="Month-end batch rendering, agreed with the customer")
    alert.refresh_from_db()
    assert (alert.status, alert.verdict, alert.closed_by) == ("expected", "false_alarm", agent)
    assert (pattern.customer, pattern.signal, pattern.subject, pattern.until, pattern.alert) == (
        customer, "spend_spike", "meter:virtual-machines-d4", AS_OF + dt.timedelta(days=services.EXPECTED_DAYS), alert)
    assert AuditEntry.objects.filter(action__in=["fraud_alert.expected", "fraud_pattern.added"]).count() == 2

    # Days later the same meter spikes again: no alert; another meter, or another signal, still alerts.
    day = AS_OF + dt.timedelta(days=5)
    new_spike = spike(customer, day=day, tripped=str(day))
    assert record_hits([new_spike], as_of=day) == (0, 0)
    assert record_hits([spike(customer, day=day, subject="meter:gpu-nc6", tripped=str(day))], as_of=day) == (1, 0)
    assert record_hits([spike(customer, signal="new_region", day=day, tripped=None)], as_of=day) == (1, 0)
    # Removed, the pattern alerts again.
    services.remove_expected_pattern(pattern, actor=agent, reason="the rendering project ended")
    assert not ExpectedPattern.objects.exists()
    assert record_hits([new_spike], as_of=day) == (1, 0)
    assert AuditEntry.objects.get(action="fraud_pattern.removed").reason == "the rendering project ended"


def test_an_expected_pattern_for_the_whole_signal_ends_on_its_day(customer, users):
    until = AS_OF + dt.timedelta(days=3)
    services.add_expected_pattern(customer, signal="spend_spike", until=until, actor=users["admin"],
                                  reason="Double-11 sale: traffic expected")
    assert record_hits([spike(customer, subject="meter:anything")], as_of=AS_OF) == (0, 0)
    assert record_hits([spike(customer, day=until)], as_of=until) == (0, 0)
    after = until + dt.timedelta(days=1)
    assert record_hits([spike(customer, day=after)], as_of=after) == (1, 0)


def test_a_dismissed_alert_does_not_reopen_for_the_same_spike(customer, users):
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    services.dismiss(Alert.objects.get(), actor=users["finance"], reason="Known migration project")
    # Tomorrow the detection still sees yesterday's spike in its window: the same point, the same incident.
    assert record_hits([spike(customer, day=TOMORROW)], as_of=TOMORROW) == (0, 0)
    # A new spike, on a later point, twice the money: a new incident.
    assert record_hits([spike(customer, day=TOMORROW, tripped="2026-11-25", amount="36500.00")],
                       as_of=TOMORROW) == (1, 0)
    assert Alert.objects.filter(status="open").count() == 1 and Case.objects.count() == 2


@pytest.mark.parametrize("close", ["dismiss", "clear", "mark_expected"])
def test_a_closed_incident_cools_down_for_30_days_unless_its_amount_doubles(customer, users, close):
    """Signals whose tripped day moves (unpaid growth trips on as_of, over_limit has none) do not reopen the next
    day: no new alert for COOL_DOWN_DAYS after the close, unless the amount reached twice the closed alert's."""
    from partnerdesk.fraud.alerts import COOL_DOWN_DAYS

    def growth(day, amount="8000.00"):
        return spike(customer, signal="unpaid_growth", subject="", day=day, tripped=str(day), amount=amount)

    assert record_hits([growth(AS_OF)], as_of=AS_OF) == (1, 0)
    extra = {"until": AS_OF} if close == "mark_expected" else {}  # (a pattern for today only: the cool-down after)
    getattr(services, close)(Alert.objects.get(), actor=users["finance"], reason="paid by bank transfer", **extra)
    for days in (1, 2, COOL_DOWN_DAYS - 1):
        day = AS_OF + dt.timedelta(days=days)
        assert record_hits([growth(day, amount="15999.99")], as_of=day) == (0, 0), days
    assert Alert.objects.count() == 1 and Case.objects.count() == 1
    # Twice the money: a new incident, within the cool-down.
    day = AS_OF + dt.timedelta(days=3)
    assert record_hits([growth(day, amount="16000.00")], as_of=day) == (1, 0)
    Alert.objects.filter(status="open").delete()
    # After the cool-down: the same amount alerts again.
    day = AS_OF + dt.timedelta(days=COOL_DOWN_DAYS + 1)
    assert record_hits([growth(day)], as_of=day) == (1, 0)


def test_removing_the_pattern_of_an_alert_marked_expected_ends_its_cool_down(customer, users):
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    pattern = services.mark_expected(Alert.objects.get(), actor=users["finance"], reason="render farm")
    assert record_hits([spike(customer, day=TOMORROW, tripped=str(TOMORROW))], as_of=TOMORROW) == (0, 0)
    services.remove_expected_pattern(pattern, actor=users["finance"], reason="the project ended")
    assert record_hits([spike(customer, day=TOMORROW, tripped=str(TOMORROW))], as_of=TOMORROW) == (1, 0)


def test_mark_expected_closes_and_adds_the_pattern_in_one_transaction(customer, users, monkeypatch):
    assert record_hits([spike(customer)], as_of=AS_OF) == (1, 0)
    alert = Alert.objects.get()

    def broken(*args, **kwargs):
        raise RuntimeError("the pattern could not be stored")

    monkeypatch.setattr(services, "add_expected_pattern", broken)
    with pytest.raises(RuntimeError):
        services.mark_expected(alert, actor=users["finance"], reason="render farm")
    alert.refresh_from_db()
    assert alert.status == "open" and not AuditEntry.objects.filter(action="fraud_alert.expected").exists()


def test_an_expected_pattern_ends_after_90_days_by_default(customer, users):
    pattern = services.add_expected_pattern(customer, signal="spend_spike", actor=users["admin"], reason="sale")
    assert pattern.until == AS_OF + dt.timedelta(days=90)
    end = pattern.until + dt.timedelta(days=1)
    assert record_hits([spike(customer, day=pattern.until)], as_of=pattern.until) == (0, 0)
    assert record_hits([spike(customer, day=end, tripped=str(end))], as_of=end) == (1, 0)


def test_a_hit_that_fails_is_logged_and_skipped_not_the_run(customer, caplog):
    from dataclasses import replace
    from decimal import Decimal

    other = make_customer("南京远航贸易有限公司")
    gone = replace(spike(customer, subject="meter:gone"), customer_id=10**9)  # no such customer
    huge = replace(spike(other, subject="meter:huge"), score=Decimal("1e15"))  # past numeric(12,2) on PostgreSQL
    assert record_hits([gone, huge, spike(customer)], as_of=AS_OF)[0] >= 1
    assert Alert.objects.filter(customer=customer, subject="meter:virtual-machines-d4").exists()
    assert "not recorded" in caplog.text


def test_a_signal_disabled_for_the_customer_does_not_alert(customer):
    SignalRule.objects.create(signal="spend_spike", customer=customer, enabled=False)
    assert record_hits([spike(customer)], as_of=AS_OF) == (0, 0)
    assert not Alert.objects.exists() and not Case.objects.exists()


def test_figures_a_signal_left_as_numbers_are_stored_as_text(customer):
    from decimal import Decimal

    hit = spike(customer, figures={"baseline": Decimal("310.00"), "day": dt.date(2026, 11, 23)},
                series=[[dt.date(2026, 11, 23), Decimal("18560.00")]])
    assert record_hits([hit], as_of=AS_OF) == (1, 0)
    alert = Alert.objects.get()
    assert alert.figures == {"baseline": "310.00", "day": "2026-11-23"}
    assert alert.series == [["2026-11-23", "18560.00"]]


def test_no_hits_nothing_to_do():
    assert record_hits([], as_of=AS_OF) == (0, 0)
