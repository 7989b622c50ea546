"""The demo's fraud story (after the finance story), all through the real services.

21Vianet's files are monthly, so the finance story's latest usage ends with the period before last; this morning
finance imports the usage of the current period so far (a small file, through rebilling.importer, for its own
operator invoice) for a few customers:

- a regular payer whose Azure compute jumps to thousands of yuan a day on the file's last two days (a spike);
- a newcomer, signed up three weeks ago through the desk, running up Azure usage from its first days and not
  having paid anything (usage before the first payment, and a new customer with high spend);
- a customer that starts a SQL database in a region it never used (a disaster-recovery site it told us about);
- the customer with a monthly budget at about 85% (warned at 80%), and one whose unpaid balance and unbilled
  usage passed the credit limit an agent set last month; the portal user's company has a credit limit well within.

The daily check (fraud.tasks.daily: detection as of today and the limit warnings) opens the alerts, each with its
case in the risk team; then the agent acts by hand (automatic actions are off in the demo): the newcomer's usage
before payment confirmed as fraud with prepayment required, the spike dismissed (a one-off render job the
customer confirmed), the new region marked expected. The newcomer's high spend and the credit limit stay open.
"""

import datetime as dt
import random
import tempfile
import uuid
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from django.db.models import Avg, Sum

from partnerdesk.accounts.services import create_team
from partnerdesk.customers.services import create_customer, sync_subscriptions
from partnerdesk.fraud import limits, services
from partnerdesk.fraud.models import Alert, CreditLimit, LimitKind, SignalKind
from partnerdesk.fraud.rule_services import update_fraud_settings
from partnerdesk.fraud.tasks import daily
from partnerdesk.payables.services import OperatorInvoiceInput
from partnerdesk.rebilling import importer
from partnerdesk.rebilling.generator import METERS, PARTNER_ID, PARTNER_MPN, PARTNER_NAME, TAX_RATE
from partnerdesk.rebilling.models import FileKind, ReconLine
from partnerdesk.rebilling.recon_format import USAGE_COLUMNS

FEN = Decimal("0.01")
NEWCOMER = ("东莞鑫达云计算服务有限公司", "xinda")  # signed up three weeks ago; a stolen card, it turns out
NEWCOMER_DAYS = 21
SPIKE = (Decimal("2650.00"), Decimal("3820.00"))  # above the usual day, on the file's last two days
NEW_REGION_DAILY = Decimal("320.00")  # the new region's daily spend (under a spike's floor of ¥500 above normal)
NEW_REGION_DAYS = 6
# A region none of the demo's customers has used (the generator's meters are in China East 2, North 2 and North 3).
NEW_REGION_METER = ("SQL Database", "General Purpose", "vCore Hours", "GP_Gen5_2", "China East 3", Decimal("1.9800"),
                    Decimal("0"), 48)
BUDGET_SHARE = Decimal("0.85")


def _money(value) -> Decimal:
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def _meter_guid(seed) -> str:
    return str(uuid.UUID(int=random.Random(f"meter{seed}").getrandbits(128), version=4))  # (as the generator's)


class _UsageFile:
    """The current period's usage file: rows written as the operator writes them, summed for its invoice."""

    def __init__(self, number: str, start: dt.date, end: dt.date):
        self.number, self.start, self.end = number, start, end
        self.rows: list[list] = []
        self.total = Decimal("0.00")

    def add(self, *, day: dt.date, amount: Decimal, name: str, tenant: str, domain: str, billing_id: str,
            meter: tuple, guid: str | None = None) -> None:
        service, service_type, resource, sku, region, price, _included, _typical = meter
        overage = (amount / price).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        pretax = _money(price * overage)
        tax = _money(pretax * TAX_RATE)
        self.total += pretax + tax
        values = {
            "PartnerID": PARTNER_ID, "PartnerName": PARTNER_NAME, "PartnerBillableAccountID": "PBA-60012345",
            "CustomerName": name, "MPNID": PARTNER_MPN, "ResellerMPNID": "", "InvoiceNumber": self.number,
            "ChargeStartDate": self.start.isoformat(), "ChargeEndDate": self.end.isoformat(),
            "SubscriptionID": billing_id, "SubscriptionName": "Azure plan", "SubscriptionDescription": "",
            "OrderID": f"{billing_id[:8]}-ORDER", "ServiceName": service, "ServiceType": service_type,
            "ResourceGUID": guid or _meter_guid(f"{service}/{region}"), "ResourceName": resource, "Region": region, "SKU": sku,
            "DetailLineItemId": len(self.rows) + 1, "ConsumedQuantity": overage, "IncludedQuantity": "0",
            "OverageQuantity": overage, "ListPrice": price, "PretaxCharges": pretax, "TaxAmount": tax,
            "PostTaxTotal": pretax + tax, "Currency": "CNY", "PretaxEffectiveRate": price,
            "PostTaxEffectiveRate": (price * (1 + TAX_RATE)).quantize(Decimal("0.000001")), "ChargeType": "Usage",
            "CustomerBillableAccount": f"CBA-{tenant[:8]}", "UsageDate": day.isoformat(), "MeteredRegion": region,
            "MeteredService": service, "MeteredServiceType": service_type, "Project": "", "ServiceInfo": "",
            "CustomerID": tenant, "DomainName": domain,
        }
        self.rows.append([values[column] for column in USAGE_COLUMNS])

    def write(self, path: Path) -> None:
        import csv

        with open(path, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle, lineterminator="\n")
            out.writerow(USAGE_COLUMNS)
            out.writerows(self.rows)


