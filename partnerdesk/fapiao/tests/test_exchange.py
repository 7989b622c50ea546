"""The files exchanged with the tax platform: the requests go out as CSV that Excel opens (UTF-8 with a byte-order
mark, Chinese and English column names); the platform's results come back all or nothing, and twice change nothing."""

import csv
import datetime as dt
import io

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.customers.services import ImportFailed
from partnerdesk.fapiao import exchange, services
from partnerdesk.fapiao.models import FapiaoRecord

from .factories import CODE_A, CODE_B, vat_invoice, with_buyer

pytestmark = pytest.mark.django_db


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _results(rows: list[list], header=("申请编号 request_id", "发票号码 fapiao_number", "开票日期 issued_on",
                                       "交付日期 delivered_on")) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


@pytest.fixture
def requests_(users):
    a = make_customer("上海云启信息科技有限公司")
    b = make_customer("=HYPERLINK(\"http://x\") 北京")  # a name a spreadsheet would run as a formula
    with_buyer(a, special=True, name="上海云启信息科技有限公司")
    with_buyer(b, code=CODE_B, name="=北京某某有限公司")
    one = services.request_fapiao(vat_invoice(a, "1000.00"), actor=None)
    two = services.request_fapiao(vat_invoice(b, "333.33"), actor=None)
    return one, two


def test_the_export_opens_in_excel_and_the_filled_in_export_imports_back(requests_, users):
    one, two = requests_
    text = exchange.export_requests(FapiaoRecord.objects.filter(status="requested"))
    assert text.startswith("\ufeff")  # the byte-order mark: Excel reads the Chinese as Chinese
    rows = _rows(text.lstrip("\ufeff"))
    assert list(rows[0])[:3] == ["申请编号 request_id", "账单编号 invoice_number", "发票种类 fapiao_type"]
    first, second = rows
    assert first["申请编号 request_id"] == str(one.pk) and first["发票种类 fapiao_type"] == "增值税专用发票"
    assert first["购买方名称 buyer_name"] == "上海云启信息科技有限公司" and first["统一社会信用代码 credit_code"] == CODE_A
    assert first["购买方开户银行 bank"] == "招商银行上海分行" and first["收票邮箱 email"] == "fapiao@buyer.example.cn"
    assert (first["金额 amount"], first["税率 tax_rate"], first["税额 tax"], first["价税合计 total"]) == (
        "1000.00", "6%", "60.00", "1060.00")
    assert second["税额 tax"] == "20.00" and second["价税合计 total"] == "353.33"
    assert second["购买方名称 buyer_name"] == "'=北京某某有限公司"  # written as text, never run
    assert second["购买方开户银行 bank"] == ""  # a general fapiao carries no bank details

    # Finance fills in what the platform issued and imports the file it exported (extra columns are ignored).
    filled = io.StringIO()
    writer = csv.DictWriter(filled, fieldnames=[*rows[0], "发票号码 fapiao_number", "开票日期 issued_on"])
    writer.writeheader()
    writer.writerow({**first, "发票号码 fapiao_number": "26312000000000000101", "开票日期 issued_on": "2026/11/20"})
    writer.writerow({**second, "发票号码 fapiao_number": "'26110000000000000102", "开票日期 issued_on": "2026年11月21日"})
    data = ("\ufeff" + filled.getvalue()).encode()
    result = exchange.import_results(data, actor=users["finance"], file="results.csv")
    assert (result.rows, result.issued, result.unchanged) == (2, 2, 0)
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, one.number, one.issued_on) == ("issued", "26312000000000000101", dt.date(2026, 11, 20))
    assert (two.number, two.issued_on) == ("26110000000000000102", dt.date(2026, 11, 21))
    audited = AuditEntry.objects.count()

    # The same results again change nothing.
    again = exchange.import_results(data, actor=users["finance"], file="results.csv")
    assert (again.issued, again.unchanged) == (0, 2) and AuditEntry.objects.count() == audited
    # Exported now, nothing is left to request.
    assert _rows(exchange.export_requests(FapiaoRecord.objects.filter(status="requested")).lstrip("\ufeff")) == []


