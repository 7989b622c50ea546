"""The reconciliation import (issue 15, item 1): the committed small pair imports and matches; one bad row anywhere
imports nothing and names file, row and column; the same file twice imports once; a replace is audited and leaves
no trace of the old lines; every encoding and line ending the operator's files come in parses."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db.models import Sum

from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.payables.models import FinanceSettings, OperatorInvoice
from partnerdesk.rebilling.importer import ImportProblem, import_file
from partnerdesk.rebilling.models import FileStatus, ReconFile, ReconLine

from .recon_data import FILES, LICENSE_FILE, USAGE_FILE, create_world, manifest, operator_invoice_input


def _rows(kind: str) -> list[list[str]]:
    with open(FILES[kind], encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _content(rows: list[list[str]], *, bom=False, crlf=False, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return ("\ufeff" if bom else "").encode(encoding) + buffer.getvalue().encode(encoding)


def _upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _nothing_imported():
    assert not ReconFile.objects.exists() and not ReconLine.objects.exists()
    assert not OperatorInvoice.objects.exists()  # recorded in the same transaction: gone with it
    assert not AuditEntry.objects.filter(action__startswith="recon_file.").exists()


def test_the_committed_pair_imports_whole_and_matches(db):
    world = manifest()
    customers = create_world(world)
    seen = []
    license_result = import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None,
                                 progress=lambda rows, size: seen.append((rows, size)))
    usage_result = import_file(USAGE_FILE, operator_invoice=operator_invoice_input("usage"), actor=None)

    for result, kind in ((license_result, "license"), (usage_result, "usage")):
        summary = world.invoice(kind)
        recon = result.file
        assert not result.duplicate and result.rows == summary.rows == recon.row_count
        assert (str(recon.charges), str(recon.tax), str(recon.total)) == (summary.charges, summary.tax, summary.total)
        assert recon.total == recon.operator_invoice.amount and recon.operator_invoice.number == summary.number
        assert recon.size == FILES[kind].stat().st_size and len(recon.sha256) == 64
        lines = ReconLine.objects.filter(file=recon)
        # nothing dropped, nothing counted twice: one line per row, and the lines add up to the file's own sums
        assert lines.count() == summary.rows
        assert sorted(lines.values_list("row_number", flat=True)) == list(range(2, summary.rows + 2))
        sums = lines.aggregate(c=Sum("charges"), t=Sum("tax"), total=Sum("total"))
        assert (sums["c"], sums["t"], sums["total"]) == (recon.charges, recon.tax, recon.total)
        assert result.matched + result.unmatched == result.rows
    assert seen[-1] == (40, LICENSE_FILE.stat().st_size)

    # the awkward rows came through as they are
    names = set(ReconLine.objects.values_list("customer_name", flat=True))
    assert {'北京"星辰"数据服务有限公司', "Contoso, Ltd.", '"Northwind" Traders, Inc.', "台北資訊股份有限公司"} <= names
    assert ReconLine.objects.filter(charges__lt=0, kind="license", charge_type="Prorate fees when cancel").exists()
    assert ReconLine.objects.filter(charges__lt=0, kind="usage").exists()  # a credit
    assert ReconLine.objects.filter(quantity=0, charges=0, kind="license").exists()
    assert ReconLine.objects.filter(quantity=0, charges=0, kind="usage").exists()
    proration = ReconLine.objects.filter(charge_type="Prorate fees when purchase").first()
    assert proration.charge_start.month == 10 and proration.charge_end.isoformat() == "2026-10-31"
    usage_line = ReconLine.objects.filter(kind="usage").order_by("row_number").first()
    assert usage_line.usage_date.isoformat() == "2026-10-01" and usage_line.service == "Virtual Machines"

    # matching: the unknown customer's lines stay unmatched; the others find their customer one way or another
    unknown = next(c for c in world.customers if not c.known)
    unmatched = ReconLine.objects.filter(customer__isnull=True)
    assert set(unmatched.values_list("customer_ref", flat=True)) == {unknown.file_customer_id}
    assert license_result.unmatched + usage_result.unmatched == unmatched.count() > 0
    fabrikam = next(c for c in world.customers if c.file_customer_id != c.tenant_id)
    assert set(ReconLine.objects.filter(kind="usage", domain=fabrikam.domain).values_list("customer", flat=True)) == {
        customers[fabrikam.tenant_id].pk}
    assert ReconLine.objects.filter(match_method="subscription", subscription__isnull=False).exists()
    assert AuditEntry.objects.filter(action="recon_file.imported").count() == 2


@pytest.mark.parametrize(("variant", "bom", "crlf", "as_upload"), [
    ("no BOM, LF", False, False, False),
    ("BOM, CRLF, uploaded", True, True, True),
    ("no BOM, CRLF, uploaded", False, True, True),
    ("BOM, LF", True, False, False),
])
def test_every_encoding_and_line_ending_parses(db, tmp_path, variant, bom, crlf, as_upload):
    """UTF-8 with or without a byte-order mark, CRLF or LF, from a path or an uploaded file: the same lines."""
    rows = _rows("usage")
    rows.insert(30, [])  # a blank line inside is skipped (its row number still counts)
    rows[9][rows[0].index("SubscriptionDescription")] = 'Azure, "测试"\n第二行, with a line break'  # one field, two lines
    content = _content(rows, bom=bom, crlf=crlf)
    source = _upload(content, "usage-variant.csv") if as_upload else tmp_path / "usage-variant.csv"
    if not as_upload:
        source.write_bytes(content)
    result = import_file(source, operator_invoice=operator_invoice_input("usage"), actor=None)
    assert not result.duplicate and result.rows == 60 and result.file.filename == "usage-variant.csv"
    assert str(result.file.total) == manifest().invoice("usage").total
    assert result.file.size == len(content)
    assert ReconLine.objects.filter(row_number=32).exists() and not ReconLine.objects.filter(row_number=31).exists()
    assert max(ReconLine.objects.values_list("row_number", flat=True)) == 62  # rows are records, header = 1
    assert ReconLine.objects.filter(customer_name='北京"星辰"数据服务有限公司').exists()


def _change(kind: str, row: int, column: str, value: str) -> list[list[str]]:
    rows = _rows(kind)
    rows[row - 1][rows[0].index(column)] = value
    return rows


def _bad_usage_arithmetic(column):
    def change():
        rows = _rows("usage")
        header = rows[0]
        row = rows[44]  # the file's row 45
        if column == "OverageQuantity":
            row[header.index("OverageQuantity")] = str(Decimal(row[header.index("OverageQuantity")]) + Decimal("0.0001"))
        else:  # one fen off, with the total still PretaxCharges + TaxAmount
            for name in ("PretaxCharges", "PostTaxTotal"):
                row[header.index(name)] = str(Decimal(row[header.index(name)]) + Decimal("0.01"))
        return rows
    return change


def _missing_cell():
    rows = _rows("usage")
    rows[60] = rows[60][:-1]  # the last row (the file's row 61) ends before its last column
    return rows


def _missing_header_column():
    rows = _rows("license")
    at = rows[0].index("Tax")
    return [row[:at] + row[at + 1:] for row in rows]


BAD = [
    # (case, kind, make the rows, row, column, words of the message)
    ("bad date", "usage", lambda: _change("usage", 12, "UsageDate", "2026-10-32"), 12, "UsageDate",
     "2026-10-32 is not a date"),
    ("bad number", "usage", lambda: _change("usage", 61, "ConsumedQuantity", "12,5"), 61, "ConsumedQuantity",
     "12,5 is not a number"),
    ("not CNY", "license", lambda: _change("license", 20, "Currency", "USD"), 20, "Currency", "USD"),
    ("overage", "usage", _bad_usage_arithmetic("OverageQuantity"), 45, "OverageQuantity",
     "is not ConsumedQuantity"),
    ("pretax rounding", "usage", _bad_usage_arithmetic("PretaxCharges"), 45, "PretaxCharges",
     "rounded to the fen"),
    ("money with 3 places", "license", lambda: _change("license", 41, "Amount", "1.005"), 41, "Amount",
     "at most 2 decimal places"),
    ("license arithmetic", "license", lambda: _change("license", 3, "TotalForCustomer", "1.00"), 3, "TotalForCustomer",
     "is not Subtotal"),
    ("a row cut short", "usage", _missing_cell, 61, "DomainName", "the row ends before this column"),
    ("a column missing", "license", _missing_header_column, 1, "Tax", "required column missing"),
    ("another invoice's usage", "usage", lambda: _change("usage", 2, "InvoiceNumber", "G999"), 2, "InvoiceNumber",
     "operator invoice G261002602"),
    ("charge ends before it starts", "license", lambda: _change("license", 7, "ChargeEndDate", "2026-09-30"), 7,
     "ChargeEndDate", "before it starts"),
]


@pytest.mark.parametrize(("case", "kind", "make", "row", "column", "words"), BAD, ids=[b[0] for b in BAD])
def test_one_bad_row_anywhere_imports_nothing_and_names_file_row_and_column(db, case, kind, make, row, column, words):
    create_world()
    name = f"bad-{kind}.csv"
    with pytest.raises(ImportProblem) as refused:
        import_file(_upload(_content(make(), bom=True), name), operator_invoice=operator_invoice_input(kind), actor=None)
    problem = refused.value
    assert (problem.file, problem.row, problem.column) == (name, row, column)
    assert str(problem).startswith(f"{name}, row {row}, column {column}: ") and words.lower() in str(problem).lower()
    assert problem.as_dict()["row"] == row and problem.status == 422
    _nothing_imported()


def test_sums_off_the_invoice_total_beyond_the_tolerance_import_nothing(db):
    create_world()
    off = Decimal(manifest().invoice("license").total) + Decimal("0.05")
    with pytest.raises(ImportProblem) as refused:
        import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license", amount=off), actor=None)
    assert (refused.value.row, refused.value.column) == (None, "TotalForCustomer")
    assert str(refused.value) == (f"license.csv, column TotalForCustomer: The rows add up to "
                                  f"{manifest().invoice('license').total}; operator invoice G261002601 is for {off} "
                                  f"(tolerance 0.00)")
    _nothing_imported()
    FinanceSettings.objects.update_or_create(pk=1, defaults={"reconciliation_tolerance": Decimal("0.05")})
    assert import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license", amount=off), actor=None).rows == 40


def test_a_file_that_is_not_utf8_or_not_csv_names_its_row(db):
    rows = _rows("license")
    with pytest.raises(ImportProblem) as refused:  # saved by a spreadsheet in the Chinese ANSI code page
        import_file(_upload(_content(rows, encoding="gb18030"), "gbk.csv"),
                    operator_invoice=operator_invoice_input("license"), actor=None)
    assert refused.value.row == 2 and "not UTF-8" in str(refused.value)
    with pytest.raises(ImportProblem) as refused:
        import_file(_upload(b"", "empty.csv"), operator_invoice=operator_invoice_input("license"), actor=None)
    assert refused.value.row == 1 and "empty" in str(refused.value)
    with pytest.raises(ImportProblem) as refused:  # the kind asked for is not the file's
        import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None, kind="usage")
    assert "This is a license-based file, not a usage-based one." in str(refused.value)
    _nothing_imported()


def test_the_same_file_twice_imports_once(db):
    create_world()
    first = import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None)
    lines = ReconLine.objects.count()

    again = import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=None)
    assert again.duplicate and again.file == first.file and again.rows == 40
    assert (again.matched, again.unmatched) == (first.matched, first.unmatched)
    # by content: the same bytes for another operator invoice (whose total it does not even reach)
    other = operator_invoice_input("license", number="G-OTHER-1", amount=Decimal("1.00"))
    by_hash = import_file(_upload(LICENSE_FILE.read_bytes(), "renamed.csv"), operator_invoice=other, actor=None)
    assert by_hash.duplicate and by_hash.file == first.file
    # by operator invoice: other bytes (a description changed) for the invoice that already has its file
    rows = _change("license", 5, "SubscriptionDescription", "corrected text")
    by_invoice = import_file(_upload(_content(rows), "corrected.csv"), operator_invoice=operator_invoice_input("license"),
                             actor=None)
    assert by_invoice.duplicate and by_invoice.file == first.file

    assert ReconFile.objects.count() == 1 and ReconLine.objects.count() == lines
    assert AuditEntry.objects.filter(action="recon_file.imported").count() == 1


def test_a_replace_needs_a_reason_is_audited_and_leaves_no_trace_of_the_old_lines(db, users):
    from partnerdesk.billing.models import Invoice, InvoiceLine
    from partnerdesk.rebilling import drafts

    finance = users["finance"]
    create_world()
    old = import_file(LICENSE_FILE, operator_invoice=operator_invoice_input("license"), actor=finance).file
    generated = drafts.generate_drafts(old.operator_invoice.period_start, actor=finance)
    assert generated.created > 0 and ReconLine.objects.filter(file=old, invoice_line__isnull=False).exists()
    old_line_ids = set(ReconLine.objects.filter(file=old).values_list("pk", flat=True))
    billed_before = InvoiceLine.objects.filter(recon_lines__isnull=False).count()

    rows = _change("license", 5, "SubscriptionDescription", "corrected by the operator")
    corrected = _upload(_content(rows, bom=True, crlf=True), "license-corrected.csv")
    with pytest.raises(InvalidInput) as refused:
        import_file(corrected, operator_invoice=old.operator_invoice, actor=finance, replace=True)
    assert refused.value.field == "reason"

    corrected.seek(0)
    result = import_file(corrected, operator_invoice=old.operator_invoice, actor=finance, replace=True,
                         reason="the operator corrected row 5")
    new = result.file
    old.refresh_from_db()
    assert not result.duplicate and new.status == FileStatus.ACTIVE and new.row_count == 40
    assert old.status == FileStatus.REPLACED and old.replaced_by == new and old.replace_reason
    # no trace of the old lines: gone, and no draft invoice line bills them
    assert not ReconLine.objects.filter(pk__in=old_line_ids).exists() and not ReconLine.objects.filter(file=old).exists()
    assert not InvoiceLine.objects.filter(invoice__status="draft", recon_lines__file=old).exists()
    assert InvoiceLine.objects.filter(recon_lines__isnull=False).count() == 0 < billed_before
    entry = AuditEntry.objects.get(action="recon_file.replaced")
    assert entry.reason == "the operator corrected row 5" and entry.actor == finance
    assert entry.before["status"] == "active" and entry.after["replaced_by"] == new.pk

    # the new lines are billed by the next generation, each once
    drafts.generate_drafts(old.operator_invoice.period_start, actor=finance)
    billed = ReconLine.objects.filter(file=new, invoice_line__isnull=False)
    assert billed.count() == ReconLine.objects.filter(file=new, customer__isnull=False).count() > 0

    # a line billed on an issued invoice: the replace is refused, naming the invoice, and nothing changes
    invoice = Invoice.objects.filter(status="draft", lines__recon_lines__file=new).distinct().first()
    Invoice.objects.filter(pk=invoice.pk).update(status="issued", number="INV-2026-0099")
    again = _upload(_content(_change("license", 6, "SubscriptionDescription", "again")), "license-3.csv")
    with pytest.raises(Conflict) as refused:
        import_file(again, operator_invoice=old.operator_invoice, actor=finance, replace=True, reason="once more")
    assert "INV-2026-0099" in str(refused.value)
    assert ReconFile.objects.get(status=FileStatus.ACTIVE) == new and ReconLine.objects.filter(file=new).count() == 40


def test_the_command_line_imports_each_file_for_its_invoice(db, tmp_path):
    create_world()
    world = manifest()
    lic, use = world.invoice("license"), world.invoice("usage")
    args = ["operator", "import", str(LICENSE_FILE), str(USAGE_FILE), "--invoice", lic.number, "--invoice",
            use.number, "--billing-date", lic.billing_date, "--period-start", lic.period_start, "--total", lic.total,
            "--total", use.total]
    out = io.StringIO()
    call_command(*args, stdout=out)
    assert "license.csv: 40 rows imported as file #" in out.getvalue()
    assert f"for operator invoice {use.number}: total CNY {use.total}" in out.getvalue()
    assert OperatorInvoice.objects.get(number=lic.number).period_end.isoformat() == "2026-10-31"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out, terminal = io.StringIO(), Terminal()
    call_command("operator", "import", str(USAGE_FILE), "--invoice", use.number, stdout=out,  # recorded: the number
                 stderr=terminal)
    assert "usage.csv: already imported as file #" in out.getvalue() and "nothing changed" in out.getvalue()
    assert terminal.getvalue() == ""  # a duplicate is known from the header: nothing to show progress of

    rows = _rows("usage")
    moved = tmp_path / "usage-next-month.csv"  # the same usage for another invoice: a progress bar on a terminal
    moved.write_bytes(_content([rows[0]] + [[cell.replace(use.number, "G-NEXT") for cell in row] for row in rows[1:]]))
    call_command("operator", "import", str(moved), "--invoice", "G-NEXT", "--billing-date", "2026-12-05",
                 "--period-start", "2026-11-01", "--total", use.total, stdout=out, stderr=terminal)
    assert "\rusage-next-month.csv [" in terminal.getvalue() and "] 100% 60 rows\n" in terminal.getvalue()

    bad = tmp_path / "license-bad.csv"
    bad.write_bytes(_content(_change("license", 33, "Amount", "abc")))
    with pytest.raises(CommandError) as failed:
        call_command("operator", "import", str(bad), "--invoice", "G-NEW-2", "--billing-date", "2026-12-05",
                     "--period-start", "2026-11-01", "--total", "10.00", stderr=io.StringIO())
    assert failed.value.returncode == 2
    assert str(failed.value) == "license-bad.csv, row 33, column Amount: abc is not a number."
    with pytest.raises(CommandError) as failed:
        call_command("operator", "import", str(bad), "--invoice", "G-NEW-3", stderr=io.StringIO())
    assert failed.value.returncode == 2 and "give --billing-date, --period-start, --total" in str(failed.value)
    assert not OperatorInvoice.objects.filter(number__startswith="G-NEW").exists()
