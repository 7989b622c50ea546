"""Text messages to a team's group bot: WeCom (企业微信), DingTalk (钉钉) or Feishu/Lark (飞书), by webhook.

Each service answers HTTP 200 with an error code in its JSON when it refuses; rate-limit codes come back as
not ok with `retry_after`. Sends are also held back here, before the service would refuse them, by a
sliding window per webhook URL. That window lives in this process: several workers each keep their own, so
together they can exceed a bot's limit, and the service's own refusal (with retry_after) is the backstop.

The webhook URL holds the bot's key (WeCom `key=`, DingTalk `access_token=`, the last path segment for
Feishu) and must be treated like the secret: neither is ever logged nor put into an error.
"""

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from http.client import HTTPException
from typing import Literal
from urllib.error import HTTPError, URLError
from urllib.parse import quote_plus, urlsplit
from urllib.request import Request, urlopen

logger = logging.getLogger(__name__)

Kind = Literal["wecom", "dingtalk", "feishu"]
KINDS = ("wecom", "dingtalk", "feishu")

# Sends allowed per window, as (count, seconds):
# - WeCom group robot: "每个机器人发送的消息不能超过20条/分钟" (developer.work.weixin.qq.com/document/path/91770);
#   a per-minute block lasts 60 s (document/path/90454). Error 45009: api freq out of limit.
# - DingTalk custom robot: "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟"
#   (open.dingtalk.com/document/group/custom-robot-access). Errors 130101 (send too fast) and 410100.
# - Feishu custom bot: "单租户单机器人 100 次/分钟，5 次/秒" (open.feishu.cn/document/client-docs/bot-v3/
#   add-custom-bot); 11232 when throttled, 9499 "Too Many Request".
LIMITS: dict[str, tuple[tuple[int, float], ...]] = {
    "wecom": ((20, 60.0),),
    "dingtalk": ((20, 60.0),),
    "feishu": ((100, 60.0), (5, 1.0)),
}
RATE_LIMIT_CODES = {"wecom": {45009}, "dingtalk": {130101, 410100}, "feishu": {9499, 11232}}
BLOCKED_FOR = {"wecom": 60.0, "dingtalk": 600.0, "feishu": 60.0}  # how long a service's refusal holds
# WeCom text content is at most 2048 bytes; a Feishu request body at most 20 KB; DingTalk publishes no figure.
MAX_TEXT_BYTES = {"wecom": 2048, "dingtalk": 18_000, "feishu": 18_000}


@dataclass
class BotTarget:
    """One team's group bot: which service, its webhook URL and, if signing is on, its secret."""

    kind: Kind
    url: str
    secret: str = ""


@dataclass(frozen=True)
class BotResult:
    """What became of one message: ok, or why not, and when to try again after a rate limit."""

    ok: bool
    retry_after: float | None = None
    error: str = ""


# --- the per-process rate limiter -------------------------------------------------------------------------


class _Window:
    def __init__(self):
        self.sent: deque[float] = deque()
        self.blocked_until = 0.0


_windows: dict[str, _Window] = {}
_lock = threading.Lock()


def _epoch(now: datetime | None) -> float:
    return now.timestamp() if now is not None else time.time()


def _wait(window: _Window, kind: str, at: float) -> float:
    """Seconds until one more send fits the service's limits (0 when it fits now)."""
    longest = max(seconds for _, seconds in LIMITS[kind])
    while window.sent and window.sent[0] <= at - longest:
        window.sent.popleft()
    wait = max(0.0, window.blocked_until - at)
    for count, seconds in LIMITS[kind]:
        recent = [t for t in window.sent if t > at - seconds]
        if len(recent) >= count:
            wait = max(wait, recent[-count] + seconds - at)
    return wait


def allowed_now(url: str, kind: str, now: datetime | None = None) -> bool:
    """True if this process may send to the bot at url now without passing the service's limits."""
    with _lock:
        window = _windows.get(url)
        return window is None or _wait(window, kind, _epoch(now)) == 0


def _reserve(url: str, kind: str, at: float) -> float:
    """Count a send now and return 0, or return the seconds to wait without counting it."""
    with _lock:
        window = _windows.setdefault(url, _Window())
        wait = _wait(window, kind, at)
        if wait == 0:
            window.sent.append(at)
        return wait


def _block(url: str, at: float, seconds: float) -> None:
    with _lock:
        window = _windows.setdefault(url, _Window())
        window.blocked_until = max(window.blocked_until, at + seconds)


def reset_limits() -> None:
    """Forget every window and block (tests; a restart does the same)."""
    with _lock:
        _windows.clear()


