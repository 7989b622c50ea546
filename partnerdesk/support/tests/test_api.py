"""The support desk's REST API: a customer's user sees its own cases only and never an internal note or its
files, by any route; a case closes only once its resolution has reached the customer; refusals name the field;
bulk changes are all or nothing."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_invoice
from partnerdesk.notifications.models import EmailStatus, OutboundEmail
from partnerdesk.support import services
from partnerdesk.support.models import Case, CaseAttachment, CaseStatus

NOTE = "内部备注: customer is on the watch list"
NOTE_FILE = b"internal spreadsheet: credit limit 5000"
PUBLIC_FILE = b"%PDF-1.4 the invoice copy"


@pytest.fixture
def desk(users, customer_a, customer_b):
    """A's case with a public reply carrying a file and an internal note carrying a file; B's case."""
    agent = users["billing_agent"]
    users["customer_a"].email = "li.lei@contoso.example.cn"
    users["customer_a"].save(update_fields=["email"])
    case = services.open_case(customer=customer_a, subject="发票金额不对 INV question", description="Why 12800?",
                              actor=users["customer_a"], channel="api")
    services.reply(case=case, body="We are checking the invoice.", actor=agent,
                   attachments=[{"filename": "copy.pdf", "content": PUBLIC_FILE}])
    services.add_note(case=case, body=NOTE, actor=agent,
                      attachments=[{"filename": "limits.csv", "content": NOTE_FILE}])
    other = services.open_case(customer=customer_b, subject="Fabrikam refund", description="Refund please",
                               actor=users["customer_b"], channel="api")
    public = CaseAttachment.objects.get(case=case, filename="copy.pdf")
    internal = CaseAttachment.objects.get(case=case, filename="limits.csv")
    return {"case": case, "other": other, "public": public, "internal": internal}


def _as(api_client, tokens, who):
    return api_client.as_(tokens[who])


def test_a_customer_user_gets_404_for_another_customers_case_by_every_route(client, api_client, tokens, desk):
    bob = _as(api_client, tokens, "customer_b")
    case = desk["case"]
    url = f"/cases/{case.pk}"
    assert bob.get(url).status_code == 404
    assert bob.patch(url, {"subject": "x"}).status_code == 404
    for route, body in [("replies", {"body": "hi"}), ("notes", {"body": "hi"}), ("messages", {"body": "hi"}),
                        ("status", {"status": "open"}), ("assign", {}), ("resolve", {"body": "done"}),
                        ("close", {}), ("confirm", {}), ("score", {"score": 5}), ("merge", {"target_id": desk["other"].pk})]:
        resp = bob.post(f"{url}/{route}", body)
        assert resp.status_code == 404, (route, resp.content)
        assert "发票" not in resp.content.decode()
    for attachment in (desk["public"], desk["internal"]):
        assert bob.get(f"{url}/attachments/{attachment.pk}").status_code == 404
    upload = client.post(f"/api/v1{url}/attachments", {"body": "here", "attachments": SimpleUploadedFile("a.pdf", b"%PDF")},
                         headers={"Authorization": f"Bearer {tokens['customer_b']}"})
    assert upload.status_code == 404
    listed = bob.get("/cases").json()
    assert [row["id"] for row in listed["items"]] == [desk["other"].pk] and listed["count"] == 1
    assert bob.get("/cases", customer_id=case.customer_id).json()["count"] == 0
    csv = bob.get("/cases.csv").content.decode()
    assert desk["other"].token in csv and case.token not in csv
    # B's own case through A's case id is not B's way in either: nothing changed on A's case.
    assert Case.objects.get(pk=case.pk).messages.count() == 3


def test_a_customer_user_never_sees_an_internal_note_or_its_file(client, api_client, tokens, desk):
    alice = _as(api_client, tokens, "customer_a")
    case = desk["case"]
    answer = alice.get(f"/cases/{case.pk}")
    assert answer.status_code == 200
    body = answer.json()
    assert [m["kind"] for m in body["messages"]] == ["public", "public"]
    text = answer.content.decode()
    assert NOTE not in text and "limits.csv" not in text and body["clocks"] == [] and body["tags"] == []
    files = [a for m in body["messages"] for a in m["attachments"]]
    assert [a["filename"] for a in files] == ["copy.pdf"]
    download = client.get(files[0]["url"], headers={"Authorization": f"Bearer {tokens['customer_a']}"})
    assert download.status_code == 200 and b"".join(download.streaming_content) == PUBLIC_FILE
    assert download["X-Content-Type-Options"] == "nosniff"
    assert alice.get(f"/cases/{case.pk}/attachments/{desk['internal'].pk}").status_code == 404
    # Another case's attachment id under one's own case is not a way round the rule.
    other_file = CaseAttachment.objects.create(case=desk["other"], message=desk["other"].messages.first(),
                                               file=desk["public"].file.name, filename="b.pdf",
                                               content_type="application/pdf", size=1, sha256="0" * 64)
    assert alice.get(f"/cases/{case.pk}/attachments/{other_file.pk}").status_code == 404
    # Nor the CSV, nor the queue: no conversation is in them.
    assert NOTE not in alice.get("/cases.csv").content.decode()
    assert NOTE not in alice.get("/cases").content.decode()
    # A customer's user cannot write a note, not even as a multipart "internal" message.
    assert alice.post(f"/cases/{case.pk}/notes", {"body": "x"}).status_code == 403
    resp = client.post(f"/api/v1/cases/{case.pk}/attachments",
                       {"body": "x", "kind": "internal", "attachments": SimpleUploadedFile("a.pdf", b"%PDF")},
                       headers={"Authorization": f"Bearer {tokens['customer_a']}"})
    assert resp.status_code == 403


def test_staff_see_notes_events_clocks_and_internal_files(client, api_client, tokens, desk):
    agent = _as(api_client, tokens, "billing_agent")
    body = agent.get(f"/cases/{desk['case'].pk}").json()
    assert [m["kind"] for m in body["messages"]] == ["public", "public", "internal"]
    assert {c["target"] for c in body["clocks"]} == {"first_response", "resolution"}
    resp = client.get(f"/api/v1/cases/{desk['case'].pk}/attachments/{desk['internal'].pk}",
                      headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == NOTE_FILE


def test_a_case_cannot_be_closed_before_the_resolution_reached_the_customer(api_client, tokens, desk):
    agent = _as(api_client, tokens, "billing_agent")
    case = desk["case"]
    resolved = agent.post(f"/cases/{case.pk}/resolve", {"body": "The invoice is right: 10 seats x 1280."})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_delivered"] is False
    refused = agent.post(f"/cases/{case.pk}/close", {})
    assert refused.status_code == 409
    assert refused.json()["code"] == "resolution_not_delivered" and refused.json()["field"] == "status"
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED
    # The mail server took it: now it closes.
    case.refresh_from_db()
    OutboundEmail.objects.filter(case_messages=case.resolution_message).update(status=EmailStatus.SENT)
    closed = agent.post(f"/cases/{case.pk}/close", {"reason": "answered"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_the_customer_confirms_and_scores_its_own_case(api_client, tokens, desk):
    agent, alice = _as(api_client, tokens, "billing_agent"), _as(api_client, tokens, "customer_a")
    case = desk["case"]
    agent.post(f"/cases/{case.pk}/resolve", {"body": "Credited 1280."})
    assert agent.post(f"/cases/{case.pk}/confirm", {}).status_code == 403  # the customer's own act
    confirmed = alice.post(f"/cases/{case.pk}/confirm", {})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "closed"
    scored = alice.post(f"/cases/{case.pk}/score", {"score": 5, "comment": "很快"})
    assert scored.status_code == 200 and scored.json()["satisfaction_score"] == 5
    again = alice.post(f"/cases/{case.pk}/score", {"score": 4})
    assert again.status_code == 409 and again.json()["code"] == "already_scored"
    # Writing on the closed case opens a new one that follows it.
    follow = alice.post(f"/cases/{case.pk}/messages", {"body": "One more question"})
    assert follow.status_code == 201 and follow.json()["case_id"] != case.pk
    assert Case.objects.get(pk=follow.json()["case_id"]).follows_id == case.pk


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/cases", {"customer_id": "{A}", "subject": ""}, "subject"),
    ("/cases", {"customer_id": "{A}", "subject": "x", "severity": "A"}, "severity"),
    ("/cases", {"customer_id": "{A}", "subject": "x", "severity": "Z"}, "severity"),
    ("/cases", {"customer_id": "{A}", "subject": "x", "channel": "pigeon"}, "channel"),
    ("/cases", {"customer_id": "{A}", "subject": "x", "invoice_ids": ["{B_inv}"]}, "invoice_ids[0]"),
    ("/cases", {"customer_id": "{A}", "subject": "x", "cc": ["not-an-address"]}, "cc"),
    ("/cases", {"subject": "x"}, "customer_id"),
    ("/cases/{case}/replies", {"body": "ok", "status": "closed"}, "status"),
    ("/cases/{case}/replies", {"body": ""}, "body"),
    ("/cases/{case}/status", {"status": "resolved"}, "status"),
    ("/cases/{case}/assign", {"assignee_id": "{alice}"}, "assignee_id"),
    ("/cases/{case}/merge", {"target_id": "{other}"}, "target_id"),
    ("/cases/bulk", {"ids": list(range(1, 502)), "action": "assign"}, "ids"),
    ("/cases/bulk", {"ids": ["{case}"], "action": "delete"}, "action"),
    ("/support/settings", {"max_attachment_bytes": 10}, "max_attachment_bytes"),
    ("/support/canned-replies", {"title": "余额", "language": "fr", "body": "x"}, "language"),
])
def test_validation_errors_name_the_field(api_client, tokens, users, customer_a, customer_b, desk, path, body, field):
    values = {"A": customer_a.pk, "B_inv": make_invoice(customer_b, "10.00").pk, "case": desk["case"].pk,
              "other": desk["other"].pk, "alice": users["customer_a"].pk}
    text = json.dumps(body)
    for key, value in values.items():
        text = text.replace(f'"{{{key}}}"', str(value)).replace(f"{{{key}}}", str(value))
    before = AuditEntry.objects.count()
    method = "PUT" if path == "/support/settings" else "POST"
    client = _as(api_client, tokens, "admin")
    resp = client.post(path.replace("{case}", str(desk["case"].pk)), raw=text) if method == "POST" else None
    if method == "PUT":
        from django.test import Client

        resp = Client().generic("PUT", "/api/v1" + path, text, content_type="application/json",
                                headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert resp.status_code == 422, resp.content
    assert resp.json()["field"] == field and resp.json()["code"] == "invalid_input"
    assert AuditEntry.objects.count() == before


def test_a_queue_filter_outside_its_choices_is_named(api_client, tokens, desk):
    agent = _as(api_client, tokens, "billing_agent")
    for params, field in [({"queue": "later"}, "queue"), ({"status": "gone"}, "status"),
                          ({"severity": "D"}, "severity"), ({"limit": 0}, "limit")]:
        resp = agent.get("/cases", **params)
        assert resp.status_code == 422 and resp.json()["field"] == field


def test_bulk_changes_are_all_or_nothing(api_client, tokens, users, customer_a, desk):
    agent = _as(api_client, tokens, "billing_agent")
    second = services.open_case(customer=customer_a, subject="Payment not matched", description="",
                                actor=users["billing_agent"], channel="phone")
    closed = services.open_case(customer=customer_a, subject="Old", description="", actor=users["billing_agent"],
                                channel="phone")
    Case.objects.filter(pk=closed.pk).update(status=CaseStatus.CLOSED)
    ids = [desk["case"].pk, second.pk, closed.pk]
    before = AuditEntry.objects.count()
    refused = agent.post("/cases/bulk", {"ids": ids, "action": "status", "status": "waiting_operator"})
    assert refused.status_code == 409 and refused.json()["field"] == "ids[2]"
    assert closed.token in refused.json()["detail"]
    assert set(Case.objects.filter(pk__in=ids).values_list("status", flat=True)) <= {"new", "open", "closed"}
    assert AuditEntry.objects.count() == before
    missing = agent.post("/cases/bulk", {"ids": [desk["case"].pk, 9_999_999], "action": "assign",
                                         "assignee_id": users["finance"].pk})
    assert missing.status_code == 422 and missing.json()["field"] == "ids[1]"
    assert Case.objects.get(pk=desk["case"].pk).assignee_id is None
    done = agent.post("/cases/bulk", {"ids": ids[:2], "action": "assign", "assignee_id": users["finance"].pk})
    assert done.status_code == 200 and done.json()["updated"] == 2
    assert set(Case.objects.filter(pk__in=ids[:2]).values_list("assignee_id", flat=True)) == {users["finance"].pk}
    mine = _as(api_client, tokens, "finance").get("/cases", queue="mine").json()
    assert {row["id"] for row in mine["items"]} == set(ids[:2])
    assert _as(api_client, tokens, "customer_a").post("/cases/bulk", {"ids": ids, "action": "assign"}).status_code == 403


def test_queues_order_by_deadline_and_show_time_left(api_client, tokens, users, customer_a, desk):
    agent = _as(api_client, tokens, "billing_agent")
    urgent = services.open_case(customer=customer_a, subject="Cannot sign in", description="", type="technical",
                                severity="A", actor=users["billing_agent"], channel="phone")
    rows = agent.get("/cases", queue="active").json()["items"]
    assert rows[0]["id"] == urgent.pk and rows[0]["next_target"] == "first_response"
    assert 0 < rows[0]["time_left_seconds"] <= 2 * 3600
    unassigned = agent.get("/cases", queue="unassigned").json()
    assert urgent.pk in {row["id"] for row in unassigned["items"]}
    assert agent.get("/cases", queue="waiting_customer").json()["count"] == 0
    agent.post(f"/cases/{urgent.pk}/status", {"status": "waiting_customer"})
    waiting = agent.get("/cases", queue="waiting_customer").json()["items"]
    assert [row["id"] for row in waiting] == [urgent.pk] and waiting[0]["time_left_seconds"] is None


def test_opening_logging_uploading_and_editing(client, api_client, tokens, users, customer_a, desk):
    alice, agent = _as(api_client, tokens, "customer_a"), _as(api_client, tokens, "billing_agent")
    invoice = make_invoice(customer_a, "12800.00")
    opened = alice.post("/cases", {"subject": "Invoice twice?", "invoice_ids": [invoice.pk]})
    assert opened.status_code == 201, opened.content
    assert opened.json()["customer_id"] == customer_a.pk and opened.json()["channel"] == "api"
    assert opened.json()["invoice_ids"] == [invoice.pk]
    logged = agent.post("/cases", {"customer_id": customer_a.pk, "subject": "Called about refund", "channel": "phone",
                                   "type": "refund", "tags": ["vip"]})
    assert logged.status_code == 201 and logged.json()["tags"] == ["vip"]
    case_id = opened.json()["id"]
    patched = agent.patch(f"/cases/{case_id}", {"severity": "B", "tags": ["invoice"], "cc": ["ap@contoso.example.cn"]})
    assert patched.status_code == 200 and patched.json()["severity"] == "B" and patched.json()["cc"] == ["ap@contoso.example.cn"]
    upload = client.post(f"/api/v1/cases/{case_id}/attachments",
                         {"body": "Screenshot attached", "attachments": [SimpleUploadedFile("shot.png", b"\x89PNG..."),
                                                                         SimpleUploadedFile("bill.pdf", b"%PDF")]},
                         headers={"Authorization": f"Bearer {tokens['customer_a']}"})
    assert upload.status_code == 201, upload.content
    assert sorted(a["filename"] for a in upload.json()["attachments"]) == ["bill.pdf", "shot.png"]
    refused = client.post(f"/api/v1/cases/{case_id}/attachments",
                          {"body": "x", "attachments": SimpleUploadedFile("run.exe", b"MZ")},
                          headers={"Authorization": f"Bearer {tokens['customer_a']}"})
    assert refused.status_code == 422 and refused.json()["field"] == "attachments"
    note = client.post(f"/api/v1/cases/{case_id}/attachments",
                       {"body": "their ledger", "kind": "internal", "attachments": SimpleUploadedFile("l.csv", b"a,b")},
                       headers={"Authorization": f"Bearer {tokens['billing_agent']}"})
    assert note.status_code == 201 and note.json()["kind"] == "internal"
    assert "l.csv" not in alice.get(f"/cases/{case_id}").content.decode()


def test_desk_settings_and_published_information(api_client, tokens, users, customer_a, desk):
    from django.test import Client

    admin = Client()
    headers = {"Authorization": f"Bearer {tokens['admin']}"}

    def put(path, body, token="admin"):
        return admin.generic("PUT", "/api/v1" + path, json.dumps(body), content_type="application/json",
                             headers={"Authorization": f"Bearer {tokens[token]}"})

    changed = put("/support/settings", {"reopen_window_days": 10, "allowed_attachment_types": ["application/pdf"]})
    assert changed.status_code == 200 and changed.json()["reopen_window_days"] == 10
    assert services.desk_settings().allowed_attachment_types == ["application/pdf"]
    assert put("/support/settings", {"reopen_window_days": 3}, token="billing_agent").status_code == 403
    policies = put("/support/sla-policies", {"policies": [
        {"severity": "B", "first_response_minutes": 120, "next_response_minutes": 240, "resolution_minutes": 2700}]})
    assert policies.status_code == 200
    assert [p["first_response_minutes"] for p in policies.json()["effective"]] == [120, 120, 480]
    dup = put("/support/sla-policies", {"policies": [
        {"severity": "C", "first_response_minutes": 1, "next_response_minutes": 1, "resolution_minutes": 1}] * 2})
    assert dup.status_code == 422 and dup.json()["field"] == "policies[1].type"
    created = admin.post("/api/v1/support/canned-replies", {"title": "余额", "language": "zh-CN",
                                                            "body": "您的余额为 {balance}。"},
                         content_type="application/json", headers=headers)
    assert created.status_code == 201
    again = admin.post("/api/v1/support/canned-replies", {"title": "余额", "language": "zh-CN", "body": "x"},
                       content_type="application/json", headers=headers)
    assert again.status_code == 409 and again.json()["field"] == "title"
    listed = api_client.as_(tokens["billing_agent"]).get("/support/canned-replies", language="zh-CN").json()
    assert [r["title"] for r in listed["items"]] == ["余额"]
    assert api_client.as_(tokens["customer_a"]).get("/support/canned-replies").status_code == 403
    reply_id = created.json()["id"]
    assert put(f"/support/canned-replies/{reply_id}", {"title": "余额", "language": "zh-CN", "body": "新",
                                                       "is_active": False}).json()["is_active"] is False
    assert admin.delete(f"/api/v1/support/canned-replies/{reply_id}", headers=headers).status_code == 200
    published = put("/support/information/en", {"hours": "Mon-Fri 9-18", "channels": "Email", "process": "Cases"})
    assert published.status_code == 200 and published.json()["is_default"] is False
    seen = api_client.as_(tokens["customer_a"]).get("/support/information/en")
    assert seen.status_code == 200 and seen.json()["hours"] == "Mon-Fri 9-18" and len(seen.json()["targets"]) == 3
    assert api_client.as_(tokens["customer_a"]).get("/support/information/fr").json()["field"] == "language"


def test_a_canned_reply_comes_filled_with_the_customers_figures(api_client, tokens, customer_a, desk):
    from partnerdesk.support import desk_settings

    make_invoice(customer_a, "1280.00")  # issued 1 October: overdue on the suite's day
    reply = desk_settings.create_canned_reply(title="Balance", language="zh-CN", body="余额 {currency} {balance}，{nonsense}",
                                              actor=None)
    url = f"/cases/{desk['case'].pk}/canned/{reply.pk}"
    filled = _as(api_client, tokens, "billing_agent").get(url)
    assert filled.status_code == 200
    assert filled.json()["body"].startswith("余额 CNY 1,280.00") and filled.json()["body"].endswith("{nonsense}")
    assert _as(api_client, tokens, "customer_a").get(url).status_code == 403
    assert _as(api_client, tokens, "customer_b").get(url).status_code == 404
