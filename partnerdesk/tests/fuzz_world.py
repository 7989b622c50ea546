"""The data the API fuzzer runs against: two customers with the rows a partner really has (contacts, issued and
draft invoices, payments, refunds, credit notes, disputes, a promise to pay, subscriptions mirrored from the
operator simulator, emails, a changed email template, the year's calendar, a collections run with its notices
and suspensions), so that the fuzzer's requests reach real rows (ids 1..N: the test resets the sequences).

Customer A is the one whose user the customer pass acts as; customer B is "another customer": `World.foreign`
is what identifies B, none of which may reach A's user.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from partnerdesk.billing.services import issue_credit_note, record_payment, refund_payment
from partnerdesk.conftest import make_invoice
from partnerdesk.customers.models import BillingContact, Subscription
from partnerdesk.customers.services import sync_subscriptions
from partnerdesk.dunning.engine import run_collections
from partnerdesk.dunning.services import add_promise, open_dispute
from partnerdesk.notifications.services import queue_email, update_template
from partnerdesk.tests.fuzz_api import Foreign
from partnerdesk.workdays.services import load_year_from_package


@dataclass
class World:
    a: object
    b: object
    counts: dict[str, int]  # rows per table, for the record
    foreign: Foreign  # what identifies customer B
    known: dict[str, list]  # a field name and values the app accepts: real ids, its enums, dates, amounts


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def build_world(*, customer_a, customer_b, users, operator) -> World:
    """Fill the database. Call it in a transactional test: the app under test must see committed rows."""
    a, b = customer_a, customer_b
    admin = users["admin"]
    BillingContact.objects.create(customer=a, name="韩梅梅", email="finance@contoso.example.cn",
                                  phone="+86 21 5555 0101", is_primary=False)
    BillingContact.objects.create(customer=b, name="Zhang Wei", email="ap@fabrikam.example.cn",
                                  phone="+86 10 5555 0199", is_primary=False)

    # Subscriptions at the operator (the simulator), mirrored into PartnerDesk by a sync.
    operator.add_subscription(a, offerName="Microsoft 365 E3", quantity=25)
    operator.add_subscription(a, offerName="Exchange Online (Plan 1)", quantity=5)
    operator.add_subscription(a, offerName="Microsoft Teams Rooms Pro", quantity=2, status="suspended")
    operator.add_subscription(b, offerName="Microsoft 365 Business Basic", quantity=40)
    operator.add_subscription(b, offerName="Azure plan", billingType="usage", quantity=1)
    subs_a = sync_subscriptions(a, actor=admin)
    subs_b = sync_subscriptions(b, actor=admin)

    # Money received before any invoice is credit on account: part of it is refunded, the rest is applied
    # to the invoices as they are issued.
    pay_a = record_payment(customer=a, amount="500.00", received_on=_day("2026-07-02"), method="alipay",
                           reference="ALI-2026070200042", actor=admin).payment
    refund_payment(payment=pay_a, amount="50.00", reason="paid twice for a seat", actor=admin)
    pay_b = record_payment(customer=b, amount="999.00", received_on=_day("2026-07-10"), method="bank_transfer",
                           reference="ICBC-FAB-0710", actor=admin).payment
    refund_payment(payment=pay_b, amount="99.00", reason="overpaid", actor=admin)

    # Invoices: paid (from the credit), long overdue (past suspension), overdue (notices), not yet due,
    # credited, disputed, draft.
    make_invoice(a, "300.00", issue_date=_day("2026-08-01"))
    a_old = make_invoice(a, "12800.00", issue_date=_day("2026-09-01"), subscription=subs_a[0])
    a_overdue = make_invoice(a, "2560.50", issue_date=_day("2026-10-10"))
    a_open = make_invoice(a, "980.00", issue_date=_day("2026-11-20"))
    a_credited = make_invoice(a, "1500.00", issue_date=_day("2026-10-20"))
    a_disputed = make_invoice(a, "640.00", issue_date=_day("2026-10-05"))
    make_invoice(a, "88.00", issue=False)
    b_old = make_invoice(b, "45000.00", issue_date=_day("2026-09-10"), subscription=subs_b[0])
    b_open = make_invoice(b, "7300.00", issue_date=_day("2026-11-15"))
    make_invoice(b, "120.00", issue=False)

    record_payment(customer=a, amount="1000.00", received_on=_day("2026-09-20"), method="bank_transfer",
                   reference="CMB-20260920-0001", actor=admin, allocations=[(a_old, "1000.00")])
    record_payment(customer=a, amount="400.00", received_on=_day("2026-11-02"), method="wechat_pay",
                   reference="WX-20261102-0042", actor=admin, allocations=[(a_overdue, "400.00")])
    issue_credit_note(invoice=a_credited, amount="200.00", reason="seats removed mid-month", actor=admin)
    open_dispute(invoice=a_disputed, reason="seats billed twice", actor=admin)
    record_payment(customer=b, amount="5000.00", received_on=_day("2026-10-20"), method="wechat_pay",
                   reference="WX-FAB-20261020-77", actor=admin, allocations=[(b_old, "5000.00")])
    issue_credit_note(invoice=b_open, amount="300.00", reason="goodwill", actor=admin)
    promise_b = add_promise(customer=b, amount="1000.00", promised_date=_day("2026-12-15"), invoice=b_old,
                            note="CFO promised by phone", actor=admin)
    dispute_b = open_dispute(invoice=b_open, reason="wrong unit price", actor=admin)

    # Emails besides collections', and a template an admin changed.
    with transaction.atomic():
        queue_email(customer=a, template_key="collections.reminder", context={"invoice_number": a_open.number},
                    dedupe_key="fuzz-a-reminder")
        queue_email(customer=b, template_key="collections.reminder", context={"invoice_number": b_open.number},
                    dedupe_key="fuzz-b-reminder")
    update_template(key="collections.reminder", language="en", subject="Reminder: invoice {{ invoice_number }}",
                    body="Dear customer, invoice {{ invoice_number }} falls due soon.", actor=admin, reason="tone")

    # The year's working-day calendar, and a collections run: notices (sent to the SMTP test server), a call
    # task, suspensions carried out at the simulator (the immediate task backend runs them at once).
    load_year_from_package(2026, actor=admin, confirm=True)
    run_collections(_day("2026-11-24"))

    case_texts_b = _support_cases(a, b, users=users, invoice_a=a_overdue, invoice_b=b_open)
    case_texts_b |= _dispute_cases(a, b, users=users, invoice_a=a_open, invoice_b=b_old)
    _stuck_requests(subs_a[0], subs_b[0])
    _escalation_figures(b, users=users)
    case_texts_b |= _service_requests(a, b, users=users)
    case_texts_b |= _fapiao(a, b, users=users, invoice_a=a_open, invoice_b=b_open)
    _rebilling(a, b, users=users)
    _payables(users=users)
    _fraud(a, b)

    return World(a=a, b=b, counts=_counts(), foreign=_foreign(a, b, notes={promise_b.note, dispute_b.reason,
                                                                             *case_texts_b}),
                 known=known_values())


def _support_cases(a, b, *, users, invoice_a, invoice_b) -> set[str]:
    """Support cases of both customers: a conversation with a public reply and an internal note (each with a
    file), a resolved case, a canned reply. Returns the texts that identify B's cases."""
    from partnerdesk.support import desk_settings
    from partnerdesk.support import services as support

    agent = users["billing_agent"]
    files = [{"filename": "invoice-copy.pdf", "content": b"%PDF-1.4 copy"}]
    for customer, user, invoice, subject in [(a, users["customer_a"], invoice_a, "发票金额有误 invoice amount wrong"),
                                             (b, users["customer_b"], invoice_b, "Fabrikam 退款申请 REF-7731")]:
        user.email = f"{user.username}@example.cn"  # the desk writes to a customer's own people only
        user.save(update_fields=["email"])
        case = support.open_case(customer=customer, subject=subject, description=f"{subject}: please check",
                                 actor=user, channel="api", requester_email=f"{user.username}@example.cn",
                                 invoices=[invoice])
        support.reply(case=case, body="We are checking the invoice.", actor=agent, attachments=files)
        support.add_note(case=case, body=f"Internal: {subject} looks like a double charge", actor=agent,
                         attachments=[{"filename": "ledger.csv", "content": b"date,amount"}])
        resolved = support.open_case(customer=customer, subject=f"{subject} (2)", description="again", actor=user,
                                     channel="api", requester_email=f"{user.username}@example.cn")
        support.resolve(case=resolved, body="Credited the difference.", actor=agent)
    desk_settings.create_canned_reply(title="余额", language="zh-CN", body="您的余额为 {balance}。", actor=users["admin"])
    return {"Fabrikam 退款申请 REF-7731", "REF-7731", "bob@example.cn"}


