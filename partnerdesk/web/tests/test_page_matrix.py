"""Who gets what from every web page: one row per URL (GET for a page, POST for an action), the exact status
for each role, and customer B's user never seeing anything of customer A.

Every object a row acts on belongs to customer A. The last tests enumerate the URL patterns of the web app and
fail if one has no row here, so a page cannot be added without saying who may open it.
"""

import dataclasses
import uuid
from collections.abc import Callable
from functools import cached_property

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from partnerdesk.accounts.services import create_api_token
from partnerdesk.billing import documents
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.models import CallTask
from partnerdesk.dunning.policies import default_policy
from partnerdesk.dunning.services import open_dispute
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.notifications.services import queue_email
from partnerdesk.web.views import policy_document

ROLES = ["admin", "billing_agent", "collections", "finance", "auditor", "customer_a", "customer_b", "anonymous"]
STAFF = ROLES[:5]
CUSTOMERS = ["customer_a", "customer_b"]
AGENTS = ("admin", "billing_agent", "collections", "finance")  # who works cases (cases.work)
LOGIN = "login"  # 302 to the sign-in page, with ?next= the page asked for


def staff(*allowed, ok=200) -> dict:
    """A staff desk page: the roles allowed get `ok`, other staff and customer users 403."""
    allowed = STAFF if allowed == ("*",) else allowed
    return {**{r: (ok if r in allowed else 403) for r in STAFF}, **dict.fromkeys(CUSTOMERS, 403), "anonymous": LOGIN}


def portal(ok=200, *, b=None) -> dict:
    """A customer portal page: staff get 403; customer B gets `b` (default: the same as A) on A's objects."""
    return {**dict.fromkeys(STAFF, 403), "customer_a": ok, "customer_b": ok if b is None else b, "anonymous": LOGIN}


def escalation_action(ok=302) -> dict:
    """An action on service requests to the operator: agents get `ok`, the auditor 403, customer users 404 (they
    never learn a request exists)."""
    return {**staff(*AGENTS, ok=ok), **dict.fromkeys(CUSTOMERS, 404)}


def everyone(ok=200, *, anonymous=LOGIN, **others) -> dict:
    return {**dict.fromkeys(ROLES, ok), "anonymous": anonymous, **others}


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    method: str
    expected: dict
    args: Callable = lambda w: []
    data: Callable = lambda w: {}

    @property
    def id(self) -> str:
        return f"{self.name}-{self.method}"


class World:
    """Customer A's objects, made on first use so each test builds only what its row needs."""

    def __init__(self, request, users, customer_a, customer_b):
        self.request, self.users, self.a, self.b = request, users, customer_a, customer_b
        self.invoice = make_invoice(customer_a, "1280.00")  # always there: its number must never reach customer B

    @cached_property
    def operator(self):
        return self.request.getfixturevalue("operator")  # the web tests' stand-in for Partner Center

    def a_at_the_operator(self) -> list:
        """Customer A's id, with the operator stand-in in place (the sync asks it)."""
        assert self.operator is not None
        return [self.a.pk]

    @cached_property
    def subscription(self):
        self.operator.add(self.a, "sub-a-e3", "Microsoft 365 E3")
        return sync_subscriptions(self.a, actor=None)[0]

    @cached_property
    def dispute(self):
        return open_dispute(invoice=self.invoice, reason="seat count", actor=None)

    @cached_property
    def email(self):
        with transaction.atomic():
            email = queue_email(customer=self.a, template_key="collections.notice",
                                context={"invoice_number": self.invoice.number})
        OutboundEmail.objects.filter(pk=email.pk).update(status=EmailStatus.FAILED, last_error="SMTP 421")
        return email

    @cached_property
    def call(self):
        return CallTask.objects.create(customer=self.a, invoice=self.invoice, key=f"matrix:{self.invoice.pk}",
                                       due_on=timezone.localdate(), note=f"{self.invoice.number}: Final notice")

    @cached_property
    def run(self):
        from partnerdesk.dunning.models import CollectionsRun

        return CollectionsRun.objects.create(as_of=timezone.localdate(), status="finished", counts={"due": 0})

    @cached_property
    def token(self):
        return create_api_token(user=self.users["customer_a"], name="A's script", actor=None)[0]

    @property
    def today(self) -> str:
        return timezone.localdate().isoformat()


TEMPLATE = ["collections.reminder", "zh-CN"]

