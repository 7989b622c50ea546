"""Demo data: a few dozen customers with subscriptions at the operator simulator, invoices in every state,
payments, a couple of suspensions, and one user per role. Deterministic for a given seed and day."""

import datetime as dt
import random
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from partnerdesk.accounts.models import Role, User
from partnerdesk.accounts.services import create_user
from partnerdesk.billing.services import LineInput, create_invoice, record_payment, void_invoice
from partnerdesk.customers.models import Subscription
from partnerdesk.customers.services import create_customer, suspend_subscription, sync_subscriptions

COMPANIES = [
    ("上海云启信息科技有限公司", "yunqi"), ("北京星河数据有限公司", "xinghe"), ("深圳前海智联科技有限公司", "zhilian"),
    ("杭州青禾网络有限公司", "qinghe"), ("广州南山贸易有限公司", "nanshan"), ("成都锦城软件有限公司", "jincheng"),
    ("苏州工业园区恒达制造有限公司", "hengda"), ("南京紫金物流有限公司", "zijin"), ("武汉光谷医疗器械有限公司", "guanggu"),
    ("西安长安教育科技有限公司", "changan"), ("天津滨海新材料有限公司", "binhai"), ("重庆山城食品有限公司", "shancheng"),
    ("厦门鹭岛旅游有限公司", "ludao"), ("青岛海湾啤酒贸易有限公司", "haiwan"), ("宁波港通航运有限公司", "gangtong"),
    ("長榮數位科技股份有限公司", "evergreen"), ("台北新光資訊有限公司", "xinguang"), ("高雄港灣貿易有限公司", "kaohsiung"),
    ("Contoso China Ltd.", "contoso"), ("Fabrikam Shanghai Co., Ltd.", "fabrikam"), ("Northwind Traders (Beijing)", "northwind"),
    ("Tailspin Toys Shenzhen", "tailspin"), ("Adventure Works Hangzhou", "adventureworks"), ("Litware Suzhou Ltd.", "litware"),
    ("合肥科大讯联有限公司", "xunlian"), ("长沙湘江传媒有限公司", "xiangjiang"), ("郑州中原电子商务有限公司", "zhongyuan"),
    ("济南泉城医药有限公司", "quancheng"), ("大连海韵船舶设计有限公司", "haiyun"), ("昆明春城花卉有限公司", "chuncheng"),
    ("福州闽江建筑设计院", "minjiang"), ("沈阳北方重工配套有限公司", "beifang"),
]
CONTACTS = ["王芳", "李伟", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴婷", "Emily Chen", "David Li"]
OFFERS = [
    ("CFQ7TTC0LFLX", "Microsoft 365 E3", Decimal("230.00"), "license"),
    ("CFQ7TTC0LF8Q", "Office 365 E1", Decimal("58.00"), "license"),
    ("CFQ7TTC0LH18", "Exchange Online (Plan 1)", Decimal("28.00"), "license"),
    ("CFQ7TTC0LHSF", "Dynamics 365 Sales Enterprise", Decimal("680.00"), "license"),
    ("DZH318Z0BPS6", "Azure plan", Decimal("1.00"), "usage"),
]
DEMO_USERS = [("admin", Role.ADMIN), ("agent", Role.BILLING_AGENT), ("collector", Role.COLLECTIONS),
              ("finance", Role.FINANCE), ("auditor", Role.AUDITOR)]


def load_demo(*, simulator, today: dt.date | None = None, seed: int = 2026) -> dict:
    """Create the demo world; `simulator` is the running OperatorSimulator that holds the subscriptions."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    first_of_month = today.replace(day=1)
    months = [(first_of_month - dt.timedelta(days=31 * k)).replace(day=1) for k in (3, 2, 1, 0)]
    customers = []
    for i, (name, slug) in enumerate(COMPANIES):
        language = "zh-TW" if "股份" in name or "台北" in name or "高雄" in name else ("en" if name.isascii() else "zh-CN")
        tenant = uuid.UUID(int=rng.getrandbits(128), version=4)
        customer = create_customer(
            actor=None, name=name, tenant_id=tenant, primary_domain=f"{slug}.partner.onmschina.cn",
            language=language, payment_terms_days=rng.choice([30, 30, 30, 15, 45]),
            credit_limit=str(rng.choice([20000, 50000, 100000])),
            contact={"name": CONTACTS[i % len(CONTACTS)], "email": f"billing@{slug}.example.cn", "phone": f"+86 21 5{i:03d} 8{i:03d}"},
        )
        for offer_id, offer_name, _price, billing in rng.sample(OFFERS, rng.randint(1, 3)):
            simulator.add_subscription(str(tenant), offerId=offer_id, offerName=offer_name, friendlyName=offer_name,
                                       quantity=rng.choice([5, 10, 25, 50, 120]) if billing == "license" else 1,
                                       billingType=billing, termDuration="P1M" if billing == "usage" else "P1Y")
        sync_subscriptions(customer, actor=None)
        for sub in customer.subscriptions.all():
            offer = next(o for o in OFFERS if o[0] == sub.offer_id)
            Subscription.objects.filter(pk=sub.pk).update(unit_price=offer[2])
        customers.append(customer)

    # Monthly invoices; most customers pay, some pay part, a few not at all.
    behaviour = {c.pk: rng.choices(["pays", "late", "partial", "never"], weights=[60, 15, 15, 10])[0] for c in customers}
    for customer in customers:
        subs = list(customer.subscriptions.all())
        for month in months:
            lines = [LineInput(description=f"{s.offer_name} · {month:%Y-%m}", quantity=Decimal(s.quantity)
                               if s.billing_type == "license" else Decimal(rng.randint(800, 9000)),
                               unit_price=s.unit_price, tax_rate=Decimal("0.06"), subscription=s) for s in subs]
            issue = month != months[-1] or rng.random() < 0.7
            invoice = create_invoice(customer=customer, lines=lines, actor=None, issue=issue, issue_date=month)
            kind = behaviour[customer.pk]
            if not issue or invoice.due_date >= today:
                continue
            if kind == "pays" or (kind == "late" and month != months[-2]):
                record_payment(customer=customer, amount=invoice.total, received_on=min(today, invoice.due_date - dt.timedelta(days=rng.randint(0, 10))),
                               method=rng.choice(["bank_transfer", "alipay", "wechat_pay"]), reference=f"DEMO-{invoice.number}",
                               actor=None)
            elif kind == "partial":
                record_payment(customer=customer, amount=(invoice.total / 2).quantize(Decimal("0.01")),
                               received_on=min(today, invoice.due_date), method="bank_transfer",
                               reference=f"DEMO-{invoice.number}-P", actor=None)
    # One void invoice, to show every state.
    mistake = create_invoice(customer=customers[0], actor=None, issue=True, issue_date=months[-1],
                             lines=[LineInput(description="Duplicate of a monthly invoice", quantity=Decimal(1), unit_price=Decimal("99.00"))])
    if mistake.status == "issued":
        void_invoice(mistake, actor=None, reason="Issued twice by mistake")

    # Customers who never pay have been suspended for non-payment, a while ago.
    for customer in [c for c in customers if behaviour[c.pk] == "never"][:3]:
        sub = customer.subscriptions.filter(status="active").first()
        if sub is None:
            continue
        sub = suspend_subscription(sub, actor=None, reason_code="non_payment", reason="Invoices more than 21 days overdue")
        with transaction.atomic():
            Subscription.objects.filter(pk=sub.pk).update(suspended_at=timezone.now() - dt.timedelta(days=rng.randint(10, 50)))
    # Today's collections run: reminders, notices and suspensions as the policy says (emails go to var/mail).
    from partnerdesk.dunning.engine import run_collections

    run_collections(today)
    return {"customers": customers}


def ensure_demo_users(password: str) -> list[tuple[str, str, str]]:
    """Create (or reset the password of) one user per role and two customer portal users."""
    from partnerdesk.customers.models import Customer

    portal = [("portal", Customer.objects.order_by("id").first()), ("portal2", Customer.objects.order_by("id")[1:2].first())]
    out = []
    for username, role in DEMO_USERS:
        _ensure(username, role, None, password)
        out.append((username, password, str(role.label)))
    for username, customer in portal:
        if customer is not None:
            _ensure(username, Role.CUSTOMER, customer, password)
            out.append((username, password, f"customer user of {customer.name}"))
    return out


def _ensure(username, role, customer, password):
    user = User.objects.filter(username=username).first()
    if user is None:
        create_user(actor=None, username=username, password=password, role=role, customer=customer,
                    email=f"{username}@partnerdesk.invalid", validate=False)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
