"""The support benchmark (bench/support) at a tiny size on the test database: its generator loads consistent data
that the desk's own code reads, and its measurement runs through a live HTTP server and the real mail filing."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench" / "support"


@pytest.fixture
def bench():
    sys.path.insert(0, str(BENCH))
    import run
    import support_http
    import support_ingest

    yield run, support_http, support_ingest
    sys.path.remove(str(BENCH))


@pytest.mark.django_db(transaction=True)
def test_generate_measure_and_ingest_at_a_tiny_size(bench, live_server, tmp_path, settings):
    run, support_http, support_ingest = bench
    from partnerdesk.support import fulltext
    from partnerdesk.support.models import Case, CaseMessage, SlaClock

    settings.MEDIA_ROOT = tmp_path
    plan = run.generate_and_plan(customers=40, cases=300, messages=1500)

    assert (plan["cases"], plan["messages"]) == (300, 1500)
    assert Case.objects.count() == 300 and CaseMessage.objects.count() == 1500
    assert SlaClock.objects.filter(met_at__isnull=True, deadline_at__isnull=False).exists()
    assert CaseMessage.objects.filter(kind="internal").exists()
    # The index rows made in bulk are found by the desk's own search, internal notes only by staff.
    word_hits = fulltext.matching_case_ids("发票", customer_id=None, include_internal=False, limit=5)
    assert word_hits
    assert fulltext.matching_case_ids(plan["invoices"][0], customer_id=None, include_internal=True, limit=5)

    results = support_http.run(live_server.url, plan, 3)
    assert results["search a Chinese word"]["rows_per_request"] > 0
    assert results["search an invoice number"]["rows_per_request"] >= 1
    assert results["case with its messages"]["rows_per_request"] >= 1
    assert all(r["p95"] > 0 for r in results.values())

    ingested = support_ingest.run(20)
    assert ingested["messages"] == 20 and ingested["per_second"] > 0
    assert ingested["statuses"].get("filed", 0) >= 10
    assert set(ingested["statuses"]) <= {"filed", "auto_reply", "unmatched"}
