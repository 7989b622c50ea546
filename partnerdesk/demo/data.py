"""Demo data: a few dozen customers with subscriptions at the operator simulator, invoices in every state,
payments, a couple of suspensions, and one user per role. Deterministic for a given seed and day."""

import datetime as dt
import random
import secrets
import uuid
import zoneinfo
from contextlib import contextmanager
from decimal import Decimal

from django.utils import timezone

from partnerdesk.accounts.models import Role, User
from partnerdesk.accounts.services import create_user
from partnerdesk.billing.services import LineInput, create_invoice, record_payment, void_invoice
from partnerdesk.customers.models import Customer, Subscription
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


BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


def _moment(day: dt.date, hour: int = 10) -> dt.datetime:
    """`hour` o'clock on `day` in Beijing; today, never later than now."""
    return min(dt.datetime.combine(day, dt.time(hour), tzinfo=BEIJING), timezone.now() - dt.timedelta(minutes=5))


@contextmanager
def _happened(day: dt.date, hour: int = 10):
    """What the block does happens on `day` at `hour` (Beijing), the clock running from there: the services
    date their audit entries, emails and ledger rows as on any other day, and the pages tell one story."""
    import time_machine

    when = _moment(day, hour)
    with time_machine.travel(when, tick=True):
        yield when


