"""Email in: the one place that files a message, whatever brought it (IMAP, an HTTP post, a file).

ingest() keeps the raw bytes and decides, in ONE database transaction per message, what the message is: a
customer's words on a case (a reply or a new case), a bounce or delay notice, an auto-reply, or mail that waits
for an agent (unmatched, held, too large, unreadable). ingest_many() does the same for a batch of messages (the
IMAP fetcher's, the CLI's files) in one transaction per batch, the same guarantees holding for the batch.

Why nothing is lost or done twice:
- The row with the raw bytes (InboundMail, sha256 unique) is written in the same transaction as everything
  the message causes. If the process dies, the transaction rolls back and ingest() has not returned, so the
  source still holds the message: IMAP moves it only after ingest() returns, an HTTP poster gets no 2xx, the
  CLI is run again. A rolled-back message leaves at most an orphan file in storage, never a half-filed case.
- A failure of the filing itself (a rule refusing what the mail says) rolls the message's transaction back
  whole, and the message is then kept, in a transaction of its own, as "malformed" with the error, for an
  agent: a message is never lost to a bug, and is never retried forever. (No savepoints: they cost round trips.)
- The same bytes again (sha256) or the same Message-ID again returns the row already there, changing nothing.

How a batch goes fast (ingest_many, hundreds of messages a second on one worker): its messages are read, and
their raw files written, while the batch before is filed; the questions filing asks (which case, which sender,
how many cases this hour) are asked once for the batch (mail.batch); the raw rows, the audit entries and the
search index are written once a batch; on PostgreSQL a message's own rows go with the batch's next statement
(statements.deferred). Each message is still filed in turn, seeing what the ones before it did.
"""

import copy
import datetime as dt
import hashlib
import logging
import re

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from partnerdesk import bounds
from partnerdesk.audit.services import batched as audit_batched
from partnerdesk.audit.services import record
from partnerdesk.errors import DomainError

from .. import fulltext, services, statements
from ..models import Case, CaseMessage, CaseType, Channel, InboundMail, MailSource, MailStatus, Severity
from . import batch as mail_batch
from . import threading as mail_threading
from .parsing import MalformedMail, ParsedMail, parse_message
from .trimming import visible_text

logger = logging.getLogger(__name__)

# billing.services numbers invoices INV-<year>-<6 digits>; customers write them with spaces or no dashes too.
# (Not \b: between Chinese text and "INV" there is no word boundary, "发票INV-2026-000123有误".)
_INVOICE_NUMBER = re.compile(r"(?<![A-Za-z0-9])INV[\s\-_－—]?([0-9]{4})[\s\-_－—]?([0-9]{6})(?![0-9])", re.IGNORECASE)
_DISPUTE = re.compile(r"disput|争议|爭議|异议|異議|申诉|申訴", re.IGNORECASE)
_AUTOMATIC_LOCAL = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|auto-?reply)\b",
                              re.IGNORECASE)
# The header block of an oversized message is read (to answer its sender); at most this much of it.
HEAD_LIMIT = 256 * 1024
EXPLAIN_AGAIN_AFTER = dt.timedelta(hours=1)
NO_SUBJECT = "(no subject)"


def ingest(raw: bytes, *, source: str, now: dt.datetime | None = None) -> InboundMail:
    """Keep one raw message and file it (see the module's docstring); returns its InboundMail row, whose
    `is_new` is False when the message was already there (nothing was done)."""
    _check_source(source)
    desk = services.cached_desk_settings()  # read at most every few seconds, passed down
    item = _Incoming(raw, desk)
    existing = _already_there(item.digest, item.same_id)
    if existing is not None:
        return _known(existing)
    item.raw_name = _write_raw(item.raw, item.digest)
    return _file_alone(item, source, desk, now or timezone.now())


# How many messages ingest_many files in one transaction: enough to spread a commit (a disk flush) and the audit
# insert over many messages, few enough that the cases it answers stay locked for a fraction of a second.
BATCH_SIZE = 50


