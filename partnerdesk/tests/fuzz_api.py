"""The API fuzzer's machinery (test_fuzz_api.py runs it). schemathesis generates requests for every operation
of /api/v1/openapi.json; they go in-process to Django's WSGI handler as one user (a bearer token); each answer
goes through schemathesis's own checks and ours; each failure is recorded and deduplicated, and the pass goes
on: one pass lists everything it finds instead of stopping at the first failure of each operation.

In-process WSGI (schemathesis.openapi.from_wsgi) rather than HTTP against live_server: no sockets, no server
thread; the app runs in the test's thread, on the test's database connection. The test uses transactional_db:
each request commits for real (on_commit hooks run; a database error cannot poison the next request).

What each operation gets:
  - schemathesis's phases, as its pytest integration runs them (`schemathesis.pytest.lazy.get_all_tests` is
    what `schemathesis.pytest.from_fixture(...).parametrize()` runs; schemathesis is pinned to 4.32.5 in
    pyproject.toml): the schema's examples, the coverage phase (boundary and invalid values; in the admin's
    fixed pass only), random requests, valid and invalid;
  - schemathesis fuzz dictionaries (its `dictionaries` and `parameters` config): a field often takes a known
    value (a real row's id, an enum value the app accepts; random integers almost never name a real row)
    and sometimes an edge value;
  - the edge sweep (fixed passes only): a request the app accepts, then that request with each of its fields
    set to each edge value in turn, and with all its fields of a kind set to the same edge value at once.

State-changing operations run like the others, against the operator simulator and the SMTP test server that
the test's fixtures start (nothing leaves the machine). One guard: a pass that revokes its own token gets it
back at once (DELETE /tokens/{id}), or everything after would be a 401.

The checks are schemathesis's own: not_a_server_error (a 502 is the documented "operator failed" answer: it
passes when its body says so), status_code_conformance, content_type_conformance, response_schema_conformance;
and ours: a_502_is_an_operator_failure, and for a customer's user no_other_customers_data.
"""

import copy
import json
import logging
import math
import re
import sys
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote

import hypothesis
import hypothesis.errors
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, connection
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests

from partnerdesk.accounts.models import ApiToken
from partnerdesk.accounts.services import hash_token

SCHEMA_PATH = "/api/v1/openapi.json"
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]
# Loggers that would write a line (or a traceback) per request into pytest's captured log.
NOISY_LOGGERS = ["django.request", "mail.log", "partnerdesk", "httpx"]

# Edge values: what breaks code that random generation rarely reaches.
EDGE_INTEGERS = [2**63, -(2**63) - 1, 10**30]  # just past a 64-bit column (and SQLite's integers), far past
EDGE_TEXTS = [
    "\x00", "<lone-surrogate>",  # text no database stores (see LONE_SURROGATE)
    "x" * 300, "%_" * 30_000,  # longer than a column; longer than SQLite's LIKE pattern limit (50,000 bytes)
    "18446744073709551617",  # an integer past 64 bits, as text
    "99999999999999.99", "9999999999999999999999999999.99",  # money past what a column holds
    "9999999999",  # the largest quantity an invoice line takes: times a large price, past what a column holds
    "0001-01-01", "9999-12-31",  # the ends of the calendar
    "{{ invoice_number",  # broken template syntax
]
EDGE_PROBABILITY = 0.15  # that a field without known values takes an edge value in a random request
KNOWN_PROBABILITY = 0.6  # that a field with known values takes one (or, a third as often, an edge value)
# schemathesis checks dictionary values with a library that cannot hold a lone surrogate, so the dictionary has
# this marker instead, and a JSON body gets the real thing just before it is sent (as "\udc00" in the JSON).
LONE_SURROGATE = ("<lone-surrogate>", "\udc00")
BASE_ATTEMPTS = 6  # valid requests tried per operation to find one the app accepts, for the edge sweep


