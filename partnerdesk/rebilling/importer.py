"""Importing one of the operator's reconciliation files (issue 15, item 1): whole or not at all, once.

The file is read as a stream (its bytes hashed as they pass, its lines decoded and split one by one), so memory
stays flat whatever its size. Each row is checked (recon_format) and its line written as it is read: on
PostgreSQL through COPY, on SQLite with executemany in batches; everything happens in one transaction, so a bad
row anywhere leaves nothing behind, and the ImportProblem names the file, the row and the column. After the
load, the file's sums are checked against its operator invoice (within finance's tolerance) and the lines are
matched to customers and subscriptions, set-based (matching.match_file).

The same content twice (an active file with the same sha256), or a second file of the same kind for an operator
invoice that has one, changes nothing: the result says duplicate. Only `replace=True`, with a reason, replaces
the invoice's file: its draft invoice lines are released, its lines deleted, the file kept as "replaced", audited.
"""

import csv
import gc
import hashlib
import io
import uuid
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import InvalidInput, Refusal
from partnerdesk.payables.models import OperatorInvoice
from partnerdesk.payables.services import OperatorInvoiceInput, finance_settings, record_operator_invoice

from . import drafts, matching
from .models import FileKind, FileStatus, ReconFile, ReconLine
from .recon_format import KIND_WORDS, LINE_COLUMNS, TOTAL_COLUMN, ImportProblem, RowReader, read_header
from .signals import file_imported

__all__ = ["ImportProblem", "ImportResult", "import_file"]

BATCH_ROWS = 5_000  # rows per executemany (SQLite) and between progress reports
READ_BUFFER = 1 << 20
LINE_LIMIT = 1 << 20  # bytes: a longer line is refused rather than read into memory
assert READ_BUFFER <= LINE_LIMIT  # (_records checks only a line begun in an earlier block against the limit)
AUDITED = ["operator_invoice", "kind", "filename", "sha256", "size", "row_count", "charges", "tax", "total", "status"]


@dataclass
class ImportResult:
    file: ReconFile
    duplicate: bool  # True: nothing changed; `file` is the file imported before
    rows: int
    matched: int
    unmatched: int


class _HashingReader(io.RawIOBase):
    """The source's bytes, hashed (sha256) and counted as they are read."""

    def __init__(self, source):
        self.source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.sha256.update(data)
        self.size += count
        return count

    def drain(self) -> str:
        """Read what is left (without parsing it) and return the whole content's hash."""
        while chunk := self.source.read(READ_BUFFER):
            self.sha256.update(chunk)
            self.size += len(chunk)
        return self.sha256.hexdigest()


class _Duplicate(Exception):
    """Raised inside the transaction to roll back everything: the file was imported before."""

    def __init__(self, existing: ReconFile):
        super().__init__(existing.pk)
        self.existing = existing


