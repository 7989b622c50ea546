"""Email in, timed: raw messages as customers' mail clients send them, filed on one worker by
support.mail.filing.ingest_many, the entry point the IMAP fetcher and the CLI use (a transaction per batch of
filing.BATCH_SIZE messages; the real path: raw kept, parsed, threaded, filed, audited, SLA clocks, search index,
emails queued). An HTTP post files its one message with ingest(): `run(n, one_by_one=True)` measures that.

The mix: replies threaded by their headers (In-Reply-To the customer's last message), replies threaded by the
case token in the subject (webmail without headers), new cases from known contacts (some naming an invoice),
auto-replies, and mail from senders on no file (left for an agent). A third of the mail is GB18030 or Big5,
as Chinese clients send it.
"""

import random
import time
from collections import Counter
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.db.models import Max
from django.utils import timezone
from support_texts import Writer

from partnerdesk.customers.models import Customer
from partnerdesk.support.mail.filing import ingest, ingest_many
from partnerdesk.support.models import ACTIVE_STATUSES, Case, CaseMessage

WARM_UP = 10
MIX = [("reply_by_headers", 35), ("reply_by_token", 25), ("new_case", 25), ("auto_reply", 10), ("unknown_sender", 5)]


def _mail(rng, sender: str, subject: str, text: str, *, lang: str, headers: dict | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@partner.example.cn"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "example.cn")
    for name, value in (headers or {}).items():
        msg[name] = value
    charset = {"zh-CN": "gb18030", "zh-TW": "big5"}.get(lang, "utf-8") if rng.random() < 0.33 else "utf-8"
    try:
        msg.set_content(text, charset=charset)
    except (UnicodeEncodeError, LookupError):
        msg.set_content(text, charset="utf-8")
    return msg.as_bytes()


def build(n: int, *, seed: int = 11) -> list[tuple[str, bytes]]:
    """n (kind, raw message) pairs of the mix, against the cases in the database."""
    rng = random.Random(seed)
    writer = Writer(rng)
    kinds = [k for k, weight in MIX for _ in range(weight)]
    rng.shuffle(kinds)
    active = list(Case.objects.filter(status__in=ACTIVE_STATUSES).order_by("?")
                  .values("id", "subject", "requester_email", "language", "type")[:n])
    with_ids = {row["case_id"]: row["message_id"] for row in CaseMessage.objects.filter(
        case_id__in=[c["id"] for c in active], direction="inbound").exclude(message_id="")
        .order_by("case_id", "id").values("case_id", "message_id")}
    last_customer = Customer.objects.aggregate(last=Max("id"))["last"] or 1
    customers = rng.sample(range(1, last_customer + 1), k=min(n, last_customer))
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        case = active[i % len(active)] if active else None
        lang = case["language"] if case else "zh-CN"
        values = writer.values(timezone.now().year)
        if kind == "reply_by_headers" and case and case["id"] in with_ids:
            parent = f"<{with_ids[case['id']]}>"
            raw = _mail(rng, case["requester_email"], "Re: " + case["subject"], " ".join(writer.follow_up(lang, values)),
                        lang=lang, headers={"In-Reply-To": parent, "References": parent})
        elif kind in ("reply_by_headers", "reply_by_token") and case:
            kind = "reply_by_token"
            raw = _mail(rng, case["requester_email"], f"回复：[#PD-{case['id']}] {case['subject']}",
                        " ".join(writer.follow_up(lang, values)), lang=lang)
        elif kind == "auto_reply" and case:
            raw = _mail(rng, case["requester_email"], "自动回复: " + case["subject"], "我正在休假，11月30日回来。I am out of office.",
                        lang="zh-CN", headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})
        elif kind == "unknown_sender":
            raw = _mail(rng, f"user{rng.randrange(10**8)}@qq.com", " ".join(writer.subject("zh-CN", values)),
                        " ".join(writer.question("zh-CN", "billing_question", values)), lang="zh-CN")
        else:
            kind = "new_case"
            customer = customers[i % len(customers)]
            raw = _mail(rng, f"billing{customer}@c{customer}.example.cn", " ".join(writer.subject(lang, values)),
                        " ".join(writer.question(lang, "billing_question", values)), lang=lang)
        out.append((kind, raw))
    return out


def run(n: int, *, one_by_one: bool = False) -> dict:
    """File n messages as the worker does (one_by_one: each in its own transaction, as an HTTP post); the rate,
    and what became of them."""
    messages = build(n + WARM_UP)
    for _kind, raw in messages[:WARM_UP]:  # the first messages pay for imports and caches, not for filing
        ingest(raw, source="file")
    messages = messages[WARM_UP:]
    raws = [raw for _kind, raw in messages]
    kinds = Counter(kind for kind, _raw in messages)
    started = time.perf_counter()
    rows = [ingest(raw, source="file") for raw in raws] if one_by_one else ingest_many(raws, source="file")
    seconds = time.perf_counter() - started
    statuses = Counter(mail.status for mail in rows)
    return {"messages": n, "seconds": seconds, "per_second": n / seconds, "kinds": dict(kinds),
            "statuses": dict(statuses), "bytes": sum(len(raw) for raw in raws),
            "how": "ingest() per message" if one_by_one else "ingest_many()"}
