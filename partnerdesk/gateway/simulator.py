"""A local simulator of the operator's Partner Center REST API (and its Entra ID token endpoint).

It serves real HTTP so the demo and the tests exercise the gateway end to end. State lives in memory
(optionally mirrored to a JSON file). Control endpoints under /_sim/ are unauthenticated: bind it to
localhost only.

    python -m partnerdesk.gateway.simulator --host 127.0.0.1 --port 8765 [--state FILE]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)

Resource = dict[str, Any]

TOKEN_LIFETIME_SECONDS = 3600
DEFAULT_OFFER_ID = "031C9E47-4802-4248-838E-778FB1D2CC05"
DEFAULT_OFFER_NAME = "Microsoft 365 Business Basic"
MUTABLE_FIELDS = ("friendlyName", "quantity", "autoRenewEnabled")
# Partner Center's own transitions for a PATCH of status; anything else is refused.
ALLOWED_TRANSITIONS = {("active", "suspended"), ("suspended", "active")}
# Service requests: the SDK's enum order, which is what an answer carrying integers means.
SR_SEVERITIES = ("unknown", "critical", "moderate", "minimal")
SR_STATUSES = ("none", "open", "closed", "attention_needed")
OPERATOR_NOTE_AUTHOR = "世纪互联支持 (21Vianet Support)"


class SimulatorError(Exception):
    """An error answer in Partner Center's shape: {"code", "description", "errorName", "data", "source"}."""

    def __init__(self, status: int, code: int, error_name: str, description: str,
                 headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "description": description, "errorName": error_name,
                                     "data": [], "source": "PartnerFD"}
        self.headers = headers or {}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_year_later(value: dt.datetime) -> dt.datetime:
    try:
        return value.replace(year=value.year + 1)
    except ValueError:  # 29 February
        return value.replace(year=value.year + 1, day=28)


def _new_etag() -> str:
    return secrets.token_urlsafe(16)


@dataclass
class Fault:
    """One queued misbehaviour for the next matching API request."""

    status: int | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    body: Any = None
    apply: bool = False  # process the request first, then answer with the fault (a "lost" success)
    methods: frozenset[str] | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies; without path_contains only /v1/ API calls match."""
        if self.methods and method.upper() not in self.methods:
            return False
        if self.path_contains is None:
            return path.startswith("/v1/")
        return self.path_contains in path

    def as_dict(self) -> dict[str, Any]:
        """JSON view for /_sim/state."""
        return {"status": self.status, "retry_after": self.retry_after, "delay": self.delay, "apply": self.apply,
                "methods": sorted(self.methods) if self.methods else None, "path_contains": self.path_contains}


@dataclass
class LoggedRequest:
    """A request the simulator received (the Authorization value is never kept)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None

    def __iter__(self):  # lets a test unpack (method, path, headers)
        return iter((self.method, self.path, self.headers))


@dataclass
class _Tokens:
    issued: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry


