"""The permission matrix of the REST API: every route, every role, and a customer user of another customer.

The objects acted on all belong to customer A. 'customer_a' is A's own portal user, 'customer_b' the
portal user of another customer: it must get 404 for A's objects (never their data), 403 for staff routes.
"""

import datetime as dt
import json
import re

import pytest
from django.db import transaction

from partnerdesk.accounts.models import ApiToken
from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.services import issue_invoice, record_payment
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.dunning.models import Dispute
from partnerdesk.notifications.models import OutboundEmail
from partnerdesk.notifications.services import queue_email

ROLES = ["admin", "billing_agent", "collections", "finance", "auditor", "customer_a", "customer_b"]
STAFF = {"admin", "billing_agent", "collections", "finance", "auditor"}
READERS = STAFF | {"customer_a"}  # who may read customer A's data


@pytest.fixture
def world(users, tokens, customer_a, customer_b, operator):
    """Customer A with a draft, a paid and a part-paid invoice, a payment, an active and a suspended
    subscription known to the operator simulator; customer B with an invoice of its own."""
    active = operator.add_subscription(customer_a, offer_name="Microsoft 365 E3", quantity=10)
    suspended = operator.add_subscription(customer_a, offer_name="Exchange Online (Plan 1)", status="suspended")
    sub = Subscription.objects.create(customer=customer_a, operator_id=active["id"], offer_name="Microsoft 365 E3", status="active")
    sus = Subscription.objects.create(customer=customer_a, operator_id=suspended["id"], offer_name="Exchange Online",
                                      status="suspended", suspension_reason="non_payment")
    issued = make_invoice(customer_a, "500.00")
    draft = make_invoice(customer_a, "80.00", issue=False)
    payment = record_payment(customer=customer_a, amount="700.00", received_on=dt.date(2026, 11, 1), method="alipay", actor=None).payment
    # An invoice A disputes: the credit left is not applied to it, so A owes (a promise needs a debt) and has credit.
    contested = make_invoice(customer_a, "300.00", issue=False)
    Dispute.objects.create(customer=customer_a, invoice=contested, reason="seats billed twice")
    issue_invoice(contested, actor=None)
    other_invoice = make_invoice(customer_b, "999.00")
    with transaction.atomic():
        # Made directly: the paid invoice is only there for the resolve route's permission check.
        dispute = Dispute.objects.create(customer=customer_a, invoice=issued, reason="amount disputed")
        failed = queue_email(customer=customer_a, template_key="collections.notice", context={"invoice_number": issued.number},
                             dedupe_key="matrix-failed")
        sent = queue_email(customer=customer_a, template_key="collections.reminder", context={"invoice_number": issued.number},
                           dedupe_key="matrix-sent")
    OutboundEmail.objects.filter(pk=failed.pk).update(status="failed", last_error="550 mailbox unavailable")
    people = _users_and_teams_world(customer_a)
    OutboundEmail.objects.filter(pk=sent.pk).update(status="sent")
    return {"A": customer_a.pk, "B": customer_b.pk, "sub": sub.pk, "sus": sus.pk, "inv": issued.pk, "draft": draft.pk,
            "pay": payment.pk, "other_inv": other_invoice.pk, "tenant_a": str(customer_a.tenant_id),
            "dispute": dispute.pk, "failed_email": failed.pk, "sent_email": sent.pk, **people,
            **_support_world(customer_a, users)}


def _support_world(customer_a, users) -> dict:
    """A's open case with a public reply and an internal note (each with a file), a second case to merge, a
    resolved one whose resolution the mail server took (to close, confirm, score), and a canned reply."""
    from partnerdesk.support import desk_settings
    from partnerdesk.support import services as support

    agent = users["billing_agent"]
    users["customer_a"].email = "li.lei@contoso.example.cn"
    users["customer_a"].save(update_fields=["email"])

    def open_case(subject):
        return support.open_case(customer=customer_a, subject=subject, description="Why twice?", actor=users["customer_a"],
                                 channel="api")

    case, second, resolved = open_case("Invoice charged twice"), open_case("Same invoice"), open_case("Refund?")
    reply = support.reply(case=case, body="Checking.", actor=agent, attachments=[{"filename": "copy.pdf", "content": b"%PDF"}])
    note = support.add_note(case=case, body="Watch list", actor=agent, attachments=[{"filename": "l.csv", "content": b"a"}])
    resolution = support.resolve(case=resolved, body="Refunded.", actor=agent)
    resolution.emails.update(status="sent")
    canned = desk_settings.create_canned_reply(title="Balance", language="en", body="You owe {balance}.", actor=None)
    return {"case": case.pk, "merged_case": second.pk, "resolved": resolved.pk, "pub_att": reply.attachments.get().pk,
            "int_att": note.attachments.get().pk, "canned": canned.pk, "language": "en"}


def _escalations_world(world) -> dict:
    """The partner's contact for service requests, and two portal requests on A's case: one prepared, one filed."""
    from partnerdesk.escalations import services as escalations
    from partnerdesk.escalations.targets import settings_row
    from partnerdesk.support.models import Case

    row = settings_row()
    row.contact_name, row.contact_email = "王芳", "escalations@northwind.example.cn"
    row.save()
    case = Case.objects.get(pk=world["case"])

    def escalate(title):
        return escalations.escalate(case, actor=None, channel="portal", topic="billing", severity="moderate",
                                    title=title, description="扣款两次。")

    draft, filed = escalate("发票重复扣费"), escalate("退款未到账")
    escalations.record_reference(filed, "2611240010000002", actor=None)
    return {"sr": draft.pk, "filed_sr": filed.pk}


