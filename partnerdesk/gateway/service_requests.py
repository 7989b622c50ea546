"""Service requests to the operator on a customer's behalf: one interface, two channels.

- portal (what 21Vianet offers): PartnerDesk prepares the text an agent pastes into the operator's portal.
- api (Partner Center's service-request resource, where an instance offers it): create, read, add a note, list.

The contact on a request is always the partner's own, never the customer's: the operator answers the partner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from partnerdesk.gateway.client import OperatorError, OperatorGateway

# Partner Center's enums, in the SDK's order: an answer that carries an integer means the index.
SEVERITY_NAMES = ("unknown", "critical", "moderate", "minimal")
STATUS_NAMES = ("none", "open", "closed", "attention_needed")
# What a request may be filed with.
SEVERITIES = ("critical", "moderate", "minimal")
# A request in one of these still waits for the operator (or for us).
OPEN_STATUSES = ("open", "attention_needed")

# 21Vianet's support plans call the severities A, B and C.
SEVERITY_LABELS = {"critical": _("A: critical"), "moderate": _("B: moderate"), "minimal": _("C: minimal")}
# The escalation topics PartnerDesk files under; any other topic id is shown as given.
TOPIC_LABELS = {
    "billing": _("Billing and invoices"),
    "subscription": _("Subscriptions and licences"),
    "fraud": _("Fraud or misuse"),
    "technical": _("Technical"),
}

# Request languages (customers.Language values) -> Django language, and the agent locale Partner Center expects.
_DJANGO_LANGUAGE = {"zh-cn": "zh-hans", "zh-hans": "zh-hans", "zh-tw": "zh-hant", "zh-hant": "zh-hant",
                    "en": "en", "en-us": "en"}
_AGENT_LOCALE = {"zh-hans": "zh-CN", "zh-hant": "zh-TW", "en": "en-US"}
NOTE_KEY_LENGTH = 40


# --- the shapes both channels share ----------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """The partner's own contact on a request (the operator answers this person)."""

    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True)
class ServiceRequestDraft:
    """What an agent asks the operator, before either channel files it."""

    title: str
    description: str
    severity: str  # "critical", "moderate" or "minimal"
    topic_id: str
    contact: Contact
    tenant_id: str = ""
    language: str = "zh-CN"
    invoices: Sequence[str] = ()
    subscriptions: Sequence[str] = ()


@dataclass(frozen=True)
class OperatorNoteRecord:
    """A note on a request as the operator holds it; `key` recognises the same note read twice."""

    author: str
    text: str
    written_at: dt.datetime
    key: str


@dataclass(frozen=True)
class ServiceRequestRecord:
    """A service request as the operator holds it."""

    id: str
    status: str  # "none", "open", "closed" or "attention_needed"
    severity: str  # "unknown", "critical", "moderate" or "minimal"
    title: str
    notes: list[OperatorNoteRecord] = field(default_factory=list)
    created_at: dt.datetime | None = None
    last_modified_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether the request still waits for the operator or for us."""
        return self.status in OPEN_STATUSES


# --- parsing the operator's answers -----------------------------------------------------------------------


def _parse_enum(value: Any, names: tuple[str, ...], what: str) -> str:
    if isinstance(value, bool):  # an int subclass, never a valid answer
        value = None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        if 0 <= value < len(names):
            return names[value]
    elif isinstance(value, str):
        # Partner Center writes attention_needed; the SDK's enum name is AttentionNeeded.
        text = re.sub(r"[\s_-]", "", value).lower()
        for name in names:
            if name.replace("_", "") == text:
                return name
    raise OperatorError(f"The operator answered an unknown service request {what}: {value!r}.",
                        code="invalid_response")


def parse_severity(value: Any) -> str:
    """A Partner Center severity (a name in any case, or its integer) as "unknown", "critical", "moderate" or
    "minimal"; OperatorError for anything else."""
    return _parse_enum(value, SEVERITY_NAMES, "severity")


def parse_status(value: Any) -> str:
    """A Partner Center status (a name in any case, or its integer) as "none", "open", "closed" or
    "attention_needed"; OperatorError for anything else."""
    return _parse_enum(value, STATUS_NAMES, "status")


def parse_date(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from a Partner Center date; None when absent or .NET's empty 0001-01-01."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # .NET writes up to seven fractional digits; Python reads six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise OperatorError(f"The operator answered an unreadable date: {value!r}.", code="invalid_response") \
            from None
    if parsed.year <= 1:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # Partner Center's dates are UTC
    return parsed.astimezone(dt.UTC)


def note_key(written_at: dt.datetime | None, author: str, text: str) -> str:
    """A stable short hash of a note's date (to the second, UTC), author and text."""
    when = written_at.astimezone(dt.UTC).replace(microsecond=0).isoformat() if written_at else ""
    digest = hashlib.sha256("\x1f".join((when, author, text)).encode("utf-8")).hexdigest()
    return digest[:NOTE_KEY_LENGTH]


