"""Files exchanged with the tax authority's platform: the requested fapiao as CSV to issue there, and the platform's
results (numbers and dates of the fapiao issued, delivered, and of red-letter reversals) imported back.

The export is UTF-8 with a byte-order mark, so Excel opens its Chinese as Chinese; each column is named in Chinese
and English ("金额 amount"). The import reads UTF-8 (with or without the mark) or GB18030, finds its columns by
either name, ignores columns it does not know (the export itself, filled in, is a valid results file), and is all
or nothing: every problem is listed with its file, row and column, and nothing changes unless there are none.
Importing the same results again changes nothing.
"""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.customers.services import ImportFailed, RowError
from partnerdesk.errors import DomainError, InvalidInput

from . import services
from .models import FapiaoRecord, FapiaoStatus, FapiaoType

# (key, Chinese name) of each exported column; the header reads "Chinese key".
EXPORT_COLUMNS = [
    ("request_id", "申请编号"),
    ("invoice_number", "账单编号"),
    ("fapiao_type", "发票种类"),
    ("buyer_name", "购买方名称"),
    ("credit_code", "统一社会信用代码"),
    ("address", "购买方地址"),
    ("phone", "购买方电话"),
    ("bank", "购买方开户银行"),
    ("bank_account", "银行账号"),
    ("email", "收票邮箱"),
    ("item", "项目名称"),
    ("amount", "金额"),
    ("tax_rate", "税率"),
    ("tax", "税额"),
    ("total", "价税合计"),
    ("requested_at", "申请日期"),
]
# The platform's results: the request they answer, and what happened to it (each part optional).
RESULT_COLUMNS = [
    ("request_id", "申请编号"),
    ("fapiao_number", "发票号码"),
    ("issued_on", "开票日期"),
    ("delivered_on", "交付日期"),
    ("red_letter_number", "红字发票号码"),
    ("reversed_on", "红冲日期"),
    ("amount", "金额"),
    ("tax", "税额"),
]
TYPE_NAMES = {FapiaoType.GENERAL: "普通发票", FapiaoType.SPECIAL: "增值税专用发票"}
# A cell a spreadsheet would run as a formula (a buyer named "=HYPERLINK(...)") is written as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 20000


def header(key: str, chinese: str) -> str:
    return f"{chinese} {key}"


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _tax_rate(record: FapiaoRecord) -> str:
    rates = {line.tax_rate for line in record.invoice.lines.all()}
    return f"{(rates.pop() * 100).normalize():f}%" if len(rates) == 1 else ""


def _item(record: FapiaoRecord) -> str:
    return "；".join(line.description for line in record.invoice.lines.all())[:200]