def ingest_many(raws, *, source: str, now: dt.datetime | None = None,
                batch_size: int = BATCH_SIZE) -> list[InboundMail]:
    """Keep and file many raw messages, as ingest() does each, in one transaction per batch of `batch_size`
    (what the IMAP fetcher and the CLI use); their rows in order, `is_new` as ingest() sets it.

    Nothing is lost or done twice, as with ingest(): a batch is committed whole or not at all, and its
    caller marks a message taken (IMAP) only once ingest_many has returned. A message whose filing fails
    rolls its batch back, and the batch is then filed one message at a time with ingest()'s own transactions
    (no savepoint per message: they cost round trips, and filing rarely fails). A database error is raised;
    the batches before it are committed."""
    _check_source(source)
    raws = list(raws)
    size = max(1, batch_size)
    batches = [raws[start:start + size] for start in range(0, len(raws), size)]
    rows: list[InboundMail] = []
    ahead = _Prepared(batches[0], set()) if batches else None
    for k in range(len(batches)):
        current = ahead
        if isinstance(current, Exception):
            raise current  # (the batches before it are filed, as when it was read in its turn)
        # The next batch's raw files are written while this one is filed (a file system's waits and a database's
        # overlap); a message also in this batch waits until it is filed (it may then be there already).
        try:
            ahead = _Prepared(batches[k + 1], current.keys) if k + 1 < len(batches) else None
        except Exception as exc:  # noqa: BLE001 - raised in its turn
            ahead = exc
        rows.extend(_ingest_batch(current, source, now))
    return rows


class _Prepared:
    """A batch read and checked against what is stored, its new messages' raw files being written."""

    def __init__(self, raws: list, in_flight: set):
        self.desk = desk = services.cached_desk_settings()
        self.items = items = [_Incoming(raw, desk) for raw in raws]
        known = _already_there_many(items)
        self.rows: list[InboundMail | None] = [None] * len(items)
        self.first_of: dict[int, int] = {}  # a message given twice in the batch: filed once, the copy is "there"
        self.new, self.later = [], []
        by_key: dict[tuple[str, str], int] = {}
        for i, item in enumerate(items):
            keys = _keys(item)
            there = next((known[key] for key in keys if key in known), None)
            if there is not None:
                self.rows[i] = _known(there)
                continue
            twin = next((by_key[key] for key in keys if key in by_key), None)
            if twin is not None:
                self.first_of[i] = twin
                continue
            by_key.update(dict.fromkeys(keys, i))
            self.new.append(i)
            if in_flight.intersection(keys):
                self.later.append(i)
        self.keys = set(by_key)
        self.early = [i for i in self.new if i not in self.later]
        self.writing = _write_raws([items[i] for i in self.early], wait=False)

    def ready(self) -> None:
        """The raw files written; a message also in the batch before it checked again, and written if still new."""
        for i, name in zip(self.early, [future.result() for future in self.writing], strict=True):
            self.items[i].raw_name = name
        if not self.later:
            return
        known = _already_there_many([self.items[i] for i in self.later])
        for i in self.later:
            item = self.items[i]
            there = next((known[key] for key in _keys(item) if key in known), None)
            if there is not None:
                self.rows[i] = _known(there)
                self.new.remove(i)
            else:
                item.raw_name = _write_raw(item.raw, item.digest)


def _keys(item: "_Incoming") -> list[tuple[str, str]]:
    return [("sha256", item.digest)] + ([("message_id", item.same_id)] if item.same_id else [])


def _ingest_batch(prepared: _Prepared, source: str, now: dt.datetime | None) -> list[InboundMail]:
    prepared.ready()
    desk, items, rows, new, first_of = (prepared.desk, prepared.items, prepared.rows, prepared.new,
                                        prepared.first_of)
    if new:
        try:
            # The batch's own writes are gathered where nothing in the batch reads them back (the raw rows' status,
            # the audit entries, the search index) and its questions asked once for all its messages (mail.batch).
            with (transaction.atomic(), audit_batched(), mail_batch.active() as batch, fulltext.batched(),
                  statements.deferred(expected=len(new))):
                nows = [now or timezone.now() for _i in new]
                stored = _store_many([items[i] for i in new], source, nows)
                parsed = [items[i].parsed for i in new if items[i].parsed is not None and not items[i].too_large]
                mail_threading.read_ahead(batch, parsed, now=nows[0], window_days=desk.thread_window_days)
                _read_invoices(batch, parsed)
                finished: list[InboundMail] = []
                for i, mail, at in zip(new, stored, nows, strict=True):
                    mail = _file(items[i], source, desk, at, stored=mail, finished=finished)
                    mail.is_new = True
                    rows[i] = mail
                try:
                    statements.flush()  # the messages' last deferred writes: a failure of one is the filing's
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:  # noqa: BLE001 - as _file: the batch goes again, one message at a time
                    raise _FilingFailed(None) from exc
                _finish_many(finished)
        except (_FilingFailed, _StoredMeanwhile):
            # Rolled back whole: each message goes again, alone, in a transaction of its own.
            for i in new:
                rows[i] = _file_alone(items[i], source, desk, now or timezone.now())
    for i, twin in first_of.items():
        rows[i] = _known(copy.copy(rows[twin]))
    return rows