def _records(binary: io.BufferedReader, filename: str):
    """The file's records (lists of cells). The bytes are read and decoded a block at a time and split into lines
    (a byte that is not UTF-8 is then named by its row, line by line); no line may pass LINE_LIMIT (memory stays
    flat even without line breaks). A line without a quote is split on its commas (most lines, and many times
    faster); any other goes through the csv module (quoted commas, doubled quotes, line breaks inside a field).
    The first line loses its byte-order mark."""
    line_number = 0
    unterminated = False  # the line last given is the file's last and has no line break

    def problem(text, **params) -> ImportProblem:
        return ImportProblem(Refusal(text, **params), file=filename, row=line_number)

    def too_long() -> ImportProblem:
        return problem(_("the row is longer than %(limit)s bytes"), limit=LINE_LIMIT)

    def one_by_one(raw_lines):  # lines of a block that is not all UTF-8: up to the first that is not
        nonlocal line_number
        for raw in raw_lines:
            line_number += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise problem(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from None

    def lines():  # the lines, decoded, without their line break ("\r" stays: the callers strip it)
        nonlocal line_number, unterminated
        pending = b""
        block = binary.read(READ_BUFFER).removeprefix(b"\xef\xbb\xbf")
        while block:
            data = pending + block if pending else block
            cut = data.rfind(b"\n") + 1
            if not cut or data.find(b"\n") >= LINE_LIMIT:  # (only a line begun in an earlier block can be so long)
                if cut or len(data) >= LINE_LIMIT:
                    line_number += 1
                    raise too_long()
                pending, block = data, binary.read(READ_BUFFER)
                continue
            body, pending = data[:cut - 1], data[cut:]
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                yield from one_by_one(body.split(b"\n"))
            else:
                for line in text.split("\n"):
                    line_number += 1
                    yield line
            block = binary.read(READ_BUFFER)
        if pending:
            if len(pending) >= LINE_LIMIT:
                line_number += 1
                raise too_long()
            unterminated = True
            yield from one_by_one((pending,))

    read = lines()

    class Continued:  # what the csv reader reads: the quoted line, then the lines a quoted field runs on to
        pending = None

        def __iter__(self):
            return self

        def __next__(self):
            text, self.pending = self.pending, None
            if text is None:
                text = next(read)
            return text if unterminated else text + "\n"  # (the csv module keeps line breaks inside quotes)

    continued = Continued()
    quoted = csv.reader(continued)  # one reader for the whole file: it reads no further than the record it returns
    for text in read:
        if '"' in text:
            continued.pending = text
            try:
                yield next(quoted)
            except csv.Error as exc:
                raise problem(_("The row cannot be read as CSV: %(detail)s"), detail=str(exc)) from None
        else:
            text = text.rstrip("\r")
            yield text.split(",") if text else []


def _source_name(source, filename: str | None) -> str:
    if filename:
        return filename
    if isinstance(source, str | Path):
        return Path(source).name
    return Path(getattr(source, "name", "") or "file.csv").name


def _operator_invoice(operator_invoice, actor) -> OperatorInvoice:
    if isinstance(operator_invoice, OperatorInvoiceInput):
        operator_invoice, _created = record_operator_invoice(operator_invoice, actor=actor)
    return OperatorInvoice.objects.select_for_update().get(pk=operator_invoice.pk)


# The lines are written already matched (matching.LineMatcher, as each row is read): updating millions of lines
# just loaded would cost more than loading them. match_file then takes only the keys left unmatched.
WRITTEN_COLUMNS = [*LINE_COLUMNS[:-1], "match_method", "customer_id", "subscription_id"]
assert LINE_COLUMNS[-1] == "match_method"


def _load(rows: RowReader, records, *, progress, stream: _HashingReader) -> matching.LineMatcher:
    """Write the lines of the records (WRITTEN_COLUMNS tuples, matched as they are read) in the current
    transaction; the matcher, which knows what it left unmatched."""
    table = ReconLine._meta.db_table
    columns = ", ".join(WRITTEN_COLUMNS)  # (the model's column names)
    # The matcher reads what it needs now: no other query may run on the connection once COPY has begun.
    matcher = matching.LineMatcher()
    values = rows.read(records, match=matcher.match)
    # The rows in flight make no reference cycles; the cyclic collector would only rescan them, and the rest of
    # the heap, again and again (seconds on a file of millions of rows).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _write(values, table, columns, progress, stream)
    finally:
        if collecting:
            gc.enable()
    return matcher


def _write(values, table: str, columns: str, progress, stream: _HashingReader) -> None:
    done = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                while chunk := list(islice(values, BATCH_ROWS)):
                    for row in chunk:
                        write_row(row)
                    done += len(chunk)
                    if progress:
                        progress(done, stream.size)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['?'] * len(WRITTEN_COLUMNS))})"
            while chunk := list(islice(values, BATCH_ROWS)):
                cursor.cursor.executemany(sql, chunk)
                done += len(chunk)
                if progress:
                    progress(done, stream.size)


def _duplicate_result(existing: ReconFile) -> ImportResult:
    unmatched = ReconLine.objects.filter(file=existing, customer__isnull=True).count()
    return ImportResult(file=existing, duplicate=True, rows=existing.row_count, matched=existing.row_count - unmatched,
                        unmatched=unmatched)


def import_file(source, *, operator_invoice, actor, filename: str | None = None, kind: str | None = None,
                replace: bool = False, reason: str = "", progress=None) -> ImportResult:
    """Import one reconciliation file for its operator invoice, whole or not at all (see the module's docstring).

    source: a path or a binary file object; operator_invoice: an OperatorInvoice or an OperatorInvoiceInput
    (recorded in the same transaction); kind: "license", "usage" or None to tell by the header;
    progress(rows_done, bytes_done) is called every few thousand rows.
    """
    if kind is not None and kind not in FileKind.values:
        raise InvalidInput(_("the kind of file is license or usage"), field="kind")
    reason = (reason or "").strip()
    if replace and not reason:
        raise InvalidInput(_("a reason is required"), field="reason")
    name = _source_name(source, filename)
    handle = open(source, "rb") if isinstance(source, str | Path) else source
    try:
        stream = _HashingReader(handle)
        try:
            with transaction.atomic():
                return _import(stream, name=name, operator_invoice=operator_invoice, actor=actor, kind=kind,
                               replace=replace, reason=reason, progress=progress)
        except _Duplicate as duplicate:
            return _duplicate_result(duplicate.existing)
        except ImportProblem:
            # The same content imported before (for another invoice, say) is a duplicate, not an error.
            existing = ReconFile.objects.filter(sha256=stream.drain(), status=FileStatus.ACTIVE).first()
            if existing is not None:
                return _duplicate_result(existing)
            raise
    finally:
        if handle is not source:
            handle.close()


