"""Realistic reconciliation files of any size, in the operator's two layouts (recon_format), for tests and benchmarks.

No public sample file exists (DOMAIN.md), so this writes them: a "world" of customers and their subscriptions, a
license-based file (monthly charges prepaid for the next month, prorations for seat changes, credits for
cancellations, zero quantities, discounts) and a usage-based file (daily meter readings, included quantities,
credits), each with the awkward rows real files have: a byte-order mark, CRLF, names with commas and quotes,
Chinese names, and lines for customers and subscriptions PartnerDesk does not know (they stay unmatched).
Some customers appear in the files under another tenant id with their domain in capitals: matched by domain.

Files are written row by row (memory stays flat at any size) and are the same for the same seed. The manifest
(JSON) lists the world and the two operator invoices whose totals the files add up to.
"""

import calendar
import csv
import datetime as dt
import io
import json
import random
import uuid
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .recon_format import LICENSE_COLUMNS, USAGE_COLUMNS

TAX_RATE = Decimal("0.06")  # VAT on the operator's cloud services
FEN = Decimal("0.01")
PARTNER_ID = "7d3c1f0e-2b6a-4c59-9e1d-5a8b0c4f2e61"
PARTNER_NAME = "示例云服务合作伙伴有限公司"
PARTNER_MPN = "6012345"

# (OfferID, offer name, monthly unit price in CNY)
LICENSE_OFFERS = [
    ("CFQ7TTC0LFLX", "Microsoft 365 E3", Decimal("238.00")),
    ("CFQ7TTC0LF8Q", "Office 365 E1", Decimal("61.00")),
    ("CFQ7TTC0LH18", "Microsoft 365 Business Basic", Decimal("36.00")),
    ("CFQ7TTC0LCHC", "Microsoft 365 商业标准版", Decimal("91.50")),
    ("CFQ7TTC0LFK5", "Exchange Online (Plan 1)", Decimal("30.00")),
    ("CFQ7TTC0LH0R", "Dynamics 365 Sales Enterprise", Decimal("690.00")),
]
AZURE_OFFER = ("DZH318Z0BCZC", "Azure 计划 (世纪互联)")
# (ServiceName, ServiceType, ResourceName, SKU, Region, unit price, included quantity per day, typical daily use)
METERS = [
    ("Virtual Machines", "Dsv3 Series", "D2s v3 Compute Hours", "D2s v3", "China East 2", Decimal("0.8160"), Decimal("0"), 24),
    ("Storage", "Standard LRS", "Data Stored (GB/Month)", "LRS", "China North 2", Decimal("0.005610"), Decimal("0"), 500),
    ("Bandwidth", "Data Transfer Out", "Data Transfer Out (GB)", "Standard", "China East 2", Decimal("0.6660"), Decimal("5"), 12),
    ("SQL Database", "General Purpose", "vCore Hours", "GP_Gen5_2", "China North 3", Decimal("1.9800"), Decimal("0"), 48),
    ("App Service", "Standard Plan", "S1 App Service Hours", "S1", "China East 2", Decimal("0.6120"), Decimal("0"), 24),
    ("Azure Monitor", "Log Analytics", "Data Ingestion (GB)", "Pay-as-you-go", "China North 2", Decimal("17.2500"), Decimal("0.1667"), 2),
]

SIMPLIFIED = ["上海云启科技有限公司", "深圳市前海数联科技有限公司", "杭州西溪智能制造有限公司", "成都天府软件园服务有限公司",
              "广州珠江物流集团有限公司", "南京紫金医药科技有限公司"]
TRADITIONAL = ["台北資訊股份有限公司", "香港維港貿易有限公司", "高雄海運物流股份有限公司"]
ENGLISH_COMMA = ["Contoso, Ltd.", "Adventure Works (China), Inc.", "Litware, Inc. 上海代表处"]
QUOTED = ['北京"星辰"数据服务有限公司', '"Northwind" Traders, Inc.', '苏州"小桥"文化传媒有限公司']
ENGLISH = ["Fabrikam Trading", "Tailspin Toys Shenzhen", "Wingtip Toys Beijing"]
SLUGS = ["yunqi", "contoso", "xingchen", "taipeiinfo", "qianhai", "fabrikam", "northwind", "xixi", "tianfu",
         "adventureworks", "weigang", "tailspin", "zhujiang", "xiaoqiao", "zijin", "wingtip"]