def _escalation_figures(b, *, users) -> None:
    """The partner's contact in the escalation settings, a team, and a service request the operator answered and
    closed on one of B's cases, so the escalations report (and a team's) has figures to add up."""
    from django.utils import timezone

    from partnerdesk.accounts.services import create_team
    from partnerdesk.escalations.models import ServiceRequest
    from partnerdesk.escalations.settings import update_settings
    from partnerdesk.support.models import Case

    team = create_team(actor=None, name="Escalations")
    update_settings(actor=users["admin"], contact_name="王芳", contact_email="escalations@partner.example.cn",
                    collections_team=team, reason="fuzz world")
    case = Case.objects.filter(customer=b).order_by("id").first()
    now = timezone.now()
    ServiceRequest.objects.create(
        case=case, customer=b, channel="portal", topic="billing", severity="moderate", title="Fabrikam 发票争议",
        description="Unit price disputed", contact_name="王芳", contact_email="escalations@partner.example.cn",
        reference="21V-REF-7731", status="closed", filed_at=now - dt.timedelta(days=3),
        first_response_at=now - dt.timedelta(days=2), first_response_due_at=now - dt.timedelta(days=2, hours=20),
        closed_at=now - dt.timedelta(days=1), resolution_due_at=now)


def _service_requests(a, b, *, users) -> set[str]:
    """A's case escalated to the operator through the portal twice: one prepared, one filed and answered. Returns
    the texts that identify B's requests (made by _escalation_figures)."""
    from partnerdesk.escalations import services as escalations
    from partnerdesk.escalations.models import ServiceRequest
    from partnerdesk.support.models import Case

    agent = users["billing_agent"]
    case = Case.objects.filter(customer=a).order_by("id").first()
    for title in ("Contoso 发票重复扣费", "Contoso 退款未到账"):
        sr = escalations.escalate(case, actor=agent, channel="portal", topic="billing", severity="moderate",
                                  title=title, description="同一张发票扣款两次。", language="zh-CN")
    escalations.record_reference(sr, "21V-REF-0042", actor=agent)
    escalations.log_operator_answer(sr, "已收到，正在核查。", actor=agent, author="世纪互联")
    return {text for sr in ServiceRequest.objects.filter(customer=b) for text in (sr.title, sr.reference)}