def _import(stream: _HashingReader, *, name, operator_invoice, actor, kind, replace, reason, progress) -> ImportResult:
    invoice = _operator_invoice(operator_invoice, actor)
    records = _records(io.BufferedReader(stream, READ_BUFFER), name)
    header = next(records, None)
    if header is None:
        raise ImportProblem(Refusal(_("the file is empty: no header row")), file=name, row=1)
    layout = read_header(header, filename=name, kind=kind)
    replaced = _make_room(invoice, layout.kind, actor=actor, replace=replace, reason=reason)
    actor_user = actor if getattr(actor, "pk", None) else None
    new = ReconFile.objects.create(operator_invoice=invoice, kind=layout.kind, filename=name[:255],
                                   sha256=f"pending-{uuid.uuid4().hex}", imported_by=actor_user)
    rows = RowReader(layout, filename=name, file_id=new.pk, invoice_number=invoice.number)
    matcher = _load(rows, records, progress=progress, stream=stream)
    matcher.hold_references()  # (what the foreign keys of the lines would check, once per customer and subscription)
    _check_total(rows, invoice, layout.kind, name)
    sha256 = stream.sha256.hexdigest()
    same = ReconFile.objects.filter(Q(status=FileStatus.ACTIVE) | Q(pk=getattr(replaced, "pk", None)), sha256=sha256)
    existing = same.exclude(pk=new.pk).first()
    if existing is not None:
        raise _Duplicate(existing)
    new.sha256, new.size, new.row_count = sha256, stream.size, rows.rows
    new.charges, new.tax, new.total = rows.charges, rows.tax, rows.total
    try:
        with transaction.atomic():
            new.save(update_fields=["sha256", "size", "row_count", "charges", "tax", "total"])
    except IntegrityError:  # the same content, imported at this very moment by someone else
        existing = ReconFile.objects.filter(sha256=sha256, status=FileStatus.ACTIVE).exclude(pk=new.pk).first()
        if existing is None:
            raise
        raise _Duplicate(existing) from None
    if progress:
        progress(rows.rows, stream.size)
    if replaced is not None:
        _finish_replacement(replaced, new, actor=actor, reason=reason)
    summary = matching.match_file(new, unmatched=matcher.unmatched)
    record(actor=actor, action="recon_file.imported", obj=new,
           after={**snapshot(new, AUDITED), "matched": summary.matched, "unmatched": summary.unmatched},
           reason=reason)
    transaction.on_commit(lambda: file_imported.send(sender=ReconFile, file=new, actor=actor))
    return ImportResult(file=new, duplicate=False, rows=rows.rows, matched=rows.rows - summary.unmatched,
                        unmatched=summary.unmatched)


def _make_room(invoice: OperatorInvoice, kind: str, *, actor, replace: bool, reason: str) -> ReconFile | None:
    """The invoice's active file of this kind: a duplicate unless replacing; when replacing, its draft invoice
    lines are released and it steps aside (status replaced) so the new file can be the active one."""
    existing = ReconFile.objects.select_for_update().filter(operator_invoice=invoice, kind=kind,
                                                            status=FileStatus.ACTIVE).first()
    if existing is None:
        if replace:
            raise InvalidInput(_("operator invoice %(number)s has no %(kind)s file to replace"), field="replace",
                               number=invoice.number, kind=KIND_WORDS[kind])
        return None
    if not replace:
        raise _Duplicate(existing)
    drafts.release_lines(ReconLine.objects.filter(file=existing), actor=actor, reason=reason)
    existing.status = FileStatus.REPLACED
    existing.save(update_fields=["status"])
    return existing


def _finish_replacement(old: ReconFile, new: ReconFile, *, actor, reason: str) -> None:
    before = snapshot(old, AUDITED)
    before["status"] = FileStatus.ACTIVE
    old.replaced_by, old.replace_reason = new, reason
    old.save(update_fields=["replaced_by", "replace_reason"])
    deleted, _by_model = ReconLine.objects.filter(file=old).delete()
    record(actor=actor, action="recon_file.replaced", obj=old, before=before,
           after={**snapshot(old, AUDITED), "replaced_by": new.pk, "lines_deleted": deleted}, reason=reason)


def _check_total(rows: RowReader, invoice: OperatorInvoice, kind: str, name: str) -> None:
    tolerance = finance_settings().reconciliation_tolerance or Decimal("0.00")
    if abs(rows.total - invoice.amount) > tolerance:
        raise ImportProblem(Refusal(_("the rows add up to %(sum)s; operator invoice %(number)s is for %(amount)s "
                                      "(tolerance %(tolerance)s)"), sum=rows.total, number=invoice.number,
                                    amount=invoice.amount, tolerance=tolerance),
                            file=name, column=TOTAL_COLUMN[kind])