def _check_source(source: str) -> None:
    if source not in MailSource.values:
        raise ValueError(f"unknown mail source {source!r}")


class _Incoming:
    """One raw message, read: its digest, its parsed form (or why it could not be), and its stored file."""

    def __init__(self, raw, desk):
        if isinstance(raw, bytearray | memoryview):
            raw = bytes(raw)
        if not isinstance(raw, bytes):
            raise TypeError("ingest() takes the message's raw bytes")
        self.raw, self.digest, self.raw_name = raw, hashlib.sha256(raw).hexdigest(), ""
        self.too_large, self.problem = len(raw) > desk.max_message_bytes, ""
        if self.too_large:
            self.parsed = _parse_head(raw)
        else:
            try:
                self.parsed = parse_message(raw)
            except MalformedMail as exc:
                self.parsed, self.problem = None, str(exc)
        # The same bytes, or the same Message-ID (another copy, other Received lines): filed once.
        self.same_id = self.parsed.message_id[:250] if self.parsed is not None and not self.too_large else ""


def _file_alone(item: _Incoming, source: str, desk, now: dt.datetime) -> InboundMail:
    """File one stored message in a transaction of its own; a filing failure keeps it as malformed."""
    try:
        with transaction.atomic(), audit_batched():
            mail = _file(item, source, desk, now)
    except _StoredMeanwhile as meanwhile:
        return meanwhile.row(item.raw_name)
    except _FilingFailed as failed:
        # The filing's transaction was rolled back whole; the message is kept, in a transaction of its own.
        exc = failed.__cause__
        logger.error("filing inbound mail %s failed; kept for an agent", failed.args[0], exc_info=exc)
        try:
            with transaction.atomic():
                mail = _store(item.raw_name, item.digest, len(item.raw), source, item.parsed, now)
                mail.status = MailStatus.MALFORMED
                mail.problem = _join(mail.problem, f"Filing failed: {type(exc).__name__}: {exc}")
                _finish(mail)
        except _StoredMeanwhile as meanwhile:
            return meanwhile.row(item.raw_name)
    mail.is_new = True
    return mail


def _file(item: _Incoming, source: str, desk, now: dt.datetime, *, stored: InboundMail | None = None,
          finished: list | None = None) -> InboundMail:
    """Store and file one message inside the caller's transaction (raises _StoredMeanwhile, _FilingFailed).
    A batch passes the row it stored already, and a list that takes the row to be finished with the batch's."""
    parsed = item.parsed
    mail = stored if stored is not None else _store(item.raw_name, item.digest, len(item.raw), source, parsed, now)
    if item.too_large:
        _too_large(mail, parsed, desk, now)
    elif parsed is None:
        mail.status, mail.problem = MailStatus.MALFORMED, item.problem
    else:
        try:
            route(mail, parsed, now=now, desk=desk, savepoint=False)
        except (OperationalError, InterfaceError):
            raise  # the database is gone: nothing is kept, the source offers the message again
        except Exception as exc:  # noqa: BLE001 - a message is never lost to a bug in filing
            raise _FilingFailed(mail.pk) from exc
    _finish(mail, finished)
    return mail