# A customer's part in the world, by its position in a cycle of 40 (so a tiny world has each kind once).
UNKNOWN_CUSTOMER, DOMAIN_ONLY, UNKNOWN_SUBSCRIPTION = 4, 5, 7
CYCLE = 40


@dataclass
class WorldSubscription:
    operator_id: str  # the Partner Center subscription id (SyndicationPartnerSubscriptionNumber)
    billing_id: str  # the billing platform's SubscriptionID
    offer_id: str
    offer_name: str
    billing_type: str  # license or usage
    quantity: int
    unit_price: str
    known: bool = True  # False: PartnerDesk has no such subscription (the line matches by customer, or not at all)


@dataclass
class WorldCustomer:
    name: str
    tenant_id: str
    domain: str
    language: str
    file_customer_id: str  # the CustomerID the files carry (another id than tenant_id for a domain-only match)
    known: bool = True  # False: not a customer of PartnerDesk (its lines stay unmatched)
    subscriptions: list[WorldSubscription] = field(default_factory=list)


@dataclass
class FileSummary:
    kind: str
    file: str  # the file's name, in the manifest's folder
    number: str  # the operator invoice it belongs to
    billing_date: str
    period_start: str
    period_end: str
    rows: int
    charges: str
    tax: str
    total: str  # what the operator invoice's amount is
    size: int


@dataclass
class Manifest:
    seed: int
    customers: list[WorldCustomer]
    invoices: list[FileSummary]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path) -> "Manifest":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        customers = [WorldCustomer(**{**c, "subscriptions": [WorldSubscription(**s) for s in c["subscriptions"]]})
                     for c in data["customers"]]
        return cls(seed=data["seed"], customers=customers, invoices=[FileSummary(**f) for f in data["invoices"]])

    def invoice(self, kind: str) -> FileSummary:
        return next(f for f in self.invoices if f.kind == kind)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def make_world(customers: int, *, seed: int = 2026) -> list[WorldCustomer]:
    """`customers` customers, each with one to three license subscriptions and most with an Azure plan."""
    rng = random.Random(seed)
    world = []
    pools = [(SIMPLIFIED, "zh-CN"), (ENGLISH_COMMA, "en"), (QUOTED, "zh-CN"), (TRADITIONAL, "zh-TW"),
             (SIMPLIFIED, "zh-CN"), (ENGLISH, "en"), (QUOTED, "en"), (SIMPLIFIED, "zh-CN")]
    drawn: dict[int, int] = {}  # names drawn so far from each pool
    for i in range(customers):
        pool, language = pools[i % len(pools)]
        n = drawn[id(pool)] = drawn.get(id(pool), -1) + 1
        name = pool[n % len(pool)] if n < len(pool) else f"{pool[n % len(pool)]} {i:05d}"  # unique in a large world
        tenant_id = _uuid(rng)
        domain = f"{SLUGS[i % len(SLUGS)]}{i}.partner.onmschina.cn"
        role = i % CYCLE
        customer = WorldCustomer(name=name, tenant_id=tenant_id, domain=domain, language=language,
                                 file_customer_id=_uuid(rng) if role == DOMAIN_ONLY else tenant_id,
                                 known=role != UNKNOWN_CUSTOMER)
        for n, (offer_id, offer_name, price) in enumerate(rng.sample(LICENSE_OFFERS, 1 + i % 3)):
            customer.subscriptions.append(WorldSubscription(
                operator_id=_uuid(rng), billing_id=_uuid(rng), offer_id=offer_id, offer_name=offer_name,
                billing_type="license", quantity=rng.choice([1, 5, 10, 25, 50, 120]), unit_price=str(price),
                known=not (role == UNKNOWN_SUBSCRIPTION and n == 0)))
        if i % 8 != 6:
            customer.subscriptions.append(WorldSubscription(
                operator_id=_uuid(rng), billing_id=_uuid(rng), offer_id=AZURE_OFFER[0], offer_name=AZURE_OFFER[1],
                billing_type="usage", quantity=1, unit_price="0", known=role != UNKNOWN_SUBSCRIPTION))
        world.append(customer)
    return world


def _open(path: Path, *, bom: bool, crlf: bool):
    handle = open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="")
    return handle, csv.writer(handle, lineterminator="\r\n" if crlf else "\n")


def _month_after(day: dt.date) -> tuple[dt.date, dt.date]:
    first = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


# License charge types in the order a tiny file shows each of them once, then drawn with these weights.
LICENSE_PLAN = ["Cycle fee", "Prorate fees when purchase", "Prorate fees when cancel", "seat change", "zero",
                "discount", "Cycle fee", "Renew fee"]
