"""The demo's finance story: three months of 21Vianet's reconciliation files re-billed to the demo's customers,
the fapiao that follow, and the partner's payables to 21Vianet, all through the real services.

Dates follow today: the operator bills on the same day each month, the latest 15 days ago (B0). For each of the
three billing periods (the month before each billing date) finance imports a license-based and a usage-based file
(partnerdesk.rebilling.generator, small) for its two operator invoices, the day after the billing date:

- the oldest period: an agent maps the usage lines of a customer the operator still lists under its old tenant
  (remembered for the next files), finance sets the price rules, generates the drafts, issues them; the customers
  pay (or not, as each one does in the rest of the demo), fapiao are requested, issued and delivered, and a credit
  note reverses one by a red-letter fapiao. The license invoice is paid to 21Vianet a week late (a late charge).
- the middle period: issued too; some fapiao only requested, some issued, one reversal waiting. Its license
  invoice is half paid and now late: the account's standing is late, and the cash flow shows the shortfall.
- the latest period: drafts waiting for review (one with an adjustment, one retyped by hand: leakage), lines of
  a customer PartnerDesk does not know yet waiting to be mapped, both operator invoices due in 15 days.
"""

import calendar
import datetime as dt
import random
import tempfile
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.db import transaction

from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.billing.services import (
    LineInput,
    issue_credit_note,
    issue_invoice,
    record_payment,
    update_draft,
)
from partnerdesk.fapiao import services as fapiao
from partnerdesk.fapiao.models import FapiaoRecord, FapiaoStatus, FapiaoType
from partnerdesk.payables.services import OperatorInvoiceInput, record_operator_payment
from partnerdesk.payables.standing import add_months, pay_by_date
from partnerdesk.rebilling import drafts, importer, matching, pricing
from partnerdesk.rebilling.generator import (
    WorldCustomer,
    WorldSubscription,
    write_license_file,
    write_usage_file,
)
from partnerdesk.rebilling.models import FileKind, ReconLine

FEN = Decimal("0.01")
OPERATOR_SHARE = Decimal("0.88")  # 21Vianet's price to the partner, against the partner's list price in the demo
LATEST_BILLING_DAYS_AGO = 15  # the latest operator invoice: billed 15 days ago, due in 15 (net 30)
NEW_CUSTOMER = ("无锡太湖智造科技有限公司", "taihu")  # signed at the operator last month, not in PartnerDesk yet


def _month_before(day: dt.date) -> dt.date:
    return (day.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def _credit_code(i: int) -> str:
    """A valid unified social credit code (GB 32100-2015: its check character computed)."""
    first17 = f"91310000{7000000 + i * 7919:09d}"[:17]
    return first17 + fapiao.credit_code_check_character(first17)


def _fapiao_number(day: dt.date, seq: int) -> str:
    return f"{day:%y}312000{seq:012d}"  # 20 digits, the first two the year it was issued


def _world(customers, rng: random.Random, *, relocated, unknown_sub_owner, offers) -> list[WorldCustomer]:
    """The demo's customers as the operator's files name them. `relocated` is listed under an old tenant id and
    domain (its usage lines match nothing); `unknown_sub_owner` has one more subscription PartnerDesk does not know."""
    world = []
    for customer in customers:
        tenant = str(customer.tenant_id)
        item = WorldCustomer(name=customer.name, tenant_id=tenant, domain=customer.primary_domain,
                             language=customer.language, file_customer_id=tenant)
        if customer is relocated:
            item.file_customer_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            item.tenant_id = item.file_customer_id  # (so the generator writes the old domain as it is)
            item.domain = customer.primary_domain.replace(".partner.", "-old.partner.")
        for sub in customer.subscriptions.order_by("id"):
            price = _money(offers[sub.offer_id] * OPERATOR_SHARE) if sub.billing_type == "license" else Decimal("0")
            item.subscriptions.append(WorldSubscription(
                operator_id=sub.operator_id, billing_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                offer_id=sub.offer_id, offer_name=sub.offer_name, billing_type=sub.billing_type,
                quantity=sub.quantity, unit_price=str(price)))
        if customer is unknown_sub_owner:  # bought at the operator's portal, never told to PartnerDesk
            item.subscriptions.append(WorldSubscription(
                operator_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                billing_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), offer_id="CFQ7TTC0LHSF",
                offer_name="Dynamics 365 Sales Enterprise", billing_type="license", quantity=3,
                unit_price=str(_money(offers["CFQ7TTC0LHSF"] * OPERATOR_SHARE)), known=False))
        world.append(item)
    return world