def _rebilling_world(world) -> dict:
    """Re-billing: the committed license file imported, one unmatched group mapped to A and billed on A's draft
    for the period, a second group mapped to A and not billed yet (for generate), and a price rule of A's."""
    from partnerdesk.rebilling import drafts, matching, pricing
    from partnerdesk.rebilling.importer import import_file
    from partnerdesk.rebilling.tests.recon_data import LICENSE_FILE, operator_invoice_input

    a = Customer.objects.get(pk=world["A"])
    recon = import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None).file
    first, second = matching.unmatched_groups()[:2]
    matching.map_key(key_kind=first.key_kind, key=first.key, customer=a, actor=None)
    draft = drafts.generate_drafts(dt.date(2026, 10, 1), actor=None).invoice_ids[0]
    matching.map_key(key_kind=second.key_kind, key=second.key, customer=a, actor=None)
    rule = pricing.set_price_rule(customer=a, product="CFQ7TTC0LFK5", kind="markup", percent="5", actor=None)
    return {"recon_file": recon.pk, "rb_draft": draft, "rb_rule": rule.pk, "rb_period": "2026-10-01"}


def _fapiao_world(world) -> dict:
    """A's invoicing details; an invoice of A's with no fapiao, and fapiao of A's requested, issued, being reversed."""
    from partnerdesk.fapiao import services as fapiao

    a = Customer.objects.get(pk=world["A"])
    fapiao.set_buyer_details(a, actor=None, buyer_name="Contoso 上海有限公司", credit_code="91350100M000100Y43")

    def issued(number):
        record = fapiao.request_fapiao(make_invoice(a, "100.00"), actor=None)
        return fapiao.record_issued(record, number=number, issued_on=dt.date(2026, 11, 20), actor=None)

    reversing = fapiao.request_reversal(issued("26312000000000000101"), reason_code="issuing_error", actor=None)
    return {"fapiao": fapiao.request_fapiao(make_invoice(a, "100.00"), actor=None).pk,
            "fapiao_issued": issued("26312000000000000102").pk, "fapiao_rev": reversing.pk,
            "fapiao_inv": make_invoice(a, "100.00").pk}


def _payables_world() -> dict:
    """An invoice of 21Vianet's to the partner (payables are the partner's own books: customers get 403)."""
    from decimal import Decimal

    from partnerdesk.payables.services import OperatorInvoiceInput, record_operator_invoice

    invoice, _created = record_operator_invoice(OperatorInvoiceInput(
        number="21V-202610-0001", billing_date=dt.date(2026, 11, 1), period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31), amount=Decimal("8000.00")), actor=None)
    return {"opinv": invoice.pk}


def _fraud_world(world) -> dict:
    """Fraud: an open spend-spike alert of A's with its case, A's monthly budget, a stored default rule, and the
    partner's contact for reports to 21Vianet."""
    from partnerdesk.escalations.targets import settings_row
    from partnerdesk.fraud.alerts import record_hits
    from partnerdesk.fraud.models import Alert, CreditLimit, ExpectedPattern, SignalRule
    from partnerdesk.fraud.tests.conftest import AS_OF, spike

    a = Customer.objects.get(pk=world["A"])
    record_hits([spike(a)], as_of=AS_OF)
    SignalRule.objects.create(signal="spend_spike")
    row = settings_row()
    row.contact_name, row.contact_email = "王芳", "escalations@northwind.example.cn"
    row.save()
    limit = CreditLimit.objects.create(customer=a, kind="budget", amount="5000.00")
    pattern = ExpectedPattern.objects.create(customer=a, signal="new_region", reason="new office")
    return {"alert": Alert.objects.get(customer=a).pk, "limit": limit.pk, "signal": "spend_spike",
            "pattern": pattern.pk}


def _users_and_teams_world(customer_a) -> dict:
    """A staff user, a deactivated one, one invited, a team, and customer A's contact (users and teams routes)."""
    from partnerdesk.accounts import services as accounts

    member = accounts.create_user(actor=None, username="member1", password="x", role="billing_agent", validate=False)
    gone = accounts.create_user(actor=None, username="gone1", password="x", role="finance", validate=False)
    accounts.deactivate_user(gone, actor=None, reason="left")
    invited = accounts.invite_staff_user(actor=None, email="invited@partner.example.cn", role="auditor",
                                         link_base="http://testserver/")
    team = accounts.create_team(actor=None, name="Billing")
    return {"member": member.pk, "gone": gone.pk, "invited": invited.pk, "team": team.pk,
            "contact": customer_a.contacts.first().pk}


def everyone(status):
    return {role: status for role in ROLES}


def read_own(ok=200):
    return {**{r: ok for r in READERS}, "customer_b": 404}


def change(ok, allowed):
    """A change to one of A's objects: `allowed` roles succeed, other staff and A's user get 403, B's user 404."""
    out = {r: (ok if r in allowed else 403) for r in ROLES}
    out["customer_b"] = 404
    return out


def change_draft(ok, allowed):
    """A change to A's draft invoice: as `change`, but A's user gets 404, since it never sees drafts (a 403 would tell
    it that the draft exists)."""
    return {**change(ok, allowed), "customer_a": 404}