class _StoredMeanwhile(Exception):
    """The same bytes or Message-ID were stored by another worker after the check: nothing is done."""

    def row(self, raw_name: str) -> InboundMail:
        """The other worker's row (read once the transaction is rolled back); this worker's file goes."""
        digest, message_id = self.args
        InboundMail._meta.get_field("raw").storage.delete(raw_name)
        return _known(_already_there(digest, message_id) or InboundMail.objects.get(sha256=digest))


class _FilingFailed(Exception):
    """Filing a stored message failed: its transaction is rolled back and the message kept as malformed."""


def _known(mail: InboundMail) -> InboundMail:
    mail.is_new = False
    return mail


def _already_there(digest: str, message_id: str) -> InboundMail | None:
    """The row of the same bytes, else of the same Message-ID (when given)."""
    # "<> ''" repeats the unique index's condition, so PostgreSQL can use that partial index for a parameter.
    condition = (Q(sha256=digest) | (Q(message_id=message_id) & ~Q(message_id="")) if message_id
                 else Q(sha256=digest))
    rows = list(InboundMail.objects.filter(condition)[:2])
    return next((m for m in rows if m.sha256 == digest), rows[0] if rows else None)


def _already_there_many(items: list[_Incoming]) -> dict[tuple[str, str], InboundMail]:
    """The rows already there for any of these messages, by ("sha256", digest) and ("message_id", id), in one
    read."""
    digests = [item.digest for item in items]
    ids = [item.same_id for item in items if item.same_id]
    condition = Q(sha256__in=digests) | (Q(message_id__in=ids) & ~Q(message_id="")) if ids else Q(sha256__in=digests)
    found: dict[tuple[str, str], InboundMail] = {}
    for mail in InboundMail.objects.filter(condition):
        found[("sha256", mail.sha256)] = mail
        if mail.message_id:
            found.setdefault(("message_id", mail.message_id), mail)
    return found


def _write_raw(raw: bytes, digest: str) -> str:
    """The raw file, written before the transaction (storage writes a temporary file and renames it); its name.
    A rolled-back message leaves at most this orphan file."""
    field = InboundMail._meta.get_field("raw")
    name = field.generate_filename(InboundMail(sha256=digest), f"{digest}.eml")
    return field.storage.save(name, ContentFile(raw), max_length=field.max_length)


_writers: list = []


def _write_raws(items: list[_Incoming], *, wait: bool = True) -> list:
    """The raw files of a batch, as _write_raw writes each, a few at a time: creating a file mostly waits on the
    file system, and the threads wait together. Their names (wait=False: futures of them)."""
    if not _writers:
        from concurrent.futures import ThreadPoolExecutor

        _writers.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="mail-raw"))
    field = InboundMail._meta.get_field("raw")
    names = [field.generate_filename(InboundMail(sha256=item.digest), f"{item.digest}.eml") for item in items]
    futures = [_writers[0].submit(field.storage.save, name, ContentFile(item.raw), max_length=field.max_length)
               for name, item in zip(names, items, strict=True)]
    return [future.result() for future in futures] if wait else futures


def _unsaved(raw_name: str, digest: str, size: int, source: str, parsed: ParsedMail | None,
             now: dt.datetime) -> InboundMail:
    mail = InboundMail(sha256=digest, size=size, source=source, received_at=now, status="")
    if parsed is not None:
        mail.message_id = parsed.message_id[:250]
        mail.from_address = parsed.from_address[:254]
        mail.subject = _one_line(parsed.subject, 300)
        mail.problem = "\n".join(parsed.problems)[:bounds.NOTE_LENGTH]
    mail.raw.name = raw_name
    return mail


def _store(raw_name: str, digest: str, size: int, source: str, parsed: ParsedMail | None,
           now: dt.datetime) -> InboundMail:
    """The raw row (status empty until routed). The first write of the message's transaction: if another worker
    stored the same message meanwhile, the transaction is rolled back and _StoredMeanwhile names its row."""
    mail = _unsaved(raw_name, digest, size, source, parsed, now)
    try:
        statements.insert(mail)
    except IntegrityError as exc:  # the same bytes, or the same Message-ID (the only unique fields)
        raise _StoredMeanwhile(digest, mail.message_id) from exc
    return mail


def _signalled() -> bool:
    return pre_save.has_listeners(InboundMail) or post_save.has_listeners(InboundMail)