def _rebilling(a, b, *, users) -> None:
    """The committed pair of reconciliation files imported, an unmatched group mapped to each customer, a price
    rule of A's, and the period's drafts generated, one adjusted."""
    from partnerdesk.billing.models import Invoice
    from partnerdesk.rebilling import drafts, matching, pricing
    from partnerdesk.rebilling.importer import import_file
    from partnerdesk.rebilling.tests.recon_data import FILES, operator_invoice_input

    finance = users["finance"]
    for kind, path in FILES.items():
        import_file(path, operator_invoice=operator_invoice_input(kind), actor=finance)
    for customer, group in zip((a, b), matching.unmatched_groups(), strict=False):
        matching.map_key(key_kind=group.key_kind, key=group.key, customer=customer, actor=finance)
    pricing.set_price_rule(customer=a, kind="markup", percent="8", actor=finance)
    result = drafts.generate_drafts(dt.date(2026, 10, 1), actor=finance)
    drafts.add_adjustment(Invoice.objects.get(pk=result.invoice_ids[0]), description="调整", amount="-1.00",
                          reason="fuzz", actor=finance)


def _payables(*, users) -> None:
    """Payables to 21Vianet: an invoice of its part paid (the operator invoices of the files above are unpaid), a
    due date finance agreed, and a lower legal maximum for the late charge."""
    from partnerdesk.payables import services as payables

    finance = users["finance"]
    invoice, _created = payables.record_operator_invoice(payables.OperatorInvoiceInput(
        number="21V-FUZZ-202609", billing_date=_day("2026-09-01"), period_start=_day("2026-08-01"),
        period_end=_day("2026-08-31"), amount="50000.00"), actor=finance)
    payables.record_operator_payment(invoice, amount="20000.00", paid_on=_day("2026-10-08"), actor=finance,
                                     reference="CMB-21V-1008", idempotency_key="fuzz-opay-1")
    payables.update_operator_invoice(invoice, actor=finance, due_date=_day("2026-10-12"), reason="agreed")
    payables.update_finance_settings(actor=finance, late_charge_monthly_rate="0.0125", reason="legal maximum")