# --- signing and bodies -----------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: HMAC-SHA256 keyed with the secret over "timestamp\\nsecret", base64, URL-encoded.

    (open.dingtalk.com/document/group/custom-robot-access, 加签: the timestamp is in milliseconds; the
    official Python sample is quote_plus(b64encode(hmac.new(secret, f"{timestamp}\\n{secret}", sha256))),
    appended to the webhook as &timestamp=...&sign=...)
    """
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message, base64.

    (open.feishu.cn custom bot guide, 签名校验: the timestamp is in seconds and must be within an hour.)
    """
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _clip(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def _request(target: BotTarget, text: str, at: float) -> tuple[str, dict]:
    """The URL to post to and the JSON body, signed when the target has a secret."""
    text = _clip(text, MAX_TEXT_BYTES[target.kind])
    if target.kind == "feishu":
        body: dict = {"msg_type": "text", "content": {"text": text}}
        if target.secret:
            timestamp = int(at)
            body = {"timestamp": str(timestamp), "sign": feishu_sign(target.secret, timestamp), **body}
        return target.url, body
    url = target.url
    if target.kind == "dingtalk" and target.secret:
        timestamp = int(at * 1000)
        joiner = "&" if urlsplit(url).query else "?"
        url = f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(target.secret, timestamp)}"
    return url, {"msgtype": "text", "text": {"content": text}}


# --- sending ----------------------------------------------------------------------------------------------


def _where(target: BotTarget) -> str:
    """How a bot is named in logs and errors: the service and host, never the key in the URL."""
    return f"{target.kind} bot at {urlsplit(target.url).hostname or '?'}"


def _scrub(message: str, target: BotTarget, url: str) -> str:
    """An error text with the webhook URL, its key and the secret taken out, whatever echoed them."""
    parts = urlsplit(url)
    secrets = [url, target.url, parts.path, parts.query, target.secret]
    secrets += [value for pair in parts.query.split("&") for value in pair.split("=")[1:]]
    secrets += [segment for segment in parts.path.split("/") if len(segment) >= 8]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message[:500]


def _header_seconds(headers: Message) -> float | None:
    for name in ("Retry-After", "x-ogw-ratelimit-reset"):  # Feishu's gateway says when its limit resets
        try:
            return max(0.0, float(headers.get(name, "")))
        except ValueError:
            continue
    return None


def _post(url: str, body: dict, timeout: float) -> tuple[int, Message, bytes]:
    """POST JSON and return (status, headers, body) whatever the status. urllib, unlike httpx, logs no URL."""
    request = Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                      headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read(1_000_000)
    except HTTPError as exc:
        with exc:
            return exc.code, exc.headers, exc.read(1_000_000)


def _answer(target: BotTarget, status: int, headers: Message, content: bytes, at: float) -> BotResult:
    """Read a service's answer: its HTTP status, then the error code in its JSON."""
    if status == 429:
        wait = _header_seconds(headers) or BLOCKED_FOR[target.kind]
        _block(target.url, at, wait)
        return BotResult(False, wait, "HTTP 429: rate limited")
    if status != 200:
        return BotResult(False, None, f"HTTP {status}")
    try:
        data = json.loads(content)
    except ValueError:
        return BotResult(False, None, "the answer is not JSON")
    if not isinstance(data, dict):
        return BotResult(False, None, "the answer is not a JSON object")
    if target.kind == "feishu":  # the current API says code/msg; older bots answer StatusCode/StatusMessage
        code, message = data.get("code", data.get("StatusCode", 0)), data.get("msg", data.get("StatusMessage", ""))
    else:
        code, message = data.get("errcode", 0), data.get("errmsg", "")
    if code in (0, None):
        return BotResult(True)
    if code in RATE_LIMIT_CODES[target.kind]:
        wait = _header_seconds(headers) or BLOCKED_FOR[target.kind]
        _block(target.url, at, wait)
        return BotResult(False, wait, f"rate limited ({code}): {message}")
    return BotResult(False, None, f"refused ({code}): {message}")


def post_to_bot(target: BotTarget, text: str, *, now: datetime | None = None, timeout: float = 10) -> BotResult:
    """Send one text message to a group bot; never raises for what the network or the service does."""
    if target.kind not in KINDS:
        return BotResult(False, None, f"unknown bot kind {target.kind!r}")
    if urlsplit(target.url).scheme not in ("http", "https") or not urlsplit(target.url).hostname:
        return BotResult(False, None, "the webhook is not an http(s) URL")
    at = _epoch(now)
    wait = _reserve(target.url, target.kind, at)
    if wait:
        logger.info("%s: held back for %.1f s by its rate limit", _where(target), wait)
        return BotResult(False, wait, "rate limited here before sending")
    url, body = _request(target, text, at)
    try:
        result = _answer(target, *_post(url, body, timeout), at)
    except (URLError, OSError, HTTPException, ValueError) as exc:  # refused, unreachable, timed out, a malformed URL
        result = BotResult(False, None, f"{type(exc).__name__}: {exc}")
    result = BotResult(result.ok, result.retry_after, _scrub(result.error, target, url))
    if not result.ok:
        logger.warning("%s: %s", _where(target), result.error)
    return result
