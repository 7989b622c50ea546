"""Importing customers from CSV: all rows or none, every bad row listed."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerdesk.customers.models import Customer

from .factories import client_for

GOOD = "11111111-1111-1111-1111-111111111111"
GOOD2 = "22222222-2222-2222-2222-222222222222"


def upload(user, text, name="customers.csv", encoding="utf-8"):
    data = {"file": SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")}
    return client_for(user).post(reverse("customer_import"), data, follow=True)


def test_import_creates_customers(people):
    csv = ("\ufeffname,tenant_id,primary_domain,contact_name,contact_email\n"
           f"Initech 深圳,{GOOD},initech.partner.onmschina.cn,Zhao Min,ap@initech.example.cn\n"
           f"Umbrella 杭州,{GOOD2},umbrella.partner.onmschina.cn,,\n")
    response = upload(people["billing_agent"], csv)
    assert "Import finished: 2 customer(s) created, 0 updated." in response.content.decode()
    assert Customer.objects.filter(name__in=["Initech 深圳", "Umbrella 杭州"]).count() == 2


def test_bad_rows_are_all_listed_and_nothing_is_imported(people):
    before = Customer.objects.count()
    csv = ("name,tenant_id,contact_name,contact_email\n"
           f"Initech,{GOOD},Zhao Min,ap@initech.example.cn\n"
           "Broken,not-a-guid,,\n"
           f"Dup,{GOOD},,\n"
           f",{GOOD2},Zhao,zhao@example.cn\n")
    response = upload(people["admin"], csv)
    assert response.status_code == 200
    errors = response.context["row_errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "tenant_id"), (4, "tenant_id"), (5, "name")]
    body = response.content.decode()
    assert "3 problems found; nothing was imported." in body
    assert "Duplicate of row 2." in body
    assert Customer.objects.count() == before


def test_a_file_that_is_not_utf8_is_a_form_error(people):
    response = upload(people["admin"], f"name,tenant_id\n公司,{GOOD}\n", encoding="gb18030")
    assert "file" in response.context["form"].errors
    assert not Customer.objects.filter(tenant_id=GOOD).exists()


def test_only_customer_managers_may_import(people):
    for role in ["collections", "finance", "auditor"]:
        assert client_for(people[role]).get(reverse("customer_import")).status_code == 403
