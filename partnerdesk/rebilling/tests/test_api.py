"""The re-billing API as finance uses it: upload, duplicate, a bad row, lines, unmatched groups and a mapping,
price rules, generate, review, adjust, issue, and replacing a file."""

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Invoice, InvoiceStatus
from partnerdesk.rebilling.models import ReconFile, ReconLine
from partnerdesk.rebilling.tests.recon_data import LICENSE_FILE, create_world, operator_invoice_input

PERIOD = "2026-10-01"


@pytest.fixture
def finance(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['finance']}"}

    class Finance:
        def get(self, path, **params):
            return client.get("/api/v1" + path, params, headers=headers)

        def send(self, method, path, body=None):
            return client.generic(method, "/api/v1" + path, json.dumps(body or {}), content_type="application/json",
                                  headers=headers)

        def upload(self, path, content: bytes, name="license.csv", **fields):
            return client.post("/api/v1" + path, {**fields, "file": SimpleUploadedFile(name, content)}, headers=headers)

    return Finance()


def _invoice_fields():
    figures = operator_invoice_input("license")
    return {"invoice_number": figures.number, "billing_date": figures.billing_date.isoformat(),
            "period_start": figures.period_start.isoformat(), "period_end": figures.period_end.isoformat(),
            "total": str(figures.amount)}


def test_finance_rebills_a_period_through_the_api(finance, users):
    create_world()
    content = LICENSE_FILE.read_bytes()

    # A bad row imports nothing and names the file, the row and the column.
    lines = content.decode("utf-8-sig").split("\r\n" if b"\r\n" in content else "\n")
    bad = lines[:]
    bad[5] = bad[5].replace(",CNY,", ",USD,", 1)
    resp = finance.upload("/rebilling/files", "\r\n".join(bad).encode(), name="bad.csv", **_invoice_fields())
    assert resp.status_code == 422, resp.content
    body = resp.json()
    assert (body["file"], body["row"], body["column"]) == ("bad.csv", 6, "Currency")
    assert "bad.csv" in body["detail"] and "6" in body["detail"]
    assert not ReconFile.objects.exists() and not ReconLine.objects.exists()

    resp = finance.upload("/rebilling/files", content, **_invoice_fields())
    assert resp.status_code == 201, resp.content
    imported = resp.json()
    assert imported["duplicate"] is False and imported["rows"] == ReconLine.objects.count()
    assert imported["matched"] + imported["unmatched"] == imported["rows"] and imported["unmatched"] > 0
    file_id = imported["file"]["id"]
    assert imported["file"]["operator_invoice_number"] == "G261002601"

    again = finance.upload("/rebilling/files", content, **_invoice_fields())
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["file"]["id"] == file_id
    assert ReconFile.objects.count() == 1

    listed = finance.get("/rebilling/files").json()
    assert listed["count"] == 1 and listed["items"][0]["unmatched"] == imported["unmatched"]
    unmatched_lines = finance.get(f"/rebilling/files/{file_id}/lines", matched="false", limit=2).json()
    assert unmatched_lines["count"] == imported["unmatched"] and len(unmatched_lines["items"]) == 2
    assert all(x["customer_id"] is None for x in unmatched_lines["items"])

    # Map the biggest unmatched group to a customer: remembered, and its lines matched at once.
    groups = finance.get("/rebilling/unmatched").json()["items"]
    group = groups[0]
    target = users["customer_a"].customer
    resp = finance.send("POST", "/rebilling/mappings", {"key_kind": group["key_kind"], "key": group["key"],
                                                       "customer_id": target.pk, "reason": "new tenant"})
    assert resp.status_code == 200, resp.content
    assert resp.json()["matched"] == group["line_count"]
    assert resp.json()["unmatched"] == imported["unmatched"] - group["line_count"]
    bad_kind = finance.send("POST", "/rebilling/mappings", {"key_kind": "phone", "key": "x", "customer_id": target.pk})
    assert bad_kind.status_code == 422 and bad_kind.json()["field"] == "key_kind"

    # A markup for that customer; the CRUD of rules.
    rule = finance.send("POST", "/rebilling/price-rules", {"customer_id": target.pk, "kind": "markup", "percent": "10"})
    assert rule.status_code == 200, rule.content
    rule_id = rule.json()["id"]
    changed = finance.send("PATCH", f"/rebilling/price-rules/{rule_id}", {"percent": "12.5"}).json()
    assert (changed["kind"], Decimal(changed["percent"])) == ("markup", Decimal("12.5"))
    temp = finance.send("POST", "/rebilling/price-rules", {"product": "NOPE", "kind": "fixed", "unit_price": "1"}).json()
    assert finance.send("DELETE", f"/rebilling/price-rules/{temp['id']}").status_code == 204
    assert [r["id"] for r in finance.get("/rebilling/price-rules").json()] == [rule_id]
    refused = finance.send("POST", "/rebilling/price-rules", {"kind": "discount", "percent": "101"})
    assert refused.status_code == 422 and refused.json()["field"] == "percent"

    generated = finance.send("POST", f"/rebilling/periods/{PERIOD}/generate").json()
    assert generated["created"] > 1 and generated["lines_billed"] == ReconLine.objects.filter(
        customer__isnull=False).count()
    assert finance.send("POST", f"/rebilling/periods/{PERIOD}/generate").json()["lines_billed"] == 0
    drafts = finance.get(f"/rebilling/periods/{PERIOD}/drafts").json()
    assert drafts["count"] == generated["created"]
    mine = next(d for d in drafts["items"] if d["customer_id"] == target.pk)
    detail = finance.get(f"/rebilling/drafts/{mine['id']}").json()
    assert sum(x["recon_line_count"] for x in detail["lines"]) == group["line_count"]
    marked_up = sum(Decimal(x["amount"]) for x in detail["lines"])
    assert marked_up == Decimal(group["charges"]) * Decimal("1.125") or abs(
        marked_up - Decimal(group["charges"]) * Decimal("1.125")) <= Decimal("0.01") * detail["line_count"]

    adjusted = finance.send("POST", f"/rebilling/drafts/{mine['id']}/adjustments",
                            {"description": "Goodwill", "amount": "-10.00", "reason": "late onboarding"})
    assert adjusted.status_code == 201, adjusted.content
    assert adjusted.json()["adjustment_reason"] == "late onboarding"
    no_reason = finance.send("POST", f"/rebilling/drafts/{mine['id']}/adjustments",
                             {"description": "x", "amount": "1.00", "reason": ""})
    assert no_reason.status_code == 422

    issued = finance.send("POST", f"/rebilling/periods/{PERIOD}/issue",
                          {"invoice_ids": [mine["id"]], "issue_date": "2026-11-10"}).json()
    assert [i["id"] for i in issued["issued"]] == [mine["id"]] and issued["issued"][0]["number"].startswith("INV-2026-")
    rest = finance.send("POST", f"/rebilling/periods/{PERIOD}/issue", {"issue_date": "2026-11-10"}).json()
    assert len(rest["issued"]) == generated["created"] - 1
    assert finance.send("POST", f"/rebilling/periods/{PERIOD}/issue", {"invoice_ids": [mine["id"]]}).json() == {
        "issued": [], "skipped": [mine["id"]]}
    assert not Invoice.objects.filter(rebilling__isnull=False, status=InvoiceStatus.DRAFT).exists()

    # Replacing the file is refused while its lines are on issued invoices, and says which.
    resp = finance.upload(f"/rebilling/files/{file_id}/replace", content.replace(b"Cycle fee", b"Cycle  fee", 1),
                          name="license-v2.csv", reason="corrected by the operator")
    assert resp.status_code == 409, resp.content
    assert issued["issued"][0]["number"] in resp.json()["detail"] or "INV-2026-" in resp.json()["detail"]
    assert AuditEntry.objects.filter(action="recon_file.replaced").count() == 0