def export_requests(records) -> str:
    """The fapiao records as CSV for the tax platform (normally the requested ones), with the byte-order mark."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([header(key, chinese) for key, chinese in EXPORT_COLUMNS])
    for r in records.select_related("invoice").prefetch_related("invoice__lines").order_by("id"):
        extra = r.buyer_extra or {}
        values = {"request_id": r.pk, "invoice_number": r.invoice.number, "fapiao_type": TYPE_NAMES[r.fapiao_type],
                  "buyer_name": r.buyer_name, "credit_code": r.credit_code, "item": _item(r), "amount": r.amount,
                  "tax_rate": _tax_rate(r), "tax": r.tax, "total": r.amount + r.tax,
                  "requested_at": timezone.localtime(r.requested_at, services.CHINA).date().isoformat(),
                  **{k: extra.get(k, "") for k in ("address", "phone", "bank", "bank_account", "email")}}
        writer.writerow([_cell(values[key]) for key, _chinese in EXPORT_COLUMNS])
    return "\ufeff" + buf.getvalue()


# --- the platform's results -------------------------------------------------------------------------------------


@dataclass
class ResultsImport:
    rows: int = 0
    issued: int = 0
    delivered: int = 0
    reversed: int = 0
    unchanged: int = 0  # rows that told nothing new (the same results imported again)


def decode(data: bytes, *, file: str = "") -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else GB18030 (what Excel saves in China)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([_problem(1, "?", _("the file is neither UTF-8 nor GB18030 text"))], file=file)


def _problem(line: int, column: str, text, **params) -> RowError:
    return RowError(line, column, InvalidInput(text, field=column, **params))


def _columns(names: list[str]) -> dict[str, int]:
    """{key: index} of the result columns found in the header, by their key or Chinese name."""
    found = {}
    for index, name in enumerate(names):
        words = set(re.split(r"[\s/()（）]+", name.strip().lower())) - {""}
        for key, chinese in RESULT_COLUMNS:
            if key in found:
                continue
            if key in words or chinese in words or name.strip() == header(key, chinese):
                found[key] = index
    return found


_DATE_FORMATS = [re.compile(p) for p in (r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})",
                                         r"(\d{4})年(\d{1,2})月(\d{1,2})日", r"(\d{4})\.(\d{1,2})\.(\d{1,2})")]


def parse_date(text: str) -> dt.date | None:
    """A date as the platform or a spreadsheet writes it (2026-11-24, 2026/11/24, 2026年11月24日, a time after it)."""
    for pattern in _DATE_FORMATS:
        found = pattern.match(text)
        if found and (text[found.end():] == "" or text[found.end()] in " T"):
            try:
                return dt.date(*(int(g) for g in found.groups()))
            except ValueError:
                return None
    return None


def _clean(text: str) -> str:
    """A cell as typed: no surrounding space, no spreadsheet text marker ('123, ="123")."""
    text = (text or "").strip()
    if text.startswith('="') and text.endswith('"'):
        text = text[2:-1]
    return text.lstrip("'").strip()


@dataclass
class _Row:
    line: int
    record: FapiaoRecord
    number: str = ""
    issued_on: dt.date | None = None
    delivered_on: dt.date | None = None
    red_letter_number: str = ""
    reversed_on: dt.date | None = None


def import_results(data: bytes | str, *, actor, file: str = "") -> ResultsImport:
    """Apply the platform's results: each row names a request (申请编号 request_id) and what became of it. All or
    nothing (ImportFailed lists every problem by row and column); rows that tell nothing new change nothing."""
    text = decode(data, file=file) if isinstance(data, bytes) else data.lstrip("\ufeff")
    problem = bounds.text_problem(text)
    if problem:
        raise ImportFailed([_problem(1, "?", problem)], file=file)
    reader = csv.reader(io.StringIO(text))
    try:
        names = next(reader, [])
    except csv.Error as exc:
        raise ImportFailed([_problem(1, "?", _("The header cannot be read as CSV: %(detail)s"), detail=str(exc))],
                           file=file)
    columns = _columns(names)
    label = {key: names[i].strip() for key, i in columns.items()}
    if "request_id" not in columns:
        raise ImportFailed([_problem(1, header("request_id", "申请编号"),
                                     _("required column missing from the header"))], file=file)
    if not {"fapiao_number", "delivered_on", "red_letter_number"} & columns.keys():
        raise ImportFailed([_problem(1, "?", _("the file has no results: give fapiao numbers (发票号码 fapiao_number), "
                                               "delivery dates (交付日期 delivered_on) or red-letter numbers "
                                               "(红字发票号码 red_letter_number)"))], file=file)
    errors: list[RowError] = []
    rows = _read_rows(reader, columns, label, errors)
    if errors:
        raise ImportFailed(errors, file=file)
    if not rows:
        raise ImportFailed([_problem(2, label["request_id"], _("the file has no result rows"))], file=file)
    result = ResultsImport(rows=len(rows))
    with transaction.atomic():
        for row in rows:
            try:
                _apply(row, result, actor=actor)
            except DomainError as exc:
                errors.append(RowError(row.line, _column_of(exc.field, label), exc))
        if errors:
            raise ImportFailed(errors, file=file)  # (rolls back every row applied)
    return result


_FIELD_COLUMN = {"number": "fapiao_number", "issued_on": "issued_on", "delivered_on": "delivered_on",
                 "red_letter_number": "red_letter_number", "reversed_on": "reversed_on"}


def _column_of(field: str | None, label: dict) -> str:
    return label.get(_FIELD_COLUMN.get(field or "", ""), label["request_id"])


def _read_rows(reader, columns: dict, label: dict, errors: list) -> list[_Row]:
    """Each row parsed and checked against its request; the problems go to `errors`."""
    parsed, ids, seen = [], [], {}
    line = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line += 1
            errors.append(_problem(line, "?", _("The row cannot be read as CSV: %(detail)s"), detail=str(exc)))
            continue
        line += 1
        if not any(cell.strip() for cell in raw):
            continue  # (a blank line a spreadsheet left at the end)
        if line > MAX_ROWS + 1:
            errors.append(_problem(line, "?", _("at most %(count)s rows in one file"), count=MAX_ROWS))
            break
        cells = {key: _clean(raw[i]) if i < len(raw) else "" for key, i in columns.items()}
        request_id = bounds.parse_id(cells["request_id"])
        if request_id is None:
            errors.append(_problem(line, label["request_id"], _("%(value)s is not a request number"),
                                   value=repr(cells["request_id"])))
            continue
        if request_id in seen:
            errors.append(_problem(line, label["request_id"], _("Duplicate of row %(row)s."), row=seen[request_id]))
            continue
        seen[request_id] = line
        parsed.append((line, request_id, cells))
        ids.append(request_id)
    records = FapiaoRecord.objects.in_bulk(ids)
    rows = []
    for line, request_id, cells in parsed:
        record = records.get(request_id)
        if record is None:
            errors.append(_problem(line, label["request_id"], _("there is no fapiao request %(id)s"), id=request_id))
            continue
        row, problems = _check_row(line, record, cells, label)
        errors.extend(problems)
        if not problems:
            rows.append(row)
    errors.sort(key=lambda e: e.row)
    return rows


def _check_row(line: int, record: FapiaoRecord, cells: dict, label: dict) -> tuple[_Row, list[RowError]]:
    row, problems = _Row(line, record), []

    def date(key):
        if not cells.get(key):
            return None
        day = parse_date(cells[key])
        if day is None:
            problems.append(_problem(line, label[key], _("%(value)s is not a date (give it as 2026-11-24)"),
                                     value=repr(cells[key])))
        return day

    for key, figure in (("amount", record.amount), ("tax", record.tax)):
        if cells.get(key):
            text = cells[key].replace(",", "")
            if not re.fullmatch(r"-?[0-9]{1,15}(\.[0-9]{1,6})?", text):
                problems.append(_problem(line, label[key], _("%(value)s is not an amount"), value=repr(cells[key])))
                continue
            if Decimal(text) != figure:
                problems.append(_problem(line, label[key], _("the request is for %(expected)s, not %(value)s"),
                                         expected=str(figure), value=cells[key]))
    row.number, row.issued_on = cells.get("fapiao_number", ""), date("issued_on")
    row.delivered_on = date("delivered_on")
    row.red_letter_number, row.reversed_on = cells.get("red_letter_number", ""), date("reversed_on")
    for number_key, date_key, number, day in (("fapiao_number", "issued_on", row.number, row.issued_on),
                                              ("red_letter_number", "reversed_on", row.red_letter_number,
                                               row.reversed_on)):
        if number and not cells.get(date_key):
            problems.append(_problem(line, label.get(date_key, header(date_key, dict(RESULT_COLUMNS)[date_key])),
                                     _("the date is required with the number")))
        if number:
            problem = services.fapiao_number_problem(number, issued_on=day)
            if problem:
                problems.append(_problem(line, label[number_key], problem))
    return row, problems


def _apply(row: _Row, result: ResultsImport, *, actor) -> None:
    """One row's news, through the services (each audited); what is already recorded the same way is skipped."""
    record = FapiaoRecord.objects.get(pk=row.record.pk)
    changed = False
    if row.number:
        if record.number is None:
            record = services.record_issued(record, number=row.number, issued_on=row.issued_on, actor=actor)
            result.issued += 1
            changed = True
        elif (record.number, record.issued_on) != (row.number, row.issued_on):
            raise InvalidInput(_("request %(id)s was recorded as fapiao %(number)s issued on %(date)s"), field="number",
                               id=record.pk, number=record.number, date=record.issued_on.isoformat())
    if row.delivered_on:
        if record.delivered_on is None:
            if record.status == FapiaoStatus.REQUESTED:
                raise InvalidInput(_("request %(id)s has no fapiao issued: give its number and date too"),
                                   field="delivered_on", id=record.pk)
            record = services.record_delivered(record, delivered_on=row.delivered_on, actor=actor)
            result.delivered += 1
            changed = True
        elif record.delivered_on != row.delivered_on:
            raise InvalidInput(_("request %(id)s was recorded as delivered on %(date)s"), field="delivered_on",
                               id=record.pk, date=record.delivered_on.isoformat())
    if row.red_letter_number:
        if record.red_letter_number is None:
            services.record_reversal_done(record, red_letter_number=row.red_letter_number,
                                          reversed_on=row.reversed_on, actor=actor)
            result.reversed += 1
            changed = True
        elif (record.red_letter_number, record.reversed_on) != (row.red_letter_number, row.reversed_on):
            raise InvalidInput(_("request %(id)s was recorded as reversed by red-letter fapiao %(number)s on %(date)s"),
                               field="red_letter_number", id=record.pk, number=record.red_letter_number,
                               date=record.reversed_on.isoformat())
    if not changed:
        result.unchanged += 1
