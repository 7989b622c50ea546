"""Each signal on hand-made series: what trips it, what does not, and what its hit says."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from partnerdesk.billing.models import Payment
from partnerdesk.conftest import make_customer, make_invoice
from partnerdesk.fraud import explain
from partnerdesk.fraud.detection import compute_hits, run_detection
from partnerdesk.fraud.models import DetectionRun, SignalKind, SignalRule
from partnerdesk.fraud.rules import DEFAULTS, rule_for
from partnerdesk.fraud.signals import spike_days
from partnerdesk.rebilling.models import FileKind
from partnerdesk.rebilling.signals import file_imported
from partnerdesk.rebilling.tests.recon_factory import line, recon_file, subscription

AS_OF = dt.date(2026, 11, 23)  # a Monday
ZONE = timezone.get_default_timezone()


def _days(n: int, end: dt.date = AS_OF) -> list[dt.date]:
    return [end - dt.timedelta(days=n - 1 - i) for i in range(n)]


def _weekly(days, weekday_fen=100_000, weekend_fen=30_000):
    """A business customer: 1,000 CNY on weekdays, 300 at weekends, with a small deterministic wobble."""
    return [(weekend_fen if d.weekday() >= 5 else weekday_fen) + (i * 7919 % 11 - 5) * 500 for i, d in enumerate(days)]


# --- the spike, as a pure function -------------------------------------------------------------------------------


def test_a_normal_week_is_no_spike_and_a_weekend_day_at_weekday_level_is():
    days = _days(63)
    values = _weekly(days)
    assert spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)[1] == []
    saturday = days.index(dt.date(2026, 11, 21))
    values[saturday] = 100_000  # a weekday's spend on a Saturday: 700 CNY above the 300 expected
    base, found = spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)
    assert [d.day for d in found] == [dt.date(2026, 11, 21)]
    assert 25_000 <= found[0].expected <= 35_000 and found[0].above >= 65_000 and found[0].score >= 5
    assert base.weekday[5] < 0.4 < base.weekday[2]


def test_the_same_amount_on_a_weekday_is_normal():
    days = _days(63)
    values = _weekly(days)
    values[days.index(dt.date(2026, 11, 18))] = 104_000  # a Wednesday, 1,040 CNY
    assert spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)[1] == []


def test_an_outlier_in_the_baseline_does_not_hide_a_spike():
    days = _days(63)
    values = _weekly(days)
    values[10] = 2_000_000  # one day of 20,000 CNY weeks ago
    values[-2] = 600_000
    found = spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)[1]
    assert [d.day for d in found] == [days[-2]]


def test_a_tiny_customer_does_not_alert_below_the_floor():
    days = _days(63)
    values = [1_000] * 63  # 10 CNY a day
    values[-1] = 40_000  # 400 CNY: forty times its normal, yet under the 500 CNY floor
    base, found = spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)
    assert found == []
    assert spike_days(values, days, lookback=7, min_score=5, min_amount=30_000)[1][0].score > 5


def test_a_month_end_bump_the_baseline_shows_is_not_a_spike():
    end = dt.date(2026, 11, 30)
    days = _days(63, end)
    values = [200_000 if d.day >= 29 else 100_000 for d in days]  # twice the spend on the month's last two days
    assert spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)[1] == []
    values[-4] = 200_000  # the 27th is no month end
    assert [d.day for d in spike_days(values, days, lookback=7, min_score=5, min_amount=50_000)[1]] == [days[-4]]


def test_too_little_history_has_no_baseline():
    days = _days(20)
    assert spike_days([100_000] * 20, days, lookback=7, min_score=5, min_amount=1) == (None, [])


# --- signals over the database -----------------------------------------------------------------------------------


def _usage(customer, amounts: dict, *, region="China East 2", meter="meter-a", file=None):
    file = file or recon_file(FileKind.USAGE)
    for day, charges in amounts.items():
        line(file, charges=str(charges), usage_date=day, customer=customer, region=region, product=meter)
    return file


def _created(customer, day: dt.date):
    customer.created_at = dt.datetime.combine(day, dt.time(10), ZONE)
    customer.save(update_fields=["created_at"])


def _paid(customer, day=dt.date(2026, 9, 1)):
    Payment.objects.create(customer=customer, amount=Decimal("100.00"), received_on=day, method="bank_transfer")


def _hits(signal, **kwargs):
    return [h for h in compute_hits(AS_OF, limits=False, **kwargs) if h.signal == signal]


@pytest.mark.django_db
def test_a_spike_in_the_database_becomes_a_hit_with_figures_and_the_chart():
    customer = make_customer("Spike Co")
    _created(customer, dt.date(2026, 1, 5))
    _paid(customer)
    days = _days(63)
    amounts = {d: Decimal(v).scaleb(-2) for d, v in zip(days, _weekly(days), strict=True)}
    amounts[dt.date(2026, 11, 20)] = Decimal("6000.00")
    _usage(customer, amounts)
    hits = compute_hits(AS_OF, limits=False)
    assert [(h.signal, h.day) for h in hits] == [(SignalKind.SPEND_SPIKE, dt.date(2026, 11, 20))]
    hit = hits[0]
    assert hit.tripped == "2026-11-20" and hit.subject == "" and hit.amount > Decimal("4900")
    assert hit.figures["spend"] == "6000.00" and hit.figures["days_tripped"] == 1
    assert ["2026-11-20", "6000.00"] in hit.series and hit.series[-1][0] == "2026-11-23"
    with translation.override("en"):
        text = explain.explain(hit.signal, hit.figures)
    assert "20 Nov 2026" in text and "¥6,000.00" in text and hit.figures["expected"] in text.replace(",", "").replace(
        "¥", "")


@pytest.mark.django_db
def test_a_customer_rule_raises_the_floor_and_can_switch_a_signal_off():
    customer = make_customer("Spike Co")
    _paid(customer)
    days = _days(63)
    amounts = {d: Decimal(v).scaleb(-2) for d, v in zip(days, _weekly(days), strict=True)}
    amounts[dt.date(2026, 11, 20)] = Decimal("6000.00")
    _usage(customer, amounts)
    SignalRule.objects.create(signal=SignalKind.SPEND_SPIKE, customer=customer, min_amount=Decimal("8000.00"))
    assert rule_for(SignalKind.SPEND_SPIKE, customer.pk).min_amount == Decimal("8000.00")
    assert rule_for(SignalKind.SPEND_SPIKE, customer.pk).min_score == DEFAULTS[SignalKind.SPEND_SPIKE].min_score
    assert _hits(SignalKind.SPEND_SPIKE) == []
    SignalRule.objects.filter(customer=customer).update(min_amount=None)
    assert len(_hits(SignalKind.SPEND_SPIKE)) == 1
    SignalRule.objects.create(signal=SignalKind.SPEND_SPIKE, enabled=False)  # the default row: customer's wins
    assert len(_hits(SignalKind.SPEND_SPIKE)) == 1
    SignalRule.objects.filter(customer=customer).delete()
    assert _hits(SignalKind.SPEND_SPIKE) == []


@pytest.mark.django_db
def test_usage_before_the_first_payment():
    customer = make_customer("Never Paid")
    _created(customer, dt.date(2026, 6, 1))
    _usage(customer, {d: Decimal("200.00") for d in _days(40)})
    hits = _hits(SignalKind.USAGE_BEFORE_PAYMENT)
    assert len(hits) == 1 and hits[0].amount == Decimal("8000.00") and hits[0].score == Decimal("1.60")
    assert hits[0].day == AS_OF - dt.timedelta(days=40 - 25)  # the 25th day of 200 CNY reached 5,000
    with translation.override("en"):
        assert "¥8,000.00" in explain.explain(hits[0].signal, hits[0].figures)
    Payment.objects.create(customer=customer, amount=Decimal("10.00"), received_on=dt.date(2026, 11, 1),
                           method="bank_transfer")
    assert _hits(SignalKind.USAGE_BEFORE_PAYMENT) == []


@pytest.mark.django_db
def test_a_new_customer_with_high_spend_and_an_old_one_with_the_same():
    new, old = make_customer("New Co"), make_customer("Old Co")
    _created(new, AS_OF - dt.timedelta(days=12))
    _created(old, dt.date(2025, 1, 1))
    _paid(new, AS_OF - dt.timedelta(days=5))
    _paid(old)
    file = _usage(new, {d: Decimal("1500.00") for d in _days(10)})
    _usage(old, {d: Decimal("1500.00") for d in _days(10)}, file=file)
    hits = _hits(SignalKind.NEW_CUSTOMER_HIGH_SPEND)
    assert [h.customer_id for h in hits] == [new.pk]
    assert hits[0].amount == Decimal("15000.00") and hits[0].figures["age_days"] == 12
    assert hits[0].day == AS_OF - dt.timedelta(days=3)  # the 7th day of 1,500 CNY reached 10,000


@pytest.mark.django_db
def test_a_growing_unpaid_balance_with_growing_usage():
    customer = make_customer("Owes More")
    _paid(customer)
    make_invoice(customer, "3000.00", issue_date=dt.date(2026, 10, 1))
    make_invoice(customer, "8000.00", issue_date=dt.date(2026, 11, 10))
    before = {d: Decimal("100.00") for d in _days(30, AS_OF - dt.timedelta(days=30))}
    _usage(customer, {**before, **{d: Decimal("250.00") for d in _days(30)}})
    hits = _hits(SignalKind.UNPAID_GROWTH)
    # (the 100 CNY paid earlier went to the first invoice)
    assert len(hits) == 1 and hits[0].score == Decimal("2.50") and hits[0].amount == Decimal("10900.00")
    assert hits[0].figures["balance_before"] == "2900.00" and hits[0].figures["growth"] == "8000.00"
    with translation.override("en"):
        assert "¥2,900.00" in explain.explain(hits[0].signal, hits[0].figures)


@pytest.mark.django_db
def test_flat_usage_with_a_growing_balance_is_no_unpaid_growth():
    customer = make_customer("Owes More")
    make_invoice(customer, "3000.00", issue_date=dt.date(2026, 10, 1))
    make_invoice(customer, "8000.00", issue_date=dt.date(2026, 11, 10))
    _usage(customer, {d: Decimal("100.00") for d in _days(60)})
    assert _hits(SignalKind.UNPAID_GROWTH) == []


@pytest.mark.django_db
def test_a_burst_of_new_subscriptions_and_of_seats():
    customer, calm = make_customer("Burst Co"), make_customer("Calm Co")
    for n in range(6):
        subscription(customer, first_seen_at=dt.datetime.combine(AS_OF - dt.timedelta(days=n % 3), dt.time(9), ZONE),
                     quantity=2, unit_price=Decimal("100.00"))
    for n in range(4):
        subscription(calm, first_seen_at=dt.datetime.combine(AS_OF - dt.timedelta(days=n), dt.time(9), ZONE))
    file = recon_file(FileKind.LICENSE)
    line(file, charges="5000.00", quantity="60", customer=calm, charge_type="Prorate fees when purchase",
         charge_start=AS_OF - dt.timedelta(days=2), charge_end=AS_OF + dt.timedelta(days=7))
    hits = sorted(_hits(SignalKind.SUBSCRIPTION_BURST), key=lambda h: h.subject)
    assert [(h.customer_id, h.subject) for h in hits] == [(calm.pk, "seats"), (customer.pk, "subscriptions")]
    seats, subs = hits
    assert seats.figures["count"] == 60 and seats.amount == Decimal("5000.00")
    assert subs.figures["count"] == 6 and subs.amount == Decimal("1200.00") and subs.day == AS_OF  # the 5th
    with translation.override("en"):
        assert explain.explain(subs.signal, subs.figures).startswith("6 new subscriptions")
        assert explain.explain(seats.signal, seats.figures).startswith("60 seats were added")


@pytest.mark.django_db
def test_usage_in_a_new_region_and_a_new_meter():
    customer = make_customer("Roams Co")
    _paid(customer)
    file = _usage(customer, {d: Decimal("500.00") for d in _days(50)})
    _usage(customer, {d: Decimal("2000.00") for d in _days(3)}, region="China North 3", meter="meter-n", file=file)
    _usage(customer, {d: Decimal("900.00") for d in _days(2)}, meter="meter-b", file=file)
    _usage(customer, {d: Decimal("5.00") for d in _days(2)}, meter="meter-c", file=file)  # too small to matter
    hits = sorted(_hits(SignalKind.NEW_REGION), key=lambda h: h.subject)
    assert [h.subject for h in hits] == ["meter:meter-b", "region:China North 3"]
    meter, region = hits
    assert region.amount == Decimal("6000.00") and region.day == AS_OF - dt.timedelta(days=2)
    assert region.score == Decimal("4.00") and region.figures["known_regions"] == ["China East 2"]
    assert meter.amount == Decimal("1800.00")
    with translation.override("en"):
        assert "China North 3" in explain.explain(region.signal, region.figures)
    with translation.override("zh-hans"):
        assert "2026年11月21日" in explain.explain(region.signal, region.figures)


@pytest.mark.django_db
def test_a_customer_without_history_has_no_new_region():
    customer = make_customer("Fresh Co")
    _usage(customer, {d: Decimal("2000.00") for d in _days(3)}, region="China North 3")
    assert _hits(SignalKind.NEW_REGION) == []


def test_every_signal_has_an_explanation_even_without_figures():
    with translation.override("en"):
        for signal in SignalKind.values:
            assert explain.explain(signal, {}).strip()
        text = explain.explain(SignalKind.OVER_LIMIT, {"kind": "credit_limit", "limit": "10000.00", "used": "12000.5",
                                                       "over": "2000.5", "percent": 120, "balance": "9000.00",
                                                       "unbilled": "3000.50"})
    assert "¥12,000.50" in text and "120%" in text and "¥10,000.00" in text
    with translation.override("en"):
        budget = explain.explain(SignalKind.OVER_LIMIT, {"kind": "budget", "limit": "500", "used": "600", "over": "100",
                                                         "percent": 120, "month": "2026-11-01", "subscription": "VM"})
    assert "in the month of November 2026 is" in budget and "VM" in budget


def test_explanations_name_a_budgets_month_the_spikes_window_and_join_chinese_sentences_without_a_space():
    budget = {"kind": "budget", "limit": "500", "used": "600", "over": "100", "percent": 120, "month": "2026-11-01"}
    with translation.override("zh-hans"):
        assert "2026年11月" in explain.explain(SignalKind.OVER_LIMIT, budget)
        assert "2026年11月1日" not in explain.explain(SignalKind.OVER_LIMIT, budget)
    spike = {"day": "2026-11-23", "spend": "900", "expected": "100", "above": "800", "score": "9",
             "baseline_days": 56, "days_tripped": 3, "window_days": 14, "min_score": "6", "min_amount": "500"}
    with translation.override("en"):
        text = explain.explain(SignalKind.SPEND_SPIKE, spike)
    assert text.endswith(". 3 days of the last 14 days were as far above normal.")
    with translation.override("zh-hans"):
        text = explain.explain(SignalKind.SPEND_SPIKE, spike)
    assert "。 " not in text and "一周" not in text


@pytest.mark.django_db
def test_money_is_summed_to_the_fen_exactly_on_every_database():
    from partnerdesk.fraud import series

    # 40 large charges whose float sum on SQLite drifts by a fen
    values = ["421209726422.70", "923912851287.87", "535870874762.98", "589348277886.30", "795849508898.05",
              "147392586909.21", "235239822925.34", "369332599349.76", "926590743117.32", "371948199276.43",
              "319316832136.30", "858292577100.91", "541681686612.17", "609081285336.98", "353635175983.05",
              "80055740422.48", "163298724335.16", "127018195045.78", "862516357013.48", "628394441488.70",
              "620436135251.10", "297147642545.46", "326948367184.72", "504002157567.35", "864751126268.05",
              "326677784370.01", "738075129925.01", "452365342101.14", "975210767201.05", "263800124296.75",
              "178901898741.14", "183325264209.87", "173835584086.95", "116298478262.55", "887387951462.69",
              "902553246745.37", "278241036963.91", "346646126444.12", "714856269125.40", "26939971327.01"]
    rows = " UNION ALL ".join(f"SELECT CAST({v} AS DECIMAL(18, 2)) AS x" for v in values)
    [(fen,)] = series._fetch(f"SELECT {series._fen_sum('x')} FROM ({rows}) AS t", [])
    assert fen == int(sum(Decimal(v) for v in values) * 100) == 1903838661039062


# --- runs, the task after an import, the command -----------------------------------------------------------------


@pytest.mark.django_db
def test_run_detection_keeps_a_record_of_the_run():
    customer = make_customer("Never Paid")
    _usage(customer, {d: Decimal("300.00") for d in _days(30)})
    run = run_detection(as_of=AS_OF, trigger="daily")
    run.refresh_from_db()
    assert (run.day, run.trigger, run.customers) == (AS_OF, "daily", 1)
    assert run.hits >= 1 and run.finished_at is not None and run.seconds is not None


@pytest.mark.django_db
def test_an_imported_file_has_its_customers_checked_after_commit(django_capture_on_commit_callbacks):
    customer, other = make_customer("Imported Co"), make_customer("Other Co")
    file = _usage(customer, {d: Decimal("300.00") for d in _days(30)})
    _usage(other, {d: Decimal("300.00") for d in _days(30)})
    with django_capture_on_commit_callbacks(execute=True):
        file_imported.send(sender=type(file), file=file, actor=None)
    run = DetectionRun.objects.get()
    assert (run.trigger, run.customers, run.day) == ("import", 1, timezone.localdate())


@pytest.mark.django_db
def test_the_command_runs_detection_and_refuses_a_bad_date(capsys):
    call_command("fraud", "run", "--as-of", "2026-11-23")
    assert "2026-11-23: 0 customers, 0 hits" in capsys.readouterr().out
    assert DetectionRun.objects.get().trigger == "manual"
    with pytest.raises(CommandError, match="not a date"):
        call_command("fraud", "run", "--as-of", "23/11/2026")
