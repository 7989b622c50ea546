"""Business-day arithmetic on China's 2025 calendar as the State Council published it."""

import datetime as dt

import pytest

from partnerdesk.errors import InvalidInput
from partnerdesk.workdays import services
from partnerdesk.workdays.services import (
    add_working_days,
    is_working_day,
    load_year_from_package,
    shift,
    working_days_between,
)

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture(params=["stored", "package fallback"])
def calendar_2025(request, users):
    """2025 either loaded and confirmed by an admin, or read straight from the package: same answers."""
    if request.param == "stored":
        load_year_from_package(2025, actor=users["admin"], confirm=True)


def test_spring_festival_2025(calendar_2025):
    assert is_working_day(D(2025, 1, 26))  # Sunday, made up
    assert is_working_day(D(2025, 2, 8))  # Saturday, made up
    for offset in range(8):
        assert not is_working_day(D(2025, 1, 28) + dt.timedelta(days=offset))
    assert add_working_days(D(2025, 1, 27), 1) == D(2025, 2, 5)
    assert add_working_days(D(2025, 2, 5), -1) == D(2025, 1, 27)


def test_national_day_2025(calendar_2025):
    assert is_working_day(D(2025, 9, 28))  # Sunday, made up
    assert is_working_day(D(2025, 10, 11))  # Saturday, made up
    assert not any(is_working_day(D(2025, 10, day)) for day in range(1, 9))
    # Fri 26 Sep, then Sun 28 Sep and Mon 29 - Tue 30 Sep, then nothing until Thu 9 Oct.
    assert add_working_days(D(2025, 9, 26), 3) == D(2025, 9, 30)
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    assert working_days_between(D(2025, 9, 26), D(2025, 10, 12)) == 6  # 28, 29, 30 Sep; 9, 10, 11 Oct
    assert working_days_between(D(2025, 10, 12), D(2025, 9, 26)) == -6


def test_zero_and_calendar_shifts(calendar_2025):
    assert add_working_days(D(2025, 10, 1), 0) == D(2025, 10, 1)
    assert working_days_between(D(2025, 10, 1), D(2025, 10, 1)) == 0
    assert shift(D(2025, 9, 30), 7, "calendar") == D(2025, 10, 7)
    assert shift(D(2025, 9, 30), 1, "business") == D(2025, 10, 9)
    with pytest.raises(InvalidInput) as err:
        shift(D(2025, 9, 30), 1, "lunar")
    assert err.value.field == "kind"


def test_a_year_with_no_data_is_provisional(db):
    status = services.year_status(2027)
    assert status["status"] == "provisional" and status["is_confirmed"] is False
    assert status["source"] == "holidays-package" and status["workdays"] == 0
    assert "No State Council schedule for 2027" in status["note"]
    # Fixed-date holidays are still known; make-up days are not guessed.
    assert not is_working_day(D(2027, 10, 1))
    assert not is_working_day(D(2027, 1, 2))  # a plain Saturday


def test_another_process_change_is_seen_within_a_minute(db, monkeypatch):
    from partnerdesk.workdays.models import CalendarDay, CalendarYear

    now = [1000.0]
    monkeypatch.setattr(services, "_clock", lambda: now[0])
    assert is_working_day(D(2027, 6, 1))
    # Another process stores 2027 (no cache invalidation reaches this one).
    CalendarYear.objects.create(year=2027, status="confirmed", source="manual")
    CalendarDay.objects.create(date=D(2027, 6, 1), kind="holiday", name="test")
    now[0] += 30
    assert is_working_day(D(2027, 6, 1))  # still cached
    now[0] += 31
    assert not is_working_day(D(2027, 6, 1))


def test_cache_answers_many_dates_with_few_queries(db, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert working_days_between(D(2025, 1, 1), D(2025, 12, 31)) == 248  # the official count for 2025
        assert add_working_days(D(2025, 1, 1), 248) == D(2025, 12, 31)