LICENSE_WEIGHTS = {"Cycle fee": 70, "Renew fee": 6, "Prorate fees when purchase": 7, "Prorate fees when cancel": 5,
                   "seat change": 6, "zero": 3, "discount": 3}


def write_license_file(path, world: list[WorldCustomer], *, rows: int, number: str, period_start: dt.date,
                       billing_date: dt.date, seed: int = 1, bom: bool = True, crlf: bool = True) -> FileSummary:
    """A license-based file of exactly `rows` rows for the operator invoice `number` of the month `period_start`."""
    rng = random.Random(seed)
    period_end = period_start.replace(day=calendar.monthrange(period_start.year, period_start.month)[1])
    month_days = period_end.day
    next_start, next_end = _month_after(period_start)
    subs = [(c, s) for c in world for s in c.subscriptions if s.billing_type == "license"]
    kinds, weights = list(LICENSE_WEIGHTS), list(LICENSE_WEIGHTS.values())
    charges = tax_sum = total_sum = Decimal("0.00")
    handle, out = _open(Path(path), bom=bom, crlf=crlf)
    written = 0
    with handle:
        out.writerow(LICENSE_COLUMNS)

        def row(customer, sub, charge_type, start, end, quantity, amount, discount=Decimal("0.00")):
            nonlocal charges, tax_sum, total_sum, written
            subtotal = amount - discount
            tax = _money(subtotal * TAX_RATE)
            total = subtotal + tax
            charges, tax_sum, total_sum = charges + amount, tax_sum + tax, total_sum + total
            written += 1
            sub_start = dt.date(period_start.year - 1, 1 + (written % 12), 1 + (written % 28))
            out.writerow([PARTNER_ID, customer.file_customer_id.upper() if written % 9 == 0 else customer.file_customer_id,
                          f"{rng.getrandbits(64):016X}", sub.billing_id, sub.operator_id, sub.offer_id,
                          f"{sub.offer_id}:0001", sub.offer_name, sub_start.isoformat(),
                          sub_start.replace(year=sub_start.year + 1).isoformat(), start.isoformat(), end.isoformat(),
                          charge_type, sub.unit_price, quantity, amount, discount, subtotal, tax, total, "CNY",
                          customer.name, PARTNER_MPN, "" if written % 4 else "5098765",
                          customer.domain.upper() if customer.file_customer_id != customer.tenant_id else customer.domain,
                          sub.offer_name, f"{sub.offer_name}, {customer.name}"])

        n = 0
        while written < rows:
            customer, sub = subs[n % len(subs)]
            kind = LICENSE_PLAN[n] if n < len(LICENSE_PLAN) else rng.choices(kinds, weights)[0]
            n += 1
            price, quantity = Decimal(sub.unit_price), sub.quantity
            if kind in ("Cycle fee", "Renew fee"):
                row(customer, sub, kind, next_start, next_end, quantity, price * quantity)
            elif kind == "discount":
                amount = price * quantity
                row(customer, sub, "Cycle fee", next_start, next_end, quantity, amount, _money(amount * Decimal("0.05")))
            elif kind == "zero":  # a subscription reduced to no seats: a line of nothing
                row(customer, sub, "Cycle fee", next_start, next_end, 0, Decimal("0.00"))
            else:
                day = rng.randint(2, month_days)
                days = month_days - day + 1
                start = period_start.replace(day=day)
                share = Decimal(days) / Decimal(month_days)
                if kind == "Prorate fees when purchase":
                    row(customer, sub, kind, start, period_end, quantity, _money(price * quantity * share))
                elif kind == "Prorate fees when cancel":  # a credit for the unused days
                    row(customer, sub, kind, start, period_end, quantity, -_money(price * quantity * share))
                else:  # a seat change: the old seats reversed, the new ones prorated, then the new prepaid charge
                    added = rng.choice([1, 2, 5])
                    row(customer, sub, "Cancel instance prorate", start, period_end, quantity,
                        -_money(price * quantity * share))
                    if written < rows:
                        row(customer, sub, "Cycle instance prorate", start, period_end, quantity + added,
                            _money(price * (quantity + added) * share))
                    if written < rows:
                        row(customer, sub, "Cycle fee", next_start, next_end, quantity + added, price * (quantity + added))
    return FileSummary(kind="license", file=Path(path).name, number=number, billing_date=billing_date.isoformat(),
                       period_start=period_start.isoformat(), period_end=period_end.isoformat(), rows=written,
                       charges=str(charges), tax=str(tax_sum), total=str(total_sum), size=Path(path).stat().st_size)