def _newcomer(rng: random.Random) -> WorldCustomer:
    name, slug = NEW_CUSTOMER
    tenant = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    newcomer = WorldCustomer(name=name, tenant_id=tenant, domain=f"{slug}.partner.onmschina.cn", language="zh-CN",
                             file_customer_id=tenant, known=False)
    for offer_id, offer_name, billing, quantity, price in [
            ("CFQ7TTC0LFLX", "Microsoft 365 E3", "license", 40, "202.40"), ("DZH318Z0BPS6", "Azure plan", "usage", 1, "0")]:
        newcomer.subscriptions.append(WorldSubscription(
            operator_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            billing_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), offer_id=offer_id, offer_name=offer_name,
            billing_type=billing, quantity=quantity, unit_price=price, known=False))
    return newcomer


def _import_period(world, period: dt.date, billing_date: dt.date, *, folder: Path, actor, seed: int) -> list:
    """Write the period's two files, then import each for its operator invoice (the file's total is the invoice's)."""
    days = calendar.monthrange(period.year, period.month)[1]
    license_subs = sum(1 for c in world for s in c.subscriptions if s.billing_type == "license")
    usage_subs = sum(1 for c in world for s in c.subscriptions if s.billing_type == "usage")
    results = []
    for kind, write, rows in [("license", write_license_file, license_subs + 12),
                              ("usage", write_usage_file, usage_subs * days)]:
        path = folder / f"{kind}-{period:%Y-%m}.csv"
        number = f"CN{period:%y%m}{'01' if kind == 'license' else '02'}7731"
        summary = write(path, world, rows=rows, number=number, period_start=period, billing_date=billing_date,
                        seed=seed + (1 if kind == "license" else 2))
        invoice = OperatorInvoiceInput(number=number, billing_date=billing_date, period_start=period,
                                       period_end=period.replace(day=days), amount=Decimal(summary.total))
        results.append(importer.import_file(path, operator_invoice=invoice, actor=actor, kind=kind))
    return results


def load_finance_story(customers, behaviour: dict, *, users: dict, today: dt.date, offers: dict, happened,
                       seed: int = 2026) -> dict:
    """Run the finance story (see the module's docstring); `happened(day, hour)` dates what the block does."""
    # One transaction: a few hundred service calls, each its own commit (an fsync on SQLite) otherwise.
    with transaction.atomic():
        return _story(customers, behaviour, users=users, today=today, offers=offers, happened=happened, seed=seed)


def _story(customers, behaviour: dict, *, users: dict, today: dt.date, offers: dict, happened, seed: int) -> dict:
    rng = random.Random(seed + 15)
    finance, agent = users["finance"], users["agent"]
    latest = today - dt.timedelta(days=LATEST_BILLING_DAYS_AGO)
    billing_dates = [add_months(latest, -2), add_months(latest, -1), latest]
    periods = [_month_before(day) for day in billing_dates]
    relocated = next(c for c in customers[2:] if c.subscriptions.filter(billing_type="usage").exists())
    unknown_sub_owner = customers[4] if customers[4] is not relocated else customers[5]
    world = _world(customers, rng, relocated=relocated, unknown_sub_owner=unknown_sub_owner, offers=offers)
    newcomer = _newcomer(rng)
    _buyer_details(customers, finance, happened, billing_dates[0] - dt.timedelta(days=20))

    issued: list[list] = []
    with tempfile.TemporaryDirectory(prefix="partnerdesk-demo-recon-") as tmp:
        for i, (period, billed) in enumerate(zip(periods, billing_dates, strict=True)):
            files_world = [newcomer, *world] if i == 2 else world
            with happened(billed + dt.timedelta(days=1), 10):
                _import_period(files_world, period, billed, folder=Path(tmp), actor=finance, seed=seed + 10 * i)
            if i == 0:
                with happened(billed + dt.timedelta(days=1), 15):
                    matching.map_key(key_kind="customer_id", key=world[customers.index(relocated)].file_customer_id,
                                     customer=relocated, actor=agent,
                                     reason="21Vianet still lists the Azure plan under the tenant before the migration")
                    _price_rules(customers, finance)
            with happened(billed + dt.timedelta(days=2), 9):
                result = drafts.generate_drafts(period, actor=finance)
            if i < 2:
                issue_day = billed + dt.timedelta(days=3)
                with happened(issue_day, 10):
                    # The history is issued without the "invoice issued" emails: each would render its PDF during
                    # the demo's start-up (a page renders it when asked).
                    issued.append([issue_invoice(inv, actor=finance, issue_date=issue_day, notify_customer=False)
                                   for inv in drafts.period_drafts(period).filter(total__gt=0)])
            else:
                _review_latest(result, customers, finance, agent, happened, billed + dt.timedelta(days=3))
    for k, invoices in enumerate(issued):
        _customer_payments(invoices, behaviour, agent, today, happened, rng, older=k == 0)
    _fapiao(issued, finance, today, happened)
    _operator_payments(periods, billing_dates, finance, today, happened)
    return {"periods": periods, "billing_dates": billing_dates, "relocated": relocated,
            "unknown_subscription_owner": unknown_sub_owner, "newcomer": newcomer.name}