def _store_many(items: list[_Incoming], source: str, nows: list[dt.datetime]) -> list[InboundMail]:
    """The raw rows of a batch's messages, in one insert (as _store does each; any of them stored meanwhile by
    another worker rolls the batch back)."""
    mails = [_unsaved(item.raw_name, item.digest, len(item.raw), source, item.parsed, at)
             for item, at in zip(items, nows, strict=True)]
    if _signalled() or not connection.features.can_return_rows_from_bulk_insert:
        return [_store(item.raw_name, item.digest, len(item.raw), source, item.parsed, at)
                for item, at in zip(items, nows, strict=True)]
    try:
        InboundMail.objects.bulk_create(mails)
    except IntegrityError as exc:
        raise _StoredMeanwhile("", "") from exc
    return mails


def _finish(mail: InboundMail, finished: list | None = None) -> None:
    mail.problem = mail.problem[:bounds.NOTE_LENGTH]
    if finished is None or _signalled():
        statements.update(mail, "status", "problem", "case", "customer")
    else:
        finished.append(mail)  # written with the batch's (_finish_many)
    record(actor=None, action="mail.received", obj=mail, customer=mail.customer,
           after={"status": mail.status, "from": mail.from_address, "subject": mail.subject,
                  "case_id": mail.case_id, "source": mail.source, "size": mail.size})


def _finish_many(mails: list[InboundMail]) -> None:
    """Write what _finish kept of a batch's rows (status, problem, case, customer) in one statement."""
    if not mails:
        return
    rows = [(m.pk, m.status, m.problem, m.case_id, m.customer_id) for m in mails]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            marks = ", ".join(["(%s::bigint, %s::text, %s::text, %s::bigint, %s::bigint)"] * len(rows))
            cursor.execute(f"UPDATE {InboundMail._meta.db_table} AS m SET status = v.status, problem = v.problem, "
                           f"case_id = v.case_id, customer_id = v.customer_id FROM (VALUES {marks}) "
                           "AS v (id, status, problem, case_id, customer_id) WHERE m.id = v.id",
                           [value for row in rows for value in row])
        else:  # SQLite: no round trips to save, one prepared statement run for each row
            cursor.executemany(f"UPDATE {InboundMail._meta.db_table} SET status = %s, problem = %s, case_id = %s, "
                               "customer_id = %s WHERE id = %s", [(*row[1:], row[0]) for row in rows])


# --- what the message is ----------------------------------------------------------------------------------------


def route(mail: InboundMail, parsed: ParsedMail, *, now: dt.datetime, desk=None, savepoint: bool = True) -> None:
    """Decide what a parsed message is and do it; sets mail.status (and case, customer). ingest() passes the
    desk's settings it read, and savepoint=False: it rolls its whole transaction back on any failure, so the
    services' own savepoints would only add round trips."""
    desk = desk or services.desk_settings()
    if parsed.kind == "bounce":
        return _bounce(mail, parsed, now)
    if parsed.kind == "delay":
        return _delay(mail, parsed)
    if parsed.kind in ("auto_reply", "bulk") or is_own_mail(parsed):
        mail.status = MailStatus.AUTO_REPLY
        if is_own_mail(parsed):
            mail.problem = _join(mail.problem, "PartnerDesk's own mail came back in: ignored.")
        thread = mail_threading.find_case(parsed, now=now, window_days=desk.thread_window_days)
        if thread is not None:  # shown beside the case for staff; the case itself is left alone
            mail.case, mail.customer = thread.case, thread.case.customer
        return None
    thread = mail_threading.find_case(parsed, now=now, window_days=desk.thread_window_days)
    if thread is not None:
        if mail_threading.is_known_on_case(thread.case, parsed.from_address):
            return file_on_case(mail, parsed, thread.case, now=now, how=thread.how, savepoint=savepoint)
        # Case numbers are easy to guess: words from someone not on the case never reach it (or its
        # customer's portal) unless an agent files them there, or a colleague forwards the operator's answer.
        mail.case, mail.customer = thread.case, thread.case.customer
        taken = services.mail_naming_a_case.send(sender=Case, case=thread.case, mail=mail, text=_visible(parsed),
                                                 address=parsed.from_address or "", name=parsed.from_name or "")
        _forget(thread.case)  # the receivers may have changed it
        if any(answer for _receiver, answer in taken):
            mail.status = MailStatus.FILED
            return None
        mail.status = MailStatus.UNMATCHED
        mail.problem = _join(mail.problem, f"This email names case {thread.case.token}, but "
                                           f"{parsed.from_address or 'its sender'} is not on that case or a contact "
                                           f"of its customer: waiting for an agent.")
        return None
    sender, why = mail_threading.match_sender(parsed.from_address)
    if sender is None:
        mail.status, mail.problem = MailStatus.UNMATCHED, _join(mail.problem, why)
        return None
    opened = mail_threading.cases_opened_by(parsed.from_address, now - dt.timedelta(hours=1))
    if opened >= desk.max_cases_per_sender_hour:
        mail.status, mail.customer = MailStatus.HELD, sender.customer
        mail.problem = _join(mail.problem, f"{parsed.from_address} opened {opened} cases in the last hour "
                                           f"(at most {desk.max_cases_per_sender_hour}): held for an agent.")
        return None
    open_case_from_mail(mail, parsed, sender.customer, contact=sender.contact, user=sender.user, actor=None, now=now,
                        savepoint=savepoint)
    return None