def write_usage_file(path, world: list[WorldCustomer], *, rows: int, number: str, period_start: dt.date,
                     billing_date: dt.date, seed: int = 2, bom: bool = False, crlf: bool = False) -> FileSummary:
    """A usage-based file of exactly `rows` rows for the operator invoice `number`: daily readings of the month."""
    rng = random.Random(seed)
    period_end = period_start.replace(day=calendar.monthrange(period_start.year, period_start.month)[1])
    subs = [(c, s) for c in world for s in c.subscriptions if s.billing_type == "usage"]
    meter_ids = [str(uuid.UUID(int=random.Random(f"meter{m}").getrandbits(128), version=4)) for m in range(len(METERS))]
    start_text, end_text = period_start.isoformat(), period_end.isoformat()
    charges = tax_sum = total_sum = Decimal("0.00")
    handle, out = _open(Path(path), bom=bom, crlf=crlf)
    with handle:
        out.writerow(USAGE_COLUMNS)
        for n in range(rows):
            customer, sub = subs[n % len(subs)]
            day = period_start + dt.timedelta(days=(n // len(subs)) % period_end.day)
            m = (n * 7 + n // len(subs)) % len(METERS)
            service, service_type, resource, sku, region, price, included, typical = METERS[m]
            roll = n % 97
            if roll == 5:  # zero use
                consumed, included = Decimal("0"), Decimal("0")
            elif roll == 11:  # a credit from the operator: a negative reading
                consumed, included, service_type = -Decimal(rng.randint(1, 4000)) / 1000, Decimal("0"), "Adjustment"
            else:
                consumed = Decimal(rng.randint(0, typical * 10000)) / 10000
                included = min(included, consumed)  # the free allowance: fully used on a small day (overage 0)
            overage = consumed - included
            pretax = _money(price * overage)
            tax = _money(pretax * TAX_RATE)
            total = pretax + tax
            charges, tax_sum, total_sum = charges + pretax, tax_sum + tax, total_sum + total
            out.writerow([PARTNER_ID, PARTNER_NAME, "PBA-60012345", customer.name, PARTNER_MPN, "",
                          number, start_text, end_text, sub.billing_id, sub.offer_name,
                          f"Azure, {customer.name}" if n % 10 == 0 else "",
                          f"{sub.billing_id[:8]}-ORDER", service, service_type, meter_ids[m], resource, region, sku,
                          n + 1, consumed, included, overage, price, pretax, tax, total, "CNY", price,
                          (price * (1 + TAX_RATE)).quantize(Decimal("0.000001")), "Usage" if roll != 11 else "Credit",
                          f"CBA-{customer.file_customer_id[:8]}", day.isoformat(), region, service, service_type,
                          "" if n % 10 else "生产环境", "", customer.file_customer_id,
                          customer.domain.upper() if customer.file_customer_id != customer.tenant_id else customer.domain])
    return FileSummary(kind="usage", file=Path(path).name, number=number, billing_date=billing_date.isoformat(),
                       period_start=period_start.isoformat(), period_end=period_end.isoformat(), rows=rows,
                       charges=str(charges), tax=str(tax_sum), total=str(total_sum), size=Path(path).stat().st_size)


def write_pair(directory, *, customers: int, license_rows: int, usage_rows: int, period_start: dt.date,
               billing_date: dt.date | None = None, seed: int = 2026, numbers: tuple[str, str] | None = None) -> Manifest:
    """The world, a license-based and a usage-based file for the month `period_start`, and manifest.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    world = make_world(customers, seed=seed)
    billing_date = billing_date or _month_after(period_start)[0] + dt.timedelta(days=4)
    license_number, usage_number = numbers or (f"G{period_start:%y%m}{seed % 1000:03d}01",
                                               f"G{period_start:%y%m}{seed % 1000:03d}02")
    files = [
        write_license_file(directory / "license.csv", world, rows=license_rows, number=license_number,
                           period_start=period_start, billing_date=billing_date, seed=seed + 1),
        write_usage_file(directory / "usage.csv", world, rows=usage_rows, number=usage_number,
                         period_start=period_start, billing_date=billing_date, seed=seed + 2),
    ]
    manifest = Manifest(seed=seed, customers=world, invoices=files)
    (directory / "manifest.json").write_text(manifest.to_json() + "\n", encoding="utf-8")
    return manifest


def csv_text(rows: list[list]) -> str:
    """Rows as CSV text (a test's hand-made file)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