def _buyer_details(customers, finance, happened, day: dt.date) -> None:
    """The invoicing details of the mainland customers (a special VAT invoice for every third)."""
    with happened(day, 11):
        for i, customer in enumerate(customers):
            if customer.language == "zh-TW":
                continue  # billed from Taiwan: no mainland fapiao
            special = i % 3 == 0
            fapiao.set_buyer_details(
                customer, actor=finance, buyer_name=customer.name, credit_code=_credit_code(i),
                fapiao_type=FapiaoType.SPECIAL if special else FapiaoType.GENERAL,
                address=f"上海市浦东新区张江路 {100 + i} 号" if special else "",
                phone=f"021-5{i:03d}8{i:03d}" if special else "",
                bank="招商银行上海分行张江支行" if special else "",
                bank_account=f"1219 0{i:03d} 5510 {i:03d}" if special else "",
                email=customer.contacts.first().email if customer.contacts.exists() else "")


def _price_rules(customers, finance) -> None:
    """A markup by default, a fixed price for Exchange Online, storage at cost, and one customer's discount."""
    pricing.set_price_rule(kind="markup", percent=Decimal("12"), note="默认加价 12%", actor=finance)
    pricing.set_price_rule(product="CFQ7TTC0LH18", kind="fixed", unit_price=Decimal("30.00"),
                           note="Exchange Online: list price", actor=finance)
    storage = (ReconLine.objects.filter(kind=FileKind.USAGE, service="Storage").values_list("product", flat=True)
               .first())
    if storage:
        pricing.set_price_rule(product=storage, kind="pass_through", note="存储按成本价转售", actor=finance)
    pricing.set_price_rule(customer=customers[3], kind="discount", percent=Decimal("3"),
                           note="框架协议 2026：折扣 3%", actor=finance)


def _review_latest(result, customers, finance, agent, happened, day: dt.date) -> None:
    """The latest period's drafts under review: one adjusted, one retyped by hand (its operator lines are now on
    no invoice and its own lines have no operator charge behind them: the finance page shows both leaks)."""
    mine = list(Invoice.objects.filter(pk__in=result.invoice_ids, status=InvoiceStatus.DRAFT).select_related("customer")
                .order_by("customer_id"))
    by_customer = {inv.customer_id: inv for inv in mine}
    first = by_customer.get(customers[0].pk)
    if first is not None:
        with happened(day, 11):
            drafts.add_adjustment(first, description="新客户首年优惠 / First-year onboarding credit",
                                  amount="-200.00", reason="销售承诺：首年每月减免 ¥200（见合同附件 2）", actor=finance)
    retyped = next((inv for inv in mine if inv.customer_id not in (customers[0].pk, customers[1].pk)
                    and inv.lines.count() >= 2), None)
    if retyped is not None:
        lines = [LineInput(description=f"{line.description} (手工录入)", quantity=Decimal("1"),
                           unit_price=line.amount, tax_rate=line.tax_rate) for line in retyped.lines.order_by("id")
                 if line.amount > 0]
        lines.append(LineInput(description="技术支持服务费 / Support fee", quantity=Decimal("1"),
                               unit_price=Decimal("500.00"), tax_rate=Decimal("0.06")))
        with happened(day, 15):
            update_draft(retyped, actor=agent, lines=lines, reason="按客户要求合并为一张手工账单")