def _usual(customer, since: dt.date) -> tuple[Decimal, ReconLine] | None:
    """The customer's usual day of usage since the day (its mean), and its latest usage line (what the file repeats)."""
    lines = ReconLine.objects.filter(kind=FileKind.USAGE, customer=customer, usage_date__gte=since)
    latest = lines.order_by("-usage_date", "-id").first()
    if latest is None:
        return None
    days = lines.values("usage_date").annotate(spend=Sum("charges")).aggregate(mean=Avg("spend"))["mean"]
    return _money(days or 0), latest


def _meter_of(line: ReconLine) -> tuple:
    return next((m for m in METERS if m[0] == line.service and m[4] == line.region), METERS[0])


def _customer_line_args(customer, line: ReconLine) -> dict:
    return {"name": customer.name, "tenant": line.customer_ref, "domain": line.domain,
            "billing_id": line.billing_subscription_ref or str(customer.tenant_id), "meter": _meter_of(line),
            "guid": line.product}


def load_fraud_story(customers, behaviour: dict, *, users: dict, simulator, today: dt.date, happened,
                     seed: int = 2026) -> dict:
    """Run the fraud story (see the module's docstring); `happened(day, hour)` dates what the block does."""
    rng = random.Random(seed + 16)
    admin, agent, finance = users["admin"], users["agent"], users["finance"]
    yesterday = today - dt.timedelta(days=1)
    # The usage since the latest operator period (through yesterday: the operator's figures lag a day; on the
    # first of a month, today's so far, so that the month's budget has something to count).
    latest_end = ReconLine.objects.filter(kind=FileKind.USAGE).order_by("-usage_date").values_list(
        "usage_date", flat=True).first() or today - dt.timedelta(days=30)
    start = latest_end + dt.timedelta(days=1)
    end = yesterday if yesterday.month == today.month else today
    baseline_since = latest_end - dt.timedelta(days=27)

    with happened(today - dt.timedelta(days=40), 10):
        team = create_team(actor=admin, name="风控 / Risk", member_ids=[agent.pk],
                           reason="欺诈与滥用告警由风控小组处理")
        update_fraud_settings(actor=admin, team=team, auto_actions=False,
                              reason="演示环境：不自动暂停订阅，由客服人工处理 / no automatic suspension in the demo")

    # Who is who: the regular payers with Azure usage, most used first.
    usual = {c.pk: _usual(c, baseline_since) for c in customers[2:]}
    payers = sorted((c for c in customers[2:] if usual[c.pk] and behaviour.get(c.pk) == "pays"),
                    key=lambda c: (-usual[c.pk][0], c.pk))
    spiking = payers[0]
    budgeted = payers[1]
    widening = payers[-1]
    owing = max((c for c in customers[2:] if behaviour.get(c.pk) in ("never", "partial")),
                key=lambda c: (_credit_used(c, today), -c.pk))

    newcomer = _newcomer(simulator, agent, rng, today, happened)
    number = f"CN{today:%y%m%d}U7731"
    usage = _UsageFile(number, start, end)
    days = [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]
    for customer in (spiking, budgeted, widening):
        mean, line = usual[customer.pk]
        for day in days:
            usage.add(day=day, amount=_money(mean * Decimal(rng.uniform(0.85, 1.15))),
                      **_customer_line_args(customer, line))
    spike_days = days[-len(SPIKE):]
    for day, extra in zip(spike_days, SPIKE, strict=True):
        usage.add(day=day, amount=extra, **_customer_line_args(spiking, usual[spiking.pk][1]))
    for day in days[-NEW_REGION_DAYS:]:
        usage.add(day=day, amount=_money(NEW_REGION_DAILY * Decimal(rng.uniform(0.95, 1.05))),
                  **{**_customer_line_args(widening, usual[widening.pk][1]), "meter": NEW_REGION_METER,
                     "guid": None})
    signed_up = today - dt.timedelta(days=NEWCOMER_DAYS)
    active_days = [day for day in days if day > signed_up + dt.timedelta(days=2)]
    billing_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    for k, day in enumerate(active_days):  # mining from the third day, more each day
        usage.add(day=day, amount=_money(Decimal(380) + Decimal(720) * k / max(1, len(active_days) - 1)),
                  name=newcomer.name, tenant=str(newcomer.tenant_id), domain=newcomer.primary_domain,
                  billing_id=billing_id, meter=METERS[0], guid=_meter_guid(0))

    # The limits, set by the agent last month: a credit limit on a customer that
    # stopped paying, and the portal user's company's credit limit (well within).
    with happened(today - dt.timedelta(days=25), 15):
        limits.set_limit(owing, kind=LimitKind.CREDIT_LIMIT, amount=_limit_below(owing, today), actor=agent,
                         reason="账期内未付款，设定信用额度")
        limits.set_limit(customers[0], kind=LimitKind.CREDIT_LIMIT, amount=_limit_within(customers[0], today),
                         actor=agent, reason="年度信用评审")
    with happened(today, 6):
        with tempfile.TemporaryDirectory(prefix="partnerdesk-demo-usage-") as tmp:
            path = Path(tmp) / f"usage-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv"
            usage.write(path)
            invoice = OperatorInvoiceInput(number=number, billing_date=today, period_start=start, period_end=end,
                                           amount=usage.total)
            importer.import_file(path, operator_invoice=invoice, actor=finance, kind=FileKind.USAGE)
        # The customer asks for a monthly budget when it sees the month's usage so far (what the budget counts).
        probe = CreditLimit(pk=0, customer=budgeted, kind=LimitKind.BUDGET, amount=Decimal("1"))
        spent = limits.measure([probe], as_of=today)[0].used  # (what the daily check will count)
        # (early in a month the budget is small: it is what this month's few days make 85% of)
        budget = max((Decimal(spent) / BUDGET_SHARE).quantize(Decimal("1"), rounding=ROUND_DOWN), Decimal("1"))
        limits.set_limit(budgeted, kind=LimitKind.BUDGET, amount=budget, actor=agent,
                         reason="客户要求：Azure 每月预算，超出前提醒")
    with happened(today, 7):
        daily(as_of=today)  # detection as of today (opens the alerts and their cases) and the limit warnings

    def alert(customer, signal):
        return Alert.objects.filter(customer=customer, signal=signal).order_by("-id").first()

    stolen = alert(newcomer, SignalKind.USAGE_BEFORE_PAYMENT)
    spike = alert(spiking, SignalKind.SPEND_SPIKE)
    region = alert(widening, SignalKind.NEW_REGION)
    if stolen is not None:
        with happened(today, 9):
            services.confirm(stolen, actor=agent, reason="客户预留的付款卡被发卡行确认为盗刷；注册资料无法核实")
            services.require_prepayment(stolen, actor=agent, reason="确认欺诈：后续用量须预付")
    if spike is not None:
        with happened(today, 10):
            services.dismiss(spike, actor=agent, reason="客户来电确认：一次性渲染任务，已按计划结束")
    if region is not None:
        with happened(today, 11):
            services.mark_expected(region, actor=agent, until=(today.replace(day=1) + dt.timedelta(days=62)).replace(day=1),
                                   reason="客户在华北 3 新建灾备环境，已书面告知")
    return {"newcomer": newcomer, "spike": spiking, "budget": budgeted, "new_region": widening,
            "over_limit": owing, "usage_file": number}


