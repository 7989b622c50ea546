"""Which case an incoming message belongs to, and, if none, which customer sent it.

Threading tries, in order: the Message-IDs PartnerDesk sent (In-Reply-To, then References, newest first) and
received; the case token in the subject ([#PD-123]); the same sender and subject within the desk's window
(Chinese webmail such as QQ Mail often sends no threading headers). A sender no case knows is matched to a
customer by its address (a contact, a portal user), else by its domain, and only when exactly one customer
fits: a guess between two customers would show one customer's mail to another.
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from partnerdesk import bounds
from partnerdesk.accounts.models import Role, User
from partnerdesk.customers.models import BillingContact, Customer

from .. import statements
from ..models import TOKEN_PREFIX, Case, CaseMessage, Direction, SlaClock
from . import batch as mail_batch
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
    conf = getattr(settings, "NOTIFICATIONS", {}) or {}
    return set(_our_addresses(settings.DEFAULT_FROM_EMAIL, conf.get("SUPPORT_EMAIL") or ""))


@functools.lru_cache(maxsize=16)
def _our_addresses(from_email: str, support_email: str) -> frozenset[str]:
    # Read for every message: parsed once per value of the settings (tests change them).
    from email.utils import parseaddr

    found = {parseaddr(from_email)[1], parseaddr(support_email)[1]}
    return frozenset(a.lower() for a in found if a)


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
    batch = mail_batch.current()
    if batch is not None and all(value in batch.received_ids for value in ids):
        # Read ahead for the batch, and kept up to date with the messages it filed.
        by_lower = {}
        for value in dict.fromkeys(ids):
            for case_id in batch.received.get(value, ()):
                by_lower[value.lower()] = case_id
        for value in ids:
            if value.lower() in by_lower:
                return _batch_case(batch, by_lower[value.lower()])
        return None
    received = {m.message_id.lower(): m.case for m in statements.select(
        f"thread.received.{len(ids)}", _received, *ids, Direction.INBOUND)}
    for value in ids:
        if value.lower() in received:
            return received[value.lower()]
    return None


def _batch_case(batch, pk: int) -> Case | None:
    """The case as the batch holds it (locked), else locked now; None if there is none."""
    from .. import services

    if pk in batch.cases:
        return batch.cases[pk]
    try:
        return services._lock(Case(pk=pk))
    except Case.DoesNotExist:
        batch.absent.add(pk)
        return None


def _by_token(subject: str) -> Case | None:
    token = case_token(subject)
    if token is None or token == "":
        return None
    digits = str(token).upper().removeprefix(TOKEN_PREFIX).removeprefix("#")
    number = bounds.parse_id(digits)
    if number is None:
        return None
    batch = mail_batch.current()
    if batch is not None and (number in batch.cases or number in batch.absent):
        return batch.cases.get(number)
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
    batch = mail_batch.current()
    spellings = _spellings(sender)
    if (batch is not None and batch.subject_since is not None and since >= batch.subject_since
            and all((spelling, key) in batch.subject_pairs for spelling in spellings)):
        # Read ahead for the batch (each case's latest values, as the batch saved them): the query below, here.
        found = max(((updated_at, pk) for pk, (email, subject_key, updated_at) in batch.subject_rows.items()
                     if subject_key == key and email in spellings and updated_at >= since), default=None)
        return _batch_case(batch, found[1]) if found else None
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
    batch = mail_batch.current()
    if batch is not None and address in batch.senders:
        contacts, users = batch.senders[address]
    else:
        contacts = list(_contacts().filter(email__iexact=address))
        users = list(_users().filter(email__iexact=address))
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


def _contacts():
    return BillingContact.objects.select_related("customer")


def _users():
    return User.objects.filter(role=Role.CUSTOMER, is_active=True).select_related("customer", "contact")


def cases_opened_by(address: str, since: dt.datetime) -> int:
    """How many cases mail from this address opened since a time (the flood guard)."""
    batch = mail_batch.current()
    spellings = _spellings(address)
    if (batch is not None and batch.opened_since is not None and since >= batch.opened_since
            and all(spelling in batch.opened_addresses for spelling in spellings)):
        return sum(1 for email, channel, created_at in batch.opened.values()
                   if email in spellings and channel == "email" and created_at >= since)
    return Case.objects.filter(Q(requester_email__in=_spellings(address)), created_at__gte=since,
                               channel="email").count()


# --- a batch's questions, asked once ---------------------------------------------------------------------------

FLOOD_WINDOW = dt.timedelta(hours=1)  # filing's flood guard counts the cases a sender opened in the last hour


def read_ahead(batch, messages, *, now: dt.datetime, window_days: int) -> None:
    """Ask, for all the parsed messages of a batch at once, what filing each would ask the database (see
    mail.batch): the cases their Message-IDs and case numbers name (locked, with their clocks), the cases of
    their senders and subjects, their senders, and the cases those opened in the last hour. `now` is the
    earliest time any of them is filed at."""
    from .parsing import case_token

    header_ids, numbers, pairs, addresses = set(), set(), set(), set()
    for parsed in messages:
        header_ids.update(_header_ids(parsed))
        token = case_token(parsed.subject or "")
        if token:
            number = bounds.parse_id(str(token).upper().removeprefix(TOKEN_PREFIX).removeprefix("#"))
            if number is not None:
                numbers.add(number)
        address = (parsed.from_address or "").strip()
        key = normalized_subject(parsed.subject or "")[:300]
        if address and key:
            pairs.update((spelling, key) for spelling in _spellings(parsed.from_address))
        if address:
            addresses.update(_spellings(parsed.from_address))
    if header_ids:
        ids = sorted(header_ids)
        for message_id, case_id in (CaseMessage.objects.filter(message_id__in=ids, direction=Direction.INBOUND)
                                    .order_by("pk").values_list("message_id", "case_id")):
            batch.received.setdefault(message_id, []).append(case_id)
            numbers.add(case_id)
        batch.received_ids.update(ids)
    if numbers:
        wanted = sorted(numbers)
        found = {case.pk: case for case in Case.objects.select_for_update().select_related("customer")
                 .filter(pk__in=wanted).order_by("pk")}
        batch.cases.update(found)
        batch.absent.update(set(wanted) - set(found))
        for clock in SlaClock.objects.filter(case_id__in=list(found)):
            batch.clocks.setdefault(clock.case_id, []).append(clock)
        for pk in found:
            batch.clocks.setdefault(pk, [])
    since, flood_since = now - dt.timedelta(days=window_days), now - FLOOD_WINDOW
    if addresses:
        # One read for both questions about a sender's cases: those of its subjects (by its index: a template's
        # subject is shared by thousands of cases) and those it opened in the last hour (the flood guard).
        emails = sorted(addresses)
        for pk, email, key, updated_at, channel, created_at in (
                Case.objects.filter(Q(updated_at__gte=since) | Q(created_at__gte=flood_since, channel="email"),
                                    requester_email__in=emails)
                .values_list("pk", "requester_email", "subject_key", "updated_at", "channel", "created_at")):
            if (email, key) in pairs and updated_at >= since:
                batch.subject_rows.setdefault(pk, (email, key, updated_at))
            if channel == "email" and created_at >= flood_since:
                batch.opened.setdefault(pk, (email, channel, created_at))
        batch.subject_pairs, batch.subject_since = pairs, since
        batch.opened_addresses, batch.opened_since = addresses, flood_since
        _read_senders(batch, {a.lower() for a in addresses if "@" in a})


def _read_senders(batch, addresses: set) -> None:
    """match_sender's two questions for many addresses at once. Only plain ASCII addresses: the databases'
    case-insensitive match (iexact) and Python's agree on those; any other address is asked alone."""
    from django.db.models.functions import Upper

    plain = {a.upper(): a for a in addresses if a.isascii()}
    if not plain:
        return
    wanted = sorted(plain)
    contacts = list(_contacts().annotate(upper_email=Upper("email")).filter(upper_email__in=wanted))
    users = list(_users().annotate(upper_email=Upper("email")).filter(upper_email__in=wanted))
    if not all(row.email.isascii() for row in contacts + users):
        return
    batch.senders.update({a: ([], []) for a in plain.values()})
    for row in contacts:
        batch.senders[plain[row.email.upper()]][0].append(row)
    for row in users:
        batch.senders[plain[row.email.upper()]][1].append(row)