def _fapiao(a, b, *, users, invoice_a, invoice_b) -> set[str]:
    """Each customer's invoicing details and a fapiao of each: A's issued and delivered, B's requested. Returns the
    texts that identify B's."""
    from partnerdesk.fapiao import services as fapiao

    finance = users["finance"]
    fapiao.set_buyer_details(a, actor=finance, buyer_name="康拓（上海）信息技术有限公司", credit_code="91350100M000100Y43")
    fapiao.set_buyer_details(b, actor=finance, buyer_name="法布瑞克（北京）科技有限公司", credit_code="91110000802100433B",
                             fapiao_type="special", address="北京市朝阳区建国路 88 号", phone="010-5555 0199",
                             bank="中国工商银行北京分行", bank_account="0200 0011 2233 4455 667")
    record = fapiao.request_fapiao(invoice_a, actor=finance)
    fapiao.record_issued(record, number="26312000000000000042", issued_on=_day("2026-11-21"), actor=finance)
    fapiao.record_delivered(record, delivered_on=_day("2026-11-22"), actor=finance)
    fapiao.request_fapiao(invoice_b, actor=finance)
    return {"法布瑞克（北京）科技有限公司", "91110000802100433B", "0200 0011 2233 4455 667"}


def _stuck_requests(*subscriptions) -> None:
    """A suspension of each customer's that the operator refused for good, each with its internal case."""
    from partnerdesk.dunning.models import OperatorRequest
    from partnerdesk.escalations.stuck import open_cases_for_stuck_requests

    given_up = [OperatorRequest.objects.create(subscription=sub, customer=sub.customer, action="suspend",
                                               cause="fuzz:stuck", reason="fuzz", status="failed", attempts=3,
                                               last_error="HTTP 404") for sub in subscriptions]
    open_cases_for_stuck_requests(request_ids=[r.pk for r in given_up])


def _dispute_cases(a, b, *, users, invoice_a, invoice_b) -> set[str]:
    """A dispute case of each customer, part of an invoice disputed (partnerdesk.disputes). Returns the texts
    that identify B's."""
    from partnerdesk.disputes.services import open_dispute_case

    for customer, invoice, reason in [(a, invoice_a, "多收了 5 个席位 DSP-1001"), (b, invoice_b, "Fabrikam 争议 DSP-5531")]:
        open_dispute_case(customer=customer, actor=users["billing_agent"], amounts=[(invoice, "100.00")],
                          reason=reason, requester=customer.contacts.first(), channel="phone")
    return {"Fabrikam 争议 DSP-5531", "DSP-5531"}


def _foreign(a, b, *, notes) -> Foreign:
    from partnerdesk.billing.models import Invoice, Payment
    from partnerdesk.escalations.models import ServiceRequest, StuckRequest
    from partnerdesk.notifications.models import OutboundEmail
    from partnerdesk.support.models import Case

    invoices = list(Invoice.objects.filter(customer=b))
    payments = list(Payment.objects.filter(customer=b))
    subscriptions = list(Subscription.objects.filter(customer=b))
    emails = list(OutboundEmail.objects.filter(customer=b))

    def texts(customer):
        contacts = list(customer.contacts.all())
        return ({customer.name, str(customer.tenant_id), customer.primary_domain}
                | {c.email for c in contacts} | {c.name for c in contacts})

    foreign = Foreign(customer_id=b.pk)
    foreign.texts = (texts(b) | {i.number for i in invoices if i.number} | {p.reference for p in payments}
                     | {s.operator_id for s in subscriptions} | {e.to_address for e in emails} | notes)
    foreign.texts -= texts(a) | {""}  # what A has too (the suite's default contact name) identifies no one
    foreign.ids = {
        "customer_id": {b.pk},
        "invoice_id": {i.pk for i in invoices},
        "payment_id": {p.pk for p in payments},
        "subscription_id": {s.pk for s in subscriptions},
        "case_id": set(Case.objects.filter(customer=b).values_list("pk", flat=True)),
        "stuck_id": set(StuckRequest.objects.filter(case__customer=b).values_list("pk", flat=True)),
        "sr_id": set(ServiceRequest.objects.filter(customer=b).values_list("pk", flat=True)),
    }
    return foreign