def staff_only(ok=200):
    return {r: (ok if r in STAFF else 403) for r in ROLES}


def only(ok, allowed):
    """Not about one customer's objects: `allowed` roles succeed, everyone else gets 403."""
    return {r: (ok if r in allowed else 403) for r in ROLES}


def staff_read_of_a(ok=200):
    """Staff-only reading of customer A's data: customer users are refused (B's user never sees A's data)."""
    return {**staff_only(ok), "customer_b": 403}


def create(ok, allowed):
    """Creating something (body names customer A): not allowed -> 403, allowed but not A's -> 404."""
    out = {r: (ok if r in allowed else 403) for r in ROLES}
    if "customer_b" in allowed:
        out["customer_b"] = 404
    return out


AGENTS = {"admin", "billing_agent", "collections", "finance"}  # cases.work
OPENERS = AGENTS | {"customer_a", "customer_b"}  # cases.open

# A message from an address no customer has (it waits unmatched), as a mail service posts it.
RFC822 = (b"From: Wang Fang <wang.fang@unknown.example.org>\r\nTo: support@partnerdesk.invalid\r\nSubject: =?UTF-8?B?"
          b"5Y+R56Wo?=\r\nMessage-ID: <matrix@unknown.example.org>\r\n\r\nA question about an invoice.\r\n")
CSV = "name,tenant_id,contact_name,contact_email\nNew Co,6b0e4e1c-7a4a-4c53-9a0e-0f0f3b7f2d11,Wang Fang,wf@newco.cn\n"
# The tax platform's results for A's requested fapiao.
FAPIAO_CSV = "申请编号 request_id,发票号码 fapiao_number,开票日期 issued_on\n{fapiao},26312000000000000177,2026-11-20\n"
FINANCE = {"admin", "finance"}  # fapiao.manage
FRAUD_ACT = {"admin", "collections", "finance"}  # fraud.act