def is_own_mail(parsed: ParsedMail) -> bool:
    """Mail PartnerDesk sent itself (its Message-ID, or from its own address)."""
    return (mail_threading.is_our_message_id(f"<{parsed.message_id}>")
            or (parsed.from_address or "").lower() in mail_threading.our_addresses())


def _service(function, savepoint: bool):
    """A service as called inside a transaction that is rolled back whole on failure (savepoint False): without
    the savepoint of its own transaction.atomic."""
    return function if savepoint else getattr(function, "__wrapped__", function)


def file_on_case(mail: InboundMail, parsed: ParsedMail, case: Case, *, now: dt.datetime, how: str = "",
                 actor=None, savepoint: bool = True) -> CaseMessage:
    """The customer's words on an existing case (reopening it, or a new case following a closed one)."""
    message = _service(services.customer_message, savepoint)(
        case=case, body=_body(parsed), visible_body=_visible(parsed), channel=Channel.EMAIL, actor=actor,
        author_email=_address_or_blank(parsed.from_address), author_name=_one_line(parsed.from_name, 200),
        message_id=parsed.message_id[:250], inbound_mail=mail, now=now)
    case = message.case
    attach_all(message, parsed)
    if parsed.from_address and not mail_threading.is_known_on_case(case, parsed.from_address):
        services.add_event(case, f"This email came from {parsed.from_address}, who is not the requester, on the "
                                 f"CC or a contact of {case.customer.name}: check before answering.", now=now)
    if how == "subject":
        services.add_event(case, "This email had no threading headers or case number; it was matched by its "
                                 "sender and subject.", now=now)
    mail.status, mail.case, mail.customer = MailStatus.FILED, case, case.customer
    return message


def open_case_from_mail(mail: InboundMail, parsed: ParsedMail, customer, *, contact=None, user=None, actor,
                        now: dt.datetime, savepoint: bool = True) -> Case:
    """A new case from a message: severity C, a billing question (or an invoice dispute if it says so), linked
    to the customer's invoices it names; the sender gets the acknowledgement."""
    from partnerdesk.billing.models import Invoice

    text = f"{parsed.subject}\n{parsed.text}"
    numbers = sorted(_invoice_numbers(parsed))[:50]
    batch = mail_batch.current()
    if not numbers:
        invoices = []
    elif batch is not None and set(numbers) <= batch.invoice_numbers:  # read ahead for the batch (_read_invoices)
        invoices = [i for i in batch.invoices if i.customer_id == customer.pk and i.number in numbers]
    else:
        invoices = list(Invoice.objects.filter(customer=customer, number__in=numbers))
    sender = _address_or_blank(parsed.from_address)
    if contact is not None and contact.customer_id != customer.pk:
        contact = None
    case = _service(services.open_case, savepoint)(
        customer=customer, subject=_subject(parsed), description=_body(parsed), actor=actor,
        type=CaseType.INVOICE_DISPUTE if _DISPUTE.search(text) else CaseType.BILLING_QUESTION,
        severity=Severity.C, channel=Channel.EMAIL, requester_contact=contact,
        requester_user=user if user is not None and user.customer_id == customer.pk else None,
        requester_email=sender, requester_name=_one_line(parsed.from_name, 200), invoices=invoices,
        message_id=parsed.message_id[:250], visible_body=_visible(parsed), inbound_mail=mail,
        acknowledge=bool(sender) and not is_automatic(parsed), now=now)
    if parsed.attachments:
        attach_all(case.first_message, parsed)
    services.case_opened_from_mail.send(sender=Case, case=case, text=text)
    _forget(case)  # the receivers may have changed it (a dispute case)
    mail.status, mail.case, mail.customer = MailStatus.FILED, case, customer
    return case