def _newcomer(simulator, agent, rng: random.Random, today: dt.date, happened):
    name, slug = NEWCOMER
    tenant = uuid.UUID(int=rng.getrandbits(128), version=4)
    with happened(today - dt.timedelta(days=NEWCOMER_DAYS), 16):
        customer = create_customer(
            actor=agent, name=name, tenant_id=tenant, primary_domain=f"{slug}.partner.onmschina.cn", language="zh-CN",
            payment_terms_days=30, credit_limit="20000",
            contact={"name": "陈晓明", "email": f"finance@{slug}.example.cn", "phone": "+86 769 2288 0199"})
        simulator.add_subscription(str(tenant), offerId="DZH318Z0BPS6", offerName="Azure plan",
                                   friendlyName="Azure plan", quantity=1, billingType="usage", termDuration="P1M")
        sync_subscriptions(customer, actor=None)
    return customer


def _credit_used(customer, as_of: dt.date) -> Decimal:
    """What a credit limit would count for the customer today (its balance and unbilled usage)."""
    probe = CreditLimit(pk=0, customer=customer, kind=LimitKind.CREDIT_LIMIT, amount=Decimal("1"))
    return limits.measure([probe], as_of=as_of)[0].used


def _limit_below(customer, as_of: dt.date) -> Decimal:
    """The customer's own credit limit if it owes more, else a round amount it has passed."""
    used = _credit_used(customer, as_of)
    if customer.credit_limit and used > customer.credit_limit:
        return customer.credit_limit
    return max(Decimal("1000"), (used * Decimal("0.9") / 1000).quantize(Decimal("1"), rounding=ROUND_DOWN) * 1000)


def _limit_within(customer, as_of: dt.date) -> Decimal:
    """The customer's own credit limit if it is well within it, else a round amount it uses about half of."""
    used = _credit_used(customer, as_of)
    if customer.credit_limit and used < customer.credit_limit * Decimal("0.6"):
        return customer.credit_limit
    return ((used * 2 / 10000).quantize(Decimal("1"), rounding=ROUND_DOWN) + 1) * 10000