# (method, path, body, expected status per role)
MATRIX = [
    ("GET", "/me", None, everyone(200)),
    ("GET", "/tokens", None, everyone(200)),
    ("POST", "/tokens", {"name": "ci"}, everyone(201)),
    ("GET", "/customers", None, everyone(200)),
    ("POST", "/customers", {"name": "Northwind", "tenant_id": "0b9a3f6e-2c41-4c1e-8f7a-5d1f0e9a8b77"},
     create(201, {"admin", "billing_agent"})),
    ("POST", "/customers/import", "CSV", create(201, {"admin", "billing_agent"})),
    ("GET", "/customers/{A}", None, read_own()),
    ("PATCH", "/customers/{A}", {"primary_domain": "contoso.cn", "reason": "domain moved"}, change(200, {"admin", "billing_agent"})),
    ("GET", "/customers/{A}/balance", None, read_own()),
    ("GET", "/customers/{A}/statement", None, read_own()),
    ("GET", "/customers/{A}/subscriptions", None, read_own()),
    ("POST", "/customers/{A}/subscriptions/sync", None, change(200, {"admin", "billing_agent", "collections"})),
    ("GET", "/subscriptions/{sub}", None, read_own()),
    ("POST", "/subscriptions/{sub}/suspend", {"reason_code": "non_payment", "reason": "90 days overdue"},
     change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/subscriptions/{sus}/reactivate", {"reason": "paid in full"}, change(200, {"admin", "billing_agent", "collections"})),
    ("GET", "/invoices", None, everyone(200)),
    ("GET", "/invoices/{inv}", None, read_own()),
    ("GET", "/invoices/{inv}/pdf", None, read_own()),
    ("GET", "/invoices/{draft}/pdf", None, {**read_own(), "customer_a": 404}),  # a draft is never the customer's
    ("GET", "/customers/{A}/statement.pdf?as_of=2026-11-24", None, read_own()),
    ("POST", "/invoices", {"customer_id": "{A}", "lines": [{"description": "Azure usage", "unit_price": "120.50"}]},
     create(201, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{draft}/issue", None, change_draft(200, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{draft}/void", {"reason": "duplicate"}, change_draft(200, {"admin", "billing_agent", "finance"})),
    ("POST", "/invoices/{open_inv}/credit-notes", {"amount": "10.00", "reason": "goodwill"}, change(201, {"admin", "finance"})),
    ("GET", "/payments", None, everyone(200)),
    ("GET", "/payments/{pay}", None, read_own()),
    ("POST", "/payments", {"customer_id": "{A}", "amount": "50.00", "received_on": "2026-11-02", "method": "bank_transfer"},
     create(201, {"admin", "billing_agent", "collections", "finance"})),
    ("POST", "/payments/{pay}/refunds", {"amount": "20.00", "reason": "overpaid"}, change(201, {"admin", "finance"})),
    ("POST", "/payments/{pay}/reverse", {"reason": "recorded twice"}, change(200, {"admin", "billing_agent", "collections", "finance"})),
    ("POST", "/payments/{pay}/allocations/move", {"from_invoice_id": "{inv}", "to_invoice_id": "{open_inv}", "reason": "wrong invoice"},
     change(200, {"admin", "billing_agent", "collections", "finance"})),
    ("PUT", "/invoices/{draft}", {"lines": [{"description": "Azure usage", "unit_price": "90.00"}], "reason": "seat count"},
     change_draft(200, {"admin", "billing_agent", "finance"})),
    ("POST", "/customers/{A}/contacts", {"name": "陈静", "email": "chen@contoso.example.cn", "kind": "technical"},
     change(201, {"admin", "billing_agent"})),
    ("PATCH", "/customers/{A}/contacts/{contact}", {"email": "chen.jing@contoso.example.cn"}, change(200, {"admin", "billing_agent"})),
    ("DELETE", "/customers/{A}/contacts/{contact}", None, change(200, {"admin", "billing_agent"})),
    ("GET", "/search?q=Contoso", None, staff_only()),
    ("GET", "/audit", None, staff_only()),
    ("GET", "/audit/export.csv", None, staff_only()),
    ("DELETE", "/tokens/{own_token}", None, everyone(200)),
    # the working-day calendar
    ("GET", "/calendar/working-day?date=2026-11-24", None, staff_only()),
    ("GET", "/calendar/2026", None, staff_only()),
    ("PUT", "/calendar/2030", {"confirmed": False, "days": [{"date": "2030-10-01", "kind": "holiday", "name": "国庆节"}]},
     only(200, {"admin"})),
    ("POST", "/calendar/2025/load-from-package", {"confirm": True}, only(200, {"admin"})),
    # collections
    ("GET", "/collections/policies", None, staff_only()),
    ("GET", "/customers/{A}/collections-policy", None, read_own()),
    ("POST", "/customers/{A}/collections-policy/acknowledge", None, change(201, {"customer_a"})),
    ("GET", "/customers/{A}/collections/log", None, staff_read_of_a()),
    ("PUT", "/customers/{A}/collections/profile", {"exempt": True, "reason": "strategic account"},
     change(200, {"admin", "collections"})),
    ("POST", "/invoices/{open_inv}/disputes", {"reason": "wrong seat count"}, change(201, {"admin", "billing_agent", "collections"})),
    ("POST", "/disputes/{dispute}/resolve", {"resolution": "credit issued"}, change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/disputes/{dispute}/amount", {"amount": None, "reason": "the whole invoice after all"},
     change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/disputes/{dispute}/end", {"outcome": "rejected", "resolution": "the seats were in use"},
     change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/customers/{A}/promises", {"amount": "100.00", "promised_date": "2026-12-24"}, change(201, {"admin", "collections"})),
    ("GET", "/collections/preview?days=3", None, staff_only()),
    ("POST", "/collections/runs", {"as_of": "2026-11-24"}, only(200, {"admin", "collections"})),
    ("GET", "/collections/runs", None, staff_only()),
    ("GET", "/collections/operator-requests", None, staff_only()),
    ("GET", "/collections/operator-requests/{opreq}", None, staff_only()),
    ("POST", "/collections/operator-requests/process", None, only(200, {"admin", "collections"})),
    ("POST", "/collections/operator-requests/retry", None, only(200, {"admin", "collections"})),
    # operator requests that keep failing, each with its internal case
    ("GET", "/stuck-requests", None, staff_only()),
    ("GET", "/stuck-requests/{stuck}", None, {**staff_only(), "customer_b": 404}),
    ("POST", "/stuck-requests/{stuck}/retry", None, change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/stuck-requests/{stuck}/cancel", {"reason": "moved to another partner"},
     change(200, {"admin", "billing_agent", "collections"})),
    # email
    ("GET", "/customers/{A}/emails", None, staff_read_of_a()),
    ("GET", "/emails/{sent_email}", None, staff_read_of_a()),
    ("POST", "/emails/{failed_email}/retry", None, change(200, {"admin", "billing_agent", "collections"})),
    ("POST", "/emails/{sent_email}/bounce", {"reason": "550 5.1.1 user unknown"}, change(200, {"admin", "billing_agent", "collections"})),
    ("GET", "/email-templates", None, staff_only()),
    ("GET", "/email-templates/collections.notice/zh-CN", None, staff_only()),
    ("PUT", "/email-templates/collections.notice/en", {"subject": "Overdue: {{ invoice_number }}", "body": "Please pay {{ amount_due }}."},
     only(200, {"admin"})),
    ("DELETE", "/email-templates/collections.notice/en", None, only(200, {"admin"})),
    # users and teams
    ("GET", "/users", None, only(200, {"admin"})),
    ("POST", "/users", {"email": "new.hire@partner.example.cn", "role": "billing_agent", "team_ids": ["{team}"]},
     only(201, {"admin"})),
    ("GET", "/users/{member}", None, only(200, {"admin"})),
    ("PATCH", "/users/{member}", {"role": "finance", "team_ids": ["{team}"], "reason": "moved"}, only(200, {"admin"})),
    ("POST", "/users/{member}/deactivate", {"reason": "left the company"}, only(200, {"admin"})),
    ("POST", "/users/{gone}/reactivate", {"reason": "came back"}, only(200, {"admin"})),
    ("POST", "/users/{invited}/invitation", None, only(200, {"admin"})),
    ("POST", "/customers/{A}/contacts/{contact}/portal-invitation", {}, only(201, {"admin"})),
    ("GET", "/teams", None, only(200, {"admin"})),
    ("POST", "/teams", {"name": "North", "member_ids": ["{member}"]}, only(201, {"admin"})),
    ("PATCH", "/teams/{team}", {"name": "South", "add_ids": ["{member}"]}, only(200, {"admin"})),
    # the support desk
    ("GET", "/cases", None, everyone(200)),
    ("GET", "/cases.csv", None, everyone(200)),
    ("GET", "/cases/search?q=twice", None, everyone(200)),  # each finds its own (B's user: nothing of A)
    ("POST", "/cases", {"customer_id": "{A}", "subject": "Invoice question"}, create(201, OPENERS)),
    ("POST", "/cases/bulk", {"ids": ["{case}"], "action": "assign", "assignee_id": "{member}"}, only(200, AGENTS)),
    ("GET", "/cases/{case}", None, read_own()),
    ("PATCH", "/cases/{case}", {"severity": "B", "tags": ["invoice"], "reason": "impact"}, change(200, AGENTS)),
    ("POST", "/cases/{case}/replies", {"body": "We are checking the invoice."}, change(201, AGENTS)),
    ("POST", "/cases/{case}/notes", {"body": "Check the ledger first."}, change(201, AGENTS)),
    ("POST", "/cases/{case}/messages", {"body": "Any news?"}, change(201, {"customer_a"})),
    ("POST", "/cases/{case}/attachments", "UPLOAD", change(201, AGENTS | {"customer_a"})),
    ("GET", "/cases/{case}/attachments/{pub_att}", None, read_own()),
    ("GET", "/cases/{case}/attachments/{int_att}", None, {**read_own(), "customer_a": 404}),  # an internal note's
    ("POST", "/cases/{case}/status", {"status": "waiting_operator", "reason": "asked 21Vianet"}, change(200, AGENTS)),
    ("POST", "/cases/{case}/assign", {"assignee_id": "{member}"}, change(200, AGENTS)),
    ("POST", "/cases/{case}/resolve", {"body": "Credited the second charge."}, change(200, AGENTS)),
    ("POST", "/cases/{resolved}/close", {"reason": "answered"}, change(200, AGENTS)),
    ("POST", "/cases/{resolved}/confirm", None, change(200, {"customer_a"})),
    ("POST", "/cases/{resolved}/score", {"score": 5, "comment": "很快"}, change(200, {"customer_a"})),
    ("POST", "/cases/{merged_case}/merge", {"target_id": "{case}", "reason": "same question"}, change(200, AGENTS)),
    ("GET", "/cases/{case}/canned/{canned}", None, change(200, AGENTS) | {"auditor": 403}),
    # dispute cases (partnerdesk.disputes): upholding issues a credit note (cases.work and credit.issue)
    ("POST", "/dispute-cases", {"customer_id": "{A}", "invoices": [{"invoice_id": "{open_inv}", "amount": "100.00"}],
                                "reason": "seat count"}, create(201, OPENERS)),
    ("GET", "/cases/{case}/disputes", None, read_own()),
    ("POST", "/cases/{case}/disputes", {"invoice_id": "{open_inv}", "amount": "100.00", "reason": "seats"},
     change(201, AGENTS)),
    ("POST", "/cases/{dispute_case}/disputes/uphold", {"amount": "100.00"}, change(200, {"admin", "finance"})),
    ("POST", "/cases/{dispute_case}/disputes/reject", {"message": "the seats were used"}, change(200, AGENTS)),
    ("GET", "/support/settings", None, only(200, {"admin"})),
    ("PUT", "/support/settings", {"reopen_window_days": 7, "reason": "policy"}, only(200, {"admin"})),
    ("GET", "/support/sla-policies", None, only(200, {"admin"})),
    ("PUT", "/support/sla-policies", {"policies": [{"severity": "B", "first_response_minutes": 120,
                                                    "next_response_minutes": 240, "resolution_minutes": 2700}]},
     only(200, {"admin"})),
    ("GET", "/support/canned-replies", None, only(200, AGENTS)),
    ("POST", "/support/canned-replies", {"title": "逾期", "language": "zh-CN", "body": "逾期金额 {overdue}。"},
     only(201, {"admin"})),
    ("PUT", "/support/canned-replies/{canned}", {"title": "Balance", "language": "en", "body": "Balance: {balance}."},
     only(200, {"admin"})),
    ("DELETE", "/support/canned-replies/{canned}", None, only(200, {"admin"})),
    ("GET", "/support/information/{language}", None, everyone(200)),
    ("PUT", "/support/information/{language}", {"hours": "9-18", "channels": "Email", "process": "Cases"},
     only(200, {"admin"})),
    # email in: raw mail posted by a mail service, and the queue of mail waiting for an agent
    ("POST", "/mail/inbound", "RFC822", only(201, {"admin", "billing_agent"})),
    ("GET", "/mail/unmatched", None, staff_only()),
    ("POST", "/mail/{mail}/file", {"customer_id": "{A}", "reason": "known payer"}, only(200, {"admin", "billing_agent"})),
    ("POST", "/mail/{mail}/discard", {"reason": "spam"}, only(200, {"admin", "billing_agent"})),
    # reports
    ("GET", "/reports/aging?as_of=2026-11-24", None, only(200, {"admin", "collections", "finance", "auditor"})),
    ("GET", "/reports/dso?as_of=2026-11-24", None, only(200, {"admin", "collections", "finance", "auditor"})),
    ("GET", "/reports/collections?since=2026-11-01&until=2026-11-24", None, only(200, {"admin", "collections", "finance", "auditor"})),
    ("GET", "/support/reports?since=2026-11-01&until=2026-11-24", None, only(200, {"admin", "billing_agent", "finance", "auditor"})),
    # finance's figures (finance.view): every staff role reads them, customers are refused
    ("GET", "/finance/exposure?period=2026-11", None, staff_only()),
    ("GET", "/finance/margin?period=2026-11&format=csv", None, staff_only()),
    ("GET", "/finance/leakage?as_of=2026-11-24", None, staff_only()),
    ("GET", "/finance/cash-flow?weeks=4", None, staff_only()),
    # service requests to the operator: staff only, a customer's user gets 404 (it never learns one exists)
    ("GET", "/cases/{case}/service-requests", None, {**staff_only(), "customer_a": 404, "customer_b": 404}),
    ("POST", "/cases/{case}/service-requests", {"channel": "portal", "topic": "billing", "severity": "moderate",
                                                "title": "发票重复扣费", "description": "同一张发票扣款两次。"},
     change(201, AGENTS) | {"customer_a": 404}),
    ("GET", "/service-requests/{sr}", None, {**staff_only(), "customer_a": 404, "customer_b": 404}),
    ("POST", "/service-requests/{sr}/reference", {"reference": "2611240010000001"}, change(200, AGENTS) | {"customer_a": 404}),
    ("POST", "/service-requests/{filed_sr}/answers", {"text": "已收到。"}, change(201, AGENTS) | {"customer_a": 404}),
    ("POST", "/service-requests/{filed_sr}/notes", {"text": "请尽快处理。"}, change(201, AGENTS) | {"customer_a": 404}),
    ("GET", "/escalations/reports?since=2026-11-01&until=2026-11-24", None,
     only(200, {"admin", "billing_agent", "finance", "auditor"})),
    # payables to 21Vianet: every staff role reads (payables.view), finance changes (payables.manage)
    ("GET", "/payables/invoices", None, staff_only()),
    ("POST", "/payables/invoices", {"number": "21V-202611-0001", "billing_date": "2026-11-15",
                                    "period_start": "2026-10-01", "period_end": "2026-10-31", "amount": "1200.00"},
     only(201, {"admin", "finance"})),
    ("GET", "/payables/invoices/{opinv}", None, staff_only()),
    ("PATCH", "/payables/invoices/{opinv}", {"due_date": "2026-12-20", "reason": "agreed with 21Vianet"},
     only(200, {"admin", "finance"})),
    ("POST", "/payables/invoices/{opinv}/payments", {"amount": "1000.00", "paid_on": "2026-11-20"},
     only(201, {"admin", "finance"})),
    ("GET", "/payables/standing", None, staff_only()),
    ("GET", "/payables/settings", None, staff_only()),
    ("PUT", "/payables/settings", {"warn_days_before_due": 7, "reason": "a week's notice"},
     only(200, {"admin", "finance"})),
    # fapiao records: finance changes them (fapiao.manage), staff read, a customer's users read their own
    ("GET", "/fapiao/buyers/{A}", None, read_own()),
    ("PUT", "/fapiao/buyers/{A}", {"buyer_name": "上海康拓信息技术有限公司", "credit_code": "91110000802100433B"},
     change(200, FINANCE)),
    ("GET", "/fapiao/records?status=requested", None, everyone(200)),
    ("GET", "/fapiao/records/{fapiao}", None, read_own()),
    ("POST", "/fapiao/requests", {"invoice_id": "{fapiao_inv}"}, change(201, FINANCE)),
    ("POST", "/fapiao/records/{fapiao}/issue", {"number": "26312000000000000199", "issued_on": "2026-11-20"},
     change(200, FINANCE)),
    ("POST", "/fapiao/records/{fapiao_issued}/deliver", {"delivered_on": "2026-11-21"}, change(200, FINANCE)),
    ("POST", "/fapiao/records/{fapiao_issued}/reversal", {"reason": "issuing_error"}, change(200, FINANCE)),
    ("PUT", "/fapiao/records/{fapiao_rev}/reversal", {"reason": "sales_return"}, change(200, FINANCE)),
    ("POST", "/fapiao/records/{fapiao_rev}/reversal/done", {"red_letter_number": "26312000000000000198",
                                                            "reversed_on": "2026-11-22"}, change(200, FINANCE)),
    ("GET", "/fapiao/export.csv", None, only(200, FINANCE)),
    ("POST", "/fapiao/import", "FAPIAO_CSV", only(200, FINANCE)),
    # re-billing (rebilling.view reads, rebilling.manage changes): staff only, a customer's user gets 403
    ("GET", "/rebilling/files", None, staff_only()),
    ("POST", "/rebilling/files", "RECON", only(201, {"admin", "finance"})),
    ("GET", "/rebilling/files/{recon_file}", None, staff_only()),
    ("GET", "/rebilling/files/{recon_file}/lines?matched=false", None, staff_only()),
    ("POST", "/rebilling/files/{recon_file}/replace", "RECON_REPLACE", only(201, {"admin", "finance"})),
    ("GET", "/rebilling/unmatched", None, staff_only()),
    ("POST", "/rebilling/mappings", {"key_kind": "domain", "key": "lost.example.cn", "customer_id": "{A}"},
     only(200, {"admin", "finance"})),
    ("GET", "/rebilling/price-rules", None, staff_only()),
    ("POST", "/rebilling/price-rules", {"customer_id": "{A}", "kind": "discount", "percent": "3"}, only(200, {"admin", "finance"})),
    ("GET", "/rebilling/price-rules/{rb_rule}", None, staff_only()),
    ("PATCH", "/rebilling/price-rules/{rb_rule}", {"percent": "7"}, only(200, {"admin", "finance"})),
    ("DELETE", "/rebilling/price-rules/{rb_rule}", None, only(204, {"admin", "finance"})),
    ("POST", "/rebilling/periods/{rb_period}/generate", None, only(200, {"admin", "finance"})),
    ("GET", "/rebilling/periods/{rb_period}/drafts", None, staff_only()),
    ("GET", "/rebilling/drafts/{rb_draft}", None, staff_only()),
    ("POST", "/rebilling/drafts/{rb_draft}/adjustments", {"description": "折扣", "amount": "-5.00", "reason": "goodwill"},
     only(201, {"admin", "finance"})),
    ("POST", "/rebilling/periods/{rb_period}/issue", {"invoice_ids": ["{rb_draft}"]}, only(200, {"admin", "finance"})),
    # fraud monitoring: staff read alerts (fraud.view), collections, finance and admin act, admin sets the rules;
    # limits: customers' users read their own (limits.view), finance and admin set them
    ("GET", "/fraud/alerts", None, staff_only()),
    ("GET", "/fraud/alerts/{alert}", None, staff_read_of_a()),
    ("POST", "/fraud/alerts/{alert}/confirm", {"reason": "the bank confirmed"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/dismiss", {"reason": "month-end job"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/expected", {"reason": "new datacentre", "until": "2027-03-31"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/clear", {"reason": "owner proved the card"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/suspend", {"reason": "mining", "subscription_ids": ["{sub}"]}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/prepayment", {"reason": "chargeback"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/hold-orders", {"reason": "chargeback"}, only(200, FRAUD_ACT)),
    ("POST", "/fraud/alerts/{alert}/report", {"channel": "portal", "severity": "moderate"}, only(200, FRAUD_ACT)),
    ("GET", "/fraud/patterns", None, staff_only()),
    ("DELETE", "/fraud/patterns/{pattern}?reason=ended", None, only(204, FRAUD_ACT)),
    ("GET", "/fraud/rules", None, staff_only()),
    ("PUT", "/fraud/rules/{signal}", {"min_amount": "800.00", "reason": "fewer alerts"}, only(200, {"admin"})),
    ("DELETE", "/fraud/rules/{signal}?reason=built-in", None, only(204, {"admin"})),
    ("GET", "/fraud/settings", None, staff_only()),
    ("PUT", "/fraud/settings", {"new_customer_days": 30, "reason": "policy"}, only(200, {"admin"})),
    ("GET", "/fraud/limits", None, everyone(200)),
    ("POST", "/fraud/limits", {"customer_id": "{A}", "kind": "credit_limit", "amount": "9000.00"}, only(201, FINANCE)),
    ("DELETE", "/fraud/limits/{limit}?reason=prepays", None, only(204, FINANCE)),
    ("GET", "/fraud/reports?format=csv", None, staff_only()),
]
# Rows that change nothing when there is nothing to do (no audit record expected).
NO_CHANGE = {"/collections/operator-requests/process", "/collections/operator-requests/retry", "/email-templates/collections.notice/en"}



def _fill(value, world):
    text = json.dumps(value) if not isinstance(value, str) else value
    for key, val in world.items():
        text = text.replace("\"{" + key + "}\"", str(val)).replace("{" + key + "}", str(val))
    return text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_api_permission_matrix(client, world, users, tokens, role, method, path, body, expected):
    if "{contact}" in path:
        from partnerdesk.customers.services import add_contact

        contact = add_contact(Customer.objects.get(pk=world["A"]), actor=None, name="陈静", email="chen@contoso.example.cn")
        world = {**world, "contact": contact.pk}
    if "{open_inv}" in path + json.dumps(body):
        # Credit on account is applied as soon as an invoice is issued, so the open invoice is made here.
        world = {**world, "open_inv": make_invoice(Customer.objects.get(pk=world["A"]), "1000.00").pk}
    if "{dispute_case}" in path:
        from partnerdesk.disputes.services import open_dispute_case

        a = Customer.objects.get(pk=world["A"])
        world = {**world, "dispute_case": open_dispute_case(customer=a, actor=users["customer_a"], reason="seats",
                                                            amounts=[(make_invoice(a, "1000.00"), "100.00")]).pk}
    if "{opreq}" in path:
        from partnerdesk.dunning.models import OperatorRequest

        world = {**world, "opreq": OperatorRequest.objects.create(subscription_id=world["sub"], customer_id=world["A"],
                                                                  action="suspend", cause="matrix", reason="matrix").pk}
    if "{stuck}" in path:
        from partnerdesk.dunning.models import OperatorRequest
        from partnerdesk.escalations.models import StuckRequest
        from partnerdesk.escalations.stuck import open_cases_for_stuck_requests

        given_up = OperatorRequest.objects.create(subscription_id=world["sub"], customer_id=world["A"], action="suspend",
                                                  cause="matrix", reason="matrix", status="failed", attempts=3,
                                                  last_error="HTTP 404")
        open_cases_for_stuck_requests(request_ids=[given_up.pk])
        world = {**world, "stuck": StuckRequest.objects.get(operator_request=given_up).pk}
    if "{own_token}" in path:
        world = {**world, "own_token": ApiToken.objects.get(user=users[role]).pk}
    if "service-requests" in path:
        world = {**world, **_escalations_world(world)}
    if path.startswith("/payables/"):
        world = {**world, **_payables_world()}
    if path.startswith("/rebilling/"):
        world = {**world, **_rebilling_world(world)}
    if path.startswith("/fapiao/"):
        world = {**world, **_fapiao_world(world)}
    if path.startswith("/fraud/"):
        world = {**world, **_fraud_world(world)}
    if "{mail}" in path:
        from partnerdesk.support.mail.filing import ingest

        world = {**world, "mail": ingest(RFC822.replace(b"<matrix@", b"<waiting@"), source="http").pk}
    url = "/api/v1" + _fill(path, world)
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    before = AuditEntry.objects.count()
    if body == "CSV":
        from django.core.files.uploadedfile import SimpleUploadedFile

        resp = client.post(url, {"file": SimpleUploadedFile("c.csv", CSV.encode())}, headers=headers)
    elif body == "FAPIAO_CSV":
        from django.core.files.uploadedfile import SimpleUploadedFile

        resp = client.post(url, {"file": SimpleUploadedFile("r.csv", _fill(FAPIAO_CSV, world).encode())}, headers=headers)
    elif body in ("RECON", "RECON_REPLACE"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from partnerdesk.rebilling.tests.recon_data import LICENSE_FILE, USAGE_FILE, operator_invoice_input

        if body == "RECON":  # the usage file of another operator invoice: a new import
            figures = operator_invoice_input("usage")
            fields = {"invoice_number": figures.number, "billing_date": figures.billing_date, "total": figures.amount,
                      "period_start": figures.period_start, "period_end": figures.period_end}
            upload = SimpleUploadedFile("usage.csv", USAGE_FILE.read_bytes())
        else:  # the operator's corrected license file
            fields = {"reason": "corrected by the operator"}
            upload = SimpleUploadedFile("license-v2.csv", LICENSE_FILE.read_bytes().replace(b"Cycle fee", b"Cycle  fee", 1))
        resp = client.post(url, {**fields, "file": upload}, headers=headers)
    elif body == "UPLOAD":
        from django.core.files.uploadedfile import SimpleUploadedFile

        resp = client.post(url, {"body": "The scan.", "attachments": SimpleUploadedFile("scan.pdf", b"%PDF-1.4")},
                           headers=headers)
    elif body == "RFC822":
        resp = client.generic(method, url, RFC822, content_type="message/rfc822", headers=headers)
    elif body is None and method == "GET":
        resp = client.get(url, headers=headers)
    else:
        resp = client.generic(method, url, _fill(body or {}, world), content_type="application/json", headers=headers)
    assert resp.status_code == expected[role], resp.content[:300]
    content = b"".join(resp.streaming_content) if resp.streaming else resp.content  # (a file download streams)
    text = content.decode(errors="replace")  # (a PDF is bytes)
    if resp.status_code in (403, 404):
        assert AuditEntry.objects.count() == before, "a refused request changed something"
        assert "Contoso" not in text
    if role == "customer_b":
        # never another customer's data, whatever the route
        assert "Contoso" not in text and world["tenant_a"] not in text
    if role.startswith("customer") and resp.status_code == 200 and method == "GET" and path in ("/invoices", "/payments", "/customers"):
        ids = {item.get("customer_id", item.get("id")) for item in resp.json()["items"]}
        assert ids <= {world["A"] if role == "customer_a" else world["B"]}
    if resp.status_code in (200, 201) and method != "GET" and path not in NO_CHANGE:
        assert AuditEntry.objects.count() > before, "a state change left no audit record"


def test_the_matrix_covers_every_api_route():
    from partnerdesk.api import api

    schema = api.get_openapi_schema()
    routes = {(m.upper(), p.removeprefix("/api/v1")) for p, ops in schema["paths"].items() for m in ops}

    def template(path):
        path = path.split("?")[0]
        path = re.sub(r"collections\.notice/(?:zh-CN|en)", "{}/{}", path)
        return re.sub(r"\{[A-Za-z_]+\}|(?<=/)\d{4}(?=/|$)", "{}", path)

    covered = {(m, template(p)) for m, p, _, _ in MATRIX}
    missing = {(m, p) for m, p in routes if (m, re.sub(r"\{[a-z_]+\}", "{}", p)) not in covered}
    assert not missing, f"routes without a permission-matrix row: {sorted(missing)}"


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_anonymous_gets_401(client, world, method, path, body, expected):
    resp = client.generic(method, "/api/v1" + _fill(path, world), "{}", content_type="application/json")
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthenticated"


def test_revoked_token_stops_working(client, users, tokens):
    from partnerdesk.accounts.models import ApiToken
    from partnerdesk.accounts.services import revoke_api_token

    headers = {"Authorization": f"Bearer {tokens['finance']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    for token in ApiToken.objects.filter(user=users["finance"]):
        revoke_api_token(token, actor=users["finance"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    stored = ApiToken.objects.filter(user=users["finance"]).values_list("token_hash", flat=True)
    assert tokens["finance"] not in list(stored)  # only the hash is at rest


def test_the_api_docs_load_their_scripts_from_partnerdesk_not_a_cdn(client, users):
    client.force_login(users["billing_agent"])
    body = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in body and "cdn.jsdelivr" not in body