def _invoice_numbers(parsed: ParsedMail) -> set[str]:
    text = f"{parsed.subject}\n{parsed.text}"
    return {f"INV-{year}-{seq}" for year, seq in _INVOICE_NUMBER.findall(text)}


def _read_invoices(batch, messages: list[ParsedMail]) -> None:
    """The invoices the batch's messages name, whoever's they are, in one read (open_case_from_mail keeps its
    customer's)."""
    from partnerdesk.billing.models import Invoice

    numbers = set()
    for parsed in messages:
        numbers.update(sorted(_invoice_numbers(parsed))[:50])
    if numbers:
        batch.invoices = list(Invoice.objects.filter(number__in=sorted(numbers)))
        batch.invoice_numbers = numbers


def _forget(case: Case) -> None:
    batch = mail_batch.current()
    if batch is not None:
        batch.forget_case(case.pk)


def attach_all(message: CaseMessage, parsed: ParsedMail) -> None:
    """Keep the message's files on the case; one refused (type, size) is noted, never fatal: the raw mail
    still holds it."""
    from ..attachments import store_attachment

    refused = []
    for item in parsed.attachments:
        try:
            with transaction.atomic():
                store_attachment(message=message, filename=item.filename, content=item.content,
                                 content_type=item.content_type, actor=None)
        except DomainError as exc:
            refused.append(f"{item.filename}: {exc}")
    if refused:
        services.add_event(message.case, "Attachments not added to the case (the original email, kept with the "
                                         "message, still holds them): " + "; ".join(refused))


# --- bounces and delays -----------------------------------------------------------------------------------------


def _bounce(mail: InboundMail, parsed: ParsedMail, now: dt.datetime) -> None:
    from partnerdesk.notifications.models import EmailStatus
    from partnerdesk.notifications.services import mark_bounced

    mail.status = MailStatus.BOUNCE
    emails = mail_threading.outbound_emails(parsed.bounced_message_ids)
    # A report naming who failed must name the email's own recipient: a bounce of a copy (CC) or of another
    # address marks nothing. A report naming no Message-ID is left to an agent (no guessing).
    recipients = {a.lower() for a in parsed.bounced_recipients or []}
    if recipients:
        emails = [e for e in emails if e.to_address.lower() in recipients]
    if not emails:
        mail.problem = _join(mail.problem, "No email PartnerDesk sent is named in this bounce.")
        return
    reason = _bounce_reason(parsed)
    for email in emails:
        if email.status == EmailStatus.SENT:
            mark_bounced(email, reason=reason, actor=None)
        elif email.status != EmailStatus.BOUNCED:
            mail.problem = _join(mail.problem, f"Email {email.pk} is {email.status}, not sent: left as it is.")
    _link_to_email(mail, emails)


def _delay(mail: InboundMail, parsed: ParsedMail) -> None:
    """A delivery is late, not failed: shown beside the email and case, reopening nothing."""
    mail.status = MailStatus.DELAY
    _link_to_email(mail, mail_threading.outbound_emails(parsed.bounced_message_ids))


def _link_to_email(mail: InboundMail, emails) -> None:
    for email in emails:
        message = CaseMessage.objects.filter(emails=email).select_related("case__customer").first()
        if message is not None:
            mail.case, mail.customer = message.case, message.case.customer
            return
        if email.customer_id and mail.customer_id is None:
            mail.customer_id = email.customer_id


