"""The operator gateway: the one place PartnerDesk talks to the operator's Partner Center REST API."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

Resource = dict[str, Any]

# Renew the token this long before the operator says it expires, so a request never races the expiry.
TOKEN_RENEW_MARGIN_SECONDS = 300.0
# Used when the token answer has no usable expires_in; Entra tokens last about an hour.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3599.0
# Partner Center REST headers: MS-Contract-Version is required on every call; the application name is optional
# and helps the operator's support find our calls.
CONTRACT_VERSION = "v1"
APPLICATION_NAME = "PartnerDesk"


# --- errors -----------------------------------------------------------------------------------------------

# The 4xx answers that may succeed when asked again (credentials renewed, a timeout, a changed etag, the rate limit).
TEMPORARY_REFUSALS = frozenset({401, 408, 409, 412, 429})


class OperatorError(Exception):
    """The operator call failed; `message` is safe to show and to log (it never holds secrets). `detail` is the
    technical part (what was asked, what the operator answered), which PartnerDesk quotes in its own sentence."""

    default_code = "operator_error"
    # Whether asking the same again can never succeed: the operator would give the same answer (see
    # OperatorNotFound, OperatorRejected). Callers that retry in the background give up on these.
    permanent = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        correlation_id: str | None = None,
        maybe_applied: bool = False,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.detail = detail or message
        self.status = status
        self.code = code or self.default_code
        self.request_id = request_id
        self.correlation_id = correlation_id
        # True when an earlier attempt of a write may have reached the operator before failing.
        self.maybe_applied = maybe_applied


class OperatorUnavailable(OperatorError):
    """The operator did not answer usefully (429, 5xx, timeouts, connection errors) after every retry."""

    default_code = "operator_unavailable"


class OperatorConflict(OperatorError):
    """The resource changed at the operator since it was read (409 / 412, etag mismatch)."""

    default_code = "operator_conflict"


class OperatorNotFound(OperatorError):
    """The operator does not know the customer or subscription (404)."""

    default_code = "operator_not_found"
    permanent = True


class OperatorAuthError(OperatorError):
    """No token could be obtained, or the operator still answered 401 after one renewal."""

    default_code = "operator_auth"


class OperatorRejected(OperatorError):
    """The operator refused the request (a 4xx other than 401/404/409/412)."""

    default_code = "operator_rejected"

    @property
    def permanent(self) -> bool:
        # The request itself is refused, except for a timeout of it (408): that one is worth another try.
        return self.status not in TEMPORARY_REFUSALS


class _Transient(Exception):
    """Internal: a failure worth retrying; `ambiguous` when the request may have been applied."""

    def __init__(self, description: str, *, ambiguous: bool, retry_after: float | None = None,
                 status: int | None = None):
        super().__init__(description)
        self.description = description
        self.ambiguous = ambiguous
        self.retry_after = retry_after
        self.status = status


# --- helpers ----------------------------------------------------------------------------------------------


def parse_json(content: bytes) -> Any:
    """Parse a JSON body, tolerating a leading UTF-8 byte-order mark; None for an empty body."""
    text = content.decode("utf-8-sig").strip()
    return json.loads(text) if text else None


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _error_details(body: Any) -> tuple[str | None, str | None]:
    """(code, description) from Partner Center, Entra or Graph-style error bodies."""
    if not isinstance(body, Mapping):
        return None, None
    inner = body.get("error")
    if isinstance(inner, Mapping):  # {"error": {"code": ..., "message": ...}}
        code, text = inner.get("code"), inner.get("message") or inner.get("description")
    else:
        code = body.get("errorName") or body.get("code") or inner
        text = body.get("description") or body.get("message") or body.get("error_description")
    return (str(code) if code not in (None, "") else None), (str(text).strip() if text else None)


def _normalise(resource: Any) -> Any:
    """Lower-case the status fields so callers can compare them directly."""
    if isinstance(resource, dict) and isinstance(resource.get("status"), str):
        resource["status"] = resource["status"].strip().lower()
    return resource


@dataclass
class _Token:
    value: str
    renew_at: float  # time.monotonic() after which the token must be renewed


@dataclass
class _Answer:
    status: int
    body: Any
    headers: httpx.Headers
    request_id: str
    maybe_applied: bool


# --- the gateway ------------------------------------------------------------------------------------------


class OperatorGateway:
    """A thread-safe client for the operator's Partner Center REST API (app-only authentication)."""

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        resource: str,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.resource = resource
        self.timeout = timeout
        self.max_attempts = max(1, int(max_attempts))
        self.backoff = max(0.0, backoff)
        self.max_retry_after = max(0.0, max_retry_after)
        self._sleep = sleep or time.sleep
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self._token: _Token | None = None
        self._token_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<OperatorGateway {self.base_url} tenant={self.tenant_id} client={self.client_id}>"

    def close(self) -> None:
        """Close the underlying HTTP connections."""
        self._http.close()

    def __enter__(self) -> OperatorGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- public operations ---------------------------------------------------------------------------

    def list_subscriptions(self, tenant_id: str, *, correlation_id: str | None = None) -> list[Resource]:
        """All subscriptions of a customer, as Partner Center resources."""
        answer = self._request("GET", self._subscriptions_path(tenant_id), correlation_id=correlation_id)
        body = answer.body
        items = body.get("items") if isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise OperatorError("The operator's subscription list was not in the expected shape.",
                                status=answer.status, code="invalid_response", request_id=answer.request_id,
                                correlation_id=correlation_id)
        return [_normalise(item) for item in items if isinstance(item, dict)]

    def get_subscription(self, tenant_id: str, subscription_id: str, *,
                         correlation_id: str | None = None) -> Resource:
        """One subscription as a Partner Center resource (attributes.etag filled from the ETag header if absent)."""
        answer = self._request("GET", self._subscription_path(tenant_id, subscription_id),
                               correlation_id=correlation_id)
        return self._resource_from(answer, correlation_id)

    def suspend_subscription(self, tenant_id: str, subscription_id: str, *, correlation_id: str | None = None,
                             resource: Resource | None = None, etag: str | None = None) -> Resource:
        """Suspend a subscription at the operator and return the updated resource."""
        return self._set_status(tenant_id, subscription_id, "suspended", correlation_id=correlation_id,
                                resource=resource, etag=etag)

    def reactivate_subscription(self, tenant_id: str, subscription_id: str, *, correlation_id: str | None = None,
                                resource: Resource | None = None, etag: str | None = None) -> Resource:
        """Reactivate a suspended subscription at the operator and return the updated resource."""
        return self._set_status(tenant_id, subscription_id, "active", correlation_id=correlation_id,
                                resource=resource, etag=etag)

    # --- service requests (Partner Center's service-request resource) -------------------------------

    def create_service_request(self, body: Resource, *, agent_locale: str, request_id: str,
                               correlation_id: str | None = None) -> Resource:
        """POST a new service request; `request_id` goes out as MS-RequestId on every attempt, so a retried
        create is recognised by the operator instead of made twice."""
        path = f"/v1/servicerequests/{quote(agent_locale, safe='')}"
        answer = self._request("POST", path, correlation_id=correlation_id, json_body=body, request_id=request_id)
        return self._service_request_from(answer, correlation_id)

    def get_service_request(self, service_request_id: str, *, correlation_id: str | None = None) -> Resource:
        """One service request as a Partner Center resource."""
        answer = self._request("GET", self._service_request_path(service_request_id), correlation_id=correlation_id)
        return self._service_request_from(answer, correlation_id)

    def update_service_request(self, service_request_id: str, changes: Resource, *, request_id: str | None = None,
                               correlation_id: str | None = None) -> Resource:
        """PATCH a service request with only the fields to change (e.g. NewNote) and return the updated one."""
        answer = self._request("PATCH", self._service_request_path(service_request_id), correlation_id=correlation_id,
                               json_body=changes, request_id=request_id)
        return self._service_request_from(answer, correlation_id)

    def list_service_requests(self, *, correlation_id: str | None = None) -> list[Resource]:
        """The partner's service requests."""
        answer = self._request("GET", "/v1/servicerequests", correlation_id=correlation_id)
        body = answer.body
        items = body.get("items") if isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise OperatorError("The operator's service request list was not in the expected shape.",
                                status=answer.status, code="invalid_response", request_id=answer.request_id,
                                correlation_id=correlation_id)
        return [item for item in items if isinstance(item, dict)]

    def _service_request_path(self, service_request_id: str) -> str:
        return f"/v1/servicerequests/{quote(str(service_request_id), safe='')}"

    def _service_request_from(self, answer: _Answer, correlation_id: str | None) -> Resource:
        if not isinstance(answer.body, dict):
            raise OperatorError("The operator's answer was not a service request resource.", status=answer.status,
                                code="invalid_response", request_id=answer.request_id,
                                correlation_id=correlation_id)
        return answer.body

    # --- status changes ------------------------------------------------------------------------------

    def _set_status(self, tenant_id: str, subscription_id: str, target: str, *, correlation_id: str | None,
                    resource: Resource | None, etag: str | None) -> Resource:
        """PATCH the full resource with a new status under If-Match.

        Without `resource`/`etag` the current resource is read first, and a subscription already in the
        target status is returned unchanged. With them, the PATCH uses that etag, so a change made at the
        operator since the caller read it surfaces as OperatorConflict.
        """
        correlation_id = correlation_id or str(uuid.uuid4())
        caller_pinned = resource is not None or etag is not None
        if resource is None:
            resource = self.get_subscription(tenant_id, subscription_id, correlation_id=correlation_id)
            if not caller_pinned and resource.get("status") == target:
                logger.info("Subscription %s is already %s at the operator; nothing to do (correlation %s)",
                            subscription_id, target, correlation_id)
                return resource
        if etag is None:
            etag = (resource.get("attributes") or {}).get("etag")
        if not etag:
            raise OperatorError(f"Subscription {subscription_id} has no etag; re-read it from the operator.",
                                code="missing_etag", correlation_id=correlation_id)
        body = dict(resource)
        body["status"] = target
        path = self._subscription_path(tenant_id, subscription_id)
        try:
            answer = self._request("PATCH", path, correlation_id=correlation_id, json_body=body,
                                   headers={"If-Match": etag})
        except OperatorConflict as exc:
            if not exc.maybe_applied:
                raise
            # An earlier attempt timed out or failed after it may have landed, which changed the etag:
            # if the operator now shows the status we asked for, that attempt succeeded.
            current = self.get_subscription(tenant_id, subscription_id, correlation_id=correlation_id)
            if current.get("status") != target:
                raise
            logger.info("Subscription %s: an earlier attempt already set %s (correlation %s)",
                        subscription_id, target, correlation_id)
            return current
        updated = self._resource_from(answer, correlation_id)
        logger.info("Subscription %s set to %s at the operator (correlation %s)", subscription_id,
                    updated.get("status"), correlation_id)
        return updated

    # --- plumbing ------------------------------------------------------------------------------------

    def _subscriptions_path(self, tenant_id: str) -> str:
        return f"/v1/customers/{quote(str(tenant_id), safe='')}/subscriptions"

    def _subscription_path(self, tenant_id: str, subscription_id: str) -> str:
        return f"{self._subscriptions_path(tenant_id)}/{quote(str(subscription_id), safe='')}"

    def _resource_from(self, answer: _Answer, correlation_id: str | None) -> Resource:
        if not isinstance(answer.body, dict):
            raise OperatorError("The operator's answer was not a subscription resource.", status=answer.status,
                                code="invalid_response", request_id=answer.request_id,
                                correlation_id=correlation_id)
        resource = _normalise(answer.body)
        attributes = resource.setdefault("attributes", {})
        if isinstance(attributes, dict) and not attributes.get("etag") and answer.headers.get("ETag"):
            attributes["etag"] = answer.headers["ETag"]
        return resource

    def _redact(self, text: str) -> str:
        """Remove the secret and the current token from text that may end up in a message or log."""
        for secret in (self._client_secret, self._token.value if self._token else None):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text

    def _backoff_delay(self, retry_number: int) -> float:
        # Exponential backoff with up to 10% jitter so parallel workers do not retry in step.
        delay = self.backoff * (2 ** (retry_number - 1))
        delay *= 1 + random.uniform(0, 0.1)
        return min(delay, self.max_retry_after)

    def _request(self, method: str, path: str, *, correlation_id: str | None, json_body: Any = None,
                 headers: Mapping[str, str] | None = None, request_id: str | None = None) -> _Answer:
        """Send one logical request with token handling and retries; return the 2xx answer or raise.

        MS-RequestId follows Partner Center's headers page: the same value again when an attempt got no answer
        (a timeout, a dropped connection), a new one once the operator answered. A caller that passes
        `request_id` pins it for every attempt, so the operator can recognise a create it already made.
        """
        correlation_id = correlation_id or str(uuid.uuid4())
        url = self.base_url + path
        content = None if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        pinned = request_id is not None
        request_id = str(request_id) if pinned else str(uuid.uuid4())
        answered = False  # whether the previous attempt got an answer from the operator
        attempt = 0
        renewed_after_401 = False
        maybe_applied = False
        while True:
            attempt += 1
            if answered and not pinned:
                request_id = str(uuid.uuid4())
            answered = False
            try:
                token = self._get_token(correlation_id)
                request_headers = {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "MS-Contract-Version": CONTRACT_VERSION,
                    "MS-RequestId": request_id,
                    "MS-CorrelationId": correlation_id,
                    "MS-PartnerCenter-Application": APPLICATION_NAME,
                    **({"Content-Type": "application/json"} if content is not None else {}),
                    **(headers or {}),
                }
                started = time.monotonic()
                try:
                    response = self._http.request(method, url, headers=request_headers, content=content)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    # Nothing reached the operator.
                    raise _Transient(f"could not connect ({type(exc).__name__})", ambiguous=False) from None
                except httpx.TimeoutException as exc:
                    raise _Transient(f"timed out after {self.timeout:g}s ({type(exc).__name__})",
                                     ambiguous=True) from None
                except httpx.TransportError as exc:
                    raise _Transient(f"connection failed ({type(exc).__name__})", ambiguous=True) from None
                elapsed_ms = (time.monotonic() - started) * 1000
                logger.debug("Operator %s %s -> %s in %.0f ms (attempt %d, request %s, correlation %s)",
                             method, path, response.status_code, elapsed_ms, attempt, request_id, correlation_id)
                status = response.status_code
                answered = True
                if status == 429 or status >= 500:
                    raise _Transient(f"HTTP {status}", ambiguous=status >= 500 and method != "GET",
                                     retry_after=parse_retry_after(response.headers.get("Retry-After")),
                                     status=status)
            except _Transient as failure:
                maybe_applied = maybe_applied or (failure.ambiguous and method != "GET")
                if attempt >= self.max_attempts:
                    logger.warning("Operator %s %s failed after %d attempts: %s (correlation %s)",
                                   method, path, attempt, failure.description, correlation_id)
                    raise OperatorUnavailable(
                        f"The operator is unavailable: {method} {path} failed after {attempt} attempts "
                        f"(last: {failure.description}). Try again later.",
                        detail=f"{method} {path} failed after {attempt} attempts (last: {failure.description})",
                        status=failure.status, request_id=request_id, correlation_id=correlation_id,
                        maybe_applied=maybe_applied,
                    ) from None
                if failure.retry_after is not None:
                    delay = min(failure.retry_after, self.max_retry_after)  # the operator said how long
                else:
                    delay = self._backoff_delay(attempt)
                logger.info("Operator %s %s: %s; retrying in %.2fs (attempt %d of %d, correlation %s)",
                            method, path, failure.description, delay, attempt, self.max_attempts,
                            correlation_id)
                self._sleep(delay)
                continue

            if status == 401 and not renewed_after_401:
                # The token may have been revoked or expired early: renew once and retry.
                renewed_after_401 = True
                attempt -= 1  # a renewal is not a failed attempt
                self._invalidate_token(token)
                logger.info("Operator answered 401 to %s %s; renewing the token (correlation %s)",
                            method, path, correlation_id)
                continue

            body = self._parse_body(response, method, path, request_id, correlation_id)
            if 200 <= status < 300:
                return _Answer(status, body, response.headers, request_id, maybe_applied)
            raise self._error_for(status, body, method, path, request_id, correlation_id, maybe_applied)

    def _parse_body(self, response: httpx.Response, method: str, path: str, request_id: str,
                    correlation_id: str) -> Any:
        try:
            return parse_json(response.content)
        except (UnicodeDecodeError, ValueError):
            if response.is_success:
                raise OperatorError(f"The operator's answer to {method} {path} was not valid JSON.",
                                    status=response.status_code, code="invalid_response",
                                    request_id=request_id, correlation_id=correlation_id) from None
            return None  # an error page: the status code says enough

    def _error_for(self, status: int, body: Any, method: str, path: str, request_id: str, correlation_id: str,
                   maybe_applied: bool) -> OperatorError:
        code, detail = _error_details(body)
        detail = self._redact(detail) if detail else None
        suffix = f": {detail}" if detail else ""
        context = {"status": status, "code": code, "request_id": request_id, "correlation_id": correlation_id,
                   "maybe_applied": maybe_applied}
        logger.info("Operator %s %s -> %s %s (request %s, correlation %s)", method, path, status, code or "",
                    request_id, correlation_id)
        if status in (409, 412):
            return OperatorConflict(
                f"The subscription changed at the operator since it was read (HTTP {status}{suffix}). "
                "Re-read it from the operator and try again.", detail=f"HTTP {status}{suffix}", **context)
        if status == 404:
            return OperatorNotFound(f"The operator does not know {path} (HTTP 404{suffix}).",
                                    detail=f"{path}, HTTP 404{suffix}", **context)
        if status == 401:
            return OperatorAuthError(
                f"The operator refused our credentials (HTTP 401{suffix}) even after renewing the token.",
                detail=f"HTTP 401{suffix}", **context)
        if 400 <= status < 500:
            return OperatorRejected(f"The operator rejected {method} {path} (HTTP {status}{suffix}).",
                                    detail=f"{method} {path}, HTTP {status}{suffix}", **context)
        return OperatorError(f"Unexpected answer from the operator to {method} {path} (HTTP {status}{suffix}).",
                             **context)

    # --- token ---------------------------------------------------------------------------------------

    def _get_token(self, correlation_id: str) -> str:
        """A cached access token, renewed shortly before it expires."""
        with self._token_lock:
            if self._token is None or time.monotonic() >= self._token.renew_at:
                self._token = self._fetch_token(correlation_id)
            return self._token.value

    def _invalidate_token(self, rejected: str) -> None:
        with self._token_lock:
            # Another thread may already have renewed it; only drop the token that was refused.
            if self._token is not None and self._token.value == rejected:
                self._token = None

    def _fetch_token(self, correlation_id: str) -> _Token:
        if not (self.tenant_id and self.client_id and self._client_secret):
            raise OperatorAuthError("Partner Center credentials are not configured (tenant id, client id, secret).",
                                    correlation_id=correlation_id)
        url = self.token_url.format(tenant=quote(self.tenant_id, safe=""))
        form = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._client_secret, "resource": self.resource}
        try:
            response = self._http.post(url, data=form, headers={"Accept": "application/json"})
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Transient(f"could not connect to the token service ({type(exc).__name__})",
                             ambiguous=False) from None
        except httpx.TransportError as exc:
            raise _Transient(f"token service failed ({type(exc).__name__})", ambiguous=False) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"token service HTTP {response.status_code}", ambiguous=False,
                             retry_after=parse_retry_after(response.headers.get("Retry-After")),
                             status=response.status_code)
        try:
            body = parse_json(response.content)
        except (UnicodeDecodeError, ValueError):
            body = None
        if response.status_code != 200 or not isinstance(body, Mapping) or not body.get("access_token"):
            code, detail = _error_details(body)
            detail = self._redact(detail.splitlines()[0]) if detail else "no access token in the answer"
            logger.warning("Token request failed: HTTP %s %s (correlation %s)", response.status_code, code or "",
                           correlation_id)
            raise OperatorAuthError(
                f"Could not obtain a Partner Center token (HTTP {response.status_code}"
                f"{', ' + code if code else ''}: {detail}). Check the client id, secret and tenant.",
                status=response.status_code, code=code, correlation_id=correlation_id)
        try:
            lifetime = float(str(body.get("expires_in", "")).strip())  # a string in Entra v1 answers
        except ValueError:
            lifetime = DEFAULT_TOKEN_LIFETIME_SECONDS
        margin = min(TOKEN_RENEW_MARGIN_SECONDS, lifetime / 2)
        logger.debug("Obtained a Partner Center token valid for %.0fs (correlation %s)", lifetime, correlation_id)
        return _Token(value=str(body["access_token"]), renew_at=time.monotonic() + lifetime - margin)


# --- construction from settings ---------------------------------------------------------------------------

_gateways: dict[tuple[Any, ...], OperatorGateway] = {}
_gateways_lock = threading.Lock()


def get_gateway() -> OperatorGateway:
    """The gateway configured by settings.PARTNER_CENTER (one instance per distinct configuration)."""
    from django.conf import settings

    conf = settings.PARTNER_CENTER
    key = tuple(sorted((k, str(v)) for k, v in conf.items()))
    with _gateways_lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = OperatorGateway(
                base_url=conf["BASE_URL"],
                token_url=conf["TOKEN_URL"],
                tenant_id=conf["PARTNER_TENANT_ID"],
                client_id=conf["CLIENT_ID"],
                client_secret=conf["CLIENT_SECRET"],
                resource=conf["RESOURCE"],
                timeout=float(conf.get("TIMEOUT_SECONDS", 10)),
                max_attempts=int(conf.get("MAX_ATTEMPTS", 4)),
                backoff=float(conf.get("BACKOFF_SECONDS", 0.5)),
                max_retry_after=float(conf.get("MAX_RETRY_AFTER_SECONDS", 30)),
            )
            _gateways[key] = gateway
        return gateway
