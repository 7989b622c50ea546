"""The customer CSV import: every problem of every row in one pass (file, row, column, what is wrong), all
or nothing, and a contact given by its email alone. Through the API, the web page and the command line."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.customers.models import BillingContact, Customer
from partnerdesk.customers.services import create_customer, import_customers_csv

GOOD_1 = "6b0e4e1c-7a4a-4c53-9a0e-0f0f3b7f2d11"
GOOD_2 = "0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77"
GOOD_3 = "3c7f0a52-1d6e-4b8f-9a41-2e5d6c7b8a90"

HEADER = "name,tenant_id,contact_name,contact_email,language,time_zone,payment_terms_days,credit_limit\n"
# Five different problems in three rows, and a good row: nothing may be imported.
FIVE_PROBLEMS = HEADER + (
    f"Contoso 上海,{GOOD_1},Li Lei,li@contoso.cn,zh-CN,Asia/Shanghai,30,5000.00\n"  # row 2: good
    f"Fabrikam,not-a-guid,,,,,soon,\n"  # row 3: tenant_id, payment_terms_days
    f",{GOOD_2},Han,not-an-email,,,,\n"  # row 4: name, contact_email
    f"Northwind,{GOOD_3},,,,Mars/Olympus,,\n"  # row 5: time_zone
)
EXPECTED = [(3, "tenant_id"), (3, "payment_terms_days"), (4, "name"), (4, "contact_email"), (5, "time_zone")]


def counts():
    return Customer.objects.count(), BillingContact.objects.count(), AuditEntry.objects.count()


@pytest.mark.django_db
def test_the_service_lists_all_five_problems_and_imports_nothing():
    before = counts()
    with pytest.raises(Exception) as failed:
        import_customers_csv(FIVE_PROBLEMS, actor=None, file="customers.csv")
    assert [(e.row, e.column) for e in failed.value.errors] == EXPECTED
    assert counts() == before


def test_the_api_lists_all_five_problems_with_file_row_and_column(client, tokens):
    before = counts()
    resp = client.post("/api/v1/customers/import", {"file": SimpleUploadedFile("customers.csv", FIVE_PROBLEMS.encode())},
                       headers={"Authorization": f"Bearer {tokens['billing_agent']}"})
    assert resp.status_code == 422, resp.content
    body = resp.json()
    assert body["file"] == "customers.csv"
    assert [(e["file"], e["row"], e["column"]) for e in body["errors"]] == [("customers.csv", r, c) for r, c in EXPECTED]
    messages = [e["message"] for e in body["errors"]]
    assert "not-a-guid" not in messages[0] and "GUID" in messages[0]
    assert "'not-an-email' is not an email address" in messages[3]
    assert body["detail"].startswith("customers.csv: 5 problems; nothing was imported.")
    assert counts() == before


def test_the_api_answers_in_chinese_when_asked(client, tokens):
    resp = client.post("/api/v1/customers/import", {"file": SimpleUploadedFile("客户.csv", FIVE_PROBLEMS.encode())},
                       headers={"Authorization": f"Bearer {tokens['billing_agent']}", "Accept-Language": "zh-CN"})
    body = resp.json()
    assert body["detail"].startswith("客户.csv：发现 5 个问题，未导入任何内容。")
    assert "不是有效的电子邮件地址" in body["errors"][3]["message"]
    assert all(not m["message"].isascii() for m in body["errors"]), body["errors"]


def test_the_web_page_lists_all_five_problems(client, users):
    client.force_login(users["billing_agent"])
    before = counts()
    upload = SimpleUploadedFile("customers.csv", FIVE_PROBLEMS.encode(), content_type="text/csv")
    resp = client.post(reverse("customer_import"), {"file": upload}, headers={"Accept-Language": "en"})
    assert resp.status_code == 200
    assert [(e["row"], e["column"]) for e in resp.context["row_errors"]] == EXPECTED
    page = resp.content.decode()
    assert "5 problems found; nothing was imported." in page and "customers.csv" in page
    assert counts() == before


@pytest.mark.django_db
def test_the_command_line_exits_2_naming_file_row_and_column_of_each_problem(tmp_path, capsys):
    path = tmp_path / "customers.csv"
    path.write_text(FIVE_PROBLEMS, encoding="utf-8")
    before = counts()
    with pytest.raises(CommandError) as err:
        call_command("import_customers", str(path))
    assert err.value.returncode == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith(str(path))]
    assert [line.split(": ", 2)[1] for line in lines] == [f"row {r}, column {c}" for r, c in EXPECTED]
    assert "5 problem(s); nothing was imported" in str(err.value)
    assert counts() == before


@pytest.mark.django_db
def test_the_header_lists_every_missing_and_unknown_column_at_once():
    with pytest.raises(Exception) as failed:
        import_customers_csv("nom,contact_email,fax\nx,a@b.cn,1\n", actor=None)
    assert [(e.row, e.column) for e in failed.value.errors] == [(1, "name"), (1, "tenant_id"), (1, "nom"), (1, "fax")]


@pytest.mark.django_db
def test_a_contact_given_by_email_alone_is_accepted():
    text = ("name,tenant_id,contact_name,contact_email,contact_phone\n"
            f"Initech 深圳,{GOOD_1},,ap@initech.example.cn,\n"
            f"Umbrella,{GOOD_2},,,\n")
    result = import_customers_csv(text, actor=None)
    assert len(result.created) == 2
    contact = Customer.objects.get(tenant_id=GOOD_1).primary_contact
    # the name stands in as the mailbox, which the agent sees and can correct
    assert (contact.name, contact.email, contact.is_primary) == ("ap", "ap@initech.example.cn", True)
    assert Customer.objects.get(tenant_id=GOOD_2).primary_contact is None


@pytest.mark.django_db
def test_a_name_or_phone_without_an_email_is_a_problem_of_the_email_column():
    text = "name,tenant_id,contact_name,contact_phone\n" f"Initech,{GOOD_1},Zhao Min,+86 755 1234\n"
    before = counts()
    with pytest.raises(Exception) as failed:
        import_customers_csv(text, actor=None)
    assert [(e.row, e.column) for e in failed.value.errors] == [(2, "contact_email")]
    assert counts() == before


@pytest.mark.django_db
def test_a_known_customer_gets_its_contact_added_once_and_audited():
    customer = create_customer(actor=None, name="Initech", tenant_id=GOOD_1,
                               contact={"name": "Zhao Min", "email": "zhao@initech.cn"})
    text = ("name,tenant_id,contact_name,contact_email,contact_phone\n"
            f"Initech 深圳,{GOOD_1},,ap@initech.cn,\n")
    import_customers_csv(text, actor=None)
    import_customers_csv(text.replace(",\n", ",+86 755 1\n"), actor=None)
    customer.refresh_from_db()
    assert customer.name == "Initech 深圳"
    assert [(c.name, c.email, c.phone, c.is_primary) for c in customer.contacts.all()] == [
        ("Zhao Min", "zhao@initech.cn", "", True), ("ap", "ap@initech.cn", "+86 755 1", False)]
    assert AuditEntry.objects.filter(action="contact.added").count() == 1
    assert AuditEntry.objects.filter(action="contact.updated").count() == 1