def load_demo(*, simulator, today: dt.date | None = None, seed: int = 2026) -> dict:
    """Create the demo world; `simulator` is the running OperatorSimulator that holds the subscriptions.

    One story, dated as it happened: the team's users exist first; each customer signs up months before its
    first invoice; invoices are issued on the first of four months, paid after they were issued, a few never;
    those that never pay were suspended 21 days after the due date of their oldest unpaid invoice; today's
    collections run does what falls due today. Both portal demo users' companies owe something. Finance's side
    (21Vianet's files re-billed, fapiao, payables to 21Vianet) is partnerdesk.demo.finance's story.
    """
    rng = random.Random(seed)
    today = today or timezone.localdate()
    first_of_month = today.replace(day=1)
    months = [(first_of_month - dt.timedelta(days=31 * k)).replace(day=1) for k in (3, 2, 1, 0)]
    story_start = months[0] - dt.timedelta(days=760)
    users = {}
    with _happened(story_start, 9):
        for username, role in DEMO_USERS:
            users[username] = _ensure(username, role, None, secrets.token_urlsafe(12))
    agent = users["agent"]
    customers = []
    for i, (name, slug) in enumerate(COMPANIES):
        language = "zh-TW" if "股份" in name or "台北" in name or "高雄" in name else ("en" if name.isascii() else "zh-CN")
        tenant = uuid.UUID(int=rng.getrandbits(128), version=4)
        since = months[0] - dt.timedelta(days=rng.randint(20, 700))
        with _happened(since, 11):
            customer = create_customer(
                actor=agent, name=name, tenant_id=tenant, primary_domain=f"{slug}.partner.onmschina.cn",
                language=language, payment_terms_days=rng.choice([30, 30, 30, 15, 45]),
                credit_limit=str(rng.choice([20000, 50000, 100000])),
                contact={"name": CONTACTS[i % len(CONTACTS)], "email": f"billing@{slug}.example.cn",
                         "phone": f"+86 21 5{i:03d} 8{i:03d}"},
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

    # The portal users' companies (the first two) owe something: one pays late, one pays part.
    behaviour = {c.pk: rng.choices(["pays", "late", "partial", "never"], weights=[60, 15, 15, 10])[0] for c in customers}
    behaviour[customers[0].pk], behaviour[customers[1].pk] = "late", "partial"
    for customer in customers[:2]:
        with _happened(customer.created_at.astimezone(BEIJING).date() + dt.timedelta(days=3), 14):
            _ensure("portal" if customer is customers[0] else "portal2", Role.CUSTOMER, customer,
                    secrets.token_urlsafe(12))

    # Monthly invoices, issued on the first; most customers pay, some pay part, a few not at all.
    for customer in customers:
        subs = list(customer.subscriptions.all())
        for month in months:
            lines = [LineInput(description=f"{s.offer_name} · {month:%Y-%m}", quantity=Decimal(s.quantity)
                               if s.billing_type == "license" else Decimal(rng.randint(800, 9000)),
                               unit_price=s.unit_price, tax_rate=Decimal("0.06"), subscription=s) for s in subs]
            issue = month != months[-1] or rng.random() < 0.7
            with _happened(month, 9):
                # Only this month's invoices are emailed in the demo: the PDFs of a year of history take minutes.
                invoice = create_invoice(customer=customer, lines=lines, actor=None, issue=issue, issue_date=month,
                                         notify_customer=month == months[-1])
            kind = behaviour[customer.pk]
            if not issue or invoice.due_date >= today:
                continue
            if kind == "pays" or (kind == "late" and month != months[-2]):
                paid_on = min(today, invoice.due_date - dt.timedelta(days=rng.randint(0, 10)))
                with _happened(paid_on, 16):
                    record_payment(customer=customer, amount=invoice.total, received_on=paid_on,
                                   method=rng.choice(["bank_transfer", "alipay", "wechat_pay"]),
                                   reference=f"DEMO-{invoice.number}", actor=agent)
            elif kind == "partial":
                with _happened(min(today, invoice.due_date), 16):
                    record_payment(customer=customer, amount=(invoice.total / 2).quantize(Decimal("0.01")),
                                   received_on=min(today, invoice.due_date), method="bank_transfer",
                                   reference=f"DEMO-{invoice.number}-P", actor=agent)
    # One invoice issued twice by mistake and voided by the agent the next day, to show every state.
    with _happened(months[-1], 9):
        mistake = create_invoice(customer=customers[2], actor=None, issue=True, issue_date=months[-1], notify_customer=False,
                                 lines=[LineInput(description="Duplicate of a monthly invoice", quantity=Decimal(1),
                                                  unit_price=Decimal("99.00"))])
    if mistake.status == "issued":
        with _happened(min(today, months[-1] + dt.timedelta(days=1)), 10):
            void_invoice(mistake, actor=agent, reason="本月账单重复开具，作废此张（客户来电确认）")

    # Customers who never pay were suspended for non-payment by collections, 21 days after the due date of
    # their oldest unpaid invoice, with the reason collections gives.
    for customer in [c for c in customers if behaviour[c.pk] == "never"][:3]:
        sub = customer.subscriptions.filter(status="active").first()
        oldest = customer.invoices.filter(status="issued").order_by("due_date").first()
        if sub is None or oldest is None or oldest.due_date + dt.timedelta(days=21) >= today:
            continue
        suspended_on = oldest.due_date + dt.timedelta(days=21)
        with _happened(suspended_on, 9):
            suspend_subscription(sub, actor=None, reason_code="non_payment",
                                 reason=f"Non-payment: invoice {oldest.number} unpaid 21 days after its due date")
    # The finance side: 21Vianet's reconciliation files re-billed, fapiao, the payables to 21Vianet (finance.py).
    from partnerdesk.demo.finance import load_finance_story

    finance = load_finance_story(customers, behaviour, users=users, today=today, happened=_happened, seed=seed,
                                 offers={offer_id: price for offer_id, _name, price, _billing in OFFERS})
    # Fraud monitoring: this month's usage so far, the daily check's alerts and what the agent did (fraud.py).
    from partnerdesk.demo.fraud import load_fraud_story

    fraud = load_fraud_story(customers, behaviour, users=users, simulator=simulator, today=today, happened=_happened,
                             seed=seed)
    # Today's collections run: reminders, notices and suspensions as the policy says (emails go to var/mail).
    from partnerdesk.dunning.engine import run_collections

    run_collections(today)
    # The desk's built-in canned replies, so an agent can answer with the customer's figures at once.
    from partnerdesk.support.canned import ensure_default_canned_replies

    ensure_default_canned_replies()
    # The partner's own contact on every service request to 21Vianet (never a customer's).
    from partnerdesk.escalations.settings import update_settings

    update_settings(actor=None, contact_name="王芳 (Wang Fang)", contact_email="escalations@partner.example.cn",
                    contact_phone="+86 21 5555 0100", reason="demo")
    _demo_cases(customers, agent, today)
    return {"customers": customers, "finance": finance, "fraud": fraud}


def _demo_cases(customers, agent, today: dt.date) -> None:
    """A few support cases in every state: a question waiting for its first answer, one the agent answered and
    is waiting on the customer, one resolved, and one from the portal."""
    from partnerdesk.support import services as desk

    yesterday = today - dt.timedelta(days=1)
    first, second, third = customers[0], customers[1], customers[2]
    invoice = first.invoices.filter(status="issued").order_by("-issue_date").first()
    with _happened(yesterday, 10):
        desk.open_case(customer=first, subject=f"关于发票 {invoice.number if invoice else ''} 的金额".strip(),
                       description="您好，本月发票金额比上月高了不少，能否说明一下增加的部分？", actor=None,
                       channel="email", requester_contact=first.contacts.first(), acknowledge=False,
                       invoices=[invoice] if invoice else [])
    with _happened(yesterday, 11):
        waiting = desk.open_case(customer=second, subject="付款后订阅仍显示暂停", type="suspension_access",
                                 severity="B", description="我们昨天已经通过银行转账付款，但订阅仍然是暂停状态。",
                                 actor=agent, channel="phone", requester_contact=second.contacts.first(),
                                 acknowledge=False, assignee=agent)
    with _happened(yesterday, 14):
        desk.reply(case=waiting, body="您好，请提供银行回单或转账流水号，我们核对到账后会立即恢复订阅。", actor=agent,
                   status="waiting_customer")
    with _happened(yesterday, 15):
        resolved = desk.open_case(customer=third, subject="Request for a copy of last month's statement",
                                  description="Could you send us last month's statement as a PDF?", actor=agent,
                                  channel="chat", requester_contact=third.contacts.first(), acknowledge=False,
                                  assignee=agent)
    with _happened(yesterday, 16):
        desk.resolve(case=resolved, actor=agent, body="The statement is in the customer portal under Statement; "
                                                        "you can download it as a PDF there at any time.")
    portal_user = first.portal_users.first()
    if portal_user is not None:
        with _happened(today, 9):
            desk.open_case(customer=first, subject="如何修改发票抬头？", description="我们公司名称变更了，发票抬头如何修改？",
                           actor=portal_user, channel="portal", acknowledge=False)


def ensure_demo_users(password: str) -> list[tuple[str, str, str]]:
    """Create (or reset the password of) one user per role and two customer portal users."""
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


def _ensure(username, role, customer, password) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        return create_user(actor=None, username=username, password=password, role=role, customer=customer,
                           email=f"{username}@partnerdesk.invalid", validate=False)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user