def load_schema(*, seed: int, max_examples: int, coverage: bool = True, known: dict | None = None):
    """The OpenAPI schema as the app serves it, set up for one pass. `known` maps a field name ("customer_id",
    "method") to values the app accepts. The schema's `base` twin draws the edge sweep's requests: valid ones,
    with known values where there are, and no edge values."""
    app = WSGIHandler()
    raw = schemathesis.openapi.from_wsgi(SCHEMA_PATH, app, config=schemathesis.Config.from_dict({})).raw_schema
    fields = fields_by_operation(raw)
    names = sorted({name for names in fields.values() for name in names})

    def config(generation: dict, dictionaries: dict):
        return schemathesis.Config.from_dict({
            "seed": seed,
            "suppress-health-check": ["all"],
            "generation": {
                "no-shrink": True,  # the pass records and goes on; it keeps the shortest request per failure
                "database": "none",  # no .hypothesis directory: a pass depends on its seed only
                "deterministic": False,
                "with-security-parameters": False,  # the bearer token is ours, not generated
                **generation,
            },
            "checks": {
                "enabled": False,
                **{name: {"enabled": True} for name in CHECKS},
                "not_a_server_error": {"enabled": True, "expected-statuses": ["1xx", "2xx", "3xx", "4xx", "502"]},
            },
            "phases": {
                "examples": {"enabled": True},
                # Not the probes with methods an operation does not have: a 405 is Django's, not ours.
                "coverage": {"enabled": coverage, "unexpected-methods": []},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            **dictionaries,
        })

    # Valid and invalid requests; max_examples random ones per operation (the coverage phase adds its own).
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, app, config=config(
        {"mode": "all", "max-examples": max_examples}, dictionaries(names, known or {}, EDGE_INTEGERS + EDGE_TEXTS)))
    schema.fields = fields
    schema.base = schemathesis.openapi.from_wsgi(SCHEMA_PATH, app, config=config(
        {"mode": "positive"}, dictionaries(names, known or {}, [], probability=0.9)))
    return schema


def dictionaries(fields: list[str], known: dict, edge: list, probability: float = KNOWN_PROBABILITY) -> dict:
    """The `dictionaries` and `parameters` config: for each field name with known values a dictionary of them
    (and the edge values), bound to every parameter and body field of that name; an edge-values dictionary
    for the other fields."""
    config = {"dictionaries": {}, "parameters": {}}
    for name in fields:
        leaf = name.rsplit(".", 1)[-1].removesuffix("[*]")
        if known.get(leaf):
            config["dictionaries"].setdefault(f"known-{leaf}", {"values": _weighted(list(known[leaf]), edge)})
            config["parameters"][name] = {"dictionary": f"known-{leaf}", "probability": probability}
        elif edge:
            config["dictionaries"]["edge-values"] = {"values": edge}
            config["parameters"][name] = {"dictionary": "edge-values", "probability": EDGE_PROBABILITY}
    return config


