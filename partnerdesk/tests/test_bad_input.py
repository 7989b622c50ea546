"""Bad input gets a clear 4xx naming the field (or exit code 2 naming the row), and changes nothing."""


import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, Payment
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.models import Customer


@pytest.fixture
def agent(api_client, tokens):
    return api_client.as_(tokens["billing_agent"])


def payment_body(customer, **overrides):
    body = {"customer_id": customer.pk, "amount": "100.00", "received_on": "2026-11-02", "method": "bank_transfer"}
    body.update(overrides)
    return body


def counts():
    return (Payment.objects.count(), Invoice.objects.count(), Customer.objects.count(), AuditEntry.objects.count())


@pytest.mark.parametrize(("overrides", "field", "status"), [
    ({"amount": "0"}, "amount", 422),
    ({"amount": "-10.00"}, "amount", 422),
    ({"amount": "10.001"}, "amount", 422),
    ({"amount": 10.5}, "amount", 422),  # a JSON float never becomes money
    ({"amount": "ten"}, "amount", 422),
    ({"amount": ["1"]}, "amount", 422),
    ({"currency": "USD"}, "currency", 422),
    ({"method": "cash-in-envelope"}, "method", 422),
    ({"received_on": "2026-13-45"}, "received_on", 422),
    ({"received_on": 20261102}, "received_on", 422),
    ({"customer_id": "abc"}, "customer_id", 422),
    ({"allocations": [{"invoice_id": 999999, "amount": "10.00"}]}, "allocations[0].invoice_id", 422),
])
def test_bad_payment_is_refused_naming_the_field(agent, customer_a, overrides, field, status):
    make_invoice(customer_a, "300.00")
    before = counts()
    resp = agent.post("/payments", payment_body(customer_a, **overrides))
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert body["field"] == field, body
    assert body["detail"]
    assert counts() == before


def test_unknown_customer_is_404_and_writes_nothing(agent, customer_a):
    before = counts()
    resp = agent.post("/payments", payment_body(customer_a, customer_id=987654))
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    assert agent.get("/invoices/987654").status_code == 404
    assert agent.post("/subscriptions/987654/suspend", {"reason_code": "fraud", "reason": "x"}).status_code == 404
    assert counts() == before


@pytest.mark.parametrize("raw", ['{"amount": "1.00",', "not json", "\x00\x01", '[1, 2'])
def test_malformed_json_is_400_naming_the_body(agent, customer_a, raw):
    before = counts()
    resp = agent.post("/payments", raw=raw)
    assert resp.status_code == 400
    assert resp.json()["field"] == "body" and resp.json()["code"] == "malformed_json"
    assert counts() == before


def test_wrong_types_and_missing_fields(agent, customer_a):
    resp = agent.post("/customers", {"name": "X"})
    assert resp.status_code == 422 and resp.json()["field"] == "tenant_id"
    resp = agent.post("/customers", {"name": "X", "tenant_id": "not-a-guid"})
    assert resp.status_code == 422 and resp.json()["field"] == "tenant_id"
    resp = agent.post("/customers", {"name": "X", "tenant_id": "0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77", "payment_terms_days": "soon"})
    assert resp.status_code == 422 and resp.json()["field"] == "payment_terms_days"
    resp = agent.post("/customers", {"name": "X", "tenant_id": "0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77", "language": "fr"})
    assert resp.status_code == 422 and resp.json()["field"] == "language"
    resp = agent.post("/customers", {"name": "Dup", "tenant_id": str(customer_a.tenant_id)})
    assert resp.status_code == 409 and resp.json()["field"] == "tenant_id"
    resp = agent.post("/invoices", {"customer_id": customer_a.pk, "lines": [{"description": "x", "unit_price": "1.00", "quantity": "-1"}]})
    assert resp.status_code == 422 and resp.json()["field"] == "lines[0].quantity"
    resp = agent.post("/invoices", {"customer_id": customer_a.pk, "lines": []})
    assert resp.status_code == 422 and resp.json()["field"] == "lines"
    assert Customer.objects.count() == 2 and Invoice.objects.count() == 0  # customers A and B only


