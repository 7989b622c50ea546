"""No input gives a 500 or leaves half a change: the defects of an outside fuzzing run (issue 11), one test each.

Every answer here is a JSON 4xx naming the field, and nothing was written.
"""

import json
import uuid

import pytest
from django.test import Client

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.models import CollectionsRun, Dispute, PromiseToPay

PAST_64_BITS = str(2**63)


@pytest.fixture
def agent(api_client, tokens):
    return api_client.as_(tokens["admin"])


def counts():
    return (Customer.objects.count(), Invoice.objects.count(), Payment.objects.count(), Dispute.objects.count(),
            PromiseToPay.objects.count(), CollectionsRun.objects.count(), AuditEntry.objects.count())


def refused(resp, field=None, status=422):
    assert resp.status_code == status, (resp.status_code, resp.content[:500])
    assert resp["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["detail"] and body["code"]
    if field is not None:
        assert body["field"] == field, body
    return body


# --- 1. integers past 64 bits ---------------------------------------------------------------------------------

LISTS = ["/customers", "/invoices", "/payments", "/audit", "/customers/{A}/collections/log", "/collections/runs",
         "/collections/operator-requests", "/customers/{A}/emails"]


@pytest.mark.parametrize("path", LISTS)
def test_an_offset_past_64_bits_is_a_422_on_every_list(agent, customer_a, path):
    refused(agent.get(path.format(A=customer_a.pk), offset=PAST_64_BITS), "offset")
    refused(agent.get(path.format(A=customer_a.pk), limit=PAST_64_BITS), "limit")


@pytest.mark.parametrize("path", ["/invoices", "/payments", "/audit"])
def test_a_customer_id_past_64_bits_is_a_422(agent, path):
    refused(agent.get(path, customer_id=PAST_64_BITS), "customer_id")


def test_ids_past_64_bits_in_paths_and_bodies(agent, customer_a):
    refused(agent.get(f"/invoices/{PAST_64_BITS}"), "invoice_id")
    before = counts()
    # (json.dumps writes a Python int of any size as JSON digits, as a client might)
    refused(agent.post("/payments", raw=json.dumps({"customer_id": 2**70, "amount": "1.00", "received_on": "2026-11-02",
                                                    "method": "alipay"})), "customer_id")
    refused(agent.post("/invoices", raw=json.dumps({"customer_id": customer_a.pk, "lines": [
        {"description": "x", "unit_price": "1.00", "subscription_id": 2**64}]})), "lines[0].subscription_id")
    assert counts() == before


# --- 2 and 3. lone surrogates and NUL characters in free text --------------------------------------------------


def _text_routes(customer, invoice, payment, dispute):
    return [
        ("POST", "/customers", {"name": "{bad}", "tenant_id": str(uuid.uuid4())}, "name"),
        ("PATCH", f"/customers/{customer.pk}", {"name": "{bad}"}, "name"),
        ("POST", "/payments", {"customer_id": customer.pk, "amount": "1.00", "received_on": "2026-11-02",
                               "method": "alipay", "reference": "{bad}"}, "reference"),
        ("POST", "/invoices", {"customer_id": customer.pk, "notes": "{bad}",
                               "lines": [{"description": "x", "unit_price": "1.00"}]}, "notes"),
        ("POST", "/invoices", {"customer_id": customer.pk, "lines": [{"description": "{bad}", "unit_price": "1.00"}]},
         "lines[0].description"),
        ("POST", f"/invoices/{invoice.pk}/void", {"reason": "{bad}"}, "reason"),
        ("POST", f"/invoices/{invoice.pk}/credit-notes", {"amount": "1.00", "reason": "{bad}"}, "reason"),
        ("POST", f"/payments/{payment.pk}/refunds", {"amount": "1.00", "reason": "{bad}"}, "reason"),
        ("POST", f"/invoices/{invoice.pk}/disputes", {"reason": "{bad}"}, "reason"),
        ("POST", f"/disputes/{dispute.pk}/resolve", {"resolution": "{bad}"}, "resolution"),
        ("POST", f"/customers/{customer.pk}/promises", {"amount": "1.00", "promised_date": "2026-12-01", "note": "{bad}"}, "note"),
        ("PUT", f"/customers/{customer.pk}/collections/profile", {"exempt": True, "reason": "{bad}"}, "reason"),
        ("PUT", "/email-templates/collections.notice/en", {"subject": "{bad}", "body": "x"}, "subject"),
        ("PUT", "/calendar/2027", {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "{bad}"}]}, "days[0].name"),
        ("POST", "/tokens", {"name": "{bad}"}, "name"),
        ("POST", "/customers", {"name": "ok", "tenant_id": str(uuid.uuid4()), "contact": {"name": "x", "email": "a@b.cn", "phone": "{bad}"}},
         "contact.phone"),
    ]