class OperatorSimulator:
    """In-memory Partner Center: customers by tenant id, each with subscriptions by id."""

    def __init__(self, *, client_id: str | None = None, client_secret: str | None = None,
                 state_file: str | None = None, token_lifetime: int = TOKEN_LIFETIME_SECONDS,
                 bom: bool = False):
        self.client_id = client_id
        self.client_secret = client_secret
        self.state_file = state_file
        self.token_lifetime = token_lifetime
        self.bom = bom  # prefix JSON answers with a UTF-8 BOM, as some Microsoft APIs do
        self._lock = threading.RLock()
        self._customers: dict[str, dict[str, Resource]] = {}
        self._faults: list[Fault] = []
        self._tokens = _Tokens()
        self.request_log: list[LoggedRequest] = []
        # Service requests by id; the MS-RequestId of each create and note already applied, so a retried call
        # returns what the first one did instead of doing it twice.
        self._service_requests: dict[str, Resource] = {}
        self._sr_creates: dict[str, str] = {}
        self._sr_notes: dict[str, str] = {}
        self._sr_counter = 0
        # Answer severity and status as integers, as some Partner Center answers do.
        self.integer_enums = False
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        if state_file and os.path.exists(state_file):
            self._load(state_file)

    # --- Python-side control -------------------------------------------------------------------------

    def add_customer(self, tenant: str) -> None:
        """Make a customer known (with no subscriptions)."""
        with self._lock:
            self._customers.setdefault(tenant.lower(), {})
            self._save()

    def add_subscription(self, tenant: str, **fields: Any) -> Resource:
        """Create a subscription from partial Partner Center fields; returns the full resource."""
        with self._lock:
            resource = self._default_resource(tenant, fields.get("id") or str(uuid.uuid4()))
            for key, value in fields.items():
                if key == "attributes":
                    continue
                resource[key] = value
            resource["status"] = str(resource["status"]).lower()
            if resource["status"] == "suspended" and not resource["suspensionReasons"]:
                resource["suspensionReasons"] = ["PartnerInitiated"]
            self._customers.setdefault(tenant.lower(), {})[str(resource["id"]).lower()] = resource
            self._save()
            return copy.deepcopy(resource)

    def update_subscription(self, tenant: str, subscription_id: str, **fields: Any) -> Resource:
        """Change a subscription as if at the operator (no rules, new etag): e.g. status="deleted"."""
        with self._lock:
            resource = self._find(tenant, subscription_id)
            # Values are kept as given (e.g. "Suspended") so tests can check the client is liberal.
            resource.update({k: v for k, v in fields.items() if k not in ("id", "attributes")})
            resource["attributes"]["etag"] = _new_etag()
            self._save()
            return copy.deepcopy(resource)

    def get(self, tenant: str, subscription_id: str) -> Resource:
        """A copy of a subscription's current resource (KeyError if unknown)."""
        with self._lock:
            try:
                return copy.deepcopy(self._find(tenant, subscription_id))
            except SimulatorError:
                raise KeyError(subscription_id) from None

    def service_requests(self) -> list[Resource]:
        """Copies of every service request the operator holds, oldest first."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._service_requests.values()]

    def get_service_request(self, service_request_id: str) -> Resource:
        """A copy of one service request as stored (KeyError if unknown)."""
        with self._lock:
            return copy.deepcopy(self._service_requests[str(service_request_id)])

    def answer_service_request(self, service_request_id: str, text: str, *, author: str = OPERATOR_NOTE_AUTHOR,
                               status: str | None = None, at: dt.datetime | None = None) -> Resource:
        """The operator answers: a note from its support, optionally with a new status (e.g. attention_needed)."""
        with self._lock:
            resource = self._service_request(service_request_id)
            when = _iso(at or _now())
            resource["notes"].append({"createdByName": author, "createdDate": when, "text": text})
            if status is not None:
                resource["status"] = _sr_enum(status, SR_STATUSES, "status")
                if resource["status"] == "closed":
                    resource["lastClosedDate"] = when
            resource["lastModifiedDate"] = when
            self._save()
            return copy.deepcopy(resource)

    def close_service_request(self, service_request_id: str, text: str | None = None, *,
                              author: str = OPERATOR_NOTE_AUTHOR, at: dt.datetime | None = None) -> Resource:
        """The operator closes a request, with a last note if given."""
        with self._lock:
            if text:
                return self.answer_service_request(service_request_id, text, author=author, status="closed", at=at)
            resource = self._service_request(service_request_id)
            when = _iso(at or _now())
            resource["status"] = "closed"
            resource["lastClosedDate"] = resource["lastModifiedDate"] = when
            self._save()
            return copy.deepcopy(resource)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no API request is being handled (e.g. one a fault delayed past the client's timeout)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def queue_faults(self, faults: Iterable[dict[str, Any]], *, methods: Iterable[str] | None = None,
                     path_contains: str | None = None) -> None:
        """Queue faults, each consumed by the next matching API request, in order."""
        method_set = frozenset(m.upper() for m in methods) if methods else None
        with self._lock:
            for spec in faults:
                fault_methods = spec.get("methods")
                self._faults.append(Fault(
                    status=int(spec["status"]) if spec.get("status") is not None else None,
                    retry_after=spec.get("retry_after"),
                    delay=float(spec.get("delay") or 0.0),
                    body=spec.get("body"),
                    apply=bool(spec.get("apply", False)),
                    methods=frozenset(m.upper() for m in fault_methods) if fault_methods else method_set,
                    path_contains=spec.get("path_contains", path_contains),
                ))

    def clear_faults(self) -> None:
        """The operator recovers: forget the faults not yet consumed."""
        with self._lock:
            self._faults.clear()

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far."""
        with self._lock:
            self._tokens.issued.clear()

    def reset(self) -> None:
        """Forget customers, faults, tokens and the request log."""
        with self._lock:
            self._customers.clear()
            self._faults.clear()
            self._tokens.issued.clear()
            self.request_log.clear()
            self._service_requests.clear()
            self._sr_creates.clear()
            self._sr_notes.clear()
            self.integer_enums = False
            self._save()

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot of everything the simulator holds."""
        with self._lock:
            return {
                "customers": copy.deepcopy(self._customers),
                "service_requests": copy.deepcopy(self._service_requests),
                "pending_faults": [f.as_dict() for f in self._faults],
                "valid_tokens": sum(1 for exp in self._tokens.issued.values() if exp > time.monotonic()),
                "requests": len(self.request_log),
            }

    def requests(self, method: str | None = None, path_contains: str = "") -> list[LoggedRequest]:
        """Logged requests, optionally filtered by method and a path fragment."""
        return [r for r in list(self.request_log)
                if (method is None or r.method == method.upper()) and path_contains in r.path]

    # --- API behaviour (called by the HTTP handler) --------------------------------------------------

    def issue_token(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """Entra ID v1 client-credentials grant."""
        if form.get("grant_type") != "client_credentials":
            raise _EntraError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret or (self.client_id is not None and client_id != self.client_id) \
                or (self.client_secret is not None and secret != self.client_secret):
            raise _EntraError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if not form.get("resource"):
            raise _EntraError(400, "invalid_request", "AADSTS50001: The resource parameter is required.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            # Drop expired tokens so the dict does not grow without bound in a long demo.
            self._tokens.issued = {t: e for t, e in self._tokens.issued.items() if e > now}
            self._tokens.issued[token] = now + self.token_lifetime
        lifetime = str(self.token_lifetime)
        return {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": token}

    def check_token(self, authorization: str | None) -> None:
        """Raise a 401 unless the bearer token was issued and has not expired."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expiry = self._tokens.issued.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= time.monotonic():
            raise SimulatorError(401, 401, "Unauthorized", "Authorization token is missing, invalid or expired.",
                                 headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Remove and return the first queued fault matching this request."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    return self._faults.pop(index)
        return None

    def list_subscriptions(self, tenant: str) -> dict[str, Any]:
        """GET /v1/customers/{tenant}/subscriptions."""
        with self._lock:
            subscriptions = self._customer(tenant)
            items = [copy.deepcopy(s) for s in subscriptions.values()]
        return {"totalCount": len(items), "items": items,
                "links": {"self": {"uri": f"/customers/{tenant}/subscriptions", "method": "GET", "headers": []}},
                "attributes": {"objectType": "Collection"}}

    def get_subscription(self, tenant: str, subscription_id: str) -> Resource:
        """GET /v1/customers/{tenant}/subscriptions/{id}."""
        with self._lock:
            return copy.deepcopy(self._find(tenant, subscription_id))

    def patch_subscription(self, tenant: str, subscription_id: str, if_match: str | None, body: Any) -> Resource:
        """PATCH with the full resource under If-Match; changes status and a few mutable fields."""
        if not isinstance(body, dict):
            raise SimulatorError(400, 400, "InvalidInput", "The request body must be a subscription resource.")
        with self._lock:
            resource = self._find(tenant, subscription_id)
            if not if_match:
                raise SimulatorError(428, 428, "PreconditionRequired", "The If-Match header is required.")
            if _strip_etag(if_match) != _strip_etag(resource["attributes"]["etag"]):
                raise SimulatorError(412, 412, "PreconditionFailed",
                                     "The subscription was modified; the If-Match etag does not match.")
            if body.get("id") and str(body["id"]).lower() != str(resource["id"]).lower():
                raise SimulatorError(400, 400, "InvalidInput", "The resource id does not match the URL.")
            current = str(resource["status"]).lower()
            wanted = str(body.get("status") or current).lower()
            if current == "deleted":
                raise SimulatorError(400, 800037, "SubscriptionDeleted", "A deleted subscription cannot be changed.")
            if wanted != current and (current, wanted) not in ALLOWED_TRANSITIONS:
                raise SimulatorError(400, 800036, "InvalidSubscriptionStatus",
                                     f"Cannot change a subscription from {current} to {wanted}.")
            changed = False
            if wanted != current:
                resource["status"] = wanted
                resource["suspensionReasons"] = ["PartnerInitiated"] if wanted == "suspended" else []
                changed = True
            for key in MUTABLE_FIELDS:
                if key in body and body[key] != resource.get(key):
                    if key == "quantity" and (not isinstance(body[key], int) or body[key] < 1):
                        raise SimulatorError(400, 400, "InvalidInput", "quantity must be a positive integer.")
                    resource[key] = body[key]
                    changed = True
            if changed:
                resource["attributes"]["etag"] = _new_etag()
                self._save()
            return copy.deepcopy(resource)

    def create_service_request(self, locale: str, body: Any, request_id: str | None) -> Resource:
        """POST /v1/servicerequests/{agent-locale}; a create retried with the same MS-RequestId returns the first."""
        if not isinstance(body, dict):
            raise SimulatorError(400, 400, "InvalidInput", "The request body must be a service request resource.")
        fields = {str(k).lower(): v for k, v in body.items()}
        for name in ("title", "description", "supporttopicid"):
            if not str(fields.get(name) or "").strip():
                raise SimulatorError(400, 400, "InvalidInput", f"{name} is required.")
        severity = _sr_enum(fields.get("severity"), SR_SEVERITIES, "severity")
        if severity == "unknown":
            raise SimulatorError(400, 400, "InvalidInput", "severity must be critical, moderate or minimal.")
        contact = {str(k)[:1].lower() + str(k)[1:]: v for k, v in (fields.get("primarycontact") or {}).items()}
        with self._lock:
            if request_id and request_id in self._sr_creates:
                return self._service_requests[self._sr_creates[request_id]]
            self._sr_counter += 1
            sr_id = str(616122292874576 + self._sr_counter)
            now = _iso(_now())
            resource = {
                "id": sr_id, "title": fields["title"], "description": fields["description"], "severity": severity,
                "supportTopicId": str(fields["supporttopicid"]), "supportTopicName": None, "status": "open",
                "primaryContact": contact or None, "countryCode": "CN", "agentLocale": locale,
                "createdDate": now, "lastModifiedDate": now, "lastClosedDate": None, "notes": [],
                "attributes": {"objectType": "ServiceRequest"},
            }
            self._service_requests[sr_id] = resource
            if request_id:
                self._sr_creates[request_id] = sr_id
            self._save()
            return resource

    def get_service_request_resource(self, service_request_id: str) -> Resource:
        """GET /v1/servicerequests/{id}."""
        with self._lock:
            return self._service_request(service_request_id)

    def list_service_requests(self) -> dict[str, Any]:
        """GET /v1/servicerequests."""
        with self._lock:
            items = list(self._service_requests.values())
        return {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}

    def patch_service_request(self, service_request_id: str, body: Any, request_id: str | None) -> Resource:
        """PATCH /v1/servicerequests/{id} with NewNote: appends the note once per MS-RequestId."""
        if not isinstance(body, dict):
            raise SimulatorError(400, 400, "InvalidInput", "The request body must be a service request resource.")
        fields = {str(k).lower(): v for k, v in body.items()}
        note = {str(k).lower(): v for k, v in (fields.get("newnote") or {}).items()}
        text = str(note.get("text") or "").strip()
        if not text:
            raise SimulatorError(400, 400, "InvalidInput", "NewNote.Text is required.")
        with self._lock:
            resource = self._service_request(service_request_id)
            if request_id and self._sr_notes.get(request_id) == resource["id"]:
                return resource
            if resource["status"] == "closed":
                raise SimulatorError(400, 400, "ServiceRequestClosed", "A closed service request cannot be updated.")
            contact = resource.get("primaryContact") or {}
            author = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p) or "Partner"
            now = _iso(_now())
            resource["notes"].append({"createdByName": author, "createdDate": now, "text": text})
            resource["lastModifiedDate"] = now
            if request_id:
                self._sr_notes[request_id] = resource["id"]
            self._save()
            return resource

    def service_request_view(self, resource: Resource) -> Resource:
        """The resource as the API answers it: a copy, with integer severity and status when asked for."""
        with self._lock:
            view = copy.deepcopy(resource)
            if self.integer_enums:
                view["severity"] = SR_SEVERITIES.index(view["severity"])
                view["status"] = SR_STATUSES.index(view["status"])
            return view

    # --- internals -----------------------------------------------------------------------------------

    def _service_request(self, service_request_id: str) -> Resource:
        resource = self._service_requests.get(str(service_request_id))
        if resource is None:
            raise SimulatorError(404, 404, "ServiceRequestNotFound",
                                 f"Service request {service_request_id} was not found.")
        return resource

    def _customer(self, tenant: str) -> dict[str, Resource]:
        customer = self._customers.get(tenant.lower())
        if customer is None:
            raise SimulatorError(404, 600008, "CustomerNotFound", f"Customer {tenant} was not found.")
        return customer

    def _find(self, tenant: str, subscription_id: str) -> Resource:
        resource = self._customer(tenant).get(subscription_id.lower())
        if resource is None:
            raise SimulatorError(404, 800002, "SubscriptionNotFound", f"Subscription {subscription_id} was not found.")
        return resource

    def _default_resource(self, tenant: str, subscription_id: str) -> Resource:
        now = _now()
        start = now.replace(hour=0, minute=0, second=0)
        return {
            "id": subscription_id,
            "offerId": DEFAULT_OFFER_ID,
            "offerName": DEFAULT_OFFER_NAME,
            "friendlyName": DEFAULT_OFFER_NAME,
            "quantity": 1,
            "unitType": "Licenses",
            "creationDate": _iso(now),
            "effectiveStartDate": _iso(start),
            "commitmentEndDate": _iso(_one_year_later(start) - dt.timedelta(days=1)),
            "status": "active",
            "autoRenewEnabled": True,
            "billingType": "license",
            "billingCycle": "monthly",
            "isTrial": False,
            "suspensionReasons": [],
            "termDuration": "P1Y",
            "orderId": uuid.uuid4().hex,
            "links": {
                "offer": {"uri": f"/offers/{DEFAULT_OFFER_ID}", "method": "GET", "headers": []},
                "self": {"uri": f"/customers/{tenant}/subscriptions/{subscription_id}", "method": "GET",
                         "headers": []},
            },
            "attributes": {"etag": _new_etag(), "objectType": "Subscription"},
        }

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
        self._customers = {t.lower(): {s.lower(): r for s, r in subs.items()}
                           for t, subs in (data.get("customers") or {}).items()}
        self._service_requests = dict(data.get("service_requests") or {})
        self._sr_counter = len(self._service_requests)

    def _save(self) -> None:
        """Write the customers to the state file atomically (called with the lock held)."""
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sim-state-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"customers": self._customers, "service_requests": self._service_requests}, handle,
                      ensure_ascii=False, indent=2)
        os.replace(tmp, self.state_file)