def test_idempotent_payment_over_the_api(agent, customer_a):
    make_invoice(customer_a, "300.00")
    first = agent.post("/payments", payment_body(customer_a), headers={"Idempotency-Key": "wx-20261102-0001"})
    again = agent.post("/payments", payment_body(customer_a), headers={"Idempotency-Key": "wx-20261102-0001"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["amount"] == "100.00"  # money goes out as a decimal string
    assert Payment.objects.count() == 1
    assert agent.get(f"/customers/{customer_a.pk}/balance").json()["balance"] == "200.00"


# --- the CLI: exit code 2 naming the file, row and column ----------------------------------------------------

GOOD = "name,tenant_id,contact_name,contact_email,payment_terms_days\n"


def run_import(tmp_path, text):
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_customers", str(path))
    return path


@pytest.mark.django_db
def test_csv_with_a_bad_row_imports_nothing(tmp_path, capsys):
    text = GOOD + (
        "Contoso,6b0e4e1c-7a4a-4c53-9a0e-0f0f3b7f2d11,Li Lei,li@contoso.cn,30\n"
        "Fabrikam,not-a-guid,Han Meimei,han@fabrikam.cn,30\n"
        "Northwind,0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77,Wang,wang@northwind.cn,soon\n"
    )
    with pytest.raises(CommandError) as err:
        run_import(tmp_path, text)
    assert err.value.returncode == 2
    stderr = capsys.readouterr().err
    assert "customers.csv: row 3, column tenant_id" in stderr
    assert "row 4, column payment_terms_days" in stderr
    assert Customer.objects.count() == 0 and AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_csv_import_creates_and_then_updates(tmp_path, capsys):
    text = GOOD + "Contoso 上海,6b0e4e1c-7a4a-4c53-9a0e-0f0f3b7f2d11,Li Lei,li@contoso.cn,45\n"
    run_import(tmp_path, text)
    assert Customer.objects.get().payment_terms_days == 45
    run_import(tmp_path, text.replace(",45", ",60"))
    assert Customer.objects.get().payment_terms_days == 60
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == ["customer.created", "customer.updated"]


@pytest.mark.django_db
def test_record_payment_cli(customer_a, capsys):
    make_invoice(customer_a, "300.00")
    args = ["--customer", str(customer_a.tenant_id), "--amount", "120.00", "--method", "alipay", "--date", "2026-11-02"]
    call_command("record_payment", *args, "--idempotency-key", "alipay-1")
    call_command("record_payment", *args, "--idempotency-key", "alipay-1")
    assert Payment.objects.count() == 1
    for bad, flag in [(["--amount", "-1"], "--amount"), (["--method", "cheque"], "--method"), (["--date", "yesterday"], "--date")]:
        argv = dict(zip(args[::2], args[1::2], strict=True))
        argv.update(dict(zip(bad[::2], bad[1::2], strict=True)))
        with pytest.raises(CommandError) as err:
            call_command("record_payment", *[x for kv in argv.items() for x in kv])
        assert err.value.returncode == 2 and flag in str(err.value)
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("amount", ["1e30", "1E+20", "999999999999999999"])
def test_absurd_amounts_are_a_422_not_a_500(agent, customer_a, amount):
    resp = agent.post("/payments", payment_body(customer_a, amount=amount))
    assert resp.status_code == 422 and resp.json()["field"] == "amount"


@pytest.mark.parametrize("quantity", ["NaN", "Infinity", "1e30"])
def test_absurd_quantities_are_a_422_not_a_500(agent, customer_a, quantity):
    resp = agent.post("/invoices", {"customer_id": customer_a.pk,
                                    "lines": [{"description": "x", "unit_price": "1.00", "quantity": quantity}]})
    assert resp.status_code == 422 and resp.json()["field"] == "lines[0].quantity"


def test_a_collections_run_cannot_be_for_a_future_day(api_client, tokens):
    resp = api_client.as_(tokens["collections"]).post("/collections/runs", {"as_of": "2099-01-01"})
    assert resp.status_code == 422 and resp.json()["field"] == "as_of"


def test_customer_users_never_see_drafts(api_client, tokens, customer_a):
    draft = make_invoice(customer_a, "10.00", issue=False)
    issued = make_invoice(customer_a, "20.00")
    alice = api_client.as_(tokens["customer_a"])
    assert alice.get(f"/invoices/{draft.pk}").status_code == 404
    assert [i["id"] for i in alice.get("/invoices").json()["items"]] == [issued.pk]
    assert api_client.as_(tokens["billing_agent"]).get(f"/invoices/{draft.pk}").status_code == 200


def test_issuing_returns_the_invoice_with_credit_applied(agent, customer_a):
    import datetime as dt

    from partnerdesk.billing.services import record_payment

    record_payment(customer=customer_a, amount="100.00", received_on=dt.date(2026, 11, 1), method="alipay", actor=None)
    draft = make_invoice(customer_a, "300.00", issue=False)
    body = agent.post(f"/invoices/{draft.pk}/issue").json()
    assert (body["status"], body["balance"]) == ("partially_paid", "200.00")