def _bounce_reason(parsed: ParsedMail) -> str:
    lines = [line.strip() for line in (parsed.text or "").splitlines() if line.strip()]
    text = " ".join(lines)[:1500]
    return f"{parsed.subject[:200]}: {text}".strip(": ") or "the bounce message has no text"


# --- too large ----------------------------------------------------------------------------------------------


def _parse_head(raw: bytes) -> ParsedMail | None:
    """The header fields of a message too large to read whole (to answer its sender, and classify it)."""
    end = raw.find(b"\r\n\r\n", 0, HEAD_LIMIT)
    end = end if end >= 0 else raw.find(b"\n\n", 0, HEAD_LIMIT)
    head = raw[:end] if end >= 0 else raw[:HEAD_LIMIT]
    try:
        return parse_message(head + b"\r\n\r\n(body not read)\r\n")
    except MalformedMail:
        return None


def is_automatic(parsed: ParsedMail | None) -> bool:
    """True for mail no person sent (auto-replies, lists, bounces, no-reply senders): it is never answered."""
    if parsed is None or parsed.kind != "normal" or is_own_mail(parsed):
        return True
    return bool(_AUTOMATIC_LOCAL.match((parsed.from_address or "").partition("@")[0]))


def _too_large(mail: InboundMail, head: ParsedMail | None, desk, now: dt.datetime) -> None:
    from partnerdesk.notifications.models import OutboundEmail
    from partnerdesk.notifications.services import queue_email

    mail.status = MailStatus.TOO_LARGE
    mail.problem = _join(mail.problem, f"{mail.size} bytes: larger than the {desk.max_message_bytes} bytes accepted.")
    sender = _address_or_blank(head.from_address if head else "")
    if not sender or is_automatic(head):
        mail.problem = _join(mail.problem, "The sender looks automatic: no explanation was sent.")
        return
    found, _why = mail_threading.match_sender(sender)
    mail.customer = found.customer if found else None
    if OutboundEmail.objects.filter(template_key="support.too_large", to_address=sender,
                                    queued_at__gte=now - EXPLAIN_AGAIN_AFTER).exists():
        mail.problem = _join(mail.problem, "The sender was told less than an hour ago: not told again.")
        return
    if found is not None:
        language = found.contact.language if found.contact is not None else found.customer.language
    else:
        language = "en" if (head.subject or "").isascii() else "zh-CN"
    headers = {"Auto-Submitted": "auto-replied"}
    if head.message_id and "@" in head.message_id:
        headers["In-Reply-To"] = headers["References"] = f"<{head.message_id}>"
    queue_email(customer=mail.customer, to=sender, language=language, actor=None, template_key="support.too_large",
                context={"size_limit": size_text(desk.max_message_bytes), "mail_subject": _one_line(head.subject, 200)},
                headers=headers, dedupe_key=f"support-too-large-{mail.sha256}")


def size_text(size: int) -> str:
    """A size as people read it (25 MB)."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} bytes"


# --- text as stored -------------------------------------------------------------------------------------------


def _body(parsed: ParsedMail) -> str:
    text = _storable(parsed.text or "").strip("\n")
    if not text.strip():
        text = parsed.subject or "(the email has no text)"
    if len(text) > bounds.BODY_LENGTH:
        note = "\n\n[… cut here: the whole text is in the original email, kept with the message]"
        text = text[:bounds.BODY_LENGTH - len(note)] + note
    return text


def _visible(parsed: ParsedMail) -> str:
    shown = visible_text(_storable(parsed.text or ""))
    return shown[:bounds.BODY_LENGTH]


def _subject(parsed: ParsedMail) -> str:
    subject = _one_line(parsed.subject, 300)
    if subject:
        return subject
    first = next((line.strip() for line in _visible(parsed).splitlines() if line.strip()), "")
    return _one_line(first, 80) or NO_SUBJECT


def _storable(text: str) -> str:
    return re.sub("[\x00\ud800-\udfff]", "\ufffd", text or "")


def _one_line(text: str, length: int) -> str:
    return " ".join(_storable(text).split())[:length]


def _address_or_blank(address: str) -> str:
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        return ""
    return address[:254]


def _join(first: str, second: str) -> str:
    return f"{first}\n{second}" if first else second