def _counts() -> dict[str, int]:
    from partnerdesk.audit.models import AuditEntry
    from partnerdesk.billing.models import Invoice, Payment
    from partnerdesk.customers.models import Customer
    from partnerdesk.dunning.models import CollectionsAction, OperatorRequest
    from partnerdesk.notifications.models import OutboundEmail

    models = [Customer, Invoice, Payment, Subscription, OutboundEmail, CollectionsAction, OperatorRequest, AuditEntry]
    return {model.__name__: model.objects.count() for model in models}


def _fraud_ids(model: str) -> list[int]:
    from partnerdesk.fraud import models

    return list(getattr(models, model).objects.order_by("pk").values_list("pk", flat=True))


def _fraud(a, b) -> None:
    """An open fraud alert (with its case) and a monthly budget for each customer."""
    from partnerdesk.fraud.alerts import record_hits
    from partnerdesk.fraud.models import CreditLimit
    from partnerdesk.fraud.tests.conftest import AS_OF, spike

    record_hits([spike(a), spike(b, signal="new_region", subject="region:china north 3")], as_of=AS_OF)
    for customer in (a, b):
        CreditLimit.objects.create(customer=customer, kind="budget", amount="5000.00")


def known_values() -> dict[str, list]:
    """Values that get a request past validation to the code behind it: the ids of real rows (both customers':
    a customer's user must get 404 for the other's), the app's enums, dates around the suite's day, amounts up
    to the largest the app takes."""
    from partnerdesk.accounts.models import ApiToken, Team
    from partnerdesk.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
    from partnerdesk.customers.models import Customer, CustomerStatus, Language, SuspensionReason
    from partnerdesk.dunning.models import CollectionsPolicy, Dispute, RequestStatus
    from partnerdesk.escalations.models import ServiceRequest, StuckRequest, Topic
    from partnerdesk.fapiao.models import FapiaoRecord, FapiaoStatus, FapiaoType
    from partnerdesk.notifications.defaults import DEFAULTS
    from partnerdesk.notifications.models import EmailStatus, OutboundEmail
    from partnerdesk.payables.models import OperatorInvoice
    from partnerdesk.rebilling.models import MappingKey, PriceRule, ReconFile, Rounding
    from partnerdesk.support.api_queue import QUEUES
    from partnerdesk.support.models import (
        CannedReply,
        Case,
        CaseAttachment,
        CaseStatus,
        CaseType,
        Channel,
        MessageKind,
    )
    from partnerdesk.workdays.models import DayKind, YearStatus

    def ids(model):
        return list(model.objects.order_by("pk").values_list("pk", flat=True))

    dates = ["2026-11-24", "2026-11-25", "2026-10-31", "2026-12-15", "2027-01-04"]
    amounts = ["100.00", "1", "2560.50", "0.50", "12800.00", "999999999999.99"]
    texts = ["客户要求调整", "duplicate invoice", "paid in full", "Zahlung erhalten"]
    statuses = {*CustomerStatus.values, *InvoiceStatus.values, *EmailStatus.values, *RequestStatus.values,
                *YearStatus.values, *CaseStatus.values, *FapiaoStatus.values}
    return {
        "customer_id": ids(Customer), "invoice_id": ids(Invoice), "payment_id": ids(Payment),
        "subscription_id": ids(Subscription), "dispute_id": ids(Dispute), "email_id": ids(OutboundEmail),
        "token_id": ids(ApiToken), "policy_id": ids(CollectionsPolicy), "year": [2025, 2026, 2027],
        **dict.fromkeys(["as_of", "date", "since", "until", "received_on", "promised_date", "issue_date",
                         "due_date"], dates),
        **dict.fromkeys(["amount", "unit_price", "credit_limit"], amounts),
        "quantity": ["1", "25", "2560.50", "9999999999"],  # 9999999999: the largest quantity a line takes
        **dict.fromkeys(["reason", "resolution", "note", "notes", "description", "name"], texts),
        "tax_rate": ["0.06", "0.13", "0"], "method": PaymentMethod.values, "currency": ["CNY"],
        "status": sorted(statuses), "reason_code": SuspensionReason.values, "language": Language.values,
        "key": sorted(DEFAULTS), "kind": [*DayKind.values, *MessageKind.values, "license", "usage", "markup", "fixed", "budget", "credit_limit"], "time_zone": ["Asia/Shanghai", "Asia/Hong_Kong"],
        "email": ["ops@northwind.example.cn"], "phone": ["+86 21 5555 0100"], "primary_domain": ["northwind.cn"],
        "q": ["Contoso", "Fabrikam", "INV-2026", "fabrikam.partner.onmschina.cn"],
        "action": ["invoice.created", "payment.recorded"], "actor": ["admin1", "system"],
        "object_type": ["invoice", "payment"],
        "subject": ["Invoice {{ invoice_number }}"], "body": ["Please pay {{ amount_due }} by {{ due_date }}."],
        "limit": [1, 10, 50], "offset": [0, 1, 5], "days": [1, 7, 30], "period_days": [30, 90],
        # the support desk
        "case_id": ids(Case), "target_id": ids(Case), "ids": ids(Case), "attachment_id": ids(CaseAttachment),
        "reply_id": ids(CannedReply), "queue": list(QUEUES), "type": CaseType.values,
        "severity": ["A", "B", "C", "critical", "moderate", "minimal"],
        "channel": Channel.values, "score": [1, 3, 5], "comment": texts, "tag": ["invoice", "vip"],
        "tags": ["invoice", "vip"], "title": ["余额", "Overdue notice"],
        # fraud monitoring
        "alert_id": _fraud_ids("Alert"), "limit_id": _fraud_ids("CreditLimit"),
        "signal": ["spend_spike", "new_region", "over_limit"],
        # dispute cases
        "resume_on": dates, "message": texts,
        # the escalations report
        "team_id": ids(Team),
        "stuck_id": ids(StuckRequest), "open": [True, False],
        # fapiao records
        "record_id": ids(FapiaoRecord), "fapiao_type": FapiaoType.values, "buyer_name": ["上海康拓信息技术有限公司"],
        "credit_code": ["91350100M000100Y43", "91440300708461136T"], "number": ["26312000000000000099"],
        "red_letter_number": ["26312000000000000098"], "requested_since": dates, "requested_until": dates,
        **dict.fromkeys(["issued_on", "delivered_on", "reversed_on"], dates),
        # service requests to the operator
        "sr_id": ids(ServiceRequest), "topic": Topic.values, "reference": ["21V-REF-0099"],
        "text": texts, "author": ["世纪互联"], "invoice_ids": ids(Invoice), "subscription_ids": ids(Subscription),
        # re-billing
        "file_id": ids(ReconFile), "rule_id": ids(PriceRule), "period": ["2026-10-01", "2026-11-01"],
        "key_kind": MappingKey.values, "customer_ids": ids(Customer), "percent": ["5", "12.5"],
        "rounding": Rounding.values, "product": ["CFQ7TTC0LFK5"], "matched": [True, False],
        "invoice_number": ["G261002601", "G261099999"], "total": amounts,
        **dict.fromkeys(["billing_date", "period_start", "period_end"], dates),
        # finance's figures (they read the re-billing rows above)
        "weeks": [1, 12, 104], "months": [1, 12], "stale_days": [0, 30], "opening_balance": ["0.00", "-500.00", "1000.00"],
        # payables to 21Vianet
        "operator_invoice_id": ids(OperatorInvoice), "paid_on": dates,
        "late_charge_monthly_rate": ["0.015", "0.0125", "0"], "warn_days_before_due": [0, 5, 60],
        "delinquent_after_days": [0, 30, 365], "reconciliation_tolerance": ["0.00", "0.05"],
        "idempotency_key": ["fuzz-opay-1", "fuzz-opay-2"],
    }