@pytest.mark.parametrize("bad", ["x\\ud800y", "x\\udfffy", "a\\u0000b"], ids=["high surrogate", "low surrogate", "NUL"])
def test_unstorable_text_is_a_422_on_every_route_that_takes_text(agent, customer_a, bad):
    invoice = make_invoice(customer_a, "300.00")
    other = make_invoice(customer_a, "100.00")
    dispute = Dispute.objects.get(pk=agent.post(f"/invoices/{other.pk}/disputes", {"reason": "wrong seats"}).json()["id"])
    payment = agent.post("/payments", {"customer_id": customer_a.pk, "amount": "900.00", "received_on": "2026-11-02",
                                       "method": "alipay"}).json()
    before = counts()
    for method, path, body, field in _text_routes(customer_a, invoice, Payment.objects.get(pk=payment["id"]), dispute):
        # The raw JSON carries the escape as a client would send it: "\ud800" is valid JSON, not valid text.
        raw = json.dumps(body).replace("{bad}", bad)
        resp = agent.post(path, raw=raw) if method == "POST" else api_send(agent, method, path, raw)
        refused(resp, field)
    assert counts() == before


def api_send(api, method, path, raw):
    client = Client()
    return client.generic(method, "/api/v1" + path, raw, content_type="application/json",
                          headers={"Authorization": f"Bearer {api.token}"})


def test_a_suspension_with_unstorable_reason_never_reaches_the_operator(agent, customer_a, operator):
    operator.add_subscription(customer_a)
    sync_subscriptions(customer_a, actor=None)
    sub = Subscription.objects.get(customer=customer_a)
    audit_before = AuditEntry.objects.count()
    for reason in ["x\\ud800y", "a\\u0000b"]:
        refused(agent.post(f"/subscriptions/{sub.pk}/suspend", raw='{"reason_code": "fraud", "reason": "' + reason + '"}'), "reason")
    assert operator.status(sub) == "active"
    sub.refresh_from_db()
    assert sub.status == "active" and AuditEntry.objects.count() == audit_before


def test_a_customer_users_search_with_nul_is_a_422(api_client, tokens):
    refused(api_client.as_(tokens["customer_a"]).get("/customers", q="a\x00b"), "q")


# --- 4. amounts that overflow ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "unit_price", "field"), [
    ("1000", "999999999999999", "lines[0].unit_price"),
    ("9999999999.99999", "1.00", "lines[0].quantity"),
    ("1000000", "999999999999.99", "lines[0].quantity"),  # each within its bound, the line's amount is not
])
def test_an_invoice_whose_amounts_overflow_is_refused_and_not_saved(agent, customer_a, quantity, unit_price, field):
    before = counts()
    refused(agent.post("/invoices", {"customer_id": customer_a.pk,
                                     "lines": [{"description": "x", "quantity": quantity, "unit_price": unit_price}]}), field)
    assert counts() == before


def test_an_invoice_total_past_the_maximum_is_refused(agent, customer_a):
    lines = [{"description": f"line {i}", "quantity": "1", "unit_price": "999999999999.99"} for i in range(2)]
    before = counts()
    refused(agent.post("/invoices", {"customer_id": customer_a.pk, "lines": lines}), "lines")
    assert counts() == before
    ok = agent.post("/invoices", {"customer_id": customer_a.pk, "lines": lines[:1]})
    assert ok.status_code == 201 and ok.json()["total"] == "999999999999.99"
    assert agent.get(f"/invoices/{ok.json()['id']}").json()["total"] == "999999999999.99"  # read back exactly


# --- 5. dates at the ends of the calendar ---------------------------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"])
def test_dates_outside_the_business_range_are_a_422(agent, customer_a, day):
    before = counts()
    refused(agent.get("/collections/preview", as_of=day), "as_of")
    refused(agent.post("/collections/runs", {"as_of": day, "dry_run": True}), "as_of")
    refused(agent.post("/collections/runs", {"as_of": day}), "as_of")
    refused(agent.get("/reports/aging", as_of=day), "as_of")
    refused(agent.get("/reports/dso", as_of=day), "as_of")
    refused(agent.get("/reports/collections", since=day), "since")
    refused(agent.get(f"/customers/{customer_a.pk}/statement", as_of=day), "as_of")
    refused(agent.post("/invoices", {"customer_id": customer_a.pk, "issue": True, "issue_date": day,
                                     "lines": [{"description": "x", "unit_price": "1.00"}]}), "issue_date")
    assert counts() == before  # no failed run recorded, no invoice numbered INV-1-000001


