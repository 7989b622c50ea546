"""Group-bot webhooks against a real HTTP server on 127.0.0.1 that plays WeCom, DingTalk and Feishu.

The server checks each signature itself, the way the services document it, and answers as they do:
HTTP 200 with an error code in the JSON when it refuses.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from partnerdesk.support import chat_bots
from partnerdesk.support.chat_bots import BotTarget, allowed_now, dingtalk_sign, feishu_sign, post_to_bot

WECOM_KEY = "693a91f6-7aaa-4bc4-97a0-0ec2c1f5a5aa"
DING_TOKEN = "ff6cd723bdb4455fe18a0e4aba30dbeff007f5a1"
DING_SECRET = "SEC19dd84be8c7f3cf71761974f1ed3ef77c1451906ae8ba18acf56103ee"
FEISHU_HOOK = "2b47757342ff-761b-33b9-2272-125e5090"
FEISHU_SECRET = "qNnNJ4dkwQG3VbpxmyZ8Pc"


class BotServer(ThreadingHTTPServer):
    """Records every request and answers from a per-path script, or with the service's "ok"."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), BotHandler)
        self.requests: list[dict] = []
        self.script: dict[str, deque] = defaultdict(deque)  # path -> (status, body, headers) to answer next
        self.secrets: dict[str, str] = {}  # path -> the secret its bot was configured with

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def count(self, path: str) -> int:
        return sum(r["path"] == path for r in self.requests)