def _weighted(known: list, edge: list) -> list:
    """Known values twice as likely as edge values of the same JSON type (schemathesis draws among the values
    valid for the field, or among the invalid ones for an invalid request)."""
    values = []
    for kind in (int, str):
        k = [v for v in known if type(v) is kind]
        e = [v for v in edge if type(v) is kind]
        if k and e:
            g = math.gcd(2 * len(e), len(k))
            values += k * (2 * len(e) // g) + e * (len(k) // g)
        else:
            values += k + e
    return values


def fields_by_operation(openapi: dict) -> dict[str, dict[str, str]]:
    """Each operation's parameters and JSON body fields with their kind (JSON type, format, pattern), named as
    schemathesis's `parameters` config names them: {"POST /api/v1/invoices": {"body.notes": "string  ", ...}}."""
    components = openapi.get("components", {}).get("schemas", {})

    def walk(schema, path, found, depth=0):
        if depth > 10 or not isinstance(schema, dict):
            return
        if "$ref" in schema:
            walk(components.get(schema["$ref"].rsplit("/", 1)[-1]), path, found, depth + 1)
            return
        for keyword in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(keyword, []):
                walk(branch, path, found, depth + 1)
        if "properties" in schema:
            for name, sub in schema["properties"].items():
                walk(sub, f"{path}.{name}", found, depth + 1)
        elif schema.get("type") == "array":
            walk(schema.get("items"), f"{path}[*]", found, depth + 1)
        elif schema.get("type") in ("string", "integer", "number") and schema.get("format") != "binary":
            found.setdefault(path, f"{schema['type']} {schema.get('format', '')} {schema.get('pattern', '')}")

    fields = {}
    for url, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            found = {}
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"), f"{parameter['in']}.{parameter['name']}", found)
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                walk(content["application/json"].get("schema"), "body", found)
            found.pop("body", None)
            fields[f"{method.upper()} {url}"] = found
    return fields


def with_lone_surrogates(value):
    if isinstance(value, str):
        return value.replace(*LONE_SURROGATE)
    if isinstance(value, dict):
        return {with_lone_surrogates(k): with_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [with_lone_surrogates(v) for v in value]
    return value


# --- our checks --------------------------------------------------------------------------------------------


def a_502_is_an_operator_failure(ctx, response, case):
    """A 502 passes not_a_server_error only as the documented operator failure: {"code": "operator_error"}."""
    if response.status_code != 502:
        return None
    try:
        code = json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        code = None
    assert code == "operator_error", f"a 502 that is not the documented operator failure: {response.content[:300]!r}"
    return None


@dataclass
class Foreign:
    """What identifies another customer (B): none of it may reach customer A's user."""

    customer_id: int
    texts: set = field(default_factory=set)  # its name, tenant id, domain, contacts, invoice numbers, ...
    ids: dict = field(default_factory=dict)  # a JSON key and B's ids for it: {"invoice_id": {9, 10}, ...}


def no_other_customers_data(foreign: Foreign):
    """The check for a customer user's pass: no answer carries another customer's identifiers (an echo of what
    the request itself sent does not count)."""

    def no_other_customers_data(ctx, response, case):
        text = response.content.decode("utf-8", "replace").lower()
        sent = _sent(response.request)
        leaks = sorted(t for t in foreign.texts if t.lower() in text and t.lower() not in sent)
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        for key, value in _items(body):
            if key in foreign.ids and value in foreign.ids[key]:
                leaks.append(f"{key}={value}")
        assert not leaks, f"another customer's data in the answer: {', '.join(map(str, leaks))}"
        return None

    return no_other_customers_data


def _sent(request) -> str:
    """What a request sent, as text: its URL decoded, its body (JSON with its escapes undone)."""
    if request is None:
        return ""
    body = request.body or b""
    body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        body = json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        pass
    return f"{unquote(str(request.url))} {body}".lower()


def _items(value):
    """Every (key, scalar value) pair of a JSON document, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, dict | list):
                yield key, item
            yield from _items(item)
    elif isinstance(value, list):
        for item in value:
            yield from _items(item)


# --- a pass -----------------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One deduplicated failure, with the shortest request that showed it."""

    operation: str
    check: str
    status: int
    title: str
    message: str
    curl: str
    cause: str = ""
    count: int = 0

    def describe(self) -> str:
        lines = [f"[{self.check}] {self.operation} -> {self.status} ({self.count}x): {self.title}"]
        message = " | ".join(line.strip() for line in self.message.splitlines() if line.strip())
        lines.append(f"    cause: {self.cause}" if self.cause else f"    {message[:300]}")
        lines.append(f"    {self.curl[:500]}")
        return "\n".join(lines)


@dataclass
class FuzzRun:
    """One pass as one user: sends each case, checks the answer, records what fails."""

    who: str
    token: str
    seed: int
    foreign: Foreign | None = None
    requests: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's: the app's and the fuzzer's, not PostgreSQL's
    per_phase: Counter = field(default_factory=Counter)
    per_operation: Counter = field(default_factory=Counter)
    succeeded: Counter = field(default_factory=Counter)  # 2xx answers per operation
    statuses: Counter = field(default_factory=Counter)
    findings: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # the harness's own failures, per operation
    deadline: float = math.inf

    def __post_init__(self):
        self.headers = {"Authorization": f"Bearer {self.token}"}
        self.token_id = ApiToken.objects.get(token_hash=hash_token(self.token)).pk
        self.checks = [a_502_is_an_operator_failure]
        if self.foreign is not None:
            self.checks.append(no_other_customers_data(self.foreign))

    def fuzz(self, schema, *, sweep: bool, max_seconds: float) -> "FuzzRun":
        """Every operation of the schema in turn, within `max_seconds` (the operations left then are reported)."""
        started, cpu = time.monotonic(), time.process_time()
        self.deadline = started + max_seconds

        def test_func(case):
            self.exercise(case)

        with _quiet_logs(), _one_connection():
            for result in get_all_tests(schema=schema, test_func=test_func, settings=None, given_kwargs={}):
                if not isinstance(result, Ok):
                    self.errors.append(str(result.err()))
                    continue
                operation, test = result.ok()
                if time.monotonic() > self.deadline:
                    self.errors.append(f"{operation.label}: not fuzzed: the pass's {max_seconds:.0f}s were up")
                    continue
                try:
                    test()
                    if sweep:
                        self.sweep(operation, schema.base[operation.path][operation.method.upper()],
                                   schema.fields.get(operation.label, {}))
                except Exception as exc:  # the harness failed on this operation: say so, go on with the next
                    where = traceback.extract_tb(exc.__traceback__)[-1]
                    self.errors.append(f"{operation.label}: {type(exc).__name__}: {exc} "
                                       f"({where.filename}:{where.lineno})"[:500])
        self.seconds, self.cpu_seconds = time.monotonic() - started, time.process_time() - cpu
        return self

    def exercise(self, case, phase: str | None = None):
        """Send one case, check the answer, record the failures."""
        if time.monotonic() > self.deadline:
            raise TimeoutError("the pass's time was up")
        self.requests += 1
        self.per_operation[case.operation.label] += 1
        self.per_phase[phase or (case.meta.phase.name.value if case.meta else "?")] += 1
        if (isinstance(case.body, dict | list) and case.media_type in (None, "application/json")  # (a form cannot carry one)
                and LONE_SURROGATE[0] in json.dumps(case.body)):
            # A new case, not a changed one: schemathesis would check a changed body with its validator.
            case = case.operation.Case(path_parameters=case.path_parameters, query=case.query, headers=case.headers,
                                       body=with_lone_surrogates(case.body), media_type=case.media_type)
        with _server_exceptions() as raised:
            response = case.call(headers=self.headers)
        if connection.errors_occurred:
            connection.close_if_unusable_or_obsolete()  # a fresh connection after a database error
        self.statuses[response.status_code] += 1
        if 200 <= response.status_code < 300:
            self.succeeded[case.operation.label] += 1
        if case.operation.method.upper() == "DELETE" and "/tokens/" in case.operation.path:
            # The fuzzer may revoke the very token it runs with: give it back, or the rest would be 401s.
            ApiToken.objects.filter(pk=self.token_id, revoked_at__isnull=False).update(revoked_at=None)
        try:
            case.validate_response(response, additional_checks=self.checks, headers=self.headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                self._record(case, response, failure, raised)
        return response

    def sweep(self, operation, valid, fields: dict[str, str]) -> None:
        """The edge sweep: a request the app accepts (or, failing that, one it refuses with 404 or 409), then
        that request with each of the operation's fields set to each edge value in turn, and with all its fields
        of a kind (same type, format and pattern) set to the same edge value at once (values that each pass a
        field's check may together break a computation: an invoice line's quantity times its price)."""
        base = self._base_case(valid)
        if base is None or not (200 <= base[1] < 300 or base[1] in (404, 409)):
            return  # refused before the operation's own code ran (401, 403, 422): edge values get no further
        case = base[0]
        if case.media_type == "application/json" and isinstance(case.body, dict):
            case.body = _documented(case.body, [name.removeprefix("body.") for name in fields if name[:5] == "body."])
        elif case.media_type is not None:  # multipart: not swept
            fields = {name: kind for name, kind in fields.items() if not name.startswith("body.")}
        slots = [(slot, kind) for name, kind in fields.items() for slot in _slots(case, name)]
        for kind in sorted({kind for _, kind in slots}):
            edges = EDGE_TEXTS if kind.startswith("string") else EDGE_INTEGERS
            for edge in edges:
                usable = [slot for slot, k in slots if k == kind
                          and (slot[0] == "body" or edge != LONE_SURROGATE[0])]  # a URL cannot carry one
                for slot in usable:
                    self.exercise(_with_fields(operation, case, [slot], edge), phase="edge sweep")
                if len(usable) > 1:
                    self.exercise(_with_fields(operation, case, usable, edge), phase="edge sweep")

    def _base_case(self, operation):
        """(case, status) of the first of a few valid requests the app accepts, else of the last one."""
        found = []

        @hypothesis.settings(max_examples=BASE_ATTEMPTS, database=None, deadline=None, phases=[hypothesis.Phase.generate],
                             verbosity=hypothesis.Verbosity.quiet, suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.seed(self.seed)
        @hypothesis.given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def find(case):
            if not found or not 200 <= found[-1][1] < 300:
                found.append((case, self.exercise(case, phase="edge sweep").status_code))

        try:
            find()
        except hypothesis.errors.HypothesisException:  # no valid request to be had: no sweep
            pass
        return found[-1] if found else None

    def _record(self, case, response, failure, raised) -> None:
        check = failure.checks[0] if failure.checks else failure.title.removeprefix("Custom check failed: ").strip("`")
        if check == "status_code_conformance" and response.status_code >= 500 and response.status_code != 502:
            return  # not_a_server_error has it
        cause = ""
        if raised and response.status_code >= 500:
            cause, where = _cause(raised[-1])
            key = (case.operation.label, check, where)
        elif check == "status_code_conformance":
            key = (case.operation.label, check, response.status_code)
        else:
            key = (case.operation.label, check, failure.title, _first_line(failure.message))
        curl = case.as_curl_command(headers=self.headers)  # schemathesis masks the Authorization header
        found = self.findings.get(key)
        if found is None or len(curl) < len(found.curl):
            self.findings[key] = Finding(case.operation.label, check, response.status_code, failure.title,
                                         str(failure.message), curl, cause, found.count if found else 0)
        self.findings[key].count += 1

    def summary(self) -> str:
        phases = ", ".join(f"{name} {n}" for name, n in sorted(self.per_phase.items()))
        statuses = " ".join(f"{code}:{n}" for code, n in sorted(self.statuses.items()))
        return (f"API fuzz as {self.who}, seed {self.seed}: {self.requests} requests ({phases}) to "
                f"{len(self.per_operation)} operations in {self.seconds:.1f}s ({self.cpu_seconds:.1f}s CPU); "
                f"answers {statuses}; {len(self.findings)} distinct failures")

    def report(self) -> str:
        order = ["not_a_server_error", "no_other_customers_data", "a_502_is_an_operator_failure",
                 "response_schema_conformance", "content_type_conformance", "status_code_conformance"]
        rank = {name: i for i, name in enumerate(order)}
        findings = sorted(self.findings.values(), key=lambda f: (rank.get(f.check, 9), f.operation, f.status))
        lines = [self.summary(), *(f.describe() for f in findings)]
        if self.errors:
            lines += ["not fuzzed (through) because of the harness:", *(f"    {e}" for e in self.errors)]
        return "\n".join(lines)


def _documented(value, names: list[str], prefix: str = ""):
    """The body without the undocumented properties a generator adds (the app ignores them). `names` are the
    documented fields: "notes", "lines[*].quantity"."""
    if isinstance(value, list):
        return [_documented(item, names, f"{prefix}[*]") for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, item in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if any(name == path or name.startswith((f"{path}.", f"{path}[*]")) for name in names):
            kept[key] = _documented(item, names, path)
    return kept


def _slots(case, name: str):
    """Where field `name` ("query.q", "body.lines[*].quantity") is in this case, as (location, path): a body
    field in the first item of its list; nowhere if its parent object is not in the body."""
    location, _, rest = name.partition(".")
    if location in ("path", "query"):
        yield location, (rest,)
        return
    if location != "body" or not isinstance(case.body, dict):
        return
    parents = [((), case.body)]
    parts = rest.split(".")
    for part in parts[:-1]:
        key = part.removesuffix("[*]")
        parents = [((*path, key), value.get(key)) for path, value in parents if isinstance(value, dict)]
        if part.endswith("[*]"):  # the list's first item stands for all
            parents = [((*path, 0), value[0]) for path, value in parents if isinstance(value, list) and value]
    last = parts[-1]
    for path, value in parents:
        if not isinstance(value, dict):
            continue
        if not last.endswith("[*]"):
            yield "body", (*path, last)
        elif isinstance(value.get(last[:-3]), list) and value[last[:-3]]:
            yield "body", (*path, last[:-3], 0)


def _with_fields(operation, case, slots, value):
    """A new case: `case` with the field at each slot set to `value`."""
    path_parameters, query, body = dict(case.path_parameters or {}), dict(case.query or {}), case.body
    if isinstance(body, dict | list):
        body = copy.deepcopy(body)
    for location, path in slots:
        if location == "path":
            path_parameters[path[0]] = value
        elif location == "query":
            query[path[0]] = value
        else:
            target = body
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
    return operation.Case(path_parameters=path_parameters, query=query, body=body, media_type=case.media_type)


def _first_line(text: str) -> str:
    return next((line for line in str(text).splitlines() if line.strip()), "")


def _cause(exc: BaseException) -> tuple[str, str]:
    """What a 500 came from: the exception, the innermost frame of ours (of django-ninja's when none of ours
    is on the stack) and where the exception was raised, if elsewhere."""
    frames = traceback.extract_tb(exc.__traceback__)

    def place(frame):
        name = frame.filename
        if "/site-packages/" in name:
            name = name.split("/site-packages/", 1)[1]
        else:
            name = "partnerdesk/" + name.split("/partnerdesk/", 1)[-1]
        return f"{name}:{frame.lineno} in {frame.name}"

    ours = [f for f in frames if "/partnerdesk/" in f.filename and "/site-packages/" not in f.filename]
    ninja = [f for f in frames if "/site-packages/ninja/" in f.filename]
    where = place((ours or ninja or frames)[-1]) if frames else "?"
    deepest = place(frames[-1]) if frames else "?"
    message = " ".join(str(exc).split())[:200]
    cause = f"{type(exc).__name__}: {message} at {where}" + (f" (raised at {deepest})" if deepest != where else "")
    kind = re.sub(r"\d+", "N", _first_line(str(exc)))[:80]  # one DataError is not another
    return cause, f"{type(exc).__name__} ({kind}) at {where}"


@contextmanager
def _server_exceptions():
    """The exceptions behind 500s (Django sends got_request_exception from inside its except block)."""
    raised = []

    def receiver(sender, **kwargs):
        raised.append(sys.exc_info()[1])

    got_request_exception.connect(receiver, dispatch_uid="partnerdesk-fuzz")
    try:
        yield raised
    finally:
        got_request_exception.disconnect(dispatch_uid="partnerdesk-fuzz")


@contextmanager
def _one_connection():
    """Keep the database connection from one request to the next, as Django's test client does (the settings
    close it after each request: a new PostgreSQL connection per request would take most of a pass's time)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def _quiet_logs():
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