def test_the_service_refuses_the_dates_too(db):
    from partnerdesk.billing.services import LineInput, create_invoice
    from partnerdesk.conftest import make_customer
    from partnerdesk.errors import InvalidInput

    customer = make_customer()
    with pytest.raises(InvalidInput) as caught:
        create_invoice(customer=customer, actor=None, issue=True, issue_date=__import__("datetime").date(1, 1, 1),
                       lines=[LineInput(description="x", quantity=1, unit_price=1)])
    assert caught.value.field == "issue_date"
    assert not Invoice.objects.exists()


# --- 6. a CSV field past the csv module's limit -------------------------------------------------------------


def test_a_csv_field_over_131072_characters_names_its_row_and_nothing_is_imported(agent, client, tokens):
    text = ("name,tenant_id\n" f"Good Co,{uuid.uuid4()}\n" f"{'x' * 131_073},{uuid.uuid4()}\n" f"Bad Guid Co,nope\n")
    before = counts()
    from django.core.files.uploadedfile import SimpleUploadedFile

    resp = client.post("/api/v1/customers/import", {"file": SimpleUploadedFile("c.csv", text.encode())},
                       headers={"Authorization": f"Bearer {tokens['admin']}"})
    body = refused(resp)
    rows = {(e["row"], e["column"]) for e in body["errors"]}
    assert (3, "?") in rows and (4, "tenant_id") in rows  # reading goes on past the unreadable row
    assert counts() == before


# --- 7. LIKE patterns SQLite finds too complex --------------------------------------------------------------


def test_a_50000_character_search_is_a_422(api_client, tokens):
    refused(api_client.as_(tokens["customer_a"]).get("/customers", q="%" * 50_000), "q")
    refused(api_client.as_(tokens["admin"]).get("/audit", action="_" * 50_000), "action")
    ok = api_client.as_(tokens["admin"]).get("/customers", q="%_" * 100)  # the longest search allowed works
    assert ok.status_code == 200


# --- 8. the OpenAPI matches the answers ------------------------------------------------------------------------


