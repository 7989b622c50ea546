"""The support desk API's request and answer shapes."""

import datetime as dt
from typing import Annotated

from ninja import Field, Schema
from pydantic import WithJsonSchema

from partnerdesk import bounds
from partnerdesk.api_schemas import Code, Id, Name, Reason, Text

# A message's text. Its bounds are the service's (a refusal naming "body"): a schema check would name the field
# "" (partnerdesk.api._field_name drops every "body" in an error's location). The guard still refuses NUL.
Body = Annotated[str, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": bounds.BODY_LENGTH})]
Subject = Text(300, min_length=1)
Tag = Text(50)
Address = Text(254)
MAX_LINKS = 100


# --- answers ----------------------------------------------------------------------------------------------


class CaseRowOut(Schema):
    """A case as a queue shows it: `time_left_seconds` is the business time left on the earliest running SLA
    clock (negative once breached; null when none runs, e.g. while waiting on the customer)."""

    id: int
    token: str
    customer_id: int
    customer_name: str
    subject: str
    type: str
    severity: str
    status: str
    channel: str
    assignee_id: int | None
    team_id: int | None
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    next_deadline_at: dt.datetime | None
    next_target: str | None
    time_left_seconds: int | None


class AttachmentOut(Schema):
    id: int
    message_id: int | None
    filename: str
    content_type: str
    size: int
    created_at: dt.datetime
    url: str


class MessageOut(Schema):
    id: int
    case_id: int  # a message on a closed case opens a new case that follows it: this names it
    kind: str  # public; internal and event only for staff
    direction: str
    channel: str
    author: str
    body: str
    display_body: str  # without quoted history and signature (mail that came in)
    created_at: dt.datetime
    is_resolution: bool
    read_in_portal_at: dt.datetime | None
    attachments: list[AttachmentOut]


class ClockOut(Schema):
    target: str
    sequence: int
    started_at: dt.datetime
    target_minutes: int
    around_the_clock: bool
    deadline_at: dt.datetime | None
    met_at: dt.datetime | None
    breached_at: dt.datetime | None
    paused: bool
    cancelled: bool
    time_left_seconds: int | None


class CaseOut(CaseRowOut):
    description: str
    requester_name: str
    requester_email: str
    requester_contact_id: int | None
    cc: list[str]
    language: str
    invoice_ids: list[int]
    payment_ids: list[int]
    subscription_ids: list[int]
    merged_into_id: int | None
    follows_id: int | None
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution_delivered: bool
    satisfaction_score: int | None
    satisfaction_comment: str
    messages: list[MessageOut]
    clocks: list[ClockOut]  # staff only (empty for a customer's user)


class BulkOut(Schema):
    updated: int
    ids: list[int]


# --- requests ---------------------------------------------------------------------------------------------


class CaseIn(Schema):
    """Open a case. A customer's user opens for its own customer (customer_id may be left out)."""

    customer_id: Id | None = None
    subject: Subject
    description: Text(bounds.BODY_LENGTH) = ""
    type: Code = "billing_question"
    severity: Code = "C"
    channel: Code = "api"  # staff may log phone, chat or internal
    requester_contact_id: Id | None = None
    requester_email: Address = ""
    requester_name: Name = ""
    cc: list[Address] = Field([], max_length=20)
    invoice_ids: list[Id] = Field([], max_length=MAX_LINKS)
    payment_ids: list[Id] = Field([], max_length=MAX_LINKS)
    subscription_ids: list[Id] = Field([], max_length=MAX_LINKS)
    tags: list[Tag] = Field([], max_length=20)
    assignee_id: Id | None = None
    team_id: Id | None = None


class CasePatch(Schema):
    """What the case is about; a field left out does not change."""

    subject: Subject | None = None
    type: Code | None = None
    severity: Code | None = None
    tags: list[Tag] | None = Field(None, max_length=20)
    invoice_ids: list[Id] | None = Field(None, max_length=MAX_LINKS)
    payment_ids: list[Id] | None = Field(None, max_length=MAX_LINKS)
    subscription_ids: list[Id] | None = Field(None, max_length=MAX_LINKS)
    cc: list[Address] | None = Field(None, max_length=20)
    reason: Reason = ""


class ReplyIn(Schema):
    body: Body
    status: Code | None = None  # open (default), waiting_customer or waiting_operator after the reply


class MessageIn(Schema):
    body: Body


class StatusIn(Schema):
    status: Code  # open, waiting_customer, waiting_operator
    reason: Reason = ""


class AssignIn(Schema):
    assignee_id: Id | None = None
    team_id: Id | None = None
    reason: Reason = ""


class CloseIn(Schema):
    reason: Reason = ""


class ScoreIn(Schema):
    score: int = Field(..., ge=1, le=5)
    comment: Reason = ""


class MergeIn(Schema):
    target_id: Id
    reason: Reason = ""


class BulkIn(Schema):
    """Assign or set the status of many cases at once: all change, or none."""

    ids: list[Id] = Field(..., min_length=1, max_length=500)
    action: Code  # assign, status
    assignee_id: Id | None = None
    team_id: Id | None = None
    status: Code | None = None
    reason: Reason = ""


# --- desk settings ----------------------------------------------------------------------------------------


class DeskSettingsOut(Schema):
    reopen_window_days: int
    auto_close_days: int
    max_cases_per_sender_hour: int
    max_message_bytes: int
    max_attachment_bytes: int
    allowed_attachment_types: list[str]
    breach_warning_minutes: int
    thread_window_days: int


class DeskSettingsIn(Schema):
    """The settings to change (the others keep their values)."""

    reopen_window_days: int | None = Field(None, ge=0, le=365)
    auto_close_days: int | None = Field(None, ge=1, le=365)
    max_cases_per_sender_hour: int | None = Field(None, ge=1, le=1000)
    max_message_bytes: int | None = Field(None, ge=1024, le=100 * 1024 * 1024)
    max_attachment_bytes: int | None = Field(None, ge=1024, le=100 * 1024 * 1024)
    allowed_attachment_types: list[Text(100)] | None = Field(None, max_length=100)
    breach_warning_minutes: int | None = Field(None, ge=0, le=7 * 24 * 60)
    thread_window_days: int | None = Field(None, ge=0, le=365)
    reason: Reason = ""


class SlaPolicyItem(Schema):
    severity: Code
    type: Code = ""  # a case type, or "" for all the severity's types
    first_response_minutes: int = Field(..., ge=1, le=60 * 24 * 60)
    next_response_minutes: int = Field(..., ge=1, le=60 * 24 * 60)
    resolution_minutes: int = Field(..., ge=1, le=60 * 24 * 60)
    around_the_clock: bool = False


class SlaPoliciesOut(Schema):
    policies: list[SlaPolicyItem]  # the rows an administrator set
    effective: list[SlaPolicyItem]  # what applies to each severity's cases of any type (a row, else the default)


class SlaPoliciesIn(Schema):
    policies: list[SlaPolicyItem] = Field(..., max_length=50)
    reason: Reason = ""


class CannedReplyOut(Schema):
    id: int
    title: str
    language: str
    body: str
    is_active: bool
    updated_at: dt.datetime


class CannedReplyIn(Schema):
    title: Text(120, min_length=1)
    language: Code
    body: Annotated[str, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": bounds.NOTE_LENGTH})]
    is_active: bool = True
    reason: Reason = ""


class RenderedReplyOut(Schema):
    reply_id: int
    case_id: int
    title: str
    language: str
    body: str  # with the customer's figures filled in


class TargetOut(Schema):
    severity: str
    label: str
    first_response: str
    next_response: str
    resolution: str
    around_the_clock: bool


class InformationOut(Schema):
    language: str
    hours: str
    channels: str
    process: str
    is_default: bool  # the built-in text, until an administrator writes the partner's own
    updated_at: dt.datetime | None
    targets: list[TargetOut]  # from the SLA targets: the page never promises what the desk does not measure


class InformationIn(Schema):
    """All three texts blank: back to the built-in text."""

    hours: Text(4000) = ""
    channels: Text(4000) = ""
    process: Text(4000) = ""
    reason: Reason = ""
