"""Collections calls: an agent marks a call done, with what the customer said, from the dashboard or the
customer page."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.dunning.models import CallTask

from .factories import client_for, make_invoice


@pytest.fixture
def call(acme):
    invoice = make_invoice(acme, "1280.00", issue_date=dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4))
    return CallTask.objects.create(customer=acme, invoice=invoice, key="t:call:acme", due_on=dt.date(2026, 2, 18),
                                   note=f"{invoice.number}: Final notice")


def done_url(call):
    return reverse("call_complete", args=[call.customer_id, call.pk])


def group_prefix(call) -> str:
    """The form of the customer's calls of the day (one phone call, whatever the number of invoices)."""
    return f"calls-{call.customer_id}-{call.due_on:%Y%m%d}"


def note_field(body: str, call) -> str:
    match = re.search(r'<div class="field[^"]*">\s*<label for="id_' + group_prefix(call) + r'-note">.*?</div>', body, re.S)
    assert match
    return match.group(0)


@pytest.mark.parametrize("page", ["dashboard", "customer"])
def test_agents_get_the_form_where_calls_are_listed(people, acme, call, page):
    url = reverse("dashboard") if page == "dashboard" else reverse("customer_detail", args=[acme.pk])
    for role in ["admin", "collections"]:
        body = client_for(people[role]).get(url).content.decode()
        group_url = reverse("calls_complete", args=[call.customer_id])
        assert group_url in body and "Mark done" in body, role
        assert f'name="{group_prefix(call)}-note"' in body and f'name="call" value="{call.pk}"' in body
    for role in ["billing_agent", "finance", "auditor"]:
        body = client_for(people[role]).get(url).content.decode()
        assert call.invoice.number in body, role  # the call is listed ...
        assert reverse("calls_complete", args=[call.customer_id]) not in body, role  # ... but only agents may close it


def test_marking_a_call_done_from_the_dashboard(people, call):
    c = client_for(people["collections"])
    response = c.post(done_url(call), {"back": "dashboard", f"call-{call.pk}-note": "CFO promises to pay Friday."})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard") + "#calls"
    call.refresh_from_db()
    assert call.done_at is not None and call.done_at <= timezone.now()
    assert call.assigned_to == people["collections"]
    assert call.note.endswith("CFO promises to pay Friday.")
    entry = AuditEntry.objects.get(action="collections.call_done")
    assert entry.actor == people["collections"] and entry.reason == "CFO promises to pay Friday."
    body = c.get(reverse("dashboard")).content.decode()
    assert "Call to Acme 上海 marked done." in body
    assert done_url(call) not in body and "No open call tasks." in body


def test_marking_a_call_done_from_the_customer_page(people, acme, call):
    c = client_for(people["admin"])
    response = c.post(done_url(call), {"back": "customer", f"call-{call.pk}-note": "Left a voicemail."})
    assert response.status_code == 302
    assert response["Location"] == reverse("customer_detail", args=[acme.pk]) + "#calls"
    body = c.get(response["Location"]).content.decode()
    assert "Call to Acme 上海 marked done." in body and done_url(call) not in body


@pytest.mark.parametrize("back", ["dashboard", "customer"])
@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_is_required(people, call, back, note):
    response = client_for(people["collections"]).post(done_url(call), {"back": back, f"call-{call.pk}-note": note})
    assert response.status_code == 200  # the page it came from, with the form open and the error on the note
    body = response.content.decode()
    assert "This field is required." in note_field(body, call)
    assert "<details class=\"inline-action\" open>" in body
    assert ("Calls to make" in body) if back == "dashboard" else ('id="collections"' in body)
    call.refresh_from_db()
    assert call.done_at is None
    assert not AuditEntry.objects.filter(action="collections.call_done").exists()


def test_a_call_already_done_is_not_done_twice(people, call):
    c = client_for(people["collections"])
    c.post(done_url(call), {"back": "dashboard", f"call-{call.pk}-note": "First."})
    response = c.post(done_url(call), {"back": "dashboard", f"call-{call.pk}-note": "Second."}, follow=True)
    assert "This call is already done." in response.content.decode()
    call.refresh_from_db()
    assert "Second." not in call.note
    assert AuditEntry.objects.filter(action="collections.call_done").count() == 1


def test_other_roles_and_other_customers(people, globex, call):
    note = {f"call-{call.pk}-note": "x"}
    for role in ["billing_agent", "finance", "auditor", "acme_user"]:
        assert client_for(people[role]).post(done_url(call), note).status_code == 403, role
    # the call under another customer's address is not found
    wrong = reverse("call_complete", args=[globex.pk, call.pk])
    assert client_for(people["admin"]).post(wrong, note).status_code == 404
    assert client_for(people["admin"]).get(done_url(call)).status_code == 405
    call.refresh_from_db()
    assert call.done_at is None


def test_the_form_is_translated(people, call):
    body = client_for(people["collections"], language="zh-hans").get(reverse("dashboard")).content.decode()
    assert "标记为已完成" in body


@pytest.mark.django_db(transaction=True)  # the call closes once the payment has committed
def test_a_call_about_an_invoice_paid_meanwhile_closes_itself(people, acme, call):
    from partnerdesk.billing.services import record_payment

    other = make_invoice(acme, "50.00", issue_date=dt.date(2026, 1, 20), due_date=dt.date(2026, 2, 19))
    other_call = CallTask.objects.create(customer=acme, invoice=other, key="t:call:acme:2", due_on=dt.date(2026, 3, 1))
    # Paying the first invoice in full (oldest due first) leaves the second open: its call stays.
    record_payment(customer=acme, amount="1280.00", received_on=timezone.localdate(), method="bank_transfer",
                   actor=people["finance"])
    call.refresh_from_db()
    other_call.refresh_from_db()
    assert call.done_at is not None and other_call.done_at is None
    assert call.note.endswith(f"invoice {call.invoice.number} is paid: no call needed")
    entry = AuditEntry.objects.get(action="collections.call_closed")
    assert entry.customer == acme and entry.actor is None
    body = client_for(people["collections"], language="zh-hans").get(reverse("dashboard")).content.decode()
    assert other.number in body and call.invoice.number not in body
    audit = client_for(people["auditor"], language="zh-hans").get(reverse("audit_list")).content.decode()
    assert "催收电话已无需拨打" in audit and "无需再打电话" in audit
