"""An admin loads or corrects a year's calendar: from the package, a CSV file or the CLI; audited, all or nothing."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.workdays import services
from partnerdesk.workdays.models import CalendarDay, CalendarYear
from partnerdesk.workdays.services import (
    CalendarFileError,
    add_working_days,
    is_working_day,
    load_year_from_package,
    parse_calendar_csv,
    set_year,
)

pytestmark = pytest.mark.django_db

D = dt.date

# An excerpt of a 2027 schedule as an admin would type it once the State Council publishes it.
CSV_2027 = """\ufeffdate,kind,name
2027-02-05,holiday,春节
2027-02-08,holiday,春节
2027-02-09,holiday,春节
2027-02-10,holiday,春节
2027-02-11,holiday,春节
2027-02-13,workday,调休上班
2027-02-20,workday,调休上班
"""


def test_admin_loads_a_year_from_csv_and_it_takes_effect_at_once(users):
    assert is_working_day(D(2027, 2, 11))  # a Thursday, before the schedule is known
    assert not is_working_day(D(2027, 2, 13))  # a Saturday
    row = set_year(2027, parse_calendar_csv(CSV_2027, 2027), actor=users["admin"], confirmed=True, source="file")
    assert (row.status, row.source, row.updated_by) == ("confirmed", "file", users["admin"])
    assert not is_working_day(D(2027, 2, 11))
    assert is_working_day(D(2027, 2, 13))
    assert add_working_days(D(2027, 2, 4), 1) == D(2027, 2, 12)
    status = services.year_status(2027)
    assert (status["status"], status["holidays"], status["workdays"]) == ("confirmed", 5, 2)
    entry = AuditEntry.objects.get(action="calendar.year_set")
    assert (entry.actor_label, entry.object_id, entry.before) == ("admin1", "2027", None)
    assert entry.after == {"status": "confirmed", "source": "file", "holidays": 5, "workdays": 2}


@pytest.mark.parametrize("line, row, column", [
    ("2027-02-31,holiday,x", 10, "date"),
    ("2026-12-31,holiday,x", 10, "date"),
    ("2027-03-01,day-off,x", 10, "kind"),
    ("2027-03-01,workday,周一", 10, "kind"),  # a Monday cannot be a make-up working day
    ("2027-02-05,holiday,again", 10, "date"),
    ("2027-03-01,holiday,x,extra", 10, "name"),
])
def test_a_bad_row_is_refused_with_row_and_column(users, line, row, column):
    # Rows are the file's lines (the header is row 1), blank ones included, as an editor shows them.
    with pytest.raises(CalendarFileError) as err:
        parse_calendar_csv(CSV_2027 + "\n" + line + "\n", 2027)
    assert (err.value.row, err.value.column) == (row, column)
    assert str(err.value).startswith(f"Row {row}, column {column}: ")  # (str: in English)


def test_a_bad_header_is_refused():
    with pytest.raises(CalendarFileError) as err:
        parse_calendar_csv("day,kind\n2027-01-01,holiday\n", 2027)
    assert (err.value.row, err.value.column) == (1, "date")


def test_set_year_is_all_or_nothing(users):
    load_year_from_package(2026, actor=users["admin"], confirm=True)
    before = list(CalendarDay.objects.values_list("date", "kind", "name"))
    days = [(D(2026, 10, 1), "holiday", "国庆节"), (D(2026, 10, 12), "workday", "a Monday")]
    with pytest.raises(InvalidInput) as err:
        set_year(2026, days, actor=users["admin"], confirmed=True)
    assert err.value.field == "days[1].kind"
    assert list(CalendarDay.objects.values_list("date", "kind", "name")) == before
    assert AuditEntry.objects.filter(action="calendar.year_set").count() == 0


def test_correcting_a_year_is_audited_with_before_and_after(users):
    load_year_from_package(2026, actor=users["admin"])
    loaded = AuditEntry.objects.get(action="calendar.year_loaded")
    assert loaded.after == {"status": "provisional", "source": "holidays-package", "holidays": 22, "workdays": 6}
    set_year(2026, [(D(2026, 10, 1), "holiday", "国庆节")], actor=users["admin"], confirmed=False,
             note="testing a correction")
    entry = AuditEntry.objects.get(action="calendar.year_set")
    assert entry.before == loaded.after
    assert entry.after == {"status": "provisional", "source": "manual", "holidays": 1, "workdays": 0}
    assert entry.reason == "testing a correction"
    assert is_working_day(D(2026, 10, 2))  # the correction took effect at once


def test_the_package_cannot_confirm_a_year_it_does_not_know(users):
    with pytest.raises(Conflict):
        load_year_from_package(2027, actor=users["admin"], confirm=True)
    row = load_year_from_package(2027, actor=users["admin"])
    assert row.status == "provisional" and "fixed-date holidays only" in row.note
    assert not CalendarDay.objects.filter(kind="workday", date__year=2027).exists()


def test_cli_loads_a_file_and_shows_the_year(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(CSV_2027, encoding="utf-8")
    out = StringIO()
    call_command("calendar", "load", "2027", "--file", str(path), "--confirm", stdout=out)
    assert "2027: confirmed (source file), 5 holiday(s), 2 make-up working day(s)" in out.getvalue()
    assert "2027-02-13 Sat  workday" in out.getvalue()
    assert AuditEntry.objects.get(action="calendar.year_set").actor_label == "system"
    assert not is_working_day(D(2027, 2, 11))


def test_cli_refuses_a_bad_file_with_exit_code_2_and_changes_nothing(tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(CSV_2027 + "2027-03-01,workday,oops\n", encoding="utf-8")
    with pytest.raises(CommandError) as err:
        call_command("calendar", "load", "2027", "--file", str(path))
    assert err.value.returncode == 2
    assert str(err.value).startswith(f"{path}: Row 9, column kind: 2027-03-01 is a Monday; ")
    assert not CalendarYear.objects.exists() and not CalendarDay.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="calendar.").exists()


def test_cli_shows_an_unloaded_year_as_provisional():
    out = StringIO()
    call_command("calendar", "show", "2027", stdout=out)
    assert out.getvalue().startswith("2027: PROVISIONAL (source holidays-package)")
    assert "No State Council schedule for 2027" in out.getvalue()


def test_cli_loads_from_the_package():
    out = StringIO()
    call_command("calendar", "load", "2025", "--from-package", "--confirm", stdout=out)
    assert out.getvalue().startswith("2025: confirmed (source holidays-package), 19 holiday(s), 5 make-up")
    assert CalendarYear.objects.get(year=2025).is_confirmed
    assert AuditEntry.objects.filter(action="calendar.year_loaded").count() == 1
