"""The published collections policy: the portal page with each open invoice's dates, acknowledgement, the
print version and the PDF, and the same document for staff."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pypdf
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from partnerdesk.audit.models import AuditEntry
from partnerdesk.dunning.models import PolicyAcknowledgement
from partnerdesk.dunning.services import set_profile

from .factories import STAFF, client_for, make_invoice

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def frozen():
    """09:00 Beijing time on 2026-10-20: the invoice below is not due yet."""
    with time_machine.travel(dt.datetime(2026, 10, 20, 9, tzinfo=BEIJING), tick=False):
        yield


@pytest.fixture
def due_oct31(frozen, acme):
    """Acme's invoice due 2026-10-31: reminder 10-28, suspension 11-21, data deletion 2027-01-20."""
    return make_invoice(acme, "1280.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))


def row_for(body: str, number: str) -> str:
    start = body.index(f'data-invoice="{number}"')
    return body[start:body.index("</tr>", start)]


def test_the_portal_page_shows_the_dates_of_each_open_invoice(people, due_oct31):
    response = client_for(people["acme_user"]).get(reverse("portal_collections_policy"))
    assert response.status_code == 200
    body = response.content.decode()
    row = row_for(body, due_oct31.number)
    assert "2026-10-31" in row
    assert '<td class="reminder">2026-10-28</td>' in row
    assert '<td class="suspension">2026-11-21</td>' in row
    assert '<td class="deletion">2027-01-20</td>' in row
    # The process, in words.
    assert "3 days before the due date, we send you a payment reminder." in body
    assert ("21 days after the due date, your subscriptions are suspended: your users cannot sign in; "
            "administrators can still reach the data.") in body
    assert "deletes all its data 60 days after suspension" in body
    assert "I acknowledge this collections policy" in body


def test_the_portal_says_how_to_reach_the_billing_team(people, due_oct31, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "SUPPORT_EMAIL": "billing@northwind.example.cn"}
    c = client_for(people["acme_user"])
    for url in ("portal_home", "portal_collections_policy"):
        body = c.get(reverse(url)).content.decode()
        assert 'href="mailto:billing@northwind.example.cn"' in body, url
    c.cookies["django_language"] = "zh-hans"
    assert "账务团队：" in c.get(reverse("portal_home")).content.decode()


@pytest.mark.parametrize("language, reminder, deletion, name", [
    ("zh-hans", "到期日前 3 天，我们向您发送付款提醒。", "暂停后 60 天", "政策“标准”"),
    ("zh-hant", "到期日前 3 天，我們向您發送付款提醒。", "暫停後 60 天", "政策「標準」"),
])
def test_the_portal_page_in_chinese(people, due_oct31, language, reminder, deletion, name):
    body = client_for(people["acme_user"], language=language).get(reverse("portal_collections_policy")).content.decode()
    assert f'<html lang="{language}">' in body
    assert reminder in body and deletion in body
    assert name in body and "Standard" not in body  # the default policy's name, in the customer's language
    assert "2026-11-21" in row_for(body, due_oct31.number)


def test_acknowledging_records_who_and_when_once(people, due_oct31, acme):
    c = client_for(people["acme_user"])
    response = c.post(reverse("portal_collections_policy_acknowledge"), follow=True)
    assert response.status_code == 200
    ack = PolicyAcknowledgement.objects.get(customer=acme)
    assert ack.user == people["acme_user"] and ack.policy.is_default and ack.policy_version == ack.policy.version
    entry = AuditEntry.objects.get(action="collections.policy_acknowledged")
    assert entry.customer == acme and entry.actor == people["acme_user"]
    body = response.content.decode()
    assert "Acknowledged by acme_user on 2026-10-20 09:00" in body
    assert "I acknowledge this collections policy" not in body
    # Once per version: a second click adds nothing.
    c.post(reverse("portal_collections_policy_acknowledge"))
    assert PolicyAcknowledgement.objects.filter(customer=acme).count() == 1
    # Staff see it on the customer's page.
    staff_body = client_for(people["collections"]).get(reverse("customer_detail", args=[acme.pk])).content.decode()
    assert "acknowledged by acme_user" in staff_body


def test_acknowledging_needs_a_post_and_a_customer_user(people, due_oct31):
    assert client_for(people["acme_user"]).get(reverse("portal_collections_policy_acknowledge")).status_code == 405
    for role in STAFF:
        assert client_for(people[role]).post(reverse("portal_collections_policy_acknowledge")).status_code == 403
    assert not PolicyAcknowledgement.objects.exists()
    anonymous = Client().post(reverse("portal_collections_policy_acknowledge"))
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


def test_a_customer_user_sees_only_its_own_policy(people, due_oct31, globex):
    other = make_invoice(globex, "800.00", issue_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31))
    c = client_for(people["globex_user"])
    body = c.get(reverse("portal_collections_policy")).content.decode()
    assert other.number in body and due_oct31.number not in body and "Acme" not in body
    pdf = c.get(reverse("portal_collections_policy_pdf"))
    assert due_oct31.number not in pdf_text(pdf.content)
    # The staff version of another customer's document is not for customer users.
    assert c.get(reverse("customer_collections_policy", args=[due_oct31.customer_id])).status_code == 403
    assert c.get(reverse("customer_collections_policy_pdf", args=[due_oct31.customer_id])).status_code == 403


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_is_a_real_pdf_with_the_invoice_and_its_dates(people, due_oct31):
    response = client_for(people["acme_user"]).get(reverse("portal_collections_policy_pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in [due_oct31.number, "2026-10-31", "2026-10-28", "2026-11-21", "2027-01-20", "Acme 上海"]:
        assert expected in text


def test_the_pdf_in_simplified_chinese(people, due_oct31):
    response = client_for(people["acme_user"], language="zh-hans").get(reverse("portal_collections_policy_pdf"))
    text = pdf_text(response.content)
    assert "催收政策" in text and "2027-01-20" in text


def test_the_print_version(people, due_oct31):
    body = client_for(people["acme_user"]).get(reverse("portal_collections_policy_print")).content.decode()
    assert "@page" in body and "<nav" not in body
    assert '<td class="suspension">2026-11-21</td>' in row_for(body, due_oct31.number)


@pytest.mark.parametrize("role", STAFF)
def test_staff_open_the_same_document_in_the_customers_language(people, due_oct31, acme, role):
    c = client_for(people[role])
    response = c.get(reverse("customer_collections_policy", args=[acme.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body  # Acme prefers Simplified Chinese, whatever the reader's language
    assert "到期日前 3 天" in body and "2027-01-20" in row_for(body, due_oct31.number)
    english = c.get(reverse("customer_collections_policy", args=[acme.pk]), {"lang": "en"}).content.decode()
    assert "3 days before the due date" in english
    pdf = c.get(reverse("customer_collections_policy_pdf", args=[acme.pk]))
    assert pdf.status_code == 200 and "2026-11-21" in pdf_text(pdf.content)


def test_customer_users_cannot_open_staff_pages_and_staff_cannot_open_the_portal(people, due_oct31, acme):
    assert client_for(people["acme_user"]).get(reverse("customer_collections_policy", args=[acme.pk])).status_code == 403
    assert client_for(people["admin"]).get(reverse("portal_collections_policy")).status_code == 403
    assert Client().get(reverse("portal_collections_policy_pdf")).status_code == 302


def test_an_exempt_customer_is_told_so_and_has_nothing_to_acknowledge(people, due_oct31, acme):
    from django.db import transaction

    with transaction.atomic():
        set_profile(customer=acme, actor=people["admin"], exempt=True, reason="Strategic account, paid by contract")
    c = client_for(people["acme_user"])
    body = c.get(reverse("portal_collections_policy")).content.decode()
    assert "not subject to our collections process" in body
    assert "I acknowledge" not in body and "2026-11-21" not in body
    c.post(reverse("portal_collections_policy_acknowledge"))
    assert not PolicyAcknowledgement.objects.exists()


def test_the_portal_home_asks_to_read_the_policy_until_it_is_acknowledged(people, due_oct31):
    c = client_for(people["acme_user"])
    assert 'data-testid="policy-banner"' in c.get(reverse("portal_home")).content.decode()
    c.post(reverse("portal_collections_policy_acknowledge"))
    assert 'data-testid="policy-banner"' not in c.get(reverse("portal_home")).content.decode()