def _expected_dingtalk_sign(timestamp: str, secret: str) -> str:
    """Recomputed here from DingTalk's documentation, not with the code under test (unquoted form)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _expected_feishu_sign(timestamp: str, secret: str) -> str:
    """Feishu's: the string "timestamp\\nsecret" is the HMAC key, the message is empty."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", digestmod=hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class BotHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output quiet
        pass

    def _send(self, status: int, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        query = parse_qs(parts.query)
        record = {"path": parts.path, "query": query, "raw_query": parts.query,
                  "content_type": self.headers.get("Content-Type"), "body": json.loads(raw.decode("utf-8"))}
        server: BotServer = self.server
        server.requests.append(record)
        if server.script[parts.path]:
            self._send(*server.script[parts.path].popleft())
            return
        if parts.path.startswith("/cgi-bin/webhook/send"):
            if not query.get("key"):
                return self._send(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
            return self._send(200, {"errcode": 0, "errmsg": "ok"})
        if parts.path.startswith("/robot/send"):
            secret = server.secrets.get(parts.path)
            if secret:
                timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
                fresh = timestamp.isdigit() and abs(int(timestamp) / 1000 - time.time()) < 3600
                if not fresh or sign != _expected_dingtalk_sign(timestamp, secret):
                    return self._send(200, {"errcode": 310000, "errmsg": "sign not match"})
                record["verified"] = True
            return self._send(200, {"errcode": 0, "errmsg": "ok"})
        if parts.path.startswith("/open-apis/bot/v2/hook/"):
            secret, body = server.secrets.get(parts.path), record["body"]
            if secret:
                timestamp, sign = str(body.get("timestamp", "")), body.get("sign", "")
                fresh = timestamp.isdigit() and abs(int(timestamp) - time.time()) < 3600
                if not fresh or sign != _expected_feishu_sign(timestamp, secret):
                    return self._send(200, {"code": 19021, "data": {},
                                            "msg": "sign match fail or timestamp is not within one hour from current time"})
                record["verified"] = True
            return self._send(200, {"code": 0, "data": {}, "msg": "success"})
        self._send(404, {"error": "no such bot"})


@pytest.fixture
def bots():
    server = BotServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    chat_bots.reset_limits()
    yield server
    server.shutdown()
    server.server_close()
    chat_bots.reset_limits()


def wecom(server, key=WECOM_KEY) -> BotTarget:
    return BotTarget("wecom", f"{server.base}/cgi-bin/webhook/send?key={key}")


def dingtalk(server, secret="", token=DING_TOKEN, path="/robot/send") -> BotTarget:
    if secret:
        server.secrets[path] = secret
    return BotTarget("dingtalk", f"{server.base}{path}?access_token={token}", secret)


def feishu(server, secret="", hook=FEISHU_HOOK) -> BotTarget:
    path = f"/open-apis/bot/v2/hook/{hook}"
    if secret:
        server.secrets[path] = secret
    return BotTarget("feishu", f"{server.base}{path}", secret)


TEXT = "SLA 即将超时: [#PD-123] 发票 INV-2026-0042 的问题, 剩余 30 分钟 (assignee: 李雷)"


# --- sending and signing ----------------------------------------------------------------------------------


def test_wecom_text_message(bots):
    result = post_to_bot(wecom(bots), TEXT)
    assert result == chat_bots.BotResult(True, None, "")
    [request] = bots.requests
    assert request["path"] == "/cgi-bin/webhook/send" and request["query"]["key"] == [WECOM_KEY]
    assert request["content_type"].startswith("application/json")
    assert request["body"] == {"msgtype": "text", "text": {"content": TEXT}}


def test_wecom_text_is_cut_to_2048_bytes(bots):
    assert post_to_bot(wecom(bots), "超" * 1000).ok  # 3,000 bytes of UTF-8
    content = bots.requests[0]["body"]["text"]["content"]
    assert len(content.encode()) <= 2048 and content.startswith("超" * 600) and content.endswith("…")


def test_dingtalk_signed_message(bots):
    before = int(time.time() * 1000)
    result = post_to_bot(dingtalk(bots, DING_SECRET), TEXT)
    assert result.ok, result.error
    [request] = bots.requests
    assert request.get("verified") is True
    assert request["body"] == {"msgtype": "text", "text": {"content": TEXT}}
    timestamp = request["query"]["timestamp"][0]
    assert before <= int(timestamp) <= int(time.time() * 1000)  # milliseconds
    assert request["query"]["access_token"] == [DING_TOKEN]
    # The sign travels URL-encoded (base64 has + / =), and the raw query keeps it so.
    expected = _expected_dingtalk_sign(timestamp, DING_SECRET)
    assert request["query"]["sign"] == [expected]
    assert f"sign={dingtalk_sign(DING_SECRET, int(timestamp))}" in request["raw_query"]
    assert "+" not in request["raw_query"].split("sign=")[1] and "/" not in request["raw_query"].split("sign=")[1]


def test_dingtalk_signing_is_the_documented_one():
    # Fixed inputs, so the encoding is checked byte for byte: quote_plus of base64.
    expected = _expected_dingtalk_sign("1577262236757", "this is secret")
    assert dingtalk_sign("this is secret", 1577262236757) == expected.replace("+", "%2B").replace("/", "%2F") \
        .replace("=", "%3D")
    assert feishu_sign("demo", 1599360473) == _expected_feishu_sign("1599360473", "demo")


def test_dingtalk_wrong_secret_is_refused(bots):
    target = dingtalk(bots, DING_SECRET)
    target.secret = "SEC-not-the-one-configured"
    result = post_to_bot(target, TEXT)
    assert not result.ok and result.retry_after is None
    assert "310000" in result.error and "SEC-not-the-one" not in result.error


def test_dingtalk_without_a_secret_is_not_signed(bots):
    assert post_to_bot(dingtalk(bots), TEXT).ok
    assert set(bots.requests[0]["query"]) == {"access_token"}


def test_feishu_signed_message(bots):
    before = int(time.time())
    result = post_to_bot(feishu(bots, FEISHU_SECRET), TEXT)
    assert result.ok, result.error
    [request] = bots.requests
    assert request.get("verified") is True
    body = request["body"]
    assert body["msg_type"] == "text" and body["content"] == {"text": TEXT}
    assert before <= int(body["timestamp"]) <= int(time.time())  # seconds
    assert body["sign"] == _expected_feishu_sign(body["timestamp"], FEISHU_SECRET)


def test_feishu_wrong_secret_and_unsigned(bots):
    target = feishu(bots, FEISHU_SECRET)
    target.secret = "wrong"
    result = post_to_bot(target, TEXT)
    assert not result.ok and "19021" in result.error and result.retry_after is None
    assert post_to_bot(feishu(bots, hook="other-hook-0000"), TEXT).ok
    assert set(bots.requests[-1]["body"]) == {"msg_type", "content"}


def test_feishu_old_style_answers(bots):
    target = feishu(bots)
    path = urlsplit(target.url).path
    bots.script[path].append((200, {"StatusCode": 0, "StatusMessage": "success", "Extra": None}))
    assert post_to_bot(target, TEXT).ok


# --- refusals ---------------------------------------------------------------------------------------------


def test_refusals_are_not_ok(bots):
    target = wecom(bots)
    bots.script["/cgi-bin/webhook/send"].extend([
        (200, {"errcode": 93000, "errmsg": "invalid webhook url"}),
        (500, b"<html>Internal Server Error</html>"),
        (200, b"not json"),
    ])
    first, second, third = (post_to_bot(target, TEXT) for _ in range(3))
    assert not first.ok and first.retry_after is None and "93000" in first.error
    assert not second.ok and second.error == "HTTP 500"
    assert not third.ok and "JSON" in third.error
    assert post_to_bot(target, TEXT).ok  # a refusal that is not a rate limit holds nothing back


@pytest.mark.parametrize("kind, code, wait", [
    ("wecom", 45009, 60), ("dingtalk", 130101, 600), ("dingtalk", 410100, 600), ("feishu", 9499, 60),
    ("feishu", 11232, 60),
])
def test_rate_limit_codes_give_retry_after(bots, kind, code, wait):
    target = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu}[kind](bots)
    key = "errcode" if kind != "feishu" else "code"
    bots.script[urlsplit(target.url).path].append((200, {key: code, "errmsg" if kind != "feishu" else "msg": "too fast"}))
    now = dt.datetime.now(dt.UTC)
    result = post_to_bot(target, TEXT, now=now)
    assert not result.ok and result.retry_after == wait and str(code) in result.error
    # This process now holds the bot back until the service's block is over.
    assert not allowed_now(target.url, kind, now=now + dt.timedelta(seconds=wait - 1))
    held = post_to_bot(target, TEXT, now=now + dt.timedelta(seconds=wait - 1))
    assert not held.ok and held.retry_after == pytest.approx(1)
    assert len(bots.requests) == 1  # the held message never left
    assert allowed_now(target.url, kind, now=now + dt.timedelta(seconds=wait))


def test_http_429_uses_the_services_reset_header(bots):
    target = feishu(bots)
    bots.script[urlsplit(target.url).path].append(
        (429, {"code": 99991400, "msg": "request trigger frequency limit"}, {"x-ogw-ratelimit-reset": "7"}))
    result = post_to_bot(target, TEXT)
    assert not result.ok and result.retry_after == 7


# --- the local rate limiter -------------------------------------------------------------------------------


def test_wecom_and_dingtalk_twenty_a_minute(bots):
    base = dt.datetime.now(dt.UTC)
    for target in (wecom(bots), dingtalk(bots)):
        for second in range(20):
            assert post_to_bot(target, TEXT, now=base + dt.timedelta(seconds=second)).ok
        assert not allowed_now(target.url, target.kind, now=base + dt.timedelta(seconds=30))
        refused = post_to_bot(target, TEXT, now=base + dt.timedelta(seconds=30))
        assert not refused.ok and refused.retry_after == pytest.approx(30)  # the first send ages out at +60 s
        assert allowed_now(target.url, target.kind, now=base + dt.timedelta(seconds=60))
        assert post_to_bot(target, TEXT, now=base + dt.timedelta(seconds=60)).ok
    assert bots.count("/cgi-bin/webhook/send") == 21 and bots.count("/robot/send") == 21


def test_another_bot_has_its_own_window(bots):
    base = dt.datetime.now(dt.UTC)
    for _ in range(20):
        assert post_to_bot(wecom(bots), TEXT, now=base).ok
    assert not post_to_bot(wecom(bots), TEXT, now=base).ok
    assert post_to_bot(wecom(bots, key="another-bot-key"), TEXT, now=base).ok


def test_feishu_five_a_second_and_a_hundred_a_minute(bots):
    target, base = feishu(bots), dt.datetime.now(dt.UTC)
    for _ in range(5):
        assert post_to_bot(target, TEXT, now=base).ok
    sixth = post_to_bot(target, TEXT, now=base)
    assert not sixth.ok and sixth.retry_after == pytest.approx(1)
    for second in range(1, 20):  # 5 more each second: 100 in all by +19 s
        for _ in range(5):
            assert post_to_bot(target, TEXT, now=base + dt.timedelta(seconds=second)).ok
    over = post_to_bot(target, TEXT, now=base + dt.timedelta(seconds=30))
    assert not over.ok and over.retry_after == pytest.approx(30)
    assert len(bots.requests) == 100


# --- secrets stay secret ----------------------------------------------------------------------------------


def test_no_key_or_secret_in_logs_or_errors(bots, caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    unreachable = BotTarget("dingtalk", f"http://127.0.0.1:{closed_port}/robot/send?access_token={DING_TOKEN}",
                            DING_SECRET)
    results = [post_to_bot(unreachable, TEXT, timeout=2)]
    # A service that echoes the request back in its error message.
    target = dingtalk(bots, DING_SECRET)
    bots.script["/robot/send"].append((200, {"errcode": 300001, "errmsg": f"token {DING_TOKEN} invalid"}))
    results.append(post_to_bot(target, TEXT))
    target_w = wecom(bots)
    bots.script["/cgi-bin/webhook/send"].append((200, {"errcode": 45009, "errmsg": f"key={WECOM_KEY} too fast"}))
    results.append(post_to_bot(target_w, TEXT))
    feishu_target = feishu(bots, FEISHU_SECRET)
    bots.script[urlsplit(feishu_target.url).path].append((200, {"code": 9499, "msg": f"hook {FEISHU_HOOK}"}))
    results.append(post_to_bot(feishu_target, TEXT))
    assert all(not r.ok and r.error for r in results)
    assert "ConnectionRefused" in results[0].error or "URLError" in results[0].error
    assert "300001" in results[1].error and "45009" in results[2].error
    told = caplog.text + " ".join(r.error for r in results)
    assert "127.0.0.1" in caplog.text  # the logs say which host, so an operator can tell the bots apart
    for secret in (DING_TOKEN, DING_SECRET, WECOM_KEY, FEISHU_HOOK, FEISHU_SECRET):
        assert secret not in told


def test_bad_targets_are_refused_without_sending(bots):
    assert "http" in post_to_bot(BotTarget("wecom", "ftp://example.cn/x?key=1"), TEXT).error
    assert not post_to_bot(BotTarget("slack", f"{bots.base}/x"), TEXT).ok  # type: ignore[arg-type]
    assert bots.requests == []
