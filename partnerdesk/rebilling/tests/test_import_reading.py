"""Reading a reconciliation file a block at a time (importer._records): lines and records are the same wherever the
blocks end, and a problem still names its row: a byte that is not UTF-8 far into the file, a line longer than the
limit, a quoted last line without a line break."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerdesk.rebilling import importer
from partnerdesk.rebilling.importer import ImportProblem, import_file
from partnerdesk.rebilling.models import ReconLine

from .recon_data import FILES, operator_invoice_input


def _rows(kind: str) -> list[list[str]]:
    with open(FILES[kind], encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _content(rows: list[list[str]], *, crlf=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return buffer.getvalue().encode()


def _records(content: bytes) -> list[list[str]]:
    return list(importer._records(io.BufferedReader(io.BytesIO(content), 1024), "f.csv"))


def _many(kind: str, times: int) -> list[list[str]]:
    rows = _rows(kind)
    return [rows[0]] + rows[1:] * times  # (well past one block of importer.READ_BUFFER)


@pytest.mark.parametrize("block", [997, 4099, importer.READ_BUFFER])
@pytest.mark.parametrize("crlf", [False, True])
def test_records_are_the_csv_modules_wherever_the_blocks_end(monkeypatch, crlf, block):
    monkeypatch.setattr(importer, "READ_BUFFER", block)
    rows = _many("usage", 40)
    at = rows[0].index("SubscriptionDescription")
    for n in range(1, len(rows), 97):
        rows[n][at] = f'第 {n} 行, "quoted"\nand a line break'  # quoted fields across many block ends
    rows.append([])  # a blank line, then a last line without a line break that is quoted
    content = _content(rows + [rows[5]], crlf=crlf)
    content = content[:-2] if crlf else content[:-1]
    assert len(content) > 1.2 * importer.LINE_LIMIT
    expected = list(csv.reader(io.StringIO(content.decode(), newline="")))
    assert _records(b"\xef\xbb\xbf" + content) == expected


def test_a_byte_that_is_not_utf8_far_into_the_file_names_its_row(db):
    rows = _many("usage", 40)
    content = _content(rows)
    bad_row = len(rows) - 7  # in the file's last block
    start = sum(len(line) + 1 for line in content.split(b"\n")[:bad_row - 1])
    assert start > importer.READ_BUFFER
    content = content[:start + 10] + "é".encode("latin-1") + content[start + 11:]
    with pytest.raises(ImportProblem) as refused:
        import_file(SimpleUploadedFile("far.csv", content), operator_invoice=operator_invoice_input("usage"),
                    actor=None)
    assert refused.value.row == bad_row and "not UTF-8" in str(refused.value)
    assert not ReconLine.objects.exists()


@pytest.mark.parametrize("row", [2, 5])
def test_a_line_longer_than_the_limit_is_refused_by_its_row(db, row):
    rows = _rows("usage")
    rows[row - 1][rows[0].index("SubscriptionDescription")] = "x" * importer.LINE_LIMIT
    with pytest.raises(ImportProblem) as refused:
        import_file(SimpleUploadedFile("long.csv", _content(rows)), operator_invoice=operator_invoice_input("usage"),
                    actor=None)
    assert refused.value.row == row and "longer than" in str(refused.value)
    assert not ReconLine.objects.exists()


def test_a_last_line_without_a_line_break_and_just_under_the_limit_reads():
    rows = _rows("license")[:3]
    rows[2] = [cell.replace(",", " ").replace('"', "") for cell in rows[2]]  # (split on commas: no field limit)
    rows[2][-1] = "y"
    short = len(_content(rows)[:-1].split(b"\n")[-1])
    long_cell = rows[2][-1] = "y" * (importer.LINE_LIMIT - short)
    content = _content(rows)[:-1]
    assert len(content.split(b"\n")[-1]) == importer.LINE_LIMIT - 1
    assert _records(content)[-1][-1] == long_cell
