"""The report pages: AR aging with DSO and its CSV, collections activity with its CSV; who may see them."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from partnerdesk.dunning.models import ActionKind, CollectionsAction, CollectionsRun

from .factories import client_for

READERS = ["admin", "collections", "finance", "auditor"]


def test_the_aging_report_per_customer_with_a_total(people, invoices):
    c = client_for(people["finance"])
    body = c.get(reverse("report_aging"), {"as_of": "2026-04-15"}).content.decode()
    # On 2026-04-15: Acme 1000 due 02-04 (70 days: 61-90), 2500 due 03-31 (15 days: 1-30); Globex 800 due 03-03 (43: 31-60)
    assert "Acme 上海" in body and "Globex 北京" in body
    assert "¥4,300.00" in body and "<svg" in body
    assert "DSO (90 days)" in body
    rows = list(csv.reader(io.StringIO(c.get(reverse("report_aging_csv"), {"as_of": "2026-04-15"}).content.decode("utf-8-sig"))))
    acme = next(r for r in rows if r[2] == "Acme 上海")
    assert acme[3:8] == ["0.00", "2500.00", "0.00", "1000.00", "0.00"]
    assert rows[-1][2] == "TOTAL" and rows[-1][-1] == "4300.00"


def test_a_bad_date_shows_an_error_and_the_export_refuses(people, invoices):
    c = client_for(people["finance"])
    assert "Enter a valid date." in c.get(reverse("report_aging"), {"as_of": "2026-13-45"}).content.decode()
    assert c.get(reverse("report_aging_csv"), {"as_of": "nope"}).status_code == 400


def test_the_collections_activity_report(people, acme):
    CollectionsAction.objects.create(key="r1", customer=acme, kind=ActionKind.REMINDER, as_of=dt.date(2026, 10, 28))
    CollectionsAction.objects.create(key="n1", customer=acme, kind=ActionKind.NOTICE, as_of=dt.date(2026, 11, 1))
    CollectionsRun.objects.create(as_of=dt.date(2026, 11, 1), status="finished", counts={"due": 1})
    c = client_for(people["collections"])
    body = c.get(reverse("report_collections"), {"since": "2026-10-25", "until": "2026-11-05"}).content.decode()
    assert "2026-10-28" in body and "2026-11-01" in body and "Reminder sent" in body
    rows = list(csv.reader(io.StringIO(c.get(reverse("report_collections_csv"),
                                             {"since": "2026-10-25", "until": "2026-11-05"}).content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 12 + 1 and rows[-1][0] == "TOTAL"
    runs = list(csv.reader(io.StringIO(c.get(reverse("report_collections_csv"),
                                             {"since": "2026-10-25", "until": "2026-11-05", "part": "runs"}).content.decode("utf-8-sig"))))
    assert runs[1][1:3] == ["2026-11-01", "finished"]
    bad = c.get(reverse("report_collections"), {"since": "2026-11-05", "until": "2026-10-25"})
    assert "The end date is before the start date." in bad.content.decode()


@pytest.mark.parametrize("role", READERS)
def test_report_readers(people, role):
    c = client_for(people[role])
    for name in ["report_aging", "report_collections", "report_aging_csv", "report_dso_csv", "report_collections_csv"]:
        assert c.get(reverse(name)).status_code == 200, name


@pytest.mark.parametrize("who", ["billing_agent", "acme_user"])
def test_others_may_not_see_reports(people, who):
    c = client_for(people[who])
    for name in ["report_aging", "report_collections", "report_aging_csv", "report_dso_csv", "report_collections_csv"]:
        assert c.get(reverse(name)).status_code == 403, name