def _schema(agent):
    return agent.get("/openapi.json").json()


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _conforms(spec, schema, value, where="$"):
    """A small JSON Schema check: the keywords ninja's schemas use (type, properties, required, items, anyOf)."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        problems = [_conforms(spec, option, value, where) for option in schema["anyOf"]]
        return [] if any(not p for p in problems) else problems[0]
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool, "null": type(None)}
    if kind in types and not isinstance(value, types[kind]):
        return [f"{where}: {value!r} is not {kind}"]
    if kind == "object":
        problems = [f"{where}: missing {name}" for name in schema.get("required", []) if name not in value]
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                problems += _conforms(spec, sub, value[name], f"{where}.{name}")
        return problems
    if kind == "array":
        return [p for i, item in enumerate(value) for p in _conforms(spec, schema.get("items", {}), item, f"{where}[{i}]")]
    return []


def _answer_schema(spec, path, method, status="200"):
    return spec["paths"]["/api/v1" + path][method]["responses"][status]["content"]["application/json"]["schema"]


def test_the_published_schemas_match_the_answers_of_runs_and_calendar(agent, api_client, tokens):
    spec = _schema(agent)
    collections = api_client.as_(tokens["collections"])
    dry = collections.post("/collections/runs", {"dry_run": True}).json()
    real = collections.post("/collections/runs", {}).json()
    listed = collections.get("/collections/runs").json()
    assert real["id"] and real["started_at"] and listed["items"][0]["id"] == real["id"]
    for path, method, value in [("/collections/runs", "post", dry), ("/collections/runs", "post", real),
                                ("/collections/runs", "get", listed), ("/calendar/{year}", "get", agent.get("/calendar/2026").json()),
                                ("/reports/collections", "get", agent.get("/reports/collections").json())]:
        assert _conforms(spec, _answer_schema(spec, path, method), value) == [], (path, method)
    names = spec["components"]["schemas"]
    assert {"CollectionsRunOut", "CalendarDayOut", "CollectionsDayOut", "ReportRunOut"} <= set(names)
    assert "RunOut" not in names and "DayOut" not in names


def test_every_operation_documents_its_error_answers_and_csv(agent):
    spec = _schema(agent)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status in ("401", "404", "409", "413", "422", "502"):
                content = operation["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorOut"}, (path, method, status)
    for path in ["/api/v1/audit/export.csv", "/api/v1/reports/aging", "/api/v1/reports/dso", "/api/v1/reports/collections"]:
        assert "text/csv" in spec["paths"][path]["get"]["responses"]["200"]["content"], path


def test_error_answers_match_the_published_error_schema(agent, customer_a):
    spec = _schema(agent)
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for resp in [agent.get("/invoices/999999"), agent.post("/payments", {"customer_id": customer_a.pk}),
                 agent.post("/invoices", raw="{"), agent.post("/customers/import", raw="{}")]:
        assert resp.status_code >= 400
        assert _conforms(spec, error, resp.json()) == [], resp.json()


# --- 9. amounts outside the documented pattern ---------------------------------------------------------------

NOT_THE_PATTERN = ["1_000", "１２３.００", "٣", "1e14", "+5", " 1.00 ", ".5", "1.", "0x10", "1,000.00"]


@pytest.mark.parametrize("amount", NOT_THE_PATTERN)
def test_amounts_outside_the_documented_pattern_are_refused(agent, customer_a, amount):
    invoice = make_invoice(customer_a, "300.00")
    payment = Payment.objects.get(pk=agent.post("/payments", {"customer_id": customer_a.pk, "amount": "500.00",
                                                              "received_on": "2026-11-02", "method": "alipay"}).json()["id"])
    before = counts()
    refused(agent.post("/payments", {"customer_id": customer_a.pk, "amount": amount, "received_on": "2026-11-02",
                                     "method": "alipay"}), "amount")
    refused(agent.post(f"/invoices/{invoice.pk}/credit-notes", {"amount": amount, "reason": "x"}), "amount")
    refused(agent.post(f"/payments/{payment.pk}/refunds", {"amount": amount, "reason": "x"}), "amount")
    refused(agent.patch(f"/customers/{customer_a.pk}", {"credit_limit": amount}), "credit_limit")
    refused(agent.post(f"/customers/{customer_a.pk}/promises", {"amount": amount, "promised_date": "2026-12-01"}), "amount")
    assert counts() == before


# --- 10. the error contract ------------------------------------------------------------------------------------


def test_a_20_mb_body_is_a_json_413_and_many_parameters_a_json_400(agent, customer_a):
    before = counts()
    big = json.dumps({"customer_id": customer_a.pk, "amount": "1.00", "received_on": "2026-11-02", "method": "alipay",
                      "reference": "x" * (20 * 1024 * 1024)})
    refused(agent.post("/payments", raw=big), "body", status=413)
    params = "&".join(f"p{i}=1" for i in range(1500))
    client = Client()
    resp = client.get(f"/api/v1/customers?{params}", headers={"Authorization": f"Bearer {agent.token}"})
    refused(resp, "query", status=400)
    assert counts() == before


def test_a_csrf_failure_says_so(users, customer_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    resp = client.post("/api/v1/customers", json.dumps({"name": "X", "tenant_id": str(uuid.uuid4())}),
                       content_type="application/json")
    assert refused(resp, status=403)["code"] == "csrf_failed"


def test_a_customer_user_gets_404_on_its_own_hidden_draft(api_client, tokens, customer_a):
    draft = make_invoice(customer_a, "10.00", issue=False)
    portal = api_client.as_(tokens["customer_a"])
    for resp in [portal.get(f"/invoices/{draft.pk}"), portal.post(f"/invoices/{draft.pk}/issue"),
                 portal.post(f"/invoices/{draft.pk}/void", {"reason": "x"}),
                 portal.post(f"/invoices/{draft.pk}/credit-notes", {"amount": "1.00", "reason": "x"})]:
        refused(resp, status=404)


def test_a_draft_voided_before_it_was_issued_never_shows_on_a_statement(agent, customer_a):
    """Found by the fuzzer's random pass: the voided draft has no due date, and the statement sorted by it."""
    draft = agent.post("/invoices", {"customer_id": customer_a.pk, "issue_date": "2026-10-01",
                                     "lines": [{"description": "x", "unit_price": "10"}]}).json()
    assert agent.post(f"/invoices/{draft['id']}/void", {"reason": "typed twice"}).status_code == 200
    statement = agent.get(f"/customers/{customer_a.pk}/statement", as_of="2026-10-31")
    assert statement.status_code == 200
    assert statement.json()["lines"] == [] and statement.json()["open_items"] == []