MATRIX = [
    # signing in and out
    Row("home", "GET", everyone(302)),
    Row("login", "GET", everyone(302, anonymous=200)),
    Row("logout", "POST", everyone(302, anonymous=302)),
    # the staff desk
    Row("dashboard", "GET", staff("*")),
    Row("customer_list", "GET", staff("*")),
    Row("customer_import", "GET", staff("admin", "billing_agent")),
    Row("customer_list_csv", "GET", staff("*")),
    Row("customer_bulk", "POST", staff("admin", "billing_agent", ok=302),
        data=lambda w: {"customers": [w.a.pk], "action": "owner", "owner": w.users["finance"].pk}),
    Row("search", "GET", staff("*")),
    Row("invoice_list", "GET", staff("*")),
    Row("invoice_list_csv", "GET", staff("*")),
    Row("payment_list", "GET", staff("*")),
    Row("payment_list_csv", "GET", staff("*")),
    Row("customer_detail", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("customer_sync", "POST", staff("admin", "billing_agent", "collections", ok=302),
        lambda w: w.a_at_the_operator()),
    Row("payment_new", "GET", staff("admin", "billing_agent", "collections", "finance"), lambda w: [w.a.pk]),
    Row("payment_new", "POST", staff("admin", "billing_agent", "collections", "finance", ok=302),
        lambda w: [w.a.pk], lambda w: {"amount": "10.00", "received_on": w.today, "method": "alipay"}),
    Row("customer_statement", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("subscription_suspend", "GET", staff("admin", "billing_agent", "collections"),
        lambda w: [w.a.pk, w.subscription.pk]),
    Row("subscription_suspend", "POST", staff("admin", "billing_agent", "collections", ok=302),
        lambda w: [w.a.pk, w.subscription.pk], lambda w: {"reason_code": "non_payment", "reason": "unpaid"}),
    Row("subscription_reactivate", "GET", staff("admin", "billing_agent", "collections"),
        lambda w: [w.a.pk, w.subscription.pk]),
    Row("dispute_open", "POST", staff("admin", "billing_agent", "collections", ok=302), lambda w: [w.a.pk],
        lambda w: {"dispute-invoice": w.invoice.pk, "dispute-reason": "seat count"}),
    Row("dispute_resolve", "POST", staff("admin", "billing_agent", "collections", ok=302),
        lambda w: [w.a.pk, w.dispute.pk], lambda w: {f"resolve-{w.dispute.pk}-resolution": "credited"}),
    Row("promise_add", "POST", staff("admin", "collections", ok=302), lambda w: [w.a.pk],
        lambda w: {"promise-amount": "100.00", "promise-promised_date": w.today, "promise-invoice": w.invoice.pk}),
    Row("collections_profile", "POST", staff("admin", "collections", ok=302), lambda w: [w.a.pk],
        lambda w: {"profile-mode": "exempt", "profile-reason": "strategic account"}),
    Row("call_complete", "POST", staff("admin", "collections", ok=302), lambda w: [w.a.pk, w.call.pk],
        lambda w: {"back": "dashboard", f"call-{w.call.pk}-note": "will pay Friday"}),
    Row("calls_complete", "POST", staff("admin", "collections", ok=302), lambda w: [w.a.pk],
        lambda w: {"back": "dashboard", "call": [w.call.pk], f"calls-{w.a.pk}-{w.call.due_on:%Y%m%d}-note": "will pay"}),
    Row("email_retry", "POST", staff("admin", "billing_agent", "collections", ok=302), lambda w: [w.a.pk, w.email.pk]),
    Row("customer_collections_policy", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("customer_collections_policy_pdf", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("invoice_detail", "GET", staff("*"), lambda w: [w.invoice.pk]),
    Row("invoice_pdf", "GET", staff("*"), lambda w: [w.invoice.pk]),
    Row("invoice_print", "GET", staff("*"), lambda w: [w.invoice.pk]),
    Row("customer_statement_pdf", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("customer_statement_print", "GET", staff("*"), lambda w: [w.a.pk]),
    # changing customer and ledger records (web/views/customer_records.py and ledger.py)
    Row("customer_new", "GET", staff("admin", "billing_agent")),
    Row("customer_new", "POST", staff("admin", "billing_agent", ok=302), data=lambda w: {
        "name": "Northwind 深圳", "tenant_id": str(uuid.uuid4()), "payment_terms_days": "30", "credit_limit": "0",
        "language": "zh-CN", "time_zone": "Asia/Shanghai", "contact_name": "刘洋", "contact_email": "ly@nw.example.cn"}),
    Row("customer_edit", "GET", staff("admin", "billing_agent"), lambda w: [w.a.pk]),
    Row("customer_edit", "POST", staff("admin", "billing_agent", ok=302), lambda w: [w.a.pk], lambda w: {
        "name": w.a.name, "tenant_id": str(w.a.tenant_id), "primary_domain": w.a.primary_domain,
        "payment_terms_days": "45", "credit_limit": "0", "language": "zh-CN", "time_zone": "Asia/Shanghai",
        "status": "active", "reason": "new contract"}),
    Row("customer_deactivate", "GET", staff("admin", "billing_agent"), lambda w: [w.a.pk]),
    Row("customer_deactivate", "POST", staff("admin", "billing_agent", ok=302), lambda w: [w.a.pk],
        lambda w: {"reason": "moved to another partner"}),
    Row("contact_new", "GET", staff("admin", "billing_agent"), lambda w: [w.a.pk]),
    Row("contact_new", "POST", staff("admin", "billing_agent", ok=302), lambda w: [w.a.pk], lambda w: {
        "name": "陈静", "email": "chen@contoso.example.cn", "kind": "technical", "language": "zh-CN",
        "time_zone": "Asia/Shanghai"}),
    Row("contact_edit", "GET", staff("admin", "billing_agent"), lambda w: [w.a.pk, a_contact(w).pk]),
    Row("contact_edit", "POST", staff("admin", "billing_agent", ok=302), lambda w: [w.a.pk, a_contact(w).pk],
        lambda w: {"name": "陈静", "email": "chen.jing@contoso.example.cn", "kind": "billing", "language": "zh-CN",
                   "time_zone": "Asia/Shanghai"}),
    Row("contact_remove", "POST", staff("admin", "billing_agent", ok=302), lambda w: [w.a.pk, a_contact(w).pk]),
    Row("invoice_new", "GET", staff("admin", "billing_agent", "finance"), lambda w: [w.a.pk]),
    Row("invoice_new", "POST", staff("admin", "billing_agent", "finance", ok=302), lambda w: [w.a.pk], lambda w: {
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-description": "Azure",
        "lines-0-quantity": "1", "lines-0-unit_price": "120.00", "lines-0-tax_rate": "0.06"}),
    Row("invoice_edit", "GET", staff("admin", "billing_agent", "finance"), lambda w: [a_draft(w).pk]),
    Row("invoice_edit", "POST", staff("admin", "billing_agent", "finance", ok=302), lambda w: [a_draft(w).pk],
        lambda w: {"lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-description": "Azure",
                   "lines-0-quantity": "2", "lines-0-unit_price": "120.00", "lines-0-tax_rate": "0"}),
    Row("invoice_issue", "POST", staff("admin", "billing_agent", "finance", ok=302), lambda w: [a_draft(w).pk]),
    Row("invoice_void", "GET", staff("admin", "billing_agent", "finance"), lambda w: [w.invoice.pk]),
    Row("invoice_void", "POST", staff("admin", "billing_agent", "finance", ok=302), lambda w: [w.invoice.pk],
        lambda w: {"reason": "duplicate"}),
    Row("credit_note_new", "GET", staff("admin", "finance"), lambda w: [w.invoice.pk]),
    Row("credit_note_new", "POST", staff("admin", "finance", ok=302), lambda w: [w.invoice.pk], lambda w: {
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-0-description": "Goodwill",
        "lines-0-amount": "10.00", "reason": "goodwill"}),
    Row("payment_detail", "GET", staff("*"), lambda w: [a_payment(w).pk]),
    Row("payment_refund", "GET", staff("admin", "finance"), lambda w: [a_payment(w).pk]),
    Row("payment_refund", "POST", staff("admin", "finance", ok=302), lambda w: [a_payment(w).pk],
        lambda w: {"amount": "10.00", "method": "alipay", "reason": "overpaid"}),
    Row("payment_reverse", "GET", staff("admin", "billing_agent", "collections", "finance"), lambda w: [a_payment(w).pk]),
    Row("payment_reverse", "POST", staff("admin", "billing_agent", "collections", "finance", ok=302),
        lambda w: [a_payment(w).pk], lambda w: {"reason": "recorded twice", "confirm": "on"}),
    Row("allocation_move", "GET", staff("admin", "billing_agent", "collections", "finance"),
        lambda w: [a_payment_to_move(w).pk]),
    Row("allocation_move", "POST", staff("admin", "billing_agent", "collections", "finance", ok=302),
        lambda w: [a_payment_to_move(w).pk], lambda w: {"from_invoice": w.invoice.pk, "to_invoice": another_invoice(w).pk,
                                                "amount": "10.00", "reason": "paid the other one"}),
    Row("collections_preview", "GET", staff("*")),
    Row("collections_runs", "GET", staff("*")),
    Row("collections_run_now", "GET", staff("admin", "collections")),
    Row("collections_run_detail", "GET", staff("*"), lambda w: [w.run.pk]),
    Row("operator_requests", "GET", staff("*")),
    Row("collections_run_now", "POST", staff("admin", "collections", ok=302)),
    Row("operator_requests_retry", "POST", staff("admin", "collections", ok=302)),
    Row("policy_list", "GET", staff("*")),
    Row("policy_detail", "GET", staff("*"), lambda w: [default_policy().pk]),
    Row("policy_edit", "GET", staff("admin"), lambda w: [default_policy().pk]),
    Row("policy_copy", "POST", staff("admin", ok=302), lambda w: [default_policy().pk]),
    Row("report_aging", "GET", staff("admin", "collections", "finance", "auditor")),
    Row("report_aging_csv", "GET", staff("admin", "collections", "finance", "auditor")),
    Row("report_dso_csv", "GET", staff("admin", "collections", "finance", "auditor")),
    Row("report_collections", "GET", staff("admin", "collections", "finance", "auditor")),
    Row("report_collections_csv", "GET", staff("admin", "collections", "finance", "auditor")),
    Row("audit_list", "GET", staff("*")),
    Row("audit_export", "GET", staff("*")),
    # settings
    Row("email_template_list", "GET", staff("*")),
    Row("email_template_edit", "GET", staff("*"), lambda w: TEMPLATE),
    Row("email_template_edit", "POST", staff("admin", ok=302), lambda w: TEMPLATE,
        lambda w: {"subject": "Reminder {{ invoice_number }}", "body": "Please pay {{ amount_due }}.\n", "save": ""}),
    Row("email_template_reset", "POST", staff("admin", ok=302), lambda w: TEMPLATE),
    Row("payment_instructions", "GET", staff("*")),
    Row("payment_instructions", "POST", staff("admin", ok=302),
        data=lambda w: {"bank_name_en": "China Merchants Bank", "reason": "new account"}),
    # users and teams (administrators); the invitation page is the link's holder's, signed in or not
    Row("user_list", "GET", staff("admin")),
    Row("user_invite", "GET", staff("admin")),
    Row("user_invite", "POST", staff("admin", ok=302),
        data=lambda w: {"email": "new.hire@partner.example.cn", "role": "billing_agent", "language": "en"}),
    Row("user_detail", "GET", staff("admin"), lambda w: [w.users["billing_agent"].pk]),
    Row("user_detail", "POST", staff("admin", ok=302), lambda w: [w.users["billing_agent"].pk],
        lambda w: {"role": "finance", "reason": "moved"}),
    Row("user_deactivate", "POST", staff("admin", ok=302), lambda w: [w.users["finance"].pk],
        lambda w: {"reason": "left"}),
    Row("user_reactivate", "POST", staff("admin", ok=302), lambda w: [w.users["finance"].pk],
        lambda w: {"reason": "back"}),
    Row("user_resend_invitation", "POST", staff("admin", ok=302), lambda w: [invited_user().pk]),
    Row("team_list", "GET", staff("admin")),
    Row("team_list", "POST", staff("admin", ok=302), data=lambda w: {"name": "North"}),
    Row("team_detail", "GET", staff("admin"), lambda w: [a_team().pk]),
    Row("team_detail", "POST", staff("admin", ok=302), lambda w: [a_team().pk], lambda w: {"name": "South"}),
    Row("team_members", "POST", staff("admin", ok=302), lambda w: [a_team().pk],
        lambda w: {"user": w.users["collections"].pk}),
    Row("portal_invite", "POST", staff("admin", ok=302), lambda w: [w.a.pk, w.a.contacts.first().pk]),
    Row("invitation_accept", "GET", everyone(200, anonymous=200), lambda w: ["MQ", "1-bad"]),
    # everyone signed in: their own tokens (A's user's token is not found for anyone else)
    Row("token_list", "GET", everyone(200)),
    Row("token_list", "POST", everyone(200), data=lambda w: {"name": "script"}),
    Row("token_revoke", "POST", everyone(404, customer_a=302), lambda w: [w.token.pk]),
    # the customer portal
    Row("portal_home", "GET", portal()),
    Row("portal_invoices", "GET", portal()),
    Row("portal_invoice_detail", "GET", portal(b=404), lambda w: [w.invoice.pk]),
    Row("portal_payments", "GET", portal()),
    Row("portal_statement", "GET", portal()),
    Row("portal_invoice_pdf", "GET", portal(b=404), lambda w: [w.invoice.pk]),
    Row("portal_invoice_print", "GET", portal(b=404), lambda w: [w.invoice.pk]),
    Row("portal_invoice_dispute", "GET", portal(b=404), lambda w: [w.invoice.pk]),
    Row("portal_invoice_dispute", "POST", portal(302, b=404), lambda w: [w.invoice.pk],
        lambda w: {"amount": "100.00", "reason": "5 seats removed"}),
    Row("portal_statement_pdf", "GET", portal()),
    Row("portal_statement_print", "GET", portal()),
    Row("portal_subscriptions", "GET", portal()),
    Row("portal_collections_policy", "GET", portal()),
    Row("portal_collections_policy_print", "GET", portal()),
    Row("portal_collections_policy_pdf", "GET", portal()),
    Row("portal_collections_policy_acknowledge", "POST", portal(302)),
    # the customers' side of the support desk (web/views/support_portal.py, support_answer.py, support_information.py)
    Row("portal_support", "GET", portal()),
    Row("portal_support_new", "GET", portal()),
    Row("portal_support_new", "POST", portal(302), data=lambda w: {
        "type": "billing_question", "severity": "C", "subject": "A question", "description": "Why?"}),
    Row("portal_support_information", "GET", portal()),
    Row("portal_support_case", "GET", portal(b=404), lambda w: [a_support_case(w).pk]),
    Row("portal_support_reply", "POST", portal(302, b=404), lambda w: [a_support_case(w).pk],
        lambda w: {"body": "one more thing"}),
    Row("portal_support_confirm", "POST", portal(302, b=404), lambda w: [a_resolved_support_case(w).pk]),
    Row("portal_support_reopen", "POST", portal(302, b=404), lambda w: [a_resolved_support_case(w).pk],
        lambda w: {"body": "not solved"}),
    Row("portal_support_score", "POST", portal(302, b=404), lambda w: [a_resolved_support_case(w).pk],
        lambda w: {"score": "5"}),
    Row("portal_support_attachment", "GET", portal(b=404), lambda w: [a_support_case(w).pk, a_public_file(w).pk]),
    Row("support_answer", "GET", everyone(200, anonymous=200), lambda w: [an_answer_token(w)]),
    Row("support_answer", "POST", everyone(302, anonymous=302), lambda w: [an_answer_token(w)],
        lambda w: {"action": "confirm"}),
    Row("support_information", "GET", everyone(200, anonymous=200)),
    Row("support_information_edit", "GET", staff("admin")),
    Row("support_information_edit", "POST", staff("admin", ok=302), data=lambda w: {
        "hours_zh_cn": "工作日 09:00-18:00", "channels_zh_cn": "support@partner.example.cn", "process_zh_cn": "工单",
        "reason": "our own hours"}),
    # the agents' support desk (web/views/support_*.py): all staff read, agents act, customers never
    Row("support_queue", "GET", staff("*")),
    Row("support_bulk", "POST", staff(*AGENTS, ok=302), data=lambda w: {
        "cases": [a_support_case(w).pk], "action": "status", "status": "waiting_operator"}),
    Row("support_case_new", "GET", staff(*AGENTS)),
    Row("support_case_new", "POST", staff(*AGENTS, ok=302), data=lambda w: {
        "customer": str(w.a.tenant_id), "channel": "phone", "type": "billing_question", "severity": "C",
        "subject": "Called about the invoice", "description": "Asked why the invoice is higher."}),
    Row("support_case", "GET", staff("*"), lambda w: [a_support_case(w).pk]),
    Row("support_case_compose", "POST", staff("*", ok=302), lambda w: [a_support_case(w).pk],
        lambda w: {"action": "note", "body": "checked the seats"}),
    Row("support_case_details", "POST", staff(*AGENTS, ok=302), lambda w: [a_support_case(w).pk],
        lambda w: {"subject": "Invoice question", "type": "invoice_dispute", "severity": "B"}),
    Row("support_case_assign", "POST", staff(*AGENTS, ok=302), lambda w: [a_support_case(w).pk],
        lambda w: {"assignee": w.users["billing_agent"].pk, "team": "none"}),
    Row("support_case_status", "POST", staff(*AGENTS, ok=302), lambda w: [a_support_case(w).pk],
        lambda w: {"status": "waiting_operator"}),
    Row("support_case_close", "POST", staff(*AGENTS, ok=302), lambda w: [a_support_case(w).pk]),
    Row("support_case_merge", "POST", staff(*AGENTS, ok=302), lambda w: [another_support_case(w).pk],
        lambda w: {"target": a_support_case(w).token}),
    Row("support_canned", "GET", staff(*AGENTS), lambda w: [a_support_case(w).pk, a_canned_reply(w).pk]),
    # dispute cases (web/views/support_disputes.py): upholding issues a credit note (credit.issue)
    Row("support_dispute_add", "POST", staff(*AGENTS, ok=302), lambda w: [a_support_case(w).pk],
        lambda w: {"dispute-add-invoice": w.invoice.pk, "dispute-add-amount": "100.00"}),
    Row("support_dispute_uphold", "POST", staff("admin", "finance", ok=302), lambda w: [a_dispute_case(w).pk],
        lambda w: {"dispute-uphold-dispute": a_dispute_case(w).disputes.get().pk, "dispute-uphold-amount": "100.00"}),
    Row("support_dispute_reject", "POST", staff(*AGENTS, ok=302), lambda w: [a_dispute_case(w).pk],
        lambda w: {"dispute-reject-resume_on": "2026-12-21"}),
    # a case opened for an operator request that keeps failing (web/views/support_stuck.py): subscriptions.suspend
    Row("support_stuck_retry", "POST", staff("admin", "billing_agent", "collections", ok=302),
        lambda w: [a_stuck_request(w).pk]),
    Row("support_stuck_cancel", "POST", staff("admin", "billing_agent", "collections", ok=302),
        lambda w: [a_stuck_request(w).pk], lambda w: {"reason": "moved to another partner"}),
    # escalating a case to 21Vianet (web/views/support_escalations.py): escalations.work; customers get 404
    Row("support_escalate", "POST", escalation_action(), lambda w: [a_support_case(w).pk], lambda w: {
        **a_partner_contact(w), "channel": "portal", "topic": "billing", "severity": "moderate", "language": "zh-CN",
        "title": "重复扣费", "description": "同一张发票扣了两次款。"}),
    Row("support_escalation_reference", "POST", escalation_action(), lambda w: [a_service_request(w).pk],
        lambda w: {"reference": "2611240010000001"}),
    Row("support_escalation_answer", "POST", escalation_action(), lambda w: [a_service_request(w, filed=True).pk],
        lambda w: {"text": "已收到，正在核查。", "status": "open"}),
    Row("support_escalation_note", "POST", escalation_action(), lambda w: [a_service_request(w, filed=True).pk],
        lambda w: {"text": "客户已提供银行流水。"}),
    Row("support_escalation_close", "POST", escalation_action(), lambda w: [a_service_request(w, filed=True).pk]),
    Row("support_attachment", "GET", staff("*"), lambda w: [an_attachment(w).pk]),
    Row("support_mail_list", "GET", staff("*")),
    Row("support_mail_raw", "GET", staff("*"), lambda w: [a_waiting_mail(w).pk]),
    Row("support_mail_file_customer", "POST", staff("admin", "billing_agent", ok=302), lambda w: [a_waiting_mail(w).pk],
        lambda w: {f"m{a_waiting_mail(w).pk}-customer": str(w.a.tenant_id)}),
    Row("support_mail_file_case", "POST", staff("admin", "billing_agent", ok=302), lambda w: [a_waiting_mail(w).pk],
        lambda w: {f"m{a_waiting_mail(w).pk}-case": a_support_case(w).token}),
    Row("support_mail_discard", "POST", staff("admin", "billing_agent", ok=302), lambda w: [a_waiting_mail(w).pk],
        lambda w: {f"m{a_waiting_mail(w).pk}-reason": "spam"}),
    Row("support_reports", "GET", staff("admin", "billing_agent", "finance", "auditor")),  # (?part=...: its CSVs)
    Row("escalation_reports", "GET", staff("admin", "billing_agent", "finance", "auditor")),  # (?part=...: CSVs)
    # fapiao (web/views/fapiao.py): every staff role reads, admin and finance act; customers see their own in the portal
    Row("fapiao_list", "GET", staff("*")),
    Row("fapiao_request", "POST", staff("admin", "finance", ok=302), data=lambda w: {"invoice": a_fapiao_invoice(w).number}),
    Row("fapiao_issue", "POST", staff("admin", "finance", ok=302), lambda w: [a_fapiao(w).pk],
        lambda w: {"number": "26312000000000000301", "issued_on": w.today}),
    Row("fapiao_deliver", "POST", staff("admin", "finance", ok=302), lambda w: [a_fapiao(w, "issued").pk],
        lambda w: {"delivered_on": w.today}),
    Row("fapiao_reversal", "POST", staff("admin", "finance", ok=302), lambda w: [a_fapiao(w, "issued").pk],
        lambda w: {"reason": "issuing_error"}),
    Row("fapiao_reversal_reason", "POST", staff("admin", "finance", ok=302), lambda w: [a_fapiao(w, "reversing").pk],
        lambda w: {"reason": "sales_return"}),
    Row("fapiao_reversal_done", "POST", staff("admin", "finance", ok=302), lambda w: [a_fapiao(w, "reversing").pk],
        lambda w: {"red_letter_number": "26312000000000000302", "reversed_on": w.today}),
    Row("fapiao_export", "GET", staff("admin", "finance")),
    Row("fapiao_import", "POST", staff("admin", "finance", ok=302), data=lambda w: {"file": SimpleUploadedFile(
        "results.csv", f"request_id,fapiao_number,issued_on\n{a_fapiao(w).pk},26312000000000000303,{w.today}\n".encode())}),
    Row("fapiao_buyer_details", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("fapiao_buyer_details", "POST", staff("admin", "finance", ok=302), lambda w: [w.a.pk], lambda w: {
        "fapiao_type": "general", "buyer_name": "Contoso 上海有限公司", "credit_code": "91350100M000100Y43"}),
    Row("portal_fapiao", "GET", portal()),
    Row("finance_dashboard", "GET", staff("*")),  # finance.view; ?part=...: its CSVs
    # fraud monitoring: staff read (fraud.view), collections/finance/admin act, admin sets rules; limits.manage
    Row("fraud_alerts", "GET", staff("*")),
    Row("fraud_alert", "GET", staff("*"), lambda w: [a_fraud_alert(w).pk]),
    Row("fraud_alert_action", "POST", staff("admin", "collections", "finance", ok=302),
        lambda w: [a_fraud_alert(w).pk, "prepayment"], lambda w: {"prepayment-reason": "chargeback"}),
    Row("fraud_pattern_remove", "POST", staff("admin", "collections", "finance", ok=302),
        lambda w: [a_fraud_pattern(w).pk], lambda w: {"pattern-reason": "ended"}),
    Row("fraud_rules", "GET", staff("admin")),
    Row("fraud_rule_set", "POST", staff("admin", ok=302), data=lambda w: {
        "prefix": "spend_spike", "spend_spike-signal": "spend_spike", "spend_spike-enabled": "on"}),
    Row("fraud_rule_remove", "POST", staff("admin", ok=302), lambda w: [a_fraud_rule(w).pk],
        lambda w: {"remove-reason": "no longer needed"}),
    Row("fraud_settings", "POST", staff("admin", ok=302), data=lambda w: {"new_customer_days": "30",
                                                                         "baseline_days": "56"}),
    Row("fraud_report", "GET", staff("*")),
    Row("fraud_limits", "GET", staff("*"), lambda w: [w.a.pk]),
    Row("fraud_limit_set", "POST", staff("admin", "finance", ok=302), lambda w: [w.a.pk],
        lambda w: {"kind": "budget", "amount": "2000"}),
    Row("fraud_limit_remove", "POST", staff("admin", "finance", ok=302), lambda w: [a_credit_limit(w).pk],
        lambda w: {"remove-reason": "prepays now"}),
    Row("portal_limits", "GET", portal()),
    Row("escalation_settings", "GET", staff("admin")),
    Row("escalation_settings", "POST", staff("admin", ok=302), data=lambda w: {
        "contact_name": "王芳", "contact_email": "escalations@partner.example.cn", "contact_phone": "+86 21 5555 0100",
        "default_channel": "portal", "first_response_a_minutes": "120", "first_response_b_minutes": "240",
        "first_response_c_minutes": "480", "resolution_b_minutes": "1620", "resolution_c_minutes": "2700",
        "failing_request_hours": "24", "collections_team": "", "reason": "our escalation desk"}),
    # payables to 21Vianet (web/views/payables.py): every staff role reads, admin and finance change, customers never
    Row("payables_invoices", "GET", staff("*")),
    Row("payables_invoice_new", "GET", staff("admin", "finance")),
    Row("payables_invoice_new", "POST", staff("admin", "finance", ok=302), data=lambda w: {
        "number": "21V-202611-0001", "billing_date": "2026-11-15", "period_start": "2026-10-01",
        "period_end": "2026-10-31", "amount": "1200.00"}),
    Row("payables_invoice", "GET", staff("*"), lambda w: [an_operator_invoice(w).pk]),
    Row("payables_invoice_edit", "GET", staff("admin", "finance"), lambda w: [an_operator_invoice(w).pk]),
    Row("payables_invoice_edit", "POST", staff("admin", "finance", ok=302), lambda w: [an_operator_invoice(w).pk],
        lambda w: {"billing_date": "2026-11-01", "period_start": "2026-10-01", "period_end": "2026-10-31",
                   "amount": "8000.00", "due_terms": "agreed", "due_date": "2026-12-20", "reason": "agreed"}),
    Row("payables_payment_new", "POST", staff("admin", "finance", ok=302), lambda w: [an_operator_invoice(w).pk],
        lambda w: {"amount": "1000.00", "paid_on": "2026-11-20", "reference": "CMB-1120"}),
    Row("payables_settings", "GET", staff("*")),
    Row("payables_settings", "POST", staff("admin", "finance", ok=302), data=lambda w: {
        "late_charge_percent": "1.5", "warn_days_before_due": "7", "delinquent_after_days": "30",
        "reconciliation_tolerance": "0.00", "reason": "a week's notice"}),
    # re-billing (web/views/rebilling.py): every staff role reads, admin and finance change, customers never
    Row("rebilling_files", "GET", staff("*")),
    Row("rebilling_file_upload", "POST", staff("admin", "finance", ok=302), data=lambda w: a_recon_upload(w)),
    Row("rebilling_file", "GET", staff("*"), lambda w: [a_recon_file(w).pk]),
    Row("rebilling_file_replace", "POST", staff("admin", "finance", ok=302), lambda w: [a_recon_file(w).pk],
        lambda w: a_corrected_recon_file(w)),
    Row("rebilling_unmatched", "GET", staff("*")),
    Row("rebilling_map", "POST", staff("admin", "finance", ok=302), data=lambda w: a_recon_mapping(w)),
    Row("rebilling_price_rules", "GET", staff("*")),
    Row("rebilling_price_rule_new", "GET", staff("admin", "finance")),
    Row("rebilling_price_rule_new", "POST", staff("admin", "finance", ok=302), data=lambda w: {
        "customer": w.a.name, "product": "CFQ7TTC0LF8Q", "kind": "markup", "percent": "10", "rounding": "half_up"}),
    Row("rebilling_price_rule_edit", "GET", staff("admin", "finance"), lambda w: [a_price_rule(w).pk]),
    Row("rebilling_price_rule_edit", "POST", staff("admin", "finance", ok=302), lambda w: [a_price_rule(w).pk],
        lambda w: {"kind": "discount", "percent": "5", "rounding": "half_up"}),
    Row("rebilling_price_rule_delete", "POST", staff("admin", "finance", ok=302), lambda w: [a_price_rule(w).pk],
        lambda w: {"confirm": "on"}),
    Row("rebilling_period", "GET", staff("*")),
    Row("rebilling_generate", "POST", staff("admin", "finance", ok=302),
        data=lambda w: a_period_to_generate(w)),
    Row("rebilling_issue", "POST", staff("admin", "finance", ok=302),
        data=lambda w: {"period": "2026-10", "action": "selected", "invoices": [a_period_draft(w).pk]}),
    Row("rebilling_draft", "GET", staff("*"), lambda w: [a_period_draft(w).pk]),
    Row("rebilling_adjustment", "POST", staff("admin", "finance", ok=302), lambda w: [a_period_draft(w).pk],
        lambda w: {"description": "Goodwill", "amount": "-10.00", "reason": "late onboarding"}),
]


# --- the support desk's objects (customer A's) -----------------------------------------------------------


def a_support_case(w):
    from partnerdesk.support.services import open_case

    return _once(w, "_support_case", lambda: open_case(
        customer=w.a, subject="Invoice question", description="Why is it higher?", actor=w.users["customer_a"],
        requester_contact=w.a.contacts.first()))


def a_dispute_case(w):
    from partnerdesk.disputes.services import open_dispute_case

    return _once(w, "_dispute_case", lambda: open_dispute_case(
        customer=w.a, actor=w.users["customer_a"], amounts=[(w.invoice, "100.00")], reason="5 seats removed",
        channel="portal"))


def a_stuck_request(w):
    """A's suspension the operator refused for good, with its internal case."""
    from partnerdesk.dunning.models import OperatorRequest
    from partnerdesk.escalations.stuck import open_cases_for_stuck_requests

    def make():
        req = OperatorRequest.objects.create(subscription=w.subscription, customer=w.a, action="suspend", cause="matrix",
                                             reason="matrix", status="failed", attempts=3, last_error="HTTP 404")
        open_cases_for_stuck_requests(request_ids=[req.pk])
        return req.stuck_case

    return _once(w, "_stuck_request", make)


def a_partner_contact(w) -> dict:
    """The partner's own contact on service requests (escalating needs it); no form fields of its own."""
    from partnerdesk.escalations.targets import settings_row

    def make():
        row = settings_row()
        row.contact_name, row.contact_email = "王芳", "escalations@partner.example.cn"
        row.save()
        return row

    _once(w, "_partner_contact", make)
    return {}


def a_service_request(w, filed=False):
    """A's case escalated through the portal channel; filed: with the portal's reference number."""
    from partnerdesk.escalations import services

    a_partner_contact(w)
    sr = _once(w, "_service_request", lambda: services.escalate(
        a_support_case(w), actor=w.users["billing_agent"], channel="portal", topic="billing", severity="moderate",
        title="重复扣费", description="同一张发票扣了两次款。"))
    if filed:
        _once(w, "_service_request_filed", lambda: services.record_reference(sr, "2611240010000002",
                                                                              actor=w.users["billing_agent"]))
    return sr


def another_support_case(w):
    from partnerdesk.support.services import open_case

    return _once(w, "_another_support_case", lambda: open_case(
        customer=w.a, subject="Invoice question again", description="Same", actor=w.users["customer_a"]))


def a_canned_reply(w):
    from partnerdesk.support.models import CannedReply

    return _once(w, "_canned", lambda: CannedReply.objects.create(
        title="Balance", language=a_support_case(w).language, body="Your balance is {balance}."))


def an_attachment(w):
    from partnerdesk.support.services import add_note

    return _once(w, "_attachment", lambda: add_note(
        case=a_support_case(w), body="seats", actor=w.users["admin"],
        attachments=[{"filename": "seats.txt", "content": b"41 seats"}]).attachments.get())


def a_waiting_mail(w):
    from partnerdesk.support.mail.filing import ingest

    raw = (b"From: someone@unknown.example.org\r\nSubject: my bill\r\nMessage-ID: <m1@unknown.example.org>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nWho do I ask?\r\n")
    return _once(w, "_waiting_mail", lambda: ingest(raw, source="file"))

def an_operator_invoice(w):
    """An invoice of 21Vianet's to the partner (the partner's own books: no customer's)."""
    import datetime as dt
    from decimal import Decimal

    from partnerdesk.payables.services import OperatorInvoiceInput, record_operator_invoice

    return _once(w, "_operator_invoice", lambda: record_operator_invoice(OperatorInvoiceInput(
        number="21V-202610-0001", billing_date=dt.date(2026, 11, 1), period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31), amount=Decimal("8000.00")), actor=None)[0])


def a_fapiao_invoice(w):
    """An invoice of A's with its invoicing details recorded and no fapiao yet."""
    from partnerdesk.fapiao.services import set_buyer_details

    _once(w, "_buyer_details", lambda: set_buyer_details(w.a, actor=None, buyer_name="Contoso 上海有限公司",
                                                         credit_code="91350100M000100Y43"))
    return _once(w, "_fapiao_invoice", lambda: make_invoice(w.a, "300.00"))


def a_fapiao(w, stage="requested"):
    """A fapiao of A's: requested, issued, or issued and its red-letter reversal requested."""
    from partnerdesk.fapiao import services

    record = _once(w, "_fapiao", lambda: services.request_fapiao(a_fapiao_invoice(w), actor=None))
    if stage in ("issued", "reversing"):
        _once(w, "_fapiao_issued", lambda: services.record_issued(record, number="26312000000000000300",
                                                                  issued_on=timezone.localdate(), actor=None))
    if stage == "reversing":
        _once(w, "_fapiao_reversing", lambda: services.request_reversal(record, reason_code="issuing_error", actor=None))
    return record


def a_fraud_alert(w):
    """An open spend-spike alert of A's, with its case, as detection records it."""
    from partnerdesk.fraud.alerts import record_hits
    from partnerdesk.fraud.models import Alert
    from partnerdesk.fraud.tests.conftest import AS_OF, spike

    return _once(w, "_fraud_alert", lambda: record_hits([spike(w.a)], as_of=AS_OF) and Alert.objects.get(customer=w.a))


def a_fraud_pattern(w):
    from partnerdesk.fraud.models import ExpectedPattern

    return _once(w, "_fraud_pattern", lambda: ExpectedPattern.objects.create(customer=w.a, signal="new_region",
                                                                             reason="new office"))


def a_fraud_rule(w):
    from partnerdesk.fraud.models import SignalRule

    return _once(w, "_fraud_rule", lambda: SignalRule.objects.create(signal="new_region", customer=w.a, enabled=False))


def a_credit_limit(w):
    from partnerdesk.fraud.models import CreditLimit

    return _once(w, "_credit_limit", lambda: CreditLimit.objects.create(customer=w.a, kind="budget", amount="5000.00"))


def invited_user():
    from partnerdesk.accounts.services import invite_staff_user

    return invite_staff_user(actor=None, email="invited@partner.example.cn", role="auditor", link_base="http://testserver/")


def a_team():
    from partnerdesk.accounts.services import create_team

    return create_team(actor=None, name="Billing")


def _once(w, name, make):
    """An object of customer A made on first use by a row (kept on the world, like its cached properties)."""
    if name not in w.__dict__:
        w.__dict__[name] = make()
    return w.__dict__[name]


def a_resolved_support_case(w):
    from partnerdesk.support.services import resolve

    case = a_support_case(w)
    _once(w, "_support_resolution", lambda: resolve(case=case, body="Corrected.", actor=w.users["billing_agent"]))
    return case


def a_public_file(w):
    """A file on an agent's public reply on A's case (the portal serves it to A's users only)."""
    from partnerdesk.support.services import reply

    return _once(w, "_public_file", lambda: reply(
        case=a_support_case(w), body="See the file", actor=w.users["billing_agent"],
        attachments=[{"filename": "seats.pdf", "content": b"%PDF-1.4 41 seats"}]).attachments.get())


def an_answer_token(w):
    from partnerdesk.support.links import answer_token

    return answer_token(a_resolved_support_case(w))


def a_contact(w):
    from partnerdesk.customers.services import add_contact

    return _once(w, "_contact", lambda: add_contact(w.a, actor=None, name="陈静", email="chen@contoso.example.cn"))


def a_draft(w):
    return _once(w, "_draft", lambda: make_invoice(w.a, "80.00", issue=False))


def a_payment(w):
    """2,000.00 from A: 1,280.00 pays the world's invoice, 720.00 stays credit on account."""
    from partnerdesk.billing.services import record_payment

    return _once(w, "_payment", lambda: record_payment(customer=w.a, amount="2000.00", received_on=timezone.localdate(),
                                                       method="alipay", actor=None).payment)


def another_invoice(w):
    return _once(w, "_another_invoice", lambda: make_invoice(w.a, "500.00"))


def a_payment_to_move(w):
    """1,280.00 from A paying the world's invoice, with another of A's invoices open to move it to."""
    from partnerdesk.billing.services import record_payment

    another_invoice(w)
    return _once(w, "_payment_to_move", lambda: record_payment(
        customer=w.a, amount="1280.00", received_on=timezone.localdate(), method="alipay", actor=None).payment)


CASES = [pytest.param(row, role, id=f"{row.id}-{role}") for row in MATRIX for role in ROLES]


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def world(request, users, customer_a, customer_b, monkeypatch):
    # The PDF is the print page through WeasyPrint; here its HTML stands in, so the body check reads it (and fast).
    monkeypatch.setattr(policy_document, "_render_pdf", lambda html: html.encode())
    monkeypatch.setattr(documents, "render_pdf", lambda html: html.encode())
    return World(request, users, customer_a, customer_b)


@pytest.mark.parametrize("row, role", CASES)
def test_page_matrix(world, row, role):
    url = reverse(row.name, args=row.args(world))
    data = row.data(world)  # built before signing in, so a row's objects exist whoever asks
    client = Client(headers={"Accept-Language": "en"})
    if role != "anonymous":
        client.force_login(world.users[role])
    response = client.get(url) if row.method == "GET" else client.post(url, data)

    expected = row.expected[role]
    if expected == LOGIN:
        assert response.status_code == 302, (url, role, response.status_code)
        assert response["Location"].startswith(reverse("login") + "?next="), response["Location"]
    else:
        assert response.status_code == expected, (url, role, response.status_code)
    if role in ("customer_b", "anonymous"):
        body = body_of(response)
        for secret in [world.a.name, str(world.a.tenant_id), world.a.primary_domain, world.invoice.number]:
            assert secret.encode() not in body, (url, role, secret)


# --- every web URL has its row -------------------------------------------------------------------------------


def web_url_names() -> set:
    """The names of all URL patterns served by the web app's views, wherever they are included."""
    names, unnamed = set(), []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.lookup_str.startswith("partnerdesk.web."):
                (names.add(pattern.name) if pattern.name else unnamed.append(pattern.lookup_str))

    walk(get_resolver().url_patterns)
    assert not unnamed, f"web URL patterns without a name (the matrix cannot list them): {unnamed}"
    return names


def test_every_web_url_has_a_matrix_row():
    names = web_url_names()
    assert len(names) >= 50  # the enumeration found the web app's patterns
    missing = names - {row.name for row in MATRIX}
    assert not missing, f"add a row to MATRIX in {__name__} for: {sorted(missing)}"


def test_every_matrix_row_is_a_web_url_and_covers_every_role():
    stale = {row.name for row in MATRIX} - web_url_names()
    assert not stale, f"rows for URLs that no longer exist: {sorted(stale)}"
    ids = [row.id for row in MATRIX]
    assert len(ids) == len(set(ids)), "two rows for the same URL and method"
    for row in MATRIX:
        assert set(row.expected) == set(ROLES), row.id
        assert row.method in ("GET", "POST"), row.id



def test_the_data_kept_from_customer_b_is_what_a_reader_of_a_sees(world):
    """The body check above is meaningful: the same strings are on A's pages for A's user and for staff."""
    a_user, admin = Client(), Client()
    a_user.force_login(world.users["customer_a"])
    admin.force_login(world.users["admin"])
    portal_body = a_user.get(reverse("portal_invoice_detail", args=[world.invoice.pk])).content.decode()
    assert world.invoice.number in portal_body and world.a.name in portal_body
    staff_body = admin.get(reverse("customer_detail", args=[world.a.pk])).content.decode()
    for secret in [world.a.name, str(world.a.tenant_id), world.a.primary_domain, world.invoice.number]:
        assert secret in staff_body, secret


# --- re-billing: A's lines in the operator's October file, a price rule, A's draft for October --------------


def a_recon_upload(w, *, number="G0010009001", quantities=("10",)) -> dict:
    """The upload form's data: a license-based file with A's seats and a line for a subscription no one knows."""
    from .rebilling_support import license_file, license_row, upload_data

    rows = [license_row(w.a, subscription_ref="pc-sub-matrix-a", quantity=q) for q in quantities]
    rows.append(license_row(None, subscription_ref="pc-sub-matrix-lost", quantity="1"))
    return upload_data(license_file(rows), rows, number=number)


def a_recon_file(w):
    import datetime as dt
    from decimal import Decimal

    from partnerdesk.payables.services import OperatorInvoiceInput
    from partnerdesk.rebilling import importer

    def make():
        data = a_recon_upload(w, number="G0010009002")
        invoice = OperatorInvoiceInput(number=data["number"], billing_date=dt.date(2026, 11, 8),
                                       period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31),
                                       amount=Decimal(data["total"]))
        return importer.import_file(data["file"], operator_invoice=invoice, actor=w.users["finance"],
                                    filename="license-2026-10.csv").file

    return _once(w, "_recon_file", make)


def a_corrected_recon_file(w) -> dict:
    """A corrected file for the same operator invoice (A's 10 seats split 8 + 2: the same total), with a reason."""
    a_recon_file(w)
    data = a_recon_upload(w, number="G0010009002", quantities=("8", "2"))
    return {"file": data["file"], "reason": "the operator re-issued the file"}


def a_recon_mapping(w) -> dict:
    a_recon_file(w)
    return {"key_kind": "subscription", "key": "pc-sub-matrix-lost", "customer": w.a.name, "subscription": "",
            "reason": "A's second tenant"}


def a_period_to_generate(w) -> dict:
    a_recon_file(w)
    return {"period": "2026-10"}


def a_price_rule(w):
    from decimal import Decimal

    from partnerdesk.rebilling.pricing import set_price_rule

    return _once(w, "_price_rule", lambda: set_price_rule(customer=w.a, product="CFQ7TTC0LF8Q", kind="markup",
                                                          percent=Decimal("10"), actor=None))


def a_period_draft(w):
    """A's draft invoice for October 2026, generated from its matched lines."""
    import datetime as dt

    from partnerdesk.billing.models import Invoice
    from partnerdesk.rebilling import drafts

    def make():
        a_recon_file(w)
        drafts.generate_drafts(dt.date(2026, 10, 1), actor=w.users["finance"])
        return Invoice.objects.get(customer=w.a, rebilling__period=dt.date(2026, 10, 1))

    return _once(w, "_period_draft", make)