def _fields(resource: Mapping[str, Any]) -> dict[str, Any]:
    # Partner Center answers in camelCase and documents PascalCase: read either.
    return {str(k).lower(): v for k, v in resource.items()} if isinstance(resource, Mapping) else {}


def record_from(resource: Mapping[str, Any]) -> ServiceRequestRecord:
    """A ServiceRequestRecord from a Partner Center service request resource."""
    fields = _fields(resource)
    if not fields.get("id"):
        raise OperatorError("The operator's service request had no id.", code="invalid_response")
    created_at = parse_date(fields.get("createddate"))
    last_modified_at = parse_date(fields.get("lastmodifieddate")) or created_at
    notes = []
    for raw in fields.get("notes") or []:
        note = _fields(raw)
        text = str(note.get("text") or "")
        if not text.strip():
            continue
        author = str(note.get("createdbyname") or "")
        written_at = parse_date(note.get("createddate"))
        notes.append(OperatorNoteRecord(author=author, text=text,
                                        written_at=written_at or last_modified_at or dt.datetime.now(dt.UTC),
                                        key=note_key(written_at, author, text)))
    return ServiceRequestRecord(
        id=str(fields["id"]),
        status=parse_status(fields.get("status", "none")),
        severity=parse_severity(fields.get("severity", "unknown")),
        title=str(fields.get("title") or ""),
        notes=notes,
        created_at=created_at,
        last_modified_at=last_modified_at,
    )


# --- the draft, in the request's language -----------------------------------------------------------------


def django_language(language: str) -> str:
    """The Django language for a request language ("zh-CN", "zh-TW", "en"); Simplified Chinese by default."""
    return _DJANGO_LANGUAGE.get((language or "").strip().lower(), "zh-hans")


def agent_locale(language: str) -> str:
    """The agent locale Partner Center's create call takes for a request language."""
    return _AGENT_LOCALE[django_language(language)]


def _check(draft: ServiceRequestDraft) -> None:
    # The escalation service validates the agent's input; this guards the gateway against a wrong call.
    if draft.severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {draft.severity!r}")
    if not (draft.title.strip() and draft.description.strip() and draft.contact.name.strip()
            and draft.contact.email.strip()):
        raise ValueError("a service request needs a title, a description and the partner's contact")


def _render(template: str, draft: ServiceRequestDraft) -> str:
    with translation.override(django_language(draft.language)):
        text = render_to_string(template, {
            "draft": draft,
            "contact": draft.contact,
            "severity": SEVERITY_LABELS[draft.severity],
            "topic": TOPIC_LABELS.get(draft.topic_id, draft.topic_id),
            "invoices": ", ".join(str(i) for i in draft.invoices),
            "subscriptions": ", ".join(str(s) for s in draft.subscriptions),
        })
    # The template's tags leave blank lines behind; keep one blank line between blocks.
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


