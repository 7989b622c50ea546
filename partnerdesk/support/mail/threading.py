"""Which case an incoming message belongs to, and, if none, which customer sent it.

Threading tries, in order: the Message-IDs PartnerDesk sent (In-Reply-To, then References, newest first) and
received; the case token in the subject ([#PD-123]); the same sender and subject within the desk's window
(Chinese webmail such as QQ Mail often sends no threading headers). A sender no case knows is matched to a
customer by its address (a contact, a portal user), else by its domain, and only when exactly one customer
fits: a guess between two customers would show one customer's mail to another.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from partnerdesk import bounds
from partnerdesk.accounts.models import Role, User
from partnerdesk.customers.models import BillingContact, Customer

from .. import statements
from ..models import TOKEN_PREFIX, Case, CaseMessage, Direction
from .parsing import case_token, normalized_subject

# The Message-ID notifications.sending gives every email: its row's id is in it, so a reply or a bounce finds
# the email by primary key (OutboundEmail.message_id has no index).
_OUR_MESSAGE_ID = re.compile(r"^<?partnerdesk-email-(\d{1,18})(?:\.[0-9a-f]{16})?@([^>\s]+)>?$", re.IGNORECASE)

# Webmail domains shared by millions: a contact writing from one says nothing about whoever else does.
FREEMAIL_DOMAINS = frozenset({
    "qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "vip.163.com", "vip.126.com",
    "188.com", "sina.com", "sina.cn", "vip.sina.com", "sohu.com", "139.com", "189.cn", "wo.cn", "aliyun.com",
    "tom.com", "21cn.com", "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "live.cn",
    "msn.com", "yahoo.com", "yahoo.com.cn", "yahoo.com.tw", "icloud.com", "me.com", "mac.com", "proton.me",
    "protonmail.com", "hinet.net", "msa.hinet.net", "pchome.com.tw", "yandex.com", "mail.com", "gmx.com",
})


def bare_id(value: str) -> str:
    """A Message-ID without <> and surrounding space, as CaseMessage keeps it."""
    return (value or "").strip().strip("<>").strip()


def our_domain() -> str:
    """The domain of the Message-IDs PartnerDesk sends (notifications.sending uses DEFAULT_FROM_EMAIL's)."""
    from partnerdesk.notifications.sending import _mail_domain

    return _mail_domain().lower()


def is_our_message_id(message_id: str) -> bool:
    """True for a Message-ID PartnerDesk made: the message is our own mail come back."""
    match = _OUR_MESSAGE_ID.match((message_id or "").strip())
    return bool(match) and match.group(2).lower() == our_domain()


def our_addresses() -> set[str]:
    """The addresses PartnerDesk sends from and receives at."""
    from email.utils import parseaddr

    conf = getattr(settings, "NOTIFICATIONS", {}) or {}
    found = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1], parseaddr(conf.get("SUPPORT_EMAIL") or "")[1]}
    return {a.lower() for a in found if a}


def outbound_emails(message_ids) -> list:
    """The OutboundEmail rows these Message-IDs (with or without <>) name, in the order given."""
    from partnerdesk.notifications.models import OutboundEmail

    wanted: dict[int, str] = {}
    for value in message_ids:
        match = _OUR_MESSAGE_ID.match(f"<{bare_id(value)}>")
        if match and match.group(2).lower() == our_domain():
            wanted.setdefault(int(match.group(1)), f"<{bare_id(value)}>")
    if not wanted:
        return []
    rows = {e.pk: e for e in OutboundEmail.objects.filter(pk__in=list(wanted))}
    # The id must be the one the email went out with: a forged id naming another row finds nothing.
    return [rows[pk] for pk, mid in wanted.items() if pk in rows and rows[pk].message_id.lower() == mid.lower()]


@dataclass
class Thread:
    case: Case
    how: str  # "headers", "token" or "subject"


def _header_ids(parsed) -> list[str]:
    def listed(value) -> list[str]:
        return value.split() if isinstance(value, str) else list(value or [])

    ids = listed(parsed.in_reply_to)
    ids.extend(reversed(listed(parsed.references)))  # oldest first in References: the newest is the best guess
    return [bare_id(i) for i in dict.fromkeys(ids) if bare_id(i)][:50]


def find_case(parsed, *, now: dt.datetime | None = None, window_days: int = 14) -> Thread | None:
    """The case an incoming message answers, or None."""
    ids = _header_ids(parsed)
    if ids:
        case = _by_headers(ids)
        if case is not None:
            return Thread(case, "headers")
    case = _by_token(parsed.subject or "")
    if case is not None:
        return Thread(case, "token")
    case = _by_sender_and_subject(parsed.from_address, parsed.subject or "", now or timezone.now(), window_days)
    if case is not None:
        return Thread(case, "subject")
    return None


