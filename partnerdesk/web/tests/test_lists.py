"""The staff lists: customers (filters, what its status shows, pinyin order, CSV, bulk actions), invoices and
payments (filters, overdue, CSV), and the search page behind the header's box."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import record_payment
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.customers.sorting import name_sort_key
from partnerdesk.dunning.models import CollectionsProfile
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.policy_editing import copy_policy
from partnerdesk.dunning.services import set_profile

from .factories import client_for, make_customer, make_invoice


def names_in(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


def read_csv(response) -> list[dict]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads Chinese
    return list(csv.DictReader(io.StringIO(text[1:])))


# --- the customer list ------------------------------------------------------------------------------------


@pytest.fixture
def four_cities(db):
    return [make_customer(name, f"{i}.example.cn", f"ap@{i}.example.cn")
            for i, name in enumerate(["深圳湾科技", "成都锦城软件", "阿里巴巴云", "北京数字"])]


def test_pinyin_order_not_code_points():
    # By code point: 北 (5317) < 成 (6210) < 深 (6DF1) < 阿 (963F)
    names = ["深圳", "北京", "阿里", "成都"]
    assert sorted(names) == ["北京", "成都", "深圳", "阿里"]
    assert sorted(names, key=name_sort_key) == ["阿里", "北京", "成都", "深圳"]
    # a syllable before a longer one that starts alike (西安 xi'an before 先 xian), Latin names among them
    assert sorted(["先锋", "西安", "Contoso", "重庆"], key=name_sort_key) == ["重庆", "Contoso", "西安", "先锋"]


def test_the_list_sorts_chinese_names_by_pinyin_in_the_database(people, four_cities):
    response = client_for(people["billing_agent"]).get(reverse("customer_list"))
    # (Latin names among them, letter by letter: a1 < ac < be, ch < gl < sh)
    assert names_in(response) == ["阿里巴巴云", "Acme 上海", "北京数字", "成都锦城软件", "Globex 北京", "深圳湾科技"]


def test_a_renamed_customer_gets_a_new_sort_key(people, four_cities):
    from partnerdesk.customers.services import update_customer

    update_customer(four_cities[0], actor=None, name="安徽科技")  # 深圳湾科技 -> an1hui1...
    assert Customer.objects.get(pk=four_cities[0].pk).name_sort.startswith("an1hui1")
    response = client_for(people["billing_agent"]).get(reverse("customer_list"))
    assert names_in(response)[:3] == ["阿里巴巴云", "Acme 上海", "安徽科技"]


def test_the_data_migration_fills_the_key_of_existing_customers(people, four_cities):
    from importlib import import_module

    from django.apps import apps

    Customer.objects.update(name_sort="")
    import_module("partnerdesk.customers.migrations.0003_customer_owner_name_sort").fill_name_sort(apps, None)
    assert Customer.objects.get(name="成都锦城软件").name_sort == "cheng2du1jin3cheng2ruan3jian4"


def test_status_shows_suspended_overdue_and_exempt_never_active_for_a_suspended_customer(people, acme, globex,
                                                                                         invoices):
    Subscription.objects.create(customer=acme, operator_id="sub-acme", offer_name="Microsoft 365 E3",
                                status="suspended", suspension_reason="non_payment")
    quiet = make_customer("Initech 深圳", "initech.example.cn", "ap@initech.example.cn")
    set_profile(customer=quiet, actor=None, exempt=True, reason="strategic account")
    fine = make_customer("Umbrella 广州", "umbrella.example.cn", "ap@umbrella.example.cn")
    response = client_for(people["billing_agent"]).get(reverse("customer_list"))
    flags = {c.name: [key for key, _ in c.flags] for c in response.context["page"].object_list}
    assert flags == {"Acme 上海": ["suspended", "overdue"], "Globex 北京": ["overdue"], "Initech 深圳": ["exempt"],
                     "Umbrella 广州": ["active"]}
    assert fine.name in response.content.decode()
    zh = client_for(people["billing_agent"], language="zh-hans").get(reverse("customer_list")).content.decode()
    assert "已暂停" in zh and "逾期" in zh


def test_filters_suspended_overdue_policy_owner_and_status(people, acme, globex, invoices):
    agent = people["billing_agent"]
    Subscription.objects.create(customer=acme, operator_id="sub-acme", status="suspended")
    paid_up = make_customer("Initech 深圳", "initech.example.cn", "ap@initech.example.cn")
    own = copy_policy(default_policy(), actor=None)
    set_profile(customer=globex, actor=None, policy=own, reason="large account")
    set_profile(customer=paid_up, actor=None, exempt=True, reason="partner")
    Customer.objects.filter(pk=globex.pk).update(owner=people["collections"])

    def listed(**params):
        return sorted(names_in(client_for(agent).get(reverse("customer_list"), params)))

    assert listed(suspended="yes") == ["Acme 上海"]
    assert listed(suspended="no") == ["Globex 北京", "Initech 深圳"]
    assert listed(overdue="yes") == ["Acme 上海", "Globex 北京"]
    assert listed(overdue="no") == ["Initech 深圳"]
    assert listed(policy=str(own.pk)) == ["Globex 北京"]
    assert listed(policy="exempt") == ["Initech 深圳"]
    assert listed(policy="default") == ["Acme 上海"]
    assert listed(owner=str(people["collections"].pk)) == ["Globex 北京"]
    assert listed(owner="none") == ["Acme 上海", "Initech 深圳"]
    assert listed(overdue="yes", owner="none") == ["Acme 上海"]
    assert listed(q="Wang Fang") == ["Acme 上海", "Globex 北京", "Initech 深圳"]  # a contact's name
    # a value that is not one of the choices filters nothing and says why
    response = client_for(agent).get(reverse("customer_list"), {"owner": "999999"})
    assert response.status_code == 200 and response.context["form"].errors["owner"]


def test_sort_by_overdue_highest_first(people, acme, globex, invoices):
    response = client_for(people["billing_agent"]).get(reverse("customer_list"), {"sort": "-overdue"})
    assert names_in(response) == ["Acme 上海", "Globex 北京"]


def test_the_export_holds_every_filtered_customer_with_status_owner_and_balances(people, acme, globex, invoices):
    for i in range(30):  # more than one page
        make_customer(f"Tenant {i:02d}", f"t{i}.example.cn", f"ap{i}@t{i}.example.cn")
    Customer.objects.filter(pk=acme.pk).update(owner=people["billing_agent"])
    rows = read_csv(client_for(people["auditor"]).get(reverse("customer_list_csv")))
    assert len(rows) == 32
    rows = read_csv(client_for(people["auditor"]).get(reverse("customer_list_csv"), {"overdue": "yes"}))
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"Acme 上海", "Globex 北京"}
    assert by_name["Acme 上海"]["owner"] == "billing_agent"
    assert by_name["Acme 上海"]["balance"] == "3500.00" and by_name["Acme 上海"]["overdue"] == "3500.00"
    assert by_name["Acme 上海"]["contact_email"] == "ap@acme.example.cn"
    assert by_name["Acme 上海"]["tenant_id"] == str(acme.tenant_id)
    assert client_for(people["auditor"]).get(reverse("customer_list_csv"), {"sort": "nonsense"}).status_code == 400


def test_export_quotes_a_name_a_spreadsheet_would_run(people):
    make_customer("=HYPERLINK(\"http://x\")", "x.example.cn", "ap@x.example.cn")
    rows = read_csv(client_for(people["admin"]).get(reverse("customer_list_csv")))
    assert [r["name"] for r in rows if "HYPERLINK" in r["name"]] == ["'=HYPERLINK(\"http://x\")"]


def test_bulk_assign_an_owner_audits_each_customer(people, acme, globex):
    agent = people["billing_agent"]
    back = reverse("customer_list") + "?overdue=no"
    response = client_for(agent).post(reverse("customer_bulk"), {
        "customers": [acme.pk, globex.pk], "action": "owner", "owner": people["collections"].pk,
        "reason": "new territory", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert set(Customer.objects.values_list("owner__username", flat=True)) == {"collections"}
    entries = AuditEntry.objects.filter(action="customer.owner_changed")
    assert sorted(e.customer_id for e in entries) == sorted([acme.pk, globex.pk])
    assert {(e.actor_label, e.after["owner"], e.reason) for e in entries} == {("billing_agent", "collections", "new territory")}
    # Nobody again
    client_for(agent).post(reverse("customer_bulk"), {"customers": [acme.pk], "action": "owner", "owner": "none"})
    assert Customer.objects.get(pk=acme.pk).owner is None
    body = client_for(agent).get(reverse("customer_list")).content.decode()
    assert 'name="customers"' in body and "Assign an owner" in body


def test_bulk_move_to_a_policy_goes_through_the_collections_service(people, acme, globex):
    own = copy_policy(default_policy(), actor=None)
    c = client_for(people["collections"])
    response = c.post(reverse("customer_bulk"), {"customers": [acme.pk, globex.pk], "action": "policy",
                                                 "policy": own.pk, "reason": "enterprise terms"}, follow=True)
    assert "2 customers moved to" in response.content.decode()
    assert set(CollectionsProfile.objects.values_list("customer_id", "policy_id")) == {(acme.pk, own.pk), (globex.pk, own.pk)}
    entries = AuditEntry.objects.filter(action="collections.profile_changed")
    assert entries.count() == 2 and {e.reason for e in entries} == {"enterprise terms"}
    # exempt, then back to the default
    c.post(reverse("customer_bulk"), {"customers": [acme.pk], "action": "policy", "policy": "exempt", "reason": "VIP"})
    assert CollectionsProfile.objects.get(customer=acme).exempt
    c.post(reverse("customer_bulk"), {"customers": [acme.pk], "action": "policy", "policy": "default", "reason": "normal"})
    profile = CollectionsProfile.objects.get(customer=acme)
    assert not profile.exempt and profile.policy is None


def test_bulk_refuses_without_a_reason_a_selection_or_the_permission(people, acme):
    own = copy_policy(default_policy(), actor=None)
    before = AuditEntry.objects.count()
    policy_move = {"customers": [acme.pk], "action": "policy", "policy": own.pk}
    response = client_for(people["collections"]).post(reverse("customer_bulk"), policy_move, follow=True)
    assert "Give the reason for the change." in response.content.decode()
    response = client_for(people["collections"]).post(reverse("customer_bulk"), {
        "action": "owner", "owner": "none", "customers": ["x"]}, follow=True)
    assert "Select customers from the list." in response.content.decode()
    # an agent may assign owners but not move policies; collections the other way round; auditors neither
    assert client_for(people["billing_agent"]).post(reverse("customer_bulk"), {**policy_move, "reason": "r"}).status_code == 403
    owner = {"customers": [acme.pk], "action": "owner", "owner": people["admin"].pk}
    assert client_for(people["collections"]).post(reverse("customer_bulk"), owner).status_code == 403
    assert client_for(people["auditor"]).post(reverse("customer_bulk"), owner).status_code == 403
    # a customer user can never own customers
    response = client_for(people["admin"]).post(reverse("customer_bulk"), {**owner, "owner": people["acme_user"].pk},
                                                follow=True)
    assert response.status_code == 200 and Customer.objects.get(pk=acme.pk).owner is None
    assert AuditEntry.objects.count() == before


# --- invoices ---------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(acme, globex):
    """Acme: three invoices, all paid but one partly (not due yet, 2026-12-20); Globex: one overdue and a payment
    larger than what it owes (credit on account)."""
    out = {
        "acme_old": make_invoice(acme, "1000.00", issue_date=dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4)),
        "acme_new": make_invoice(acme, "2500.00", issue_date=dt.date(2026, 11, 20), due_date=dt.date(2026, 12, 20)),
        "acme_paid": make_invoice(acme, "300.00", issue_date=dt.date(2026, 6, 1), due_date=dt.date(2026, 7, 1)),
        "globex": make_invoice(globex, "800.00", issue_date=dt.date(2026, 2, 1), due_date=dt.date(2026, 3, 3)),
    }
    # Applied oldest due first: Alipay pays acme_old; WeChat Pay acme_paid and 200.00 of acme_new.
    record_payment(customer=acme, amount="1000.00", received_on=dt.date(2026, 3, 1), method="alipay",
                   reference="ALI-2026-0301", actor=None)
    record_payment(customer=acme, amount="500.00", received_on=dt.date(2026, 11, 2), method="wechat_pay",
                   reference="4200002126202611021111", actor=None)
    out["globex_overdue"] = make_invoice(globex, "120.00", issue_date=dt.date(2026, 9, 1), due_date=dt.date(2026, 10, 1))
    for invoice in out.values():
        invoice.refresh_from_db()
    return out


def numbers_in(response):
    return [i.number for i in response.context["page"].object_list]


def test_invoice_list_shows_every_customers_invoices_and_overdue_as_a_status(people, ledger):
    response = client_for(people["finance"]).get(reverse("invoice_list"))
    assert response.status_code == 200
    statuses = {i.number: i.display_status for i in response.context["page"].object_list}
    assert statuses == {ledger["acme_old"].number: "paid", ledger["acme_paid"].number: "paid",
                        ledger["acme_new"].number: "partially_paid", ledger["globex"].number: "overdue",
                        ledger["globex_overdue"].number: "overdue"}
    body = response.content.decode()
    assert "Overdue" in body and "Globex 北京" in body
    # on the invoice's own page too
    page = client_for(people["finance"]).get(reverse("invoice_detail", args=[ledger["globex"].pk])).content.decode()
    assert "Overdue" in page


def test_invoice_filters(people, ledger):
    c = client_for(people["billing_agent"])

    def listed(**params):
        return sorted(numbers_in(c.get(reverse("invoice_list"), params)))

    n = {k: v.number for k, v in ledger.items()}
    assert listed(status="overdue") == sorted([n["globex"], n["globex_overdue"]])
    assert listed(status="paid") == sorted([n["acme_old"], n["acme_paid"]])
    assert listed(customer="acme") == sorted([n["acme_old"], n["acme_new"], n["acme_paid"]])
    assert listed(customer="北京") == sorted([n["globex"], n["globex_overdue"]])
    assert listed(issued_from="2026-02-01", issued_to="2026-06-30") == sorted([n["globex"], n["acme_paid"]])
    assert listed(due_from="2026-12-01") == [n["acme_new"]]
    response = c.get(reverse("invoice_list"), {"due_from": "2026-12-01", "due_to": "2026-01-01"})
    assert response.context["form"].errors["due_to"]


def test_invoice_export_holds_the_filtered_list(people, ledger):
    rows = read_csv(client_for(people["auditor"]).get(reverse("invoice_list_csv"), {"status": "overdue"}))
    by_number = {r["number"]: r for r in rows}
    assert set(by_number) == {ledger["globex_overdue"].number, ledger["globex"].number}
    assert by_number[ledger["globex"].number] | {} == {
        "number": ledger["globex"].number, "customer": "Globex 北京", "tenant_id": str(ledger["globex"].customer.tenant_id),
        "issue_date": "2026-02-01", "due_date": "2026-03-03", "status": "overdue", "currency": "CNY", "total": "800.00",
        "paid": "0.00", "balance": "800.00"}
    assert client_for(people["auditor"]).get(reverse("invoice_list_csv"), {"issued_from": "1999-12-31"}).status_code == 400


def test_invoice_list_pages(people, acme):
    for _ in range(51):
        make_invoice(acme, "1.00")
    c = client_for(people["admin"])
    assert len(c.get(reverse("invoice_list")).context["page"].object_list) == 50
    assert len(c.get(reverse("invoice_list"), {"page": 2}).context["page"].object_list) == 1


# --- payments ---------------------------------------------------------------------------------------------


def references_in(response):
    return sorted(p.reference for p in response.context["page"].object_list)


def test_payment_filters(people, ledger, globex):
    record_payment(customer=globex, amount="1000.00", received_on=dt.date(2026, 11, 10), method="bank_transfer",
                   reference="CMB-88", actor=None)
    c = client_for(people["collections"])

    def listed(**params):
        return references_in(c.get(reverse("payment_list"), params))

    assert listed() == ["4200002126202611021111", "ALI-2026-0301", "CMB-88"]
    assert listed(method="wechat_pay") == ["4200002126202611021111"]
    assert listed(customer="globex") == ["CMB-88"]
    assert listed(received_from="2026-11-01", received_to="2026-11-05") == ["4200002126202611021111"]
    # Globex paid 1,000.00 for 920.00 owed: 80.00 left as credit on account; Acme's are fully applied
    assert listed(unallocated="yes") == ["CMB-88"]
    assert listed(unallocated="no") == ["4200002126202611021111", "ALI-2026-0301"]


def test_payment_export(people, ledger):
    rows = read_csv(client_for(people["finance"]).get(reverse("payment_list_csv"), {"method": "wechat_pay"}))
    assert [(r["reference"], r["customer"], r["amount"], r["unallocated"]) for r in rows] == [
        ("4200002126202611021111", "Acme 上海", "500.00", "0.00")]


def test_the_header_links_the_lists_for_staff_only(people, ledger):
    body = client_for(people["auditor"]).get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("invoice_list")}"' in body and f'href="{reverse("payment_list")}"' in body
    assert f'action="{reverse("search")}"' in body
    portal = client_for(people["acme_user"]).get(reverse("portal_home")).content.decode()
    assert f'action="{reverse("search")}"' not in portal


# --- the search page --------------------------------------------------------------------------------------


def test_the_search_page_links_each_hit_where_it_lives(people, ledger, acme):
    c = client_for(people["billing_agent"])
    invoice = ledger["globex"]
    body = c.get(reverse("search"), {"q": invoice.number}).content.decode()
    assert f'href="{reverse("invoice_detail", args=[invoice.pk])}"' in body and "Globex 北京" in body
    body = c.get(reverse("search"), {"q": "4200002126202611021111"}).content.decode()
    assert f'href="{reverse("customer_detail", args=[acme.pk])}#payments"' in body and "WeChat Pay" in body
    body = c.get(reverse("search"), {"q": "Wang Fang"}).content.decode()
    assert body.count('data-kind="contact"') == 2
    zh = client_for(people["billing_agent"], language="zh-hans").get(reverse("search"), {"q": "上海"}).content.decode()
    assert "客户" in zh and "Acme 上海" in zh
    assert "Nothing matches" in c.get(reverse("search"), {"q": "no-such-thing"}).content.decode()
    response = c.get(reverse("search"), {"q": "x" * 201})
    assert response.status_code == 200 and "200" in response.context["error"]