# --- the channels -----------------------------------------------------------------------------------------


class PortalChannel:
    """21Vianet's channel: the agent files the prepared text in the operator's portal and records its number."""

    name = "portal"

    def prepare(self, draft: ServiceRequestDraft) -> str:
        """The request text, ready to paste into the operator's portal, in the draft's language."""
        _check(draft)
        return _render("gateway/portal_request.txt", draft)


class ApiChannel:
    """Partner Center's service-request resource, for instances that offer it."""

    name = "api"

    def __init__(self, gateway: OperatorGateway | None = None, *,
                 support_topic_ids: Mapping[str, str] | None = None):
        self._gateway = gateway
        self._support_topic_ids = support_topic_ids

    @property
    def gateway(self) -> OperatorGateway:
        """The gateway given, else the one configured in settings (looked up when first needed)."""
        if self._gateway is None:
            import partnerdesk.gateway

            self._gateway = partnerdesk.gateway.get_gateway()
        return self._gateway

    def support_topic_id(self, topic_id: str) -> str:
        """Partner Center's support topic id for one of our topics (settings.PARTNER_CENTER["SUPPORT_TOPIC_IDS"]),
        or the topic id as given."""
        mapping = self._support_topic_ids
        if mapping is None:
            from django.conf import settings

            mapping = settings.PARTNER_CENTER.get("SUPPORT_TOPIC_IDS") or {}
        return str(mapping.get(topic_id, topic_id))

    def body(self, draft: ServiceRequestDraft) -> dict[str, Any]:
        """The create call's body: the API has no fields for the tenant, invoices and subscriptions, so the
        description carries them, in the draft's language."""
        _check(draft)
        first, _, last = draft.contact.name.strip().rpartition(" ")
        return {
            "Title": draft.title.strip(),
            "Description": _render("gateway/api_description.txt", draft),
            "Severity": draft.severity,
            "SupportTopicId": self.support_topic_id(draft.topic_id),
            "PrimaryContact": {"FirstName": first, "LastName": last, "Email": draft.contact.email.strip(),
                               "PhoneNumber": draft.contact.phone.strip()},
            "Attributes": {"ObjectType": "ServiceRequest"},
        }

    def create(self, draft: ServiceRequestDraft, *, request_id: str) -> ServiceRequestRecord:
        """File the request; `request_id` (the caller's stored UUID) is the MS-RequestId of every attempt, so a
        create that timed out and is retried, now or after a crash, is made once."""
        resource = self.gateway.create_service_request(self.body(draft), agent_locale=agent_locale(draft.language),
                                                       request_id=str(request_id))
        return record_from(resource)

    def read(self, reference: str) -> ServiceRequestRecord:
        """The request as the operator holds it now: status, severity and notes."""
        return record_from(self.gateway.get_service_request(reference))

    def add_note(self, reference: str, text: str, *, request_id: str) -> ServiceRequestRecord:
        """Add our note to the request (NewNote); the same `request_id` again on a retry adds it once."""
        if not text.strip():
            raise ValueError("a note needs text")
        resource = self.gateway.update_service_request(reference, {"NewNote": {"Text": text.strip()}},
                                                       request_id=str(request_id))
        return record_from(resource)

    def list_open(self) -> list[ServiceRequestRecord]:
        """The partner's requests still open at the operator (one call for all of them)."""
        records = [record_from(item) for item in self.gateway.list_service_requests()]
        return [record for record in records if record.is_open]


def channel(name: str, gateway: OperatorGateway | None = None) -> PortalChannel | ApiChannel:
    """The channel called `name` ("portal" or "api"); the API channel uses `gateway`, else the configured one."""
    if name == PortalChannel.name:
        return PortalChannel()
    if name == ApiChannel.name:
        return ApiChannel(gateway)
    raise ValueError(f"unknown service request channel {name!r}")