class _EntraError(Exception):
    """An error answer in Entra ID's token-endpoint shape."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description, "error_codes": [],
                     "timestamp": _now().strftime("%Y-%m-%d %H:%M:%SZ"), "trace_id": str(uuid.uuid4()),
                     "correlation_id": str(uuid.uuid4())}


def _sr_enum(value: Any, names: tuple[str, ...], field_name: str) -> str:
    """A severity or status given as a name (any case) or as the enum's integer."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    text = str(value or "").strip().lower().replace("attentionneeded", "attention_needed")
    if text not in names:
        raise SimulatorError(400, 400, "InvalidInput", f"{field_name} {value!r} is not one of {', '.join(names)}.")
    return text


def _strip_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


# --- HTTP ------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"^/([^/]+)/oauth2/(?:v2\.0/)?token$")
_SUBSCRIPTIONS = re.compile(r"^/v1/customers/([^/]+)/subscriptions$")
_SUBSCRIPTION = re.compile(r"^/v1/customers/([^/]+)/subscriptions/([^/]+)$")
_SIM_CUSTOMER = re.compile(r"^/_sim/customers/([^/]+)$")
_SIM_SUBSCRIPTIONS = re.compile(r"^/_sim/customers/([^/]+)/subscriptions$")
_SIM_SUBSCRIPTION = re.compile(r"^/_sim/customers/([^/]+)/subscriptions/([^/]+)$")
_SERVICE_REQUESTS = re.compile(r"^/v1/servicerequests$")
_SERVICE_REQUEST = re.compile(r"^/v1/servicerequests/([^/]+)$")
_SIM_SERVICE_REQUEST = re.compile(r"^/_sim/servicerequests/([^/]+)/(answer|close)$")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: OperatorSimulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "PartnerCenterSimulator/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: " + format, *args)

    # --- dispatch ------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        sim = self.server.simulator
        path = urlsplit(self.path).path
        raw = self._read_body()
        extra: dict[str, str] = {}
        try:
            if path.startswith("/_sim/") or path == "/_sim":
                status, body = self._control(sim, path, raw)
            else:
                logged = LoggedRequest(self.command, path, self._safe_headers(), _try_json(raw))
                sim.request_log.append(logged)
                with sim._idle:
                    sim._busy += 1
                try:
                    fault = sim.take_fault(self.command, path)
                    if fault and fault.delay:
                        time.sleep(fault.delay)  # to make the client time out
                    if fault and fault.status and not fault.apply:
                        status, body, extra = self._fault_answer(fault)
                    else:
                        status, body, extra = self._api(sim, path, raw)
                        if fault and fault.status:  # apply=True: the change happened, the answer is lost
                            status, body, extra = self._fault_answer(fault)
                finally:
                    with sim._idle:
                        sim._busy -= 1
                        sim._idle.notify_all()
        except SimulatorError as exc:
            status, body, extra = exc.status, exc.body, exc.headers
        except _EntraError as exc:
            status, body = exc.status, exc.body
        except Exception:  # a bug here must still answer, or the client hangs until its timeout
            logger.exception("simulator: error handling %s %s", self.command, path)
            status, body = 500, {"code": 500, "description": "Simulator error.", "errorName": "InternalError"}
        self._send(status, body, extra)

    def _api(self, sim: OperatorSimulator, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        if match := _TOKEN.match(path):
            self._allow("POST")
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
            return 200, sim.issue_token(unquote(match[1]), form), {}
        if path.startswith("/v1/"):
            sim.check_token(self.headers.get("Authorization"))
        if match := _SUBSCRIPTIONS.match(path):
            self._allow("GET")
            return 200, sim.list_subscriptions(unquote(match[1])), {}
        if match := _SUBSCRIPTION.match(path):
            tenant, sub_id = unquote(match[1]), unquote(match[2])
            self._allow("GET", "PATCH")
            if self.command == "GET":
                resource = sim.get_subscription(tenant, sub_id)
            else:
                resource = sim.patch_subscription(tenant, sub_id, self.headers.get("If-Match"), _try_json(raw))
            return 200, resource, {"ETag": resource["attributes"]["etag"]}
        if _SERVICE_REQUESTS.match(path):
            self._allow("GET")
            listing = sim.list_service_requests()
            listing["items"] = [sim.service_request_view(item) for item in listing["items"]]
            return 200, listing, {}
        if match := _SERVICE_REQUEST.match(path):
            self._allow("GET", "POST", "PATCH")
            request_id = self.headers.get("MS-RequestId")
            if self.command == "POST":  # the segment is the agent locale
                resource = sim.create_service_request(unquote(match[1]), _try_json(raw), request_id)
                return 201, sim.service_request_view(resource), {}
            if self.command == "GET":
                return 200, sim.service_request_view(sim.get_service_request_resource(unquote(match[1]))), {}
            resource = sim.patch_service_request(unquote(match[1]), _try_json(raw), request_id)
            return 200, sim.service_request_view(resource), {}
        raise SimulatorError(404, 404, "NotFound", f"No such resource: {path}")

    def _control(self, sim: OperatorSimulator, path: str, raw: bytes) -> tuple[int, Any]:
        payload = _try_json(raw)
        payload = payload if isinstance(payload, dict) else {}
        if path == "/_sim/state":
            self._allow("GET")
            return 200, sim.state()
        if path == "/_sim/faults":
            self._allow("POST")
            faults = payload.get("faults") or []
            if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
                raise SimulatorError(400, 400, "InvalidInput", '"faults" must be a list of objects.')
            sim.queue_faults(faults, methods=payload.get("methods"), path_contains=payload.get("path_contains"))
            return 200, {"queued": len(faults)}
        if path == "/_sim/expire-tokens":
            self._allow("POST")
            sim.expire_tokens()
            return 200, {"expired": True}
        if path == "/_sim/reset":
            self._allow("POST")
            sim.reset()
            return 200, {"reset": True}
        if path == "/_sim/config":
            self._allow("POST")
            if "bom" in payload:
                sim.bom = bool(payload["bom"])
            if "token_lifetime" in payload:
                sim.token_lifetime = int(payload["token_lifetime"])
            if "integer_enums" in payload:
                sim.integer_enums = bool(payload["integer_enums"])
            return 200, {"bom": sim.bom, "token_lifetime": sim.token_lifetime, "integer_enums": sim.integer_enums}
        if match := _SIM_SERVICE_REQUEST.match(path):
            self._allow("POST")
            sr_id, action = unquote(match[1]), match[2]
            if action == "close":
                return 200, sim.close_service_request(sr_id, payload.get("text"), **_author(payload))
            if not str(payload.get("text") or "").strip():
                raise SimulatorError(400, 400, "InvalidInput", '"text" is required.')
            return 200, sim.answer_service_request(sr_id, str(payload["text"]), **_author(payload),
                                                   status=payload.get("status"))
        if match := _SIM_CUSTOMER.match(path):
            self._allow("POST")
            sim.add_customer(unquote(match[1]))
            return 201, {"tenantId": unquote(match[1])}
        if match := _SIM_SUBSCRIPTIONS.match(path):
            self._allow("POST")
            return 201, sim.add_subscription(unquote(match[1]), **payload)
        if match := _SIM_SUBSCRIPTION.match(path):
            self._allow("PATCH")
            return 200, sim.update_subscription(unquote(match[1]), unquote(match[2]), **payload)
        raise SimulatorError(404, 404, "NotFound", f"No such control endpoint: {path}")

    # --- helpers -------------------------------------------------------------------------------------

    def _allow(self, *methods: str) -> None:
        if self.command not in methods:
            raise SimulatorError(405, 405, "MethodNotAllowed", f"{self.command} is not allowed here.",
                                 headers={"Allow": ", ".join(methods)})

    def _fault_answer(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        status = int(fault.status or 500)
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.body is not None:
            return status, fault.body, headers
        names = {401: "Unauthorized", 429: "TooManyRequests", 500: "InternalServerError",
                 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return status, {"code": status, "description": f"Simulated fault (HTTP {status}).",
                        "errorName": names.get(status, "SimulatedFault"), "data": [], "source": "PartnerFD"}, headers

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _safe_headers(self) -> dict[str, str]:
        headers = {k: v for k, v in self.headers.items()}
        for key in list(headers):
            if key.lower() == "authorization":
                headers[key] = "[redacted]"
        return headers

    def _send(self, status: int, body: Any, extra: dict[str, str]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if self.server.simulator.bom:
            data = b"\xef\xbb\xbf" + data
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name in ("MS-RequestId", "MS-CorrelationId"):
                if self.headers.get(name):
                    self.send_header(name, self.headers[name])
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. a timeout test); nothing to answer.
            self.close_connection = True


def _author(payload: dict[str, Any]) -> dict[str, str]:
    return {"author": str(payload["author"])} if payload.get("author") else {}


def _try_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8-sig").strip()
        return json.loads(text) if text else None
    except (UnicodeDecodeError, ValueError):
        return None


# --- running it ------------------------------------------------------------------------------------------


@dataclass
class SimulatorHandle:
    """A running simulator: its base URL, the simulator object, and stop()."""

    url: str
    simulator: OperatorSimulator
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def token_url(self) -> str:
        """The token URL template, with "{tenant}" left for the gateway to fill in."""
        return self.url + "/{tenant}/oauth2/token"

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _make_server(host: str, port: int, simulator: OperatorSimulator) -> _Server:
    server = _Server((host, port), _Handler)
    server.simulator = simulator
    return server


def start_simulator(host: str = "127.0.0.1", port: int = 0, **options: Any) -> SimulatorHandle:
    """Start a simulator on a daemon thread (port 0 picks a free port); options go to OperatorSimulator."""
    simulator = OperatorSimulator(**options)
    server = _make_server(host, port, simulator)
    bound_host, bound_port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="partner-center-simulator", daemon=True)
    thread.start()
    return SimulatorHandle(url=f"http://{bound_host}:{bound_port}", simulator=simulator, server=server,
                           thread=thread)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Local Partner Center (operator API) simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", help="JSON file to load state from and save it to after each change")
    parser.add_argument("--client-id", help="accept only this client id (default: any non-empty)")
    parser.add_argument("--client-secret", help="accept only this client secret (default: any non-empty)")
    parser.add_argument("--bom", action="store_true", help="prefix JSON answers with a UTF-8 byte-order mark")
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    simulator = OperatorSimulator(client_id=args.client_id, client_secret=args.client_secret,
                                  state_file=args.state, bom=args.bom)
    server = _make_server(args.host, args.port, simulator)
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"
    print(f"Partner Center simulator on {url}  (token URL {url}/{{tenant}}/oauth2/token, control {url}/_sim/state)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