def _by_headers(ids: list[str]) -> Case | None:
    sent = outbound_emails(ids)
    rank = {bare_id(e.message_id).lower(): i for i, e in enumerate(sent)}
    candidates = []
    for message in (CaseMessage.objects.filter(emails__in=sent).select_related("case").prefetch_related("emails")
                    if sent else ()):
        best = min(rank.get(bare_id(e.message_id).lower(), 999) for e in message.emails.all())
        candidates.append((best, message.case))
    if candidates:
        return min(candidates, key=lambda c: c[0])[1]
    received = {m.message_id.lower(): m.case for m in statements.select(
        f"thread.received.{len(ids)}", _received, *ids, Direction.INBOUND)}
    for value in ids:
        if value.lower() in received:
            return received[value.lower()]
    return None


def _by_token(subject: str) -> Case | None:
    token = case_token(subject)
    if token is None or token == "":
        return None
    digits = str(token).upper().removeprefix(TOKEN_PREFIX).removeprefix("#")
    number = bounds.parse_id(digits)
    if number is None:
        return None
    found = statements.select("thread.by_id", _case_by_id, number)
    return found[0] if found else None


def _received(*values):
    *ids, direction = values
    return CaseMessage.objects.filter(message_id__in=ids, direction=direction).select_related("case")


def _case_by_id(pk: int):
    return Case.objects.filter(pk=pk).order_by("pk")[:1]


def _by_sender_and_subject(sender: str, subject: str, now: dt.datetime, window_days: int) -> Case | None:
    key = normalized_subject(subject)[:300]
    if not sender or not key:
        return None  # an empty subject ("Re:") would join any case of the sender
    since = now - dt.timedelta(days=window_days)
    return (Case.objects.filter(requester_email__in=_spellings(sender), subject_key=key, updated_at__gte=since)
            .order_by("-updated_at", "-id").first())


def _spellings(address: str) -> list[str]:
    # requester_email keeps the address as given; mail lower-cases it. Exact matches use the index.
    return list(dict.fromkeys([address, address.lower()]))


# --- who sent it ----------------------------------------------------------------------------------------------


@dataclass
class Sender:
    customer: Customer
    contact: BillingContact | None = None
    user: User | None = None
    how: str = "contact"  # "contact", "portal_user" or "domain"


def match_sender(address: str) -> tuple[Sender | None, str]:
    """The customer an unknown message comes from, or (None, why not)."""
    address = (address or "").strip().lower()
    if "@" not in address:
        return None, "no sender address"
    contacts = list(BillingContact.objects.filter(email__iexact=address).select_related("customer"))
    users = list(User.objects.filter(email__iexact=address, role=Role.CUSTOMER, is_active=True)
                 .select_related("customer", "contact"))
    customers = {c.customer_id for c in contacts} | {u.customer_id for u in users}
    if len(customers) == 1:
        customer_id = customers.pop()
        contact = next((c for c in contacts if c.customer_id == customer_id), None)
        user = next((u for u in users if u.customer_id == customer_id), None)
        if contact is None and user is not None:
            contact = user.contact
        customer = contact.customer if contact is not None else user.customer
        return Sender(customer, contact, user, "contact" if contacts else "portal_user"), ""
    if len(customers) > 1:
        return None, f"{address} is a contact of {len(customers)} customers"
    domain = address.rpartition("@")[2]
    if domain in FREEMAIL_DOMAINS:
        return None, f"{address} is not on file (and {domain} is a public mail service)"
    by_domain = set(Customer.objects.filter(primary_domain__iexact=domain).values_list("pk", flat=True))
    by_domain |= set(BillingContact.objects.filter(email__iendswith=f"@{domain}").values_list("customer_id", flat=True))
    if len(by_domain) == 1:
        return Sender(Customer.objects.get(pk=by_domain.pop()), how="domain"), ""
    if by_domain:
        return None, f"the domain {domain} belongs to {len(by_domain)} customers"
    return None, f"{address} is not on file"


def is_known_on_case(case: Case, address: str) -> bool:
    """True if the address is the case's requester, on its CC, or a contact or portal user of its customer."""
    address = (address or "").lower()
    if not address:
        return False
    if address == (case.requester_email or "").lower() or address in [a.lower() for a in case.cc or []]:
        return True
    return (BillingContact.objects.filter(customer_id=case.customer_id, email__iexact=address).exists()
            or User.objects.filter(customer_id=case.customer_id, email__iexact=address).exists())


def cases_opened_by(address: str, since: dt.datetime) -> int:
    """How many cases mail from this address opened since a time (the flood guard)."""
    return Case.objects.filter(Q(requester_email__in=_spellings(address)), created_at__gte=since,
                               channel="email").count()
