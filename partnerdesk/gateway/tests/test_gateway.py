"""The operator gateway against the Partner Center simulator, over real HTTP."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import time
import types

import httpx
import pytest

from partnerdesk.gateway import (
    OperatorAuthError,
    OperatorConflict,
    OperatorGateway,
    OperatorNotFound,
    OperatorRejected,
    OperatorUnavailable,
    get_gateway,
)
from partnerdesk.gateway import client as client_module
from partnerdesk.gateway.client import parse_json, parse_retry_after
from partnerdesk.gateway.simulator import OperatorSimulator, start_simulator

TENANT = "8f3c2b1e-5d4a-4c3b-9a2f-1e0d9c8b7a65"
PARTNER_TENANT = "0a1b2c3d-0000-4000-8000-00000000beef"
SECRET = "s3cr3t-Client-Secret-Value~42"


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
                   client_secret=SECRET, resource="https://partner.partnercenterapi.microsoftonline.cn",
                   timeout=2.0, max_attempts=4, backoff=0.5, max_retry_after=30.0, sleep=sleeps.append)
    options.update(overrides)
    return OperatorGateway(**options)


@pytest.fixture
def gateway(sim, sleeps):
    gw = make_gateway(sim, sleeps)
    yield gw
    gw.close()


@pytest.fixture
def sub(sim) -> dict:
    return sim.simulator.add_subscription(TENANT, offerName="Microsoft 365 E3", quantity=25)


def api_requests(sim, method=None):
    return sim.simulator.requests(method, "/v1/")


def token_requests(sim):
    return sim.simulator.requests("POST", "/oauth2/token")


# --- the happy path ---------------------------------------------------------------------------------------


def test_suspend_then_reactivate_changes_operator_state_with_headers(sim, gateway, sub):
    first_etag = sub["attributes"]["etag"]

    suspended = gateway.suspend_subscription(TENANT, sub["id"])

    assert suspended["status"] == "suspended"
    assert sim.simulator.get(TENANT, sub["id"])["status"] == "suspended"
    assert sim.simulator.get(TENANT, sub["id"])["suspensionReasons"]
    get, patch = api_requests(sim)
    assert (get.method, patch.method) == ("GET", "PATCH")
    assert patch.headers["If-Match"] == first_etag
    assert patch.body["status"] == "suspended" and patch.body["quantity"] == 25  # the full resource
    assert get.headers["MS-CorrelationId"] == patch.headers["MS-CorrelationId"]  # one logical operation
    assert get.headers["MS-RequestId"] != patch.headers["MS-RequestId"]
    assert patch.headers["Authorization"] == "[redacted]"  # the simulator never keeps the token
    assert patch.headers["Accept"] == "application/json"

    reactivated = gateway.reactivate_subscription(TENANT, sub["id"], correlation_id="corr-123")

    assert reactivated["status"] == "active"
    assert reactivated["attributes"]["etag"] == sim.simulator.get(TENANT, sub["id"])["attributes"]["etag"]
    assert sim.simulator.get(TENANT, sub["id"])["suspensionReasons"] == []
    assert {r.headers["MS-CorrelationId"] for r in api_requests(sim)[2:]} == {"corr-123"}
    assert len(token_requests(sim)) == 1  # the token is cached


def test_list_and_get_subscriptions_accept_any_case_of_status(sim, gateway, sub):
    sim.simulator.update_subscription(TENANT, sub["id"], status="Suspended")
    items = gateway.list_subscriptions(TENANT)
    assert [(s["id"], s["status"]) for s in items] == [(sub["id"], "suspended")]
    assert gateway.get_subscription(TENANT, sub["id"])["offerName"] == "Microsoft 365 E3"


def test_suspending_an_already_suspended_subscription_is_a_no_op(sim, gateway, sub):
    gateway.suspend_subscription(TENANT, sub["id"])
    again = gateway.suspend_subscription(TENANT, sub["id"])
    assert again["status"] == "suspended"
    assert [r.method for r in api_requests(sim)] == ["GET", "PATCH", "GET"]


# --- retries ----------------------------------------------------------------------------------------------


def test_429_is_retried_honouring_retry_after(sim, gateway, sleeps, sub):
    sim.simulator.queue_faults([{"status": 429, "retry_after": 3}])
    assert gateway.get_subscription(TENANT, sub["id"])["id"] == sub["id"]
    assert sleeps == [3.0]
    first, second = api_requests(sim)
    assert first.headers["MS-CorrelationId"] == second.headers["MS-CorrelationId"]
    assert first.headers["MS-RequestId"] != second.headers["MS-RequestId"]


def test_retry_after_is_capped(sim, sleeps, sub):
    gw = make_gateway(sim, sleeps, max_retry_after=5.0)
    sim.simulator.queue_faults([{"status": 503, "retry_after": 120}])
    gw.get_subscription(TENANT, sub["id"])
    assert sleeps == [5.0]


def test_500_is_retried_with_exponential_backoff(sim, gateway, sleeps, sub):
    sim.simulator.queue_faults([{"status": 500}, {"status": 502}])
    assert gateway.get_subscription(TENANT, sub["id"])["id"] == sub["id"]
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 0.55 and 1.0 <= sleeps[1] <= 1.1  # backoff * 2**n plus a little jitter


def test_retries_exhausted_raise_operator_unavailable(sim, gateway, sleeps, sub):
    sim.simulator.queue_faults([{"status": 503}] * 4)
    with pytest.raises(OperatorUnavailable) as caught:
        gateway.get_subscription(TENANT, sub["id"])
    assert len(api_requests(sim)) == 4 and len(sleeps) == 3
    assert caught.value.status == 503
    assert "4 attempts" in str(caught.value)
    assert len({r.headers["MS-CorrelationId"] for r in api_requests(sim)}) == 1
    assert caught.value.correlation_id == api_requests(sim)[0].headers["MS-CorrelationId"]


def test_a_timeout_is_retried(sim, sleeps, sub):
    gw = make_gateway(sim, sleeps, timeout=0.3)
    sim.simulator.queue_faults([{"delay": 1.0}])
    started = time.monotonic()
    assert gw.get_subscription(TENANT, sub["id"])["id"] == sub["id"]
    assert time.monotonic() - started < 1.0
    assert len(sleeps) == 1 and len(api_requests(sim)) == 2


def test_request_id_is_kept_after_a_timeout_and_renewed_after_an_answer(sim, sleeps, sub):
    # Partner Center's headers page: the same MS-RequestId again when a call timed out, a new one once the
    # operator answered (here a 503); MS-Contract-Version on every call.
    gw = make_gateway(sim, sleeps, timeout=0.3)
    sim.simulator.queue_faults([{"delay": 1.0}, {"status": 503}], methods=["PATCH"])
    gw.suspend_subscription(TENANT, sub["id"])
    assert sim.simulator.wait_idle()
    get, timed_out, retried, answered = api_requests(sim)
    assert timed_out.headers["MS-RequestId"] == retried.headers["MS-RequestId"]
    assert answered.headers["MS-RequestId"] != retried.headers["MS-RequestId"]
    assert get.headers["MS-RequestId"] != timed_out.headers["MS-RequestId"]
    assert {r.headers["MS-Contract-Version"] for r in api_requests(sim)} == {"v1"}
    assert timed_out.headers["Content-Type"] == "application/json" and "Content-Type" not in get.headers
    assert sim.simulator.get(TENANT, sub["id"])["status"] == "suspended"


def test_connection_refused_becomes_operator_unavailable(sim, sleeps):
    gw = make_gateway(sim, sleeps, max_attempts=2)
    sim.stop()
    with pytest.raises(OperatorUnavailable) as caught:
        gw.list_subscriptions(TENANT)
    assert "2 attempts" in str(caught.value) and len(sleeps) == 1


def test_patch_that_landed_before_a_5xx_is_recognised_on_retry(sim, gateway, sleeps, sub):
    # The operator applies the PATCH but the answer is lost; the retry's If-Match then no longer matches.
    sim.simulator.queue_faults([{"status": 500, "apply": True}], methods=["PATCH"])
    result = gateway.suspend_subscription(TENANT, sub["id"])
    assert result["status"] == "suspended"
    assert [r.method for r in api_requests(sim)] == ["GET", "PATCH", "PATCH", "GET"]


def test_patch_retried_after_a_timeout_succeeds(sim, sleeps, sub):
    gw = make_gateway(sim, sleeps, timeout=0.3)
    sim.simulator.queue_faults([{"delay": 1.0}], methods=["PATCH"])
    assert gw.suspend_subscription(TENANT, sub["id"])["status"] == "suspended"
    assert sim.simulator.get(TENANT, sub["id"])["status"] == "suspended"


# --- operator errors --------------------------------------------------------------------------------------


def test_etag_mismatch_raises_operator_conflict(sim, gateway, sub):
    stale = gateway.get_subscription(TENANT, sub["id"])
    sim.simulator.update_subscription(TENANT, sub["id"], quantity=30)  # someone changed it in the portal
    with pytest.raises(OperatorConflict) as caught:
        gateway.suspend_subscription(TENANT, sub["id"], resource=stale)
    assert caught.value.status == 412
    assert "changed at the operator" in str(caught.value) and "Re-read" in str(caught.value)
    assert sim.simulator.get(TENANT, sub["id"])["status"] == "active"


def test_stale_etag_alone_raises_operator_conflict(sim, gateway, sub):
    sim.simulator.update_subscription(TENANT, sub["id"], friendlyName="Renamed")
    with pytest.raises(OperatorConflict):
        gateway.suspend_subscription(TENANT, sub["id"], etag=sub["attributes"]["etag"])


def test_unknown_subscription_or_customer_raises_not_found(sim, gateway, sub):
    with pytest.raises(OperatorNotFound) as caught:
        gateway.get_subscription(TENANT, "00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404 and "SubscriptionNotFound" == caught.value.code
    with pytest.raises(OperatorNotFound):
        gateway.suspend_subscription("11111111-2222-3333-4444-555555555555", sub["id"])


def test_a_deleted_subscription_is_rejected_with_the_operators_message(sim, gateway, sub):
    sim.simulator.update_subscription(TENANT, sub["id"], status="deleted")
    stale = dict(gateway.get_subscription(TENANT, sub["id"]), status="active")
    with pytest.raises(OperatorRejected) as caught:
        gateway.suspend_subscription(TENANT, sub["id"], resource=stale)
    assert caught.value.status == 400
    assert "A deleted subscription cannot be changed" in str(caught.value)


# --- tokens -----------------------------------------------------------------------------------------------


def test_a_401_after_token_expiry_renews_once_and_succeeds(sim, gateway, sleeps, sub):
    gateway.get_subscription(TENANT, sub["id"])
    sim.simulator.expire_tokens()
    assert gateway.get_subscription(TENANT, sub["id"])["id"] == sub["id"]
    assert len(token_requests(sim)) == 2 and sleeps == []


def test_a_401_that_persists_after_renewal_raises_auth_error(sim, gateway, sub):
    sim.simulator.queue_faults([{"status": 401}, {"status": 401}])
    with pytest.raises(OperatorAuthError) as caught:
        gateway.get_subscription(TENANT, sub["id"])
    assert caught.value.status == 401
    assert len(token_requests(sim)) == 2


def test_token_answer_with_bom_and_string_expires_in_is_accepted(sim, gateway, sub):
    sim.simulator.bom = True
    raw = httpx.post(sim.token_url.format(tenant=PARTNER_TENANT),
                     data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y",
                           "resource": "r"})
    assert raw.content.startswith(b"\xef\xbb\xbf") and isinstance(raw.json()["expires_in"], str)
    assert gateway.get_subscription(TENANT, sub["id"])["id"] == sub["id"]


def test_token_is_renewed_five_minutes_before_expiry(sim, gateway, sub, monkeypatch):
    gateway.get_subscription(TENANT, sub["id"])
    offset = {"seconds": 3600 - 301}
    fake_time = types.SimpleNamespace(monotonic=lambda: time.monotonic() + offset["seconds"])
    monkeypatch.setattr(client_module, "time", fake_time)
    gateway.get_subscription(TENANT, sub["id"])
    assert len(token_requests(sim)) == 1
    offset["seconds"] = 3600 - 299
    gateway.get_subscription(TENANT, sub["id"])
    assert len(token_requests(sim)) == 2


def test_concurrent_calls_fetch_one_token(sim, gateway, sub):
    threads = [threading.Thread(target=gateway.get_subscription, args=(TENANT, sub["id"])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(token_requests(sim)) == 1 and len(api_requests(sim)) == 8


def test_wrong_secret_raises_auth_error(sleeps):
    with start_simulator(client_id="partnerdesk-app", client_secret="the-right-one") as handle:
        gw = make_gateway(handle, sleeps)
        with pytest.raises(OperatorAuthError) as caught:
            gw.list_subscriptions(TENANT)
    assert "invalid_client" in str(caught.value) and caught.value.status == 401
    assert sleeps == []


def test_missing_credentials_raise_auth_error(sim, sleeps):
    with pytest.raises(OperatorAuthError, match="not configured"):
        make_gateway(sim, sleeps, client_secret="").list_subscriptions(TENANT)


def test_secret_and_token_never_reach_messages_or_logs(sim, sleeps, sub, caplog):
    for name in (None, "httpx", "httpcore"):  # settings quiet httpx/httpcore; listen to them too
        caplog.set_level(logging.DEBUG, logger=name)
    messages = []
    gw = make_gateway(sim, sleeps, max_attempts=2)
    gw.suspend_subscription(TENANT, sub["id"])
    sim.simulator.queue_faults([{"status": 500}, {"status": 500}])
    sim.simulator.queue_faults([{"status": 401}, {"status": 401}])
    sim.simulator.queue_faults([{"status": 400, "body": {"description": f"echo {SECRET}"}}])
    for call in (
        lambda: gw.get_subscription(TENANT, sub["id"]),
        lambda: gw.get_subscription(TENANT, sub["id"]),
        lambda: gw.get_subscription(TENANT, sub["id"]),
        lambda: gw.get_subscription(TENANT, "missing"),
        lambda: gw.suspend_subscription(TENANT, sub["id"], etag="stale"),
    ):
        with pytest.raises(Exception) as caught:
            call()
        messages.append(str(caught.value))
    with start_simulator(client_secret="other") as handle:
        with pytest.raises(OperatorAuthError) as caught:
            make_gateway(handle, sleeps).list_subscriptions(TENANT)
        messages.append(str(caught.value))
    tokens = list(sim.simulator._tokens.issued)
    assert tokens
    haystack = "\n".join(messages) + "\n" + caplog.text + "\n" + repr(gw)
    for secret in [SECRET, *tokens]:
        assert secret not in haystack
    assert "Bearer " not in haystack
    assert "[redacted]" in messages[2]


# --- settings, helpers and the simulator itself -----------------------------------------------------------


def test_get_gateway_uses_settings(sim, sub, settings):
    settings.PARTNER_CENTER = {
        "BASE_URL": sim.url, "TOKEN_URL": sim.token_url, "PARTNER_TENANT_ID": PARTNER_TENANT,
        "CLIENT_ID": "app", "CLIENT_SECRET": SECRET, "RESOURCE": "https://partner.partnercenterapi.microsoftonline.cn",
        "TIMEOUT_SECONDS": 2.0, "MAX_ATTEMPTS": 2, "BACKOFF_SECONDS": 0.01, "MAX_RETRY_AFTER_SECONDS": 1.0,
    }
    gw = get_gateway()
    assert gw is get_gateway()
    assert gw.max_attempts == 2
    assert [s["id"] for s in gw.list_subscriptions(TENANT)] == [sub["id"]]


def test_parse_helpers():
    assert parse_json(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
    assert parse_json(b"") is None
    assert parse_retry_after("7") == 7.0
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after(email.utils.format_datetime(now + dt.timedelta(seconds=12)), now=now) == 12.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_as_http_date(sim, gateway, sleeps, sub):
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20), usegmt=True)
    sim.simulator.queue_faults([{"status": 429, "retry_after": when}])
    gateway.get_subscription(TENANT, sub["id"])
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 20


def test_simulator_control_endpoints(sim):
    with httpx.Client(base_url=sim.url) as http:
        created = http.post(f"/_sim/customers/{TENANT}/subscriptions", json={"quantity": 3, "billingCycle": "annual"})
        assert created.status_code == 201 and created.json()["quantity"] == 3
        assert created.json()["attributes"]["etag"] and created.json()["status"] == "active"
        assert http.post("/_sim/faults", json={"faults": [{"status": 500}], "methods": ["PATCH"]}).json() == {"queued": 1}
        state = http.get("/_sim/state").json()
        assert list(state["customers"][TENANT]) == [created.json()["id"]]
        assert state["pending_faults"][0]["methods"] == ["PATCH"]
        assert http.get(f"/v1/customers/{TENANT}/subscriptions").status_code == 401
        assert http.post("/_sim/expire-tokens").status_code == 200
        assert http.post("/_sim/reset").status_code == 200
        assert http.get("/_sim/state").json()["customers"] == {}


def test_simulator_patch_requires_if_match(sim, gateway, sub):
    gateway.get_subscription(TENANT, sub["id"])  # obtains a token
    token = next(iter(sim.simulator._tokens.issued))
    answer = httpx.patch(f"{sim.url}/v1/customers/{TENANT}/subscriptions/{sub['id']}",
                         json=dict(sub, status="suspended"), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 428 and answer.json()["errorName"] == "PreconditionRequired"


def test_simulator_state_file_survives_a_restart(tmp_path):
    path = tmp_path / "state.json"
    first = OperatorSimulator(state_file=str(path))
    created = first.add_subscription(TENANT, friendlyName="Kept")
    second = OperatorSimulator(state_file=str(path))
    assert second.get(TENANT, created["id"])["friendlyName"] == "Kept"