def test_replacing_a_file_takes_its_lines_off_the_drafts(finance):
    create_world()
    content = LICENSE_FILE.read_bytes()
    file_id = finance.upload("/rebilling/files", content, **_invoice_fields()).json()["file"]["id"]
    first = finance.send("POST", f"/rebilling/periods/{PERIOD}/generate").json()
    assert first["created"] > 0
    no_reason = finance.upload(f"/rebilling/files/{file_id}/replace", content, name="v2.csv")
    assert no_reason.status_code == 422
    resp = finance.upload(f"/rebilling/files/{file_id}/replace", content.replace(b"Cycle fee", b"Cycle  fee", 1),
                          name="license-v2.csv", reason="corrected by the operator")
    assert resp.status_code == 201, resp.content
    new_id = resp.json()["file"]["id"]
    assert finance.get(f"/rebilling/files/{file_id}").json()["status"] == "replaced"
    assert not ReconLine.objects.filter(file_id=file_id).exists()
    # nothing of the old file is left on a draft: the drafts were emptied and removed, and billing again
    # bills the new file's lines only
    assert not Invoice.objects.filter(rebilling__isnull=False).exists()
    second = finance.send("POST", f"/rebilling/periods/{PERIOD}/generate").json()
    assert second["lines_billed"] == first["lines_billed"] and second["amount"] == first["amount"]
    assert set(ReconLine.objects.filter(invoice_line__isnull=False).values_list("file_id", flat=True)) == {new_id}
    assert AuditEntry.objects.filter(action="recon_file.replaced").count() == 1
