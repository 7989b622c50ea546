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
        customer, "spend_spike", "meter:virtual-machines-d4", None, alert)
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
    # A new spike, on a later point, is a new incident.
    assert record_hits([spike(customer, day=TOMORROW, tripped="2026-11-25")], as_of=TOMORROW) == (1, 0)
    assert Alert.objects.filter(status="open").count() == 1 and Case.objects.count() == 2


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
