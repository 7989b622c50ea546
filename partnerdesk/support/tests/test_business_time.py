"""SLA arithmetic on China's 2026 calendar: weekends, holidays, make-up working days (调休), pauses.

Every expected deadline below was worked out by hand from the State Council's 2026 schedule and is written
in Beijing time (UTC+8, no daylight saving); the functions answer in UTC, so each is compared as an instant.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from partnerdesk.support import business_time
from partnerdesk.support.business_time import (
    AROUND_THE_CLOCK,
    OFFICE_HOURS,
    Schedule,
    add_business_time,
    business_time_between,
    business_time_in_spans,
    deadline_after_pauses,
    remaining,
)
from partnerdesk.workdays.services import load_year_from_package, set_year

pytestmark = pytest.mark.django_db

BJ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
H = dt.timedelta(hours=1)
SEVERITY_A, SEVERITY_B, SEVERITY_C = 2 * H, 4 * H, 8 * H

# The State Council's 2026 schedule (国办发明电〔2025〕号): the holidays that fall on weekdays, and the
# weekend days that are worked instead.
HOLIDAYS_2026 = [
    "2026-01-01", "2026-01-02",
    "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
    "2026-04-06",
    "2026-05-01", "2026-05-04", "2026-05-05",
    "2026-06-19",
    "2026-09-25",
    "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
]
MAKE_UP_DAYS_2026 = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


def bj(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BJ)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(params=["loaded by an admin", "holidays package"])
def calendar_2026(request):
    """2026 as an admin stores it from the published notice, or straight from the package: same answers."""
    if request.param == "loaded by an admin":
        days = [(d, "holiday", "假日") for d in HOLIDAYS_2026] + [(d, "workday", "调休上班") for d in MAKE_UP_DAYS_2026]
        set_year(2026, days, actor=None, confirmed=True, note="2026 schedule")
    else:
        load_year_from_package(2026, actor=None)


def assert_instant(actual: dt.datetime, expected: dt.datetime):
    assert actual.tzinfo is not None and actual.utcoffset() == dt.timedelta(0), "deadlines come back in UTC"
    assert actual == expected, f"{actual.astimezone(BJ)} != {expected.astimezone(BJ)}"


# --- deadlines --------------------------------------------------------------------------------------------


def test_severity_b_across_a_weekend(calendar_2026):
    # Fri 20 Nov 16:00: 2 h on Friday, the weekend does not count, 2 h on Monday.
    deadline = add_business_time(bj(2026, 11, 20, 16), SEVERITY_B, OFFICE_HOURS)
    assert_instant(deadline, bj(2026, 11, 23, 11))
    assert deadline == utc(2026, 11, 23, 3)


def test_severity_c_across_national_day(calendar_2026):
    # Wed 30 Sep 14:00: 4 h that day, 1-7 Oct off (golden week), 4 h on Thu 8 Oct.
    assert_instant(add_business_time(bj(2026, 9, 30, 14), SEVERITY_C, OFFICE_HOURS), bj(2026, 10, 8, 13))


def test_make_up_working_days_count(calendar_2026):
    # Fri 18 Sep 15:00: 3 h on Friday, Saturday off, Sun 20 Sep is worked (调休) for the remaining 5 h.
    assert_instant(add_business_time(bj(2026, 9, 18, 15), SEVERITY_C, OFFICE_HOURS), bj(2026, 9, 20, 14))
    # Fri 9 Oct 16:00: 2 h on Friday, Sat 10 Oct is worked for the other 2 h.
    assert_instant(add_business_time(bj(2026, 10, 9, 16), SEVERITY_B, OFFICE_HOURS), bj(2026, 10, 10, 11))


def test_spring_festival(calendar_2026):
    # Fri 13 Feb 17:00: 1 h, then Sat 14 Feb is worked: 7 h from 09:00.
    assert_instant(add_business_time(bj(2026, 2, 13, 17), SEVERITY_C, OFFICE_HOURS), bj(2026, 2, 14, 16))
    # Sat 14 Feb 17:00 (worked): 1 h, then 15-23 Feb off, 3 h on Tue 24 Feb.
    assert_instant(add_business_time(bj(2026, 2, 14, 17), SEVERITY_B, OFFICE_HOURS), bj(2026, 2, 24, 12))


def test_a_start_outside_hours_begins_at_the_next_opening(calendar_2026):
    assert_instant(add_business_time(bj(2026, 11, 23, 7, 30), SEVERITY_B, OFFICE_HOURS), bj(2026, 11, 23, 13))
    assert_instant(add_business_time(bj(2026, 11, 24, 20), SEVERITY_C, OFFICE_HOURS), bj(2026, 11, 25, 17))
    assert_instant(add_business_time(bj(2026, 11, 20, 18), SEVERITY_B, OFFICE_HOURS), bj(2026, 11, 23, 13))
    assert_instant(add_business_time(bj(2026, 10, 3, 10), SEVERITY_B, OFFICE_HOURS), bj(2026, 10, 8, 13))
    # Ending exactly at closing time stays on that day.
    assert_instant(add_business_time(bj(2026, 11, 23, 10), SEVERITY_C, OFFICE_HOURS), bj(2026, 11, 23, 18))


def test_starts_given_in_utc(calendar_2026):
    # 17:00 UTC on Friday is 01:00 on Saturday in Beijing: the clock starts on Monday.
    assert add_business_time(utc(2026, 11, 20, 17), SEVERITY_B, OFFICE_HOURS) == utc(2026, 11, 23, 5)
    # 09:30 UTC on Friday is 17:30 in Beijing: half an hour on Friday, 3.5 h on Monday.
    assert add_business_time(utc(2026, 11, 20, 9, 30), SEVERITY_B, OFFICE_HOURS) == utc(2026, 11, 23, 4, 30)
    # 23:00 UTC on Sunday 22 Nov is 07:00 on Monday in Beijing.
    assert add_business_time(utc(2026, 11, 22, 23), SEVERITY_B, OFFICE_HOURS) == utc(2026, 11, 23, 5)
    other_zone = dt.timezone(dt.timedelta(hours=-5))
    assert add_business_time(dt.datetime(2026, 11, 22, 20, tzinfo=other_zone), SEVERITY_B, OFFICE_HOURS) \
        == utc(2026, 11, 23, 5)


def test_severity_a_runs_around_the_clock(calendar_2026):
    # Sat 3 Oct 23:30, a public holiday at night: two hours later is 01:30 on Sunday.
    assert_instant(add_business_time(bj(2026, 10, 3, 23, 30), SEVERITY_A, AROUND_THE_CLOCK), bj(2026, 10, 4, 1, 30))
    assert add_business_time(utc(2026, 10, 3, 15, 30), SEVERITY_A, AROUND_THE_CLOCK) == utc(2026, 10, 3, 17, 30)
    assert business_time_between(bj(2026, 10, 3, 23), bj(2026, 10, 4, 2), AROUND_THE_CLOCK) == 3 * H


# --- pauses -----------------------------------------------------------------------------------------------


def test_the_clock_pauses_while_waiting_on_the_customer(calendar_2026):
    started = bj(2026, 11, 23, 10)
    assert_instant(deadline_after_pauses(started, SEVERITY_C, [], OFFICE_HOURS), bj(2026, 11, 23, 18))
    # Waiting on the customer from Mon 14:00 until the reply on Tue 11:00: 4 h before, 4 h after.
    pauses = [(bj(2026, 11, 23, 14), bj(2026, 11, 24, 11))]
    assert_instant(deadline_after_pauses(started, SEVERITY_C, pauses, OFFICE_HOURS), bj(2026, 11, 24, 15))
    # Still waiting: no deadline.
    assert deadline_after_pauses(started, SEVERITY_C, [(bj(2026, 11, 23, 14), None)], OFFICE_HOURS) is None


def test_a_pause_over_a_make_up_day_does_not_spend_it(calendar_2026):
    # Fri 18 Sep 15:00, 8 h; paused Fri 16:00 until Mon 21 Sep 10:00: the worked Sunday passes while paused.
    started, pauses = bj(2026, 9, 18, 15), [(bj(2026, 9, 18, 16), bj(2026, 9, 21, 10))]
    assert_instant(deadline_after_pauses(started, SEVERITY_C, pauses, OFFICE_HOURS), bj(2026, 9, 21, 17))


def test_several_pauses_overlapping_or_before_the_start(calendar_2026):
    started = bj(2026, 11, 23, 10)
    pauses = [
        (bj(2026, 11, 20, 9), bj(2026, 11, 20, 12)),  # before the case began: ignored
        (bj(2026, 11, 23, 12), bj(2026, 11, 23, 13)),
        (bj(2026, 11, 23, 12, 30), bj(2026, 11, 23, 14)),  # overlaps the one before
        (bj(2026, 11, 23, 16), bj(2026, 11, 23, 17)),
    ]
    # B: 10-12 (2 h), paused 12-14, 14-16 (2 h): spent when the second pause begins, at 16:00.
    assert_instant(deadline_after_pauses(started, SEVERITY_B, pauses, OFFICE_HOURS), bj(2026, 11, 23, 16))
    # C: 10-12, 14-16, 17-18 (5 h), then 3 h on Tuesday.
    assert_instant(deadline_after_pauses(started, SEVERITY_C, pauses, OFFICE_HOURS), bj(2026, 11, 24, 12))


def test_a_target_breached_before_the_pause_keeps_its_deadline(calendar_2026):
    started = bj(2026, 11, 23, 10)
    pauses = [(bj(2026, 11, 23, 15), None)]  # paused at 15:00, an hour after the 4 h target ran out
    assert_instant(deadline_after_pauses(started, SEVERITY_B, pauses, OFFICE_HOURS), bj(2026, 11, 23, 14))


def test_severity_a_pauses(calendar_2026):
    started = bj(2026, 10, 3, 23, 30)
    pauses = [(bj(2026, 10, 4, 0), bj(2026, 10, 4, 0, 30))]
    assert_instant(deadline_after_pauses(started, SEVERITY_A, pauses, AROUND_THE_CLOCK), bj(2026, 10, 4, 2))
    assert deadline_after_pauses(started, SEVERITY_A, [(bj(2026, 10, 4, 0), None)], AROUND_THE_CLOCK) is None


# --- elapsed and remaining --------------------------------------------------------------------------------


def test_business_time_between_and_in_spans(calendar_2026):
    assert business_time_between(bj(2026, 9, 30, 14), bj(2026, 10, 8, 13), OFFICE_HOURS) == 8 * H
    assert business_time_between(bj(2026, 10, 8, 13), bj(2026, 9, 30, 14), OFFICE_HOURS) == dt.timedelta(0)
    assert business_time_between(bj(2026, 9, 19, 8), bj(2026, 9, 20, 23), OFFICE_HOURS) == 9 * H  # Sunday worked
    assert business_time_between(bj(2026, 10, 1, 9), bj(2026, 10, 7, 18), OFFICE_HOURS) == dt.timedelta(0)
    # The same moments given in UTC.
    assert business_time_between(utc(2026, 9, 30, 6), utc(2026, 10, 8, 5), OFFICE_HOURS) == 8 * H
    spans = [(bj(2026, 11, 23, 10), bj(2026, 11, 23, 14)), (bj(2026, 11, 24, 11), bj(2026, 11, 24, 15))]
    assert business_time_in_spans(spans, OFFICE_HOURS) == 8 * H
    overlapping = [(bj(2026, 11, 23, 10), bj(2026, 11, 23, 14)), (bj(2026, 11, 23, 12), bj(2026, 11, 23, 16))]
    assert business_time_in_spans(overlapping, OFFICE_HOURS) == 6 * H
    assert business_time_in_spans([], OFFICE_HOURS) == dt.timedelta(0)


def test_remaining_is_business_time_and_negative_once_breached(calendar_2026):
    deadline = add_business_time(bj(2026, 9, 30, 14), SEVERITY_C, OFFICE_HOURS)  # Thu 8 Oct 13:00
    assert remaining(deadline, bj(2026, 9, 30, 17), OFFICE_HOURS) == 5 * H
    assert remaining(deadline, bj(2026, 10, 3, 12), OFFICE_HOURS) == 4 * H  # the holiday does not count down
    assert remaining(deadline, bj(2026, 10, 8, 15), OFFICE_HOURS) == -2 * H
    assert remaining(deadline, deadline, OFFICE_HOURS) == dt.timedelta(0)
    a_deadline = add_business_time(bj(2026, 10, 3, 23, 30), SEVERITY_A, AROUND_THE_CLOCK)
    assert remaining(a_deadline, bj(2026, 10, 4, 2), AROUND_THE_CLOCK) == -dt.timedelta(minutes=30)


# --- limits -----------------------------------------------------------------------------------------------


def test_it_steps_a_day_at_a_time(calendar_2026, monkeypatch):
    asked = []

    def counting(day):
        asked.append(day)
        return real(day)

    real = business_time.is_working_day
    monkeypatch.setattr(business_time, "is_working_day", counting)
    add_business_time(bj(2026, 11, 20, 16), SEVERITY_C, OFFICE_HOURS)
    assert asked == [dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22), dt.date(2026, 11, 23)]


def test_far_deadlines_and_bad_input_are_refused(calendar_2026):
    with pytest.raises(ValueError):
        add_business_time(bj(2026, 11, 23, 10), dt.timedelta(hours=30_000), OFFICE_HOURS)  # > ten years
    with pytest.raises(ValueError):
        business_time_between(bj(2026, 1, 1), bj(2037, 1, 1), OFFICE_HOURS)
    with pytest.raises(ValueError):
        add_business_time(dt.datetime(2026, 11, 23, 10), SEVERITY_B, OFFICE_HOURS)  # naive
    with pytest.raises(ValueError):
        add_business_time(bj(2026, 11, 23, 10), -H, OFFICE_HOURS)
    with pytest.raises(ValueError):
        Schedule(around_the_clock=False, start=dt.time(18), end=dt.time(9))
    with pytest.raises(ValueError):
        Schedule(around_the_clock=False, zone="Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        business_time_in_spans([(bj(2026, 11, 23, 10), None)], OFFICE_HOURS)


def test_a_year_of_deadlines_is_fast(calendar_2026):
    import time

    began = time.perf_counter()
    start = bj(2026, 1, 1, 8)
    for hour in range(24 * 365):
        add_business_time(start + hour * H, SEVERITY_C, OFFICE_HOURS)
    assert time.perf_counter() - began < 5  # 8,760 deadlines; minute-by-minute stepping would take minutes
