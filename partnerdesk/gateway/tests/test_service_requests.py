"""Service requests to the operator: the portal text and the API channel against the simulator, over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import httpx
import pytest

from partnerdesk.gateway import OperatorError, OperatorGateway, OperatorNotFound, OperatorRejected
from partnerdesk.gateway.service_requests import (
    ApiChannel,
    Contact,
    PortalChannel,
    ServiceRequestDraft,
    channel,
    note_key,
    parse_date,
    parse_severity,
    parse_status,
    record_from,
)
from partnerdesk.gateway.simulator import start_simulator

PARTNER_TENANT = "0a1b2c3d-0000-4000-8000-00000000beef"
CUSTOMER_TENANT = "8f3c2b1e-5d4a-4c3b-9a2f-1e0d9c8b7a65"
PARTNER = Contact(name="Li Wei", email="escalations@partner.example.cn", phone="+86 10 6500 1234")
CUSTOMER_CONTACT_EMAIL = "finance@customer.example.cn"


@pytest.fixture
def sim():
    handle = start_simulator()
    yield handle
    handle.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_gateway(sim, sleeps, **overrides) -> OperatorGateway:
    options = dict(base_url=sim.url, token_url=sim.token_url, tenant_id=PARTNER_TENANT, client_id="partnerdesk-app",
                   client_secret="s3cr3t-value", resource="https://partner.partnercenterapi.microsoftonline.cn",
                   timeout=2.0, max_attempts=4, backoff=0.5, max_retry_after=30.0, sleep=sleeps.append)
    options.update(overrides)
    return OperatorGateway(**options)


@pytest.fixture
def gateway(sim, sleeps):
    gw = make_gateway(sim, sleeps)
    yield gw
    gw.close()


def draft(**changes) -> ServiceRequestDraft:
    values = dict(title="Invoice G00012 charged twice", description="Line 3 of invoice G00012 repeats line 2.",
                  severity="moderate", topic_id="billing", contact=PARTNER, tenant_id=CUSTOMER_TENANT,
                  invoices=["G00012"], subscriptions=["sub-e3-0001"])
    values.update(changes)
    return ServiceRequestDraft(**values)


def sr_requests(sim, method=None):
    return sim.simulator.requests(method, "/v1/servicerequests")


# --- the API channel, the happy path ----------------------------------------------------------------------


def test_create_read_note_and_close_through_the_api_channel(sim, gateway):
    api = ApiChannel(gateway)
    request_id = str(uuid.uuid4())

    created = api.create(draft(), request_id=request_id)

    assert (created.status, created.severity, created.title) == ("open", "moderate", "Invoice G00012 charged twice")
    assert created.created_at is not None and created.created_at.tzinfo is not None
    held = sim.simulator.get_service_request(created.id)
    assert held["supportTopicId"] == "billing"
    # The partner is the contact; the customer's tenant and the invoice travel in the description.
    assert held["primaryContact"] == {"firstName": "Li", "lastName": "Wei", "email": PARTNER.email,
                                      "phoneNumber": PARTNER.phone}
    assert CUSTOMER_TENANT in held["description"] and "G00012" in held["description"]
    assert "sub-e3-0001" in held["description"]
    (post,) = sr_requests(sim, "POST")
    assert post.path == "/v1/servicerequests/zh-CN"  # the agent locale follows the request's language
    assert post.headers["MS-RequestId"] == request_id
    assert post.headers["MS-Contract-Version"] == "v1"
    assert post.headers["Accept"] == "application/json"
    assert post.headers["Content-Type"] == "application/json"
    assert uuid.UUID(post.headers["MS-CorrelationId"])

    # The operator answers and asks something of us: the status says so.
    with httpx.Client(base_url=sim.url) as control:
        answered = control.post(f"/_sim/servicerequests/{created.id}/answer",
                                json={"text": "请提供发票截图。", "status": "attention_needed"})
        assert answered.status_code == 200
    read = api.read(created.id)
    assert read.status == "attention_needed"
    assert [(n.author, n.text) for n in read.notes] == [("世纪互联支持 (21Vianet Support)", "请提供发票截图。")]
    assert read.notes[0].written_at.tzinfo is not None and len(read.notes[0].key) <= 100
    assert api.list_open()[0].id == created.id

    noted = api.add_note(created.id, "Screenshot attached to the portal ticket.", request_id=str(uuid.uuid4()))
    assert [n.text for n in noted.notes][-1] == "Screenshot attached to the portal ticket."
    assert noted.notes[-1].author == "Li Wei"
    (patch,) = sr_requests(sim, "PATCH")
    assert patch.path == f"/v1/servicerequests/{created.id}" and patch.body == {
        "NewNote": {"Text": "Screenshot attached to the portal ticket."}}
    assert patch.headers["MS-Contract-Version"] == "v1"

    sim.simulator.close_service_request(created.id, "已退款，关闭请求。")
    closed = api.read(created.id)
    assert closed.status == "closed" and closed.notes[-1].text == "已退款，关闭请求。"
    assert api.list_open() == []
    # Reading twice recognises the same notes.
    assert [n.key for n in api.read(created.id).notes] == [n.key for n in closed.notes]
    assert len({n.key for n in closed.notes}) == 3


def test_the_agent_locale_follows_the_language(sim, gateway):
    api = ApiChannel(gateway)
    api.create(draft(language="zh-TW"), request_id=str(uuid.uuid4()))
    api.create(draft(language="en"), request_id=str(uuid.uuid4()))
    assert [r.path for r in sr_requests(sim, "POST")] == ["/v1/servicerequests/zh-TW", "/v1/servicerequests/en-US"]
    descriptions = [r["description"] for r in sim.simulator.service_requests()]
    assert descriptions[0].startswith("客戶租用戶識別碼") and descriptions[1].startswith("Customer tenant ID")


def test_a_technical_request_may_be_critical_and_topic_ids_map_to_partner_centers(sim, gateway):
    api = ApiChannel(gateway, support_topic_ids={"technical": "32444671"})
    created = api.create(draft(severity="critical", topic_id="technical"), request_id=str(uuid.uuid4()))
    assert created.severity == "critical"
    assert sim.simulator.get_service_request(created.id)["supportTopicId"] == "32444671"


# --- nothing created twice, nothing lost ------------------------------------------------------------------


def test_a_create_through_429_500_a_timeout_and_a_401_is_made_once(sim, sleeps):
    gw = make_gateway(sim, sleeps, timeout=0.3)
    request_id = str(uuid.uuid4())
    sim.simulator.queue_faults([
        {"status": 429, "retry_after": 1},
        {"status": 500, "apply": True},  # the operator created it, the answer was lost
        {"delay": 1.0},  # longer than the client's timeout
        {"status": 401},  # the token was revoked: renewed once, not counted as an attempt
    ], methods=["POST"], path_contains="/v1/servicerequests")

    created = ApiChannel(gw).create(draft(), request_id=request_id)

    assert sim.simulator.wait_idle()  # the timed-out attempt has finished at the operator too
    held = sim.simulator.service_requests()
    assert [r["id"] for r in held] == [created.id]
    posts = sr_requests(sim, "POST")
    assert len(posts) == 5
    assert {p.headers["MS-RequestId"] for p in posts} == {request_id}
    assert {p.headers["MS-Contract-Version"] for p in posts} == {"v1"}
    assert len({p.headers["MS-CorrelationId"] for p in posts}) == 1
    assert sleeps[0] == 1.0 and len(sleeps) == 3
    assert len(sim.simulator.requests("POST", "/oauth2/token")) == 2

    # The caller retries after a crash with its stored id: still the one request.
    again = ApiChannel(gw).create(draft(), request_id=request_id)
    assert again.id == created.id and len(sim.simulator.service_requests()) == 1


def test_a_note_retried_after_a_timeout_is_added_once(sim, sleeps):
    gw = make_gateway(sim, sleeps, timeout=0.3)
    api = ApiChannel(gw)
    created = api.create(draft(), request_id=str(uuid.uuid4()))
    sim.simulator.queue_faults([{"delay": 1.0}, {"status": 503}], methods=["PATCH"])

    noted = api.add_note(created.id, "Any news?", request_id="7d3f0c55-1111-4aaa-8bbb-0123456789ab")

    assert sim.simulator.wait_idle()
    assert [n.text for n in noted.notes] == ["Any news?"]
    assert [n["text"] for n in sim.simulator.get_service_request(created.id)["notes"]] == ["Any news?"]
    patches = sr_requests(sim, "PATCH")
    assert len(patches) == 3 and {p.headers["MS-RequestId"] for p in patches} == {
        "7d3f0c55-1111-4aaa-8bbb-0123456789ab"}


def test_reads_and_the_open_list_survive_faults(sim, gateway, sleeps):
    api = ApiChannel(gateway)
    created = api.create(draft(), request_id=str(uuid.uuid4()))
    sim.simulator.answer_service_request(created.id, "处理中。")
    sim.simulator.queue_faults([{"status": 500}, {"status": 429, "retry_after": 2}, {"status": 401}],
                               methods=["GET"])
    assert api.read(created.id).notes[0].text == "处理中。"
    sim.simulator.queue_faults([{"status": 502}], methods=["GET"])
    assert [r.id for r in api.list_open()] == [created.id]
    assert sleeps[1] == 2.0 and len(sleeps) == 3


def test_operator_refusals_are_gateway_errors(sim, gateway):
    api = ApiChannel(gateway)
    with pytest.raises(OperatorNotFound):
        api.read("999")
    with pytest.raises(OperatorRejected) as caught:
        gateway.create_service_request({"Title": "t", "Description": "d", "Severity": "unknown",
                                        "SupportTopicId": "1"}, agent_locale="zh-CN", request_id=str(uuid.uuid4()))
    assert caught.value.status == 400
    assert sim.simulator.service_requests() == []
    created = api.create(draft(), request_id=str(uuid.uuid4()))
    sim.simulator.close_service_request(created.id)
    with pytest.raises(OperatorRejected, match="closed service request"):
        api.add_note(created.id, "Too late", request_id=str(uuid.uuid4()))


def test_a_draft_the_operator_would_refuse_never_leaves(sim, gateway):
    api = ApiChannel(gateway)
    with pytest.raises(ValueError, match="severity"):
        api.create(draft(severity="urgent"), request_id=str(uuid.uuid4()))
    with pytest.raises(ValueError):
        api.create(draft(contact=Contact(name="", email="")), request_id=str(uuid.uuid4()))
    assert sr_requests(sim) == []


# --- severity and status as strings or integers -----------------------------------------------------------


def test_integer_severity_and_status_from_the_operator_are_understood(sim, gateway):
    api = ApiChannel(gateway)
    created = api.create(draft(severity="minimal"), request_id=str(uuid.uuid4()))
    with httpx.Client(base_url=sim.url) as control:
        assert control.post("/_sim/config", json={"integer_enums": True}).json()["integer_enums"] is True
        control.post(f"/_sim/servicerequests/{created.id}/answer", json={"text": "Need the invoice PDF.",
                                                                         "status": 3})
    raw = gateway.get_service_request(created.id)
    assert (raw["severity"], raw["status"]) == (3, 3)  # the wire really carries integers
    record = api.read(created.id)
    assert (record.severity, record.status) == ("minimal", "attention_needed")
    assert [r.status for r in api.list_open()] == ["attention_needed"]
    sim.simulator.close_service_request(created.id)
    assert api.read(created.id).status == "closed"


@pytest.mark.parametrize(("value", "expected"), [
    ("critical", "critical"), ("Moderate", "moderate"), (" MINIMAL ", "minimal"), ("unknown", "unknown"),
    (0, "unknown"), (1, "critical"), (2, "moderate"), (3, "minimal"), ("2", "moderate"),
])
def test_parse_severity(value, expected):
    assert parse_severity(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("none", "none"), ("Open", "open"), ("CLOSED", "closed"), ("attention_needed", "attention_needed"),
    ("AttentionNeeded", "attention_needed"), (0, "none"), (1, "open"), (2, "closed"), (3, "attention_needed"),
])
def test_parse_status(value, expected):
    assert parse_status(value) == expected


@pytest.mark.parametrize("value", ["urgent", "", None, 4, -1, True, 2.0, "B"])
def test_anything_else_is_an_operator_error(value):
    with pytest.raises(OperatorError):
        parse_severity(value)
    with pytest.raises(OperatorError):
        parse_status(value)


def test_dates_and_note_keys():
    assert parse_date("2016-12-22T20:31:14Z") == dt.datetime(2016, 12, 22, 20, 31, 14, tzinfo=dt.UTC)
    assert parse_date("2019-01-01T10:00:00.1234567") == dt.datetime(2019, 1, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert parse_date("2019-01-01T18:00:00+08:00") == dt.datetime(2019, 1, 1, 10, 0, tzinfo=dt.UTC)
    assert parse_date("0001-01-01T00:00:00") is None and parse_date(None) is None
    with pytest.raises(OperatorError):
        parse_date("yesterday")
    when = dt.datetime(2026, 5, 6, 9, 30, tzinfo=dt.UTC)
    assert note_key(when, "Ops", "Done") == note_key(when.astimezone(dt.timezone(dt.timedelta(hours=8))), "Ops",
                                                     "Done")
    assert note_key(when, "Ops", "Done") != note_key(when, "Ops", "Done.")
    assert note_key(when, "Ops", "Done") != note_key(when + dt.timedelta(seconds=1), "Ops", "Done")
    # Partner Center documents PascalCase and answers in camelCase: both read the same.
    pascal = record_from({"Id": "61", "Status": "Open", "Severity": "Moderate", "Title": "T",
                          "Notes": [{"CreatedByName": "Ops", "CreatedDate": "2026-05-06T09:30:00Z", "Text": "Done"}]})
    assert (pascal.id, pascal.status, pascal.notes[0].key) == ("61", "open", note_key(when, "Ops", "Done"))


# --- the portal channel -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", ["代表客户向世纪互联提交的服务请求", "严重级别: B：中等", "支持主题: 账单和发票",
               "本请求的联系人（合作伙伴，而非客户）", "客户租户 ID: " + CUSTOMER_TENANT, "涉及的发票: G00012, G00013",
               "涉及的订阅: sub-e3-0001"]),
    ("zh-TW", ["代表客戶向世紀互聯提交的服務要求", "嚴重等級: B：中等", "支援主題: 帳單和發票",
               "此要求的聯絡人（合作夥伴，而非客戶）", "客戶租用戶識別碼: " + CUSTOMER_TENANT,
               "涉及的發票: G00012, G00013"]),
    ("en", ["Service request to 21Vianet on behalf of a customer", "Severity: B: moderate",
            "Support topic: Billing and invoices", "Contact for this request (the partner, not the customer)",
            "Customer tenant ID: " + CUSTOMER_TENANT, "Invoices concerned: G00012, G00013"]),
])
def test_the_portal_text_names_the_partners_contact_in_the_requests_language(language, expected):
    text = PortalChannel().prepare(draft(language=language, invoices=["G00012", "G00013"]))

    for fragment in expected:
        assert fragment in text
    assert text.index(PARTNER.name) < text.index(PARTNER.email) < text.index(PARTNER.phone)
    assert "Invoice G00012 charged twice" in text and "Line 3 of invoice G00012 repeats line 2." in text
    assert CUSTOMER_CONTACT_EMAIL not in text


def test_the_portal_text_defaults_to_simplified_chinese_and_says_when_nothing_is_concerned():
    text = PortalChannel().prepare(draft(language="", invoices=(), subscriptions=(), tenant_id="",
                                         contact=Contact(name="王小明", email="ops@partner.example.cn")))
    assert "涉及的发票: 无" in text and "客户租户 ID: 无" in text
    assert "王小明" in text and "电话" not in text  # no phone given, no empty line for it
    assert "\n\n\n" not in text


def test_the_portal_text_shows_severity_a_as_21vianet_does():
    text = PortalChannel().prepare(draft(severity="critical", topic_id="technical", language="en"))
    assert "Full name: Li Wei" in text
    assert "Severity: A: critical" in text and "Support topic: Technical" in text


# --- choosing a channel -----------------------------------------------------------------------------------


def test_channel_by_name(sim, gateway, settings):
    assert isinstance(channel("portal"), PortalChannel)
    assert channel("api", gateway).gateway is gateway
    settings.PARTNER_CENTER = {
        "BASE_URL": sim.url, "TOKEN_URL": sim.token_url, "PARTNER_TENANT_ID": PARTNER_TENANT,
        "CLIENT_ID": "app", "CLIENT_SECRET": "configured-secret", "RESOURCE": "https://partner.partnercenterapi.microsoftonline.cn",
        "TIMEOUT_SECONDS": 2.0, "MAX_ATTEMPTS": 2, "BACKOFF_SECONDS": 0.01, "MAX_RETRY_AFTER_SECONDS": 1.0,
        "SUPPORT_TOPIC_IDS": {"billing": "32569836"},
    }
    configured = channel("api")
    created = configured.create(draft(), request_id=str(uuid.uuid4()))
    assert configured.gateway.base_url == sim.url
    assert sim.simulator.get_service_request(created.id)["supportTopicId"] == "32569836"
    with pytest.raises(ValueError):
        channel("fax")


def test_simulator_service_request_control_endpoints(sim, gateway):
    created = ApiChannel(gateway).create(dataclasses.replace(draft(), title="Control"), request_id=str(uuid.uuid4()))
    with httpx.Client(base_url=sim.url) as control:
        assert control.post(f"/_sim/servicerequests/{created.id}/answer", json={}).status_code == 400
        assert control.post("/_sim/servicerequests/404/close").status_code == 404
        closed = control.post(f"/_sim/servicerequests/{created.id}/close", json={"text": "Done", "author": "Zhang"})
        assert closed.json()["status"] == "closed" and closed.json()["notes"][-1]["createdByName"] == "Zhang"
        state = control.get("/_sim/state").json()
        assert list(state["service_requests"]) == [created.id]
        control.post("/_sim/reset")
        assert control.get("/_sim/state").json()["service_requests"] == {}