def _customer_payments(invoices, behaviour, agent, today, happened, rng, *, older: bool) -> None:
    """The customers pay their re-billed invoices as they pay the rest: on time, late, half, or not at all."""
    for invoice in invoices:
        kind = behaviour.get(invoice.customer_id, "pays")
        if kind == "pays":
            paid_on, amount = invoice.due_date - dt.timedelta(days=rng.randint(0, 8)), invoice.total
        elif kind == "late":
            paid_on, amount = invoice.due_date + dt.timedelta(days=rng.randint(6, 20)), invoice.total
        elif kind == "partial" and older:
            paid_on, amount = invoice.due_date, _money(invoice.total / 2)
        else:
            continue
        if paid_on > today or invoice.status != InvoiceStatus.ISSUED:
            continue
        with happened(paid_on, 15):
            record_payment(customer=invoice.customer, amount=amount, received_on=paid_on,
                           method=rng.choice(["bank_transfer", "alipay", "wechat_pay"]),
                           reference=f"DEMO-{invoice.number}", actor=agent, allocations=[(invoice, amount)])


def _fapiao(issued, finance, today, happened) -> None:
    """Fapiao for the issued invoices: the older period's issued and delivered, the newer's in every state; one
    credit note asks for a red-letter reversal that the tax platform has done, another waits for it."""
    seq = 1
    fapiao_of = {}
    for k, invoices in enumerate(issued):
        for n, invoice in enumerate(invoices):
            if not hasattr(invoice.customer, "fapiao_details"):
                continue
            with happened(invoice.issue_date, 14):
                record = fapiao.request_fapiao(invoice, actor=finance)
            fapiao_of[invoice.pk] = record
            steps = 2 if k == 0 else n % 3  # newer period: requested, issued or delivered
            if steps >= 1 and invoice.issue_date + dt.timedelta(days=2) <= today:
                with happened(invoice.issue_date + dt.timedelta(days=2), 11):
                    record = fapiao.record_issued(record, number=_fapiao_number(record.invoice.issue_date, seq),
                                                  issued_on=invoice.issue_date + dt.timedelta(days=2), actor=finance)
                seq += 1
                if steps >= 2 and invoice.issue_date + dt.timedelta(days=4) <= today:
                    with happened(invoice.issue_date + dt.timedelta(days=4), 16):
                        fapiao.record_delivered(record, delivered_on=invoice.issue_date + dt.timedelta(days=4),
                                                actor=finance)
    # Credit notes on open invoices whose fapiao is out: the older one reversed already, the newer one waiting.
    for k, (reason, done) in enumerate([("销售折让：9 月份服务中断两天，按合同折让", True),
                                         ("服务终止：客户提前终止 Dynamics 365 订阅", False)]):
        out = FapiaoStatus.DELIVERED if done else FapiaoStatus.ISSUED
        invoice = next((inv for inv in issued[k] if inv.pk in fapiao_of
                        and FapiaoRecord.objects.filter(invoice=inv, status=out).exists()
                        and Invoice.objects.get(pk=inv.pk).balance >= Decimal("100.00")), None)
        if invoice is None:
            continue
        invoice.refresh_from_db()
        day = min(today, invoice.issue_date + dt.timedelta(days=20))
        with happened(day, 10):
            note = issue_credit_note(invoice=invoice, reason=reason, actor=finance,
                                     amount=_money(min(invoice.balance, invoice.total) / 10))
        reversal = note.fapiao_reversals.first()
        if done and reversal is not None and reversal.status == FapiaoStatus.REVERSAL_REQUESTED:
            reversed_on = min(today, day + dt.timedelta(days=2))
            with happened(reversed_on, 15):
                fapiao.record_reversal_done(reversal, red_letter_number=_fapiao_number(reversed_on, 900000 + seq),
                                            reversed_on=reversed_on, actor=finance)


def _operator_payments(periods, billing_dates, finance, today, happened) -> None:
    """What the partner paid 21Vianet: the oldest license invoice a week late, the middle one half (and now
    late), the usage invoices on time, the latest not yet (due in 15 days)."""
    from partnerdesk.payables.models import OperatorInvoice

    for k, period in enumerate(periods[:2]):
        for invoice in OperatorInvoice.objects.filter(period_start=period).order_by("number"):
            kind = invoice.files.values_list("kind", flat=True).first()
            pay_by = pay_by_date(invoice.due_date)
            if kind == FileKind.LICENSE and k == 0:
                payments = [(pay_by + dt.timedelta(days=6), invoice.amount)]
            elif kind == FileKind.LICENSE:
                payments = [(invoice.due_date - dt.timedelta(days=3), _money(invoice.amount / 2))]
            else:
                payments = [(invoice.due_date - dt.timedelta(days=2), invoice.amount)]
            for paid_on, amount in payments:
                if paid_on > today:
                    continue
                with happened(paid_on, 11):
                    record_operator_payment(invoice, amount=amount, paid_on=paid_on, actor=finance,
                                            reference=f"CMB-{paid_on:%Y%m%d}-{invoice.number}")
