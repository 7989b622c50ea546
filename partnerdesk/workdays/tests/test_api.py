"""The calendar over the REST API: staff read it, only an admin changes it, customer users see nothing."""

import datetime as dt

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.workdays.models import CalendarYear
from partnerdesk.workdays.services import is_working_day

pytestmark = pytest.mark.django_db

YEAR_2027 = {
    "status": "confirmed",
    "note": "State Council notice, November 2026",
    "days": [
        {"date": "2027-10-01", "kind": "holiday", "name": "国庆节"},
        {"date": "2027-10-07", "kind": "holiday", "name": "国庆节"},
        {"date": "2027-10-09", "kind": "workday", "name": "调休上班"},
    ],
}


def test_staff_read_a_year_customers_may_not(api_client, tokens):
    res = api_client.as_(tokens["auditor"]).get("/calendar/2025")
    assert res.status_code == 200
    body = res.json()
    assert (body["status"], body["source"], body["holidays"], body["workdays"]) == (
        "provisional", "holidays-package", 19, 5)
    assert {"date": "2025-01-26", "kind": "workday", "name": "调休上班"} in body["days"]
    assert api_client.as_(tokens["customer_a"]).get("/calendar/2025").status_code == 403
    assert api_client.get("/calendar/2025").status_code == 401


def test_only_an_admin_may_change_a_year(api_client, tokens, put):
    for role in ("auditor", "billing_agent", "collections", "finance", "customer_a"):
        assert put("/calendar/2027", YEAR_2027, tokens[role]).status_code == 403
        assert api_client.as_(tokens[role]).post("/calendar/2025/load-from-package").status_code == 403
    assert not CalendarYear.objects.exists()

    res = put("/calendar/2027", YEAR_2027, tokens["admin"])
    assert res.status_code == 200, res.content
    assert (res.json()["status"], res.json()["holidays"], res.json()["workdays"]) == ("confirmed", 2, 1)
    assert not is_working_day(dt.date(2027, 10, 7)) and is_working_day(dt.date(2027, 10, 9))
    entry = AuditEntry.objects.get(action="calendar.year_set")
    assert (entry.actor_label, entry.reason) == ("admin1", "State Council notice, November 2026")


def test_a_bad_day_is_a_422_naming_it(tokens, put):
    bad = {**YEAR_2027, "days": [*YEAR_2027["days"], {"date": "2027-10-08", "kind": "workday", "name": "Fri"}]}
    res = put("/calendar/2027", bad, tokens["admin"])
    assert res.status_code == 422
    assert res.json()["field"] == "days[3].kind"
    assert put("/calendar/2027", {**YEAR_2027, "status": "final"}, tokens["admin"]).json()["field"] == "status"
    assert not CalendarYear.objects.exists()


def test_load_from_package(api_client, tokens):
    admin = api_client.as_(tokens["admin"])
    res = admin.post("/calendar/2026/load-from-package", {"confirm": True})
    assert res.status_code == 200 and res.json()["is_confirmed"] is True
    assert AuditEntry.objects.filter(action="calendar.year_loaded", object_id="2026").count() == 1
    # The package has no schedule for 2027 yet: it cannot be confirmed from there.
    assert admin.post("/calendar/2027/load-from-package", {"confirm": True}).status_code == 409
    res = admin.post("/calendar/2027/load-from-package")
    assert res.status_code == 200 and res.json()["status"] == "provisional"


def test_working_day(api_client, tokens):
    client = api_client.as_(tokens["collections"])
    body = client.get("/calendar/working-day", date="2025-10-11").json()
    assert body == {"date": "2025-10-11", "is_working_day": True, "kind": "workday", "name": "调休上班",
                    "year_status": "provisional"}
    body = client.get("/calendar/working-day", date="2025-10-08").json()
    assert (body["is_working_day"], body["kind"]) == (False, "holiday")
    assert client.get("/calendar/working-day", date="2025-13-01").status_code == 422
    assert api_client.as_(tokens["customer_b"]).get("/calendar/working-day", date="2025-10-08").status_code == 403