def test_the_platforms_results_in_gb18030_with_deliveries_and_red_letters(requests_, users):
    one, two = requests_
    data = _results([[one.pk, "26312000000000000201", "2026-11-20 10:31:07", "2026-11-22"]]).decode().encode("gb18030")
    result = exchange.import_results(data, actor=users["finance"], file="结果.csv")
    assert (result.issued, result.delivered) == (1, 1)
    one.refresh_from_db()
    assert (one.status, one.delivered_on) == ("delivered", dt.date(2026, 11, 22))

    services.request_reversal(one, reason_code="issuing_error", actor=users["finance"])
    red = _results([[one.pk, "26312000000000000301", "2026-11-23"]],
                   header=("request_id", "红字发票号码", "红冲日期"))
    assert exchange.import_results(red, actor=users["finance"], file="red.csv").reversed == 1
    one.refresh_from_db()
    assert (one.status, one.red_letter_number, one.reversed_on) == ("reversed", "26312000000000000301",
                                                                    dt.date(2026, 11, 23))


def test_one_bad_row_imports_nothing_and_every_problem_names_file_row_and_column(requests_, users):
    one, two = requests_
    data = _results([
        [one.pk, "26312000000000000401", "20.11.2026", ""],  # not a date
        [two.pk, "2.61100000000000E+19", "2026-11-20", ""],  # a spreadsheet rounded the number
        [two.pk, "26110000000000000402", "2026-11-20", ""],  # the same request twice
        ["999999", "26110000000000000403", "2026-11-20", ""],  # no such request
    ])
    with pytest.raises(ImportFailed) as failed:
        exchange.import_results(data, actor=users["finance"], file="platform.csv")
    problems = [(e.row, e.column) for e in failed.value.errors]
    assert problems == [(2, "开票日期 issued_on"), (3, "发票号码 fapiao_number"), (4, "申请编号 request_id"),
                        (5, "申请编号 request_id")]
    assert "rounded" in str(failed.value.errors[1].problem) and "Duplicate of row 3" in str(failed.value.errors[2].problem)
    assert str(failed.value).startswith("platform.csv: 4 problems; nothing was imported. The first: row 2, column "
                                        "开票日期 issued_on")

    # A problem the services find (here a number already used) rolls back the rows applied before it.
    clash = _results([[one.pk, "26312000000000000501", "2026-11-20", ""],
                      [two.pk, "26312000000000000501", "2026-11-20", ""]])
    with pytest.raises(ImportFailed) as failed:
        exchange.import_results(clash, actor=users["finance"], file="clash.csv")
    assert [(e.row, e.column) for e in failed.value.errors] == [(3, "发票号码 fapiao_number")]
    assert not FapiaoRecord.objects.filter(number__isnull=False).exists()  # row 2 was undone
    # A result that contradicts what is recorded is refused too.
    services.record_issued(one, number="26312000000000000601", issued_on=dt.date(2026, 11, 20), actor=None)
    with pytest.raises(ImportFailed) as failed:
        exchange.import_results(_results([[one.pk, "26312000000000000602", "2026-11-20", ""]]), actor=None, file="x.csv")
    assert "26312000000000000601" in str(failed.value.errors[0].problem)


def test_the_api_exports_and_imports(api_client, tokens, requests_, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    one, two = requests_
    resp = api_client.as_(tokens["finance"]).get("/fapiao/export.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    assert resp.content.startswith("\ufeff".encode()) and "上海云启信息科技有限公司".encode() in resp.content
    headers = {"Authorization": f"Bearer {tokens['finance']}"}
    data = _results([[one.pk, "26312000000000000701", "2026-11-20", "2026-11-21"]])
    resp = client.post("/api/v1/fapiao/import", {"file": SimpleUploadedFile("r.csv", data)}, headers=headers)
    assert resp.status_code == 200 and resp.json() == {"rows": 1, "issued": 1, "delivered": 1, "reversed": 0,
                                                       "unchanged": 0}
    bad = _results([[two.pk, "123", "2026-11-20", ""]])
    resp = client.post("/api/v1/fapiao/import", {"file": SimpleUploadedFile("bad.csv", bad)}, headers=headers)
    body = resp.json()
    assert resp.status_code == 422 and body["file"] == "bad.csv"
    assert body["errors"][0] == {"file": "bad.csv", "row": 2, "column": "发票号码 fapiao_number",
                                 "message": body["errors"][0]["message"]}
    assert "20 digits" in body["errors"][0]["message"]
