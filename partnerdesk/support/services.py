"""Every change to a case: opening, the conversation, status, assignment, merging, resolving and closing.

Each function validates, changes the rows, writes the audit record in the same transaction and queues its
emails (through notifications, the one email path) to go after commit. The API, the web pages, email in and
the background jobs all call these; none writes a case itself.
"""

import datetime as dt
import time

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.accounts.models import Role, Team, User
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import Conflict, InvalidInput, status_word
from partnerdesk.workdays.services import working_days_between

from . import fulltext, sla, statements
from .mail import batch as mail_batch
from .models import (
    Case,
    CaseMessage,
    CaseStatus,
    CaseTag,
    CaseType,
    Channel,
    DeskSettings,
    Direction,
    MessageKind,
    Severity,
    SlaClock,
    SlaTarget,
)
from .outbound import queue_acknowledgement, queue_public_reply

# The fields of a case that its audit entries record before and after a change.
AUDITED = ["status", "type", "severity", "subject", "assignee_id", "team_id", "customer_id", "merged_into_id",
           "follows_id", "resolved_at", "closed_at", "closed_automatically", "satisfaction_score"]
SUBJECT_LENGTH = 300
TAG_LENGTH = 50
# A public reply or resolution went out to the customer (sent in the transaction that wrote it): escalations
# marks the customer told of an operator request that closed.
public_reply_sent = Signal()
# A new case was opened from an email, with `text` (subject and body): disputes reads a dispute of an invoice
# (with the amount) from it. Sent inside the filing transaction; a receiver that fails rolls the filing back.
case_opened_from_mail = Signal()
# Mail naming a case from an address not on it (neither the requester's, the CC's nor a contact's), with `mail`
# (the InboundMail), `text`, `address` and `name`: a receiver that takes it returns True, and it is filed (escalations
# logs a colleague's forward of 21Vianet's answer on the case's request); otherwise it waits for an agent.
mail_naming_a_case = Signal()


def desk_settings() -> DeskSettings:
    """The desk's settings row (made with the defaults on first use)."""
    row = DeskSettings.objects.filter(pk=1).first()
    if row is None:
        row, _created = DeskSettings.objects.get_or_create(pk=1)
    return row


# Email in reads the settings for every message: cached per process for a few seconds. A change saved in this
# process shows at once (signals.py calls forget_desk_settings); until its transaction commits, and for good if
# it is rolled back, reads inside a transaction go to the database.
DESK_CACHE_SECONDS = 5.0
_desk_cache: dict = {"row": None, "at": 0.0, "unsettled": False}


def cached_desk_settings() -> DeskSettings:
    """desk_settings(), read at most every DESK_CACHE_SECONDS (a change from another process shows within them);
    to read, never to change and save."""
    from django.db import connection

    cache = _desk_cache
    if cache["unsettled"]:
        if connection.in_atomic_block:
            return desk_settings()
        cache["unsettled"] = False  # outside any transaction the saved change is committed or gone
    elif cache["row"] is not None and time.monotonic() - cache["at"] < DESK_CACHE_SECONDS:
        return cache["row"]
    row = desk_settings()
    cache["row"], cache["at"] = row, time.monotonic()
    return row


def forget_desk_settings() -> None:
    """The settings row was saved or deleted: cached_desk_settings reads it again (once its change is settled)."""
    from django.db import connection

    _desk_cache["row"] = None
    if connection.in_atomic_block:
        _desk_cache["unsettled"] = True
        transaction.on_commit(_settled)


def _settled() -> None:
    _desk_cache["row"], _desk_cache["unsettled"] = None, False


def _audit(case: Case, action: str, actor, before=None, reason: str = "") -> None:
    record(actor=actor, action=action, obj=case, customer=case.customer, before=before,
           after=snapshot(case, AUDITED), reason=reason)


def _touch(case: Case, now: dt.datetime, *fields: str) -> None:
    case.updated_at = now
    statements.update(case, "updated_at", *fields)


def _lock(case: Case) -> Case:
    # Email in files a batch of messages in one transaction: a case it has locked already is handed out as the
    # batch left it (mail.batch), not read again.
    batch = mail_batch.current()
    if batch is not None and case.pk in batch.cases:
        return batch.cases[case.pk]
    found = statements.select("case.lock", _locking, case.pk)
    if not found:
        raise Case.DoesNotExist(f"no case {case.pk}")
    if batch is not None:
        batch.cases[case.pk] = found[0]
    return found[0]


def _locking(pk: int):
    return Case.objects.select_for_update().select_related("customer").filter(pk=pk)


def _is_customer(actor) -> bool:
    return actor is not None and getattr(actor, "role", None) == Role.CUSTOMER


def _check_choice(value, choices, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(_("%(value)s is not one of the choices"), field=field, value=repr(value))
    return value


def _check_severity(severity: str, case_type: str) -> None:
    _check_choice(severity, Severity, "severity")
    _check_choice(case_type, CaseType, "type")
    if severity == Severity.A and case_type != CaseType.TECHNICAL:
        raise InvalidInput(_("severity A (critical) is for technical problems only"), field="severity")


def _check_staff(user, field: str) -> None:
    if user is not None and (not user.is_active or user.role == Role.CUSTOMER):
        raise InvalidInput(_("%(name)s is not an active member of staff"), field=field, name=user.get_username())


def _clean_tags(tags) -> list[CaseTag]:
    names = []
    for name in tags or []:
        name = bounds.clean_text(name, field="tags", max_length=TAG_LENGTH).strip()
        if name and name not in names:
            names.append(name)
    return [CaseTag.objects.get_or_create(name=name)[0] for name in names]


def _check_links(customer, invoices=(), payments=(), subscriptions=()) -> None:
    for field, objects in (("invoice_ids", invoices), ("payment_ids", payments), ("subscription_ids", subscriptions)):
        for obj in objects or []:
            if obj.customer_id != customer.pk:
                raise InvalidInput(_("%(name)s belongs to another customer"), field=field, name=str(obj))


def subject_key(subject: str) -> str:
    from .mail.parsing import normalized_subject

    return normalized_subject(subject)[:300]


# --- opening ----------------------------------------------------------------------------------------------


@transaction.atomic
def open_case(*, customer, subject: str, description: str, actor, type: str = CaseType.BILLING_QUESTION,
              severity: str = Severity.C, channel: str = Channel.PORTAL, requester_contact=None,
              requester_user=None, requester_email: str = "", requester_name: str = "", cc=(),
              invoices=(), payments=(), subscriptions=(), tags=(), assignee=None, team: Team | None = None,
              follows: Case | None = None, message_id: str = "", visible_body: str = "", inbound_mail=None,
              acknowledge: bool = True, now: dt.datetime | None = None) -> Case:
    """Open a case for a customer: its first message is the customer's question, its clocks start, and the
    requester is told the case's number and when to expect an answer."""
    now = now or timezone.now()
    subject = bounds.clean_text(subject, field="subject", max_length=SUBJECT_LENGTH).strip()
    if not subject:
        raise InvalidInput(_("a subject is required"), field="subject")
    description = bounds.clean_text(description, field="description", max_length=bounds.BODY_LENGTH)
    _check_severity(severity, type)
    _check_choice(channel, Channel, "channel")
    _check_staff(assignee, "assignee_id")
    _check_links(customer, invoices, payments, subscriptions)
    if requester_contact is not None and requester_contact.customer_id != customer.pk:
        raise InvalidInput(_("the requester is not a contact of this customer"), field="requester_contact_id")
    if _is_customer(actor):
        if actor.customer_id != customer.pk:
            raise InvalidInput(_("a customer user opens cases for its own customer only"), field="customer_id")
        # The desk writes only to the customer's own people: a customer's user cannot have it mail anyone else.
        if requester_email and requester_email.lower() != (actor.email or "").lower():
            raise InvalidInput(_("the requester is you: your own address is used"), field="requester_email")
        _check_customer_addresses(customer, cc)
        requester_user = actor
        requester_contact = requester_contact or actor.contact
    if requester_user is not None and not requester_email:
        requester_email = requester_user.email
    if requester_contact is not None:
        requester_email = requester_email or requester_contact.email
        requester_name = requester_name or requester_contact.name
    language = (requester_contact.language if requester_contact is not None else customer.language)
    case = Case(
        customer=customer, requester_contact=requester_contact, requester_user=requester_user,
        requester_email=requester_email, requester_name=bounds.clean_text(requester_name, field="requester_name"),
        cc=_clean_cc(cc), language=language, type=type, subject=subject, subject_key=subject_key(subject),
        description=description, severity=severity, channel=channel, assignee=assignee, team=team,
        follows=follows, created_at=now, updated_at=now, last_customer_message_at=now,
        status=CaseStatus.OPEN if assignee is not None else CaseStatus.NEW,
    )
    # The clocks are computed first, so the case is written once with its next deadline (the queues' sort key).
    policy = sla.cached_policy_for(severity, type)
    clocks = [sla.new_clock(case, target, now, policy=policy, last_sequence=0)
              for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.RESOLUTION)]
    case.next_deadline_at = sla.earliest_deadline(clocks)
    statements.insert(case)  # as case.save(force_insert=True), compiled once (email in opens cases by the hundred)
    # A new case links nothing yet: only what is given is written.
    if tags:
        case.tags.add(*_clean_tags(tags))
    for related, objects in (("invoices", invoices), ("payments", payments), ("subscriptions", subscriptions)):
        statements.link(case, related, objects or ())
    # The first message is what the customer asked, whoever typed it in (an agent logging a call).
    first = CaseMessage(
        case=case, kind=MessageKind.PUBLIC, direction=Direction.INBOUND, channel=channel, author=actor if actor else None,
        author_email=requester_email, author_name=requester_name, body=description or subject,
        visible_body=visible_body, created_at=now, message_id=message_id, inbound_mail=inbound_mail,
    )
    statements.insert(first)
    for clock in clocks:
        clock.case = case
    for clock in clocks:  # (compiled once: cheaper than a bulk_create of two; deferred by email in on PostgreSQL)
        statements.insert(clock)
    _audit(case, "case.opened", actor)
    if acknowledge and channel in (Channel.PORTAL, Channel.EMAIL, Channel.API) and requester_email:
        queue_acknowledgement(case, actor=actor, in_reply_to=message_id, first=first, policy=policy)
    case.first_message = first  # (email in attaches the mail's files to it)
    return case


def _check_customer_addresses(customer, addresses) -> None:
    """Addresses a customer's user may copy: its customer's contacts and portal users only."""
    from partnerdesk.customers.models import BillingContact

    known = {e.lower() for e in BillingContact.objects.filter(customer=customer).values_list("email", flat=True)}
    known |= {e.lower() for e in User.objects.filter(customer=customer).exclude(email="").values_list("email", flat=True)}
    for address in addresses or []:
        if str(address).strip().lower() not in known:
            raise InvalidInput(_("%(email)s is not a contact of your company"), field="cc", email=str(address)[:254])


def _clean_cc(cc) -> list[str]:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    out = []
    for address in cc or []:
        address = str(address).strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(_("%(email)s is not an email address"), field="cc", email=repr(address))
        if address not in out:
            out.append(address)
    if len(out) > 20:
        raise InvalidInput(_("at most %(count)s addresses"), field="cc", count=20)
    return out


# --- the conversation -------------------------------------------------------------------------------------


@transaction.atomic
def reply(*, case: Case, body: str, actor, status: str | None = None, now: dt.datetime | None = None,
          attachments=()) -> CaseMessage:
    """An agent's public reply: emailed to the requester and the CC'd contacts, shown in the portal."""
    now = now or timezone.now()
    body = _body(body)
    if status is not None and status not in SETTABLE:
        raise InvalidInput(_("after a reply a case is open or waiting; resolve it with a resolution"), field="status")
    case = _lock(case)
    _require_open_for_reply(case)
    before = snapshot(case, AUDITED)
    message = CaseMessage.objects.create(case=case, kind=MessageKind.PUBLIC, direction=Direction.OUTBOUND,
                                         channel=Channel.EMAIL, author=actor, body=body, created_at=now)
    _attach(message, attachments, actor)
    queue_public_reply(case, message, actor=actor)
    public_reply_sent.send(sender=Case, case=case, message=message, actor=actor, now=now)
    first = case.first_response_at is None
    case.first_response_at = case.first_response_at or now
    case.last_agent_message_at = now
    sla.meet(case, SlaTarget.FIRST_RESPONSE, now)
    sla.meet(case, SlaTarget.NEXT_RESPONSE, now)
    new_status = status or (CaseStatus.OPEN if case.status in (CaseStatus.NEW, CaseStatus.RESOLVED) else case.status)
    if new_status not in SETTABLE:
        raise InvalidInput(_("after a reply a case is open or waiting; resolve it with a resolution"), field="status")
    if case.status == CaseStatus.RESOLVED:
        # Writing again on a resolved case takes the resolution back: it must be resolved (and heard) anew.
        case.resolved_at, case.resolution_message = None, None
        case.reopen_count += 1
        sla.restart_resolution(case, now)
    _set_status(case, new_status, now)
    _touch(case, now, "first_response_at", "last_agent_message_at", "status", "resolved_at", "resolution_message",
           "reopen_count")
    sla.refresh_next_deadline(case)
    _audit(case, "case.replied", actor, before)
    record(actor=actor, action="case.first_response" if first else "case.message_sent", obj=message,
           customer=case.customer, after={"message_id": message.pk, "kind": message.kind})
    return message


@transaction.atomic
def add_note(*, case: Case, body: str, actor, now: dt.datetime | None = None, attachments=()) -> CaseMessage:
    """An internal note: for staff only, never shown to or sent to the customer by any path."""
    now = now or timezone.now()
    body = _body(body)
    case = _lock(case)
    message = CaseMessage.objects.create(case=case, kind=MessageKind.INTERNAL, direction=Direction.OUTBOUND,
                                         channel=Channel.INTERNAL, author=actor, body=body, created_at=now)
    _attach(message, attachments, actor)
    _touch(case, now)
    record(actor=actor, action="case.note_added", obj=message, customer=case.customer,
           after={"message_id": message.pk})
    return message


def add_event(case: Case, text: str, *, now: dt.datetime | None = None) -> CaseMessage:
    """A line in the case's history for staff (a bounce, a merge); never shown to the customer."""
    return CaseMessage.objects.create(case=case, kind=MessageKind.EVENT, direction=Direction.OUTBOUND,
                                      channel=Channel.INTERNAL, body=text[:bounds.NOTE_LENGTH],
                                      created_at=now or timezone.now())


@transaction.atomic
def customer_message(*, case: Case, body: str, actor=None, author_email: str = "", author_name: str = "",
                     channel: str = Channel.PORTAL, message_id: str = "", visible_body: str = "",
                     inbound_mail=None, now: dt.datetime | None = None, attachments=()) -> CaseMessage:
    """The customer writes on a case (portal, email). A resolved case reopens within the reopen window;
    after it, or once closed, the message opens a new case that follows the old one."""
    now = now or timezone.now()
    body = _body(body)
    case = _lock(case)
    while case.merged_into_id:
        case = _lock(case.merged_into)
    if _is_customer(actor) and actor.customer_id != case.customer_id:
        raise InvalidInput(_("this case is not your customer's"), field="case_id")
    author_email = author_email or (actor.email if actor is not None else "") or case.requester_email
    if case.status == CaseStatus.CLOSED or (case.status == CaseStatus.RESOLVED and not _within_reopen_window(case, now)):
        new = open_case(customer=case.customer, subject=case.subject, description=body, actor=actor,
                        type=case.type,
                        severity=case.severity, channel=channel, requester_contact=case.requester_contact,
                        requester_user=case.requester_user, requester_email=author_email or case.requester_email,
                        requester_name=author_name or case.requester_name, cc=case.cc,
                        invoices=list(case.invoices.all()), payments=list(case.payments.all()),
                        subscriptions=list(case.subscriptions.all()),
                        assignee=case.assignee if case.assignee is not None and case.assignee.is_active else None,
                        team=case.team,
                        follows=case, message_id=message_id, visible_body=visible_body, inbound_mail=inbound_mail,
                        now=now)
        add_event(case, f"The customer wrote again after this case ended: {new.token} follows it.", now=now)
        message = new.messages.get()
        _attach(message, attachments, actor)
        return message
    before = snapshot(case, AUDITED)
    message = CaseMessage(
        case=case, kind=MessageKind.PUBLIC, direction=Direction.INBOUND, channel=channel,
        author=actor if actor is not None and actor.pk else None, author_email=author_email,
        author_name=author_name, body=body, visible_body=visible_body, created_at=now, message_id=message_id,
        inbound_mail=inbound_mail,
    )
    statements.insert(message)
    _attach(message, attachments, actor)
    action = "case.customer_replied"
    # Reopening changes the clocks below (restart_resolution): then they are read again, else as the batch has
    # them (sla.resume restarts the batch's own clock objects).
    batch = mail_batch.current()
    clocks = batch.clocks.get(case.pk) if batch is not None and case.status != CaseStatus.RESOLVED else None
    if case.status == CaseStatus.RESOLVED:
        action = "case.reopened"
        case.reopen_count += 1
        case.resolved_at, case.resolution_message = None, None
        sla.restart_resolution(case, now)
    if case.status in (CaseStatus.WAITING_CUSTOMER, CaseStatus.RESOLVED):
        _set_status(case, CaseStatus.OPEN, now)
    # The agent owes an answer again: a next-response clock, once the first response has been given. The case's
    # clocks (a handful) are read once: whether one runs, the next sequence and the next deadline come from them.
    if clocks is None:
        clocks = statements.select("case.clocks", _clocks_of, case.pk)
        if batch is not None:
            batch.clocks[case.pk] = clocks  # (the clock started below is added to this same list)
    next_clocks = [c for c in clocks if c.target == SlaTarget.NEXT_RESPONSE]
    if case.first_response_at is not None and not any(c.met_at is None and not c.cancelled for c in next_clocks):
        clocks.append(sla.start(case, SlaTarget.NEXT_RESPONSE, now,
                                last_sequence=max((c.sequence for c in next_clocks), default=0)))
    case.last_customer_message_at = now
    case.next_deadline_at = sla.earliest_deadline(clocks)
    _touch(case, now, "status", "reopen_count", "resolved_at", "resolution_message", "last_customer_message_at",
           "next_deadline_at")
    _audit(case, action, actor, before)
    return message


def _clocks_of(case_id: int):
    return SlaClock.objects.filter(case_id=case_id)


def _within_reopen_window(case: Case, now: dt.datetime) -> bool:
    if case.resolved_at is None:
        return True
    zone = timezone.get_default_timezone()
    days = working_days_between(timezone.localtime(case.resolved_at, zone).date(), timezone.localtime(now, zone).date())
    return days <= desk_settings().reopen_window_days


def _body(body) -> str:
    body = bounds.clean_text(body, field="body", max_length=bounds.BODY_LENGTH)
    if not body.strip():
        raise InvalidInput(_("write a message"), field="body")
    return body


def _attach(message: CaseMessage, attachments, actor) -> None:
    from .attachments import store_attachment

    for item in attachments or ():
        store_attachment(message=message, filename=item["filename"], content_type=item.get("content_type", ""),
                         content=item["content"], actor=actor)


def _require_open_for_reply(case: Case) -> None:
    if case.status == CaseStatus.CLOSED or case.merged_into_id:
        raise Conflict(_("case %(case)s is %(status)s; it takes no more replies"), field="case_id",
                       case=case.token, status=status_word(CaseStatus, case.status))


# --- status, assignment, details --------------------------------------------------------------------------


def _set_status(case: Case, status: str, now: dt.datetime) -> None:
    """Move the case to a status, pausing the clocks while it waits on the customer."""
    if status == case.status:
        return
    if status == CaseStatus.WAITING_CUSTOMER:
        sla.pause(case, now)
    elif case.status == CaseStatus.WAITING_CUSTOMER:
        sla.resume(case, now)
    case.status = status


# The statuses a person may set directly; resolving and closing have their own rules.
SETTABLE = (CaseStatus.OPEN, CaseStatus.WAITING_CUSTOMER, CaseStatus.WAITING_OPERATOR)


@transaction.atomic
def change_status(*, case: Case, status: str, actor, reason: str = "", now: dt.datetime | None = None) -> Case:
    """Set a case open or waiting (on the customer or on the operator)."""
    now = now or timezone.now()
    _check_choice(status, CaseStatus, "status")
    if status not in SETTABLE:
        raise InvalidInput(_("resolve a case with a resolution message, and close it once the customer has it"),
                           field="status")
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    case = _lock(case)
    if not case.is_active and case.status != CaseStatus.RESOLVED:
        raise Conflict(_("case %(case)s is %(status)s"), field="status", case=case.token,
                       status=status_word(CaseStatus, case.status))
    before = snapshot(case, AUDITED)
    if case.status == CaseStatus.RESOLVED:
        case.resolved_at, case.resolution_message = None, None
        case.reopen_count += 1
        sla.restart_resolution(case, now)
    _set_status(case, status, now)
    _touch(case, now, "status", "resolved_at", "resolution_message", "reopen_count")
    sla.refresh_next_deadline(case)
    _audit(case, "case.status_changed", actor, before, reason)
    return case


@transaction.atomic
def assign(*, case: Case, actor, assignee: User | None = None, team: Team | None = None, reason: str = "") -> Case:
    """Give the case to an agent and/or a team (None leaves it unassigned)."""
    _check_staff(assignee, "assignee_id")
    case = _lock(case)
    before = snapshot(case, AUDITED)
    case.assignee, case.team = assignee, team
    if assignee is not None and case.status == CaseStatus.NEW:
        case.status = CaseStatus.OPEN
    _touch(case, timezone.now(), "assignee", "team", "status")
    _audit(case, "case.assigned", actor, before, reason)
    return case


@transaction.atomic
def update_details(*, case: Case, actor, subject: str | None = None, type: str | None = None,
                   severity: str | None = None, tags=None, invoices=None, payments=None, subscriptions=None,
                   cc=None, reason: str = "") -> Case:
    """Change what the case is about: subject, type, severity, tags, links, CC. A new severity or type
    applies its targets to the clocks still running."""
    case = _lock(case)
    before = snapshot(case, AUDITED)
    before["tags"] = sorted(case.tags.values_list("name", flat=True))
    if subject is not None:
        subject = bounds.clean_text(subject, field="subject", max_length=SUBJECT_LENGTH).strip()
        if not subject:
            raise InvalidInput(_("a subject is required"), field="subject")
        case.subject, case.subject_key = subject, subject_key(subject)
    new_type, new_severity = type or case.type, severity or case.severity
    _check_severity(new_severity, new_type)
    retarget = (new_type, new_severity) != (case.type, case.severity)
    case.type, case.severity = new_type, new_severity
    _check_links(case.customer, invoices, payments, subscriptions)
    if cc is not None:
        case.cc = _clean_cc(cc)
    _touch(case, timezone.now(), "subject", "subject_key", "type", "severity", "cc")
    if tags is not None:
        case.tags.set(_clean_tags(tags))
    for related, objects in (("invoices", invoices), ("payments", payments), ("subscriptions", subscriptions)):
        if objects is not None:
            getattr(case, related).set(objects)
    if retarget:
        _retarget_clocks(case)
    after_tags = sorted(case.tags.values_list("name", flat=True))
    record(actor=actor, action="case.updated", obj=case, customer=case.customer, before=before,
           after={**snapshot(case, AUDITED), "tags": after_tags}, reason=bounds.clean_text(reason, field="reason",
                                                                                          max_length=bounds.REASON_LENGTH))
    return case


def _retarget_clocks(case: Case) -> None:
    policy = sla.policy_for(case.severity, case.type)
    for clock in sla.running(case):
        clock.target_minutes, clock.around_the_clock = policy.minutes_for(clock.target), policy.around_the_clock
        clock.deadline_at = sla._deadline(clock)
        clock.save(update_fields=["target_minutes", "around_the_clock", "deadline_at"])
    sla.refresh_next_deadline(case)


# --- resolving and closing --------------------------------------------------------------------------------


@transaction.atomic
def resolve(*, case: Case, body: str, actor, now: dt.datetime | None = None, attachments=()) -> CaseMessage:
    """Send the customer the answer that resolves the case; it closes once the customer has it."""
    now = now or timezone.now()
    body = _body(body)
    case = _lock(case)
    if not case.is_active:
        raise Conflict(_("case %(case)s is %(status)s"), field="status", case=case.token,
                       status=status_word(CaseStatus, case.status))
    # A dispute case resolves with its decision (partnerdesk.disputes: uphold or reject), never around it.
    if case.disputes.filter(status="open").exists():
        raise Conflict(_("decide the case's open disputes first (uphold or reject): the decision is its resolution"),
                       field="disputes", code="open_disputes")
    before = snapshot(case, AUDITED)
    message = CaseMessage.objects.create(case=case, kind=MessageKind.PUBLIC, direction=Direction.OUTBOUND,
                                         channel=Channel.EMAIL, author=actor, body=body, created_at=now,
                                         is_resolution=True)
    _attach(message, attachments, actor)
    queue_public_reply(case, message, actor=actor, resolution=True)
    public_reply_sent.send(sender=Case, case=case, message=message, actor=actor, now=now)
    case.first_response_at = case.first_response_at or now
    case.last_agent_message_at = now
    if case.status == CaseStatus.WAITING_CUSTOMER:
        sla.resume(case, now)
    for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.NEXT_RESPONSE, SlaTarget.RESOLUTION):
        sla.meet(case, target, now)
    case.status, case.resolved_at, case.resolution_message = CaseStatus.RESOLVED, now, message
    _touch(case, now, "status", "resolved_at", "resolution_message", "first_response_at", "last_agent_message_at")
    sla.refresh_next_deadline(case)
    _audit(case, "case.resolved", actor, before)
    return message


def resolution_delivered(case: Case) -> bool:
    """True once the resolution reached the customer: the mail server took it and it did not bounce, or the
    customer read it in the portal."""
    from partnerdesk.notifications.models import EmailStatus

    message = case.resolution_message
    if message is None:
        return False
    if message.read_in_portal_at is not None:
        return True
    emails = list(message.emails.all())
    if not emails:
        return False
    requester = emails[0] if not case.requester_email else next(
        (e for e in emails if e.to_address.lower() == case.requester_email.lower()), emails[0])
    return requester.status == EmailStatus.SENT


@transaction.atomic
def close(*, case: Case, actor, automatic: bool = False, reason: str = "", now: dt.datetime | None = None) -> Case:
    """Close a resolved case: only once the resolution has reached the customer."""
    now = now or timezone.now()
    case = _lock(case)
    if case.status != CaseStatus.RESOLVED:
        raise Conflict(_("only a resolved case can be closed; case %(case)s is %(status)s"), field="status",
                       case=case.token, status=status_word(CaseStatus, case.status))
    if not resolution_delivered(case):
        raise Conflict(_("the customer has not received the resolution yet (it is not sent, or it bounced); "
                         "the case stays resolved until it arrives"), field="status", code="resolution_not_delivered")
    before = snapshot(case, AUDITED)
    case.status, case.closed_at, case.closed_automatically = CaseStatus.CLOSED, now, automatic
    _touch(case, now, "status", "closed_at", "closed_automatically")
    sla.cancel(case)
    sla.refresh_next_deadline(case)
    _audit(case, "case.closed_automatically" if automatic else "case.closed", actor, before,
           bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH))
    return case


@transaction.atomic
def confirm_resolution(*, case: Case, actor=None, now: dt.datetime | None = None) -> Case:
    """The customer confirms the answer solved it (signed link or portal): the case closes."""
    case = _lock(case)
    if case.status == CaseStatus.CLOSED:
        return case  # a second click on the link changes nothing
    if case.status != CaseStatus.RESOLVED:
        raise Conflict(_("case %(case)s is not resolved yet"), field="case_id", case=case.token)
    # Confirming from the link or the portal proves the answer arrived, whatever the mail server said.
    if case.resolution_message_id and case.resolution_message.read_in_portal_at is None:
        CaseMessage.objects.filter(pk=case.resolution_message_id).update(read_in_portal_at=now or timezone.now())
        case.resolution_message.refresh_from_db()
    return close(case=case, actor=actor, reason="confirmed by the customer", now=now)


@transaction.atomic
def reopen_by_customer(*, case: Case, body: str, actor=None, now: dt.datetime | None = None) -> CaseMessage:
    """The customer says the answer did not solve it: its words go on the case, which reopens (or a new
    case follows a closed one)."""
    return customer_message(case=case, body=body, actor=actor, channel=Channel.PORTAL, now=now)


@transaction.atomic
def record_satisfaction(*, case: Case, score: int, comment: str = "", actor=None,
                        now: dt.datetime | None = None) -> Case:
    """The customer's score (1-5) and comment, once per case."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput(_("a score from 1 to 5"), field="score")
    comment = bounds.clean_text(comment, field="comment", max_length=bounds.REASON_LENGTH)
    case = _lock(case)
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.closed_automatically:
        raise Conflict(_("a case is scored once the customer has its answer"), field="score")
    if case.satisfaction_score is not None:
        raise Conflict(_("this case has already been scored"), field="score", code="already_scored")
    before = snapshot(case, AUDITED)
    case.satisfaction_score, case.satisfaction_comment = score, comment
    case.satisfaction_at = now or timezone.now()
    case.save(update_fields=["satisfaction_score", "satisfaction_comment", "satisfaction_at"])
    _audit(case, "case.scored", actor, before)
    return case


@transaction.atomic
def mark_read_in_portal(*, case: Case, actor, now: dt.datetime | None = None) -> int:
    """The customer's user opened the case in the portal: the public replies are read."""
    if not _is_customer(actor) or actor.customer_id != case.customer_id:
        return 0
    return CaseMessage.objects.filter(case=case, kind=MessageKind.PUBLIC, direction=Direction.OUTBOUND,
                                      read_in_portal_at__isnull=True).update(read_in_portal_at=now or timezone.now())


@transaction.atomic
def merge(*, source: Case, target: Case, actor, reason: str = "") -> Case:
    """Merge source into target (same customer): its conversation, attachments and links move; source
    closes pointing at target."""
    if source.pk == target.pk:
        raise InvalidInput(_("a case cannot be merged into itself"), field="target_id")
    first, second = sorted([source.pk, target.pk])  # lock in one order: two merges cannot deadlock
    locked = {c.pk: c for c in Case.objects.select_for_update().select_related("customer").filter(pk__in=[first, second])}
    source, target = locked[source.pk], locked[target.pk]
    if source.customer_id != target.customer_id:
        raise InvalidInput(_("only cases of the same customer can be merged"), field="target_id")
    for case in (source, target):
        if case.status == CaseStatus.CLOSED or case.merged_into_id:
            raise Conflict(_("case %(case)s is %(status)s"), field="target_id", case=case.token,
                           status=status_word(CaseStatus, case.status))
    # Its disputes stay with it (they are decided and told in it): closing it would strand them undecided.
    if source.disputes.filter(status="open").exists():
        raise Conflict(_("case %(case)s has open disputes: decide them before merging it"), field="case_id",
                       case=source.token)
    before_source, before_target = snapshot(source, AUDITED), snapshot(target, AUDITED)
    now = timezone.now()
    source.messages.update(case=target)
    source.attachments.update(case=target)
    fulltext.move_messages(source.pk, target.pk)
    for related in ("invoices", "payments", "subscriptions", "tags"):
        getattr(target, related).add(*getattr(source, related).all())
    for address in source.cc:
        if address not in target.cc:
            target.cc.append(address)
    sla.cancel(source)
    source.status, source.merged_into, source.closed_at = CaseStatus.CLOSED, target, now
    source.next_deadline_at = None  # its clocks are cancelled: nothing is due on it
    _touch(source, now, "status", "merged_into", "closed_at", "next_deadline_at")
    _touch(target, now, "cc")
    add_event(source, f"Merged into {target.token}.", now=now)
    add_event(target, f"{source.token} was merged into this case.", now=now)
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    _audit(source, "case.merged", actor, before_source, reason)
    _audit(target, "case.merge_received", actor, before_target, reason)
    return target


# --- background -------------------------------------------------------------------------------------------


def close_resolved_cases(*, now: dt.datetime | None = None) -> int:
    """Close resolved cases the customer has not answered within the configured working days (no survey)."""
    now = now or timezone.now()
    days = desk_settings().auto_close_days
    zone = timezone.get_default_timezone()
    today = timezone.localtime(now, zone).date()
    closed = 0
    # N working days are at least N calendar days: only cases resolved before then are looked at.
    latest = dt.datetime.combine(today - dt.timedelta(days=max(days, 1) - 1), dt.time(), zone)
    candidates = (Case.objects.filter(status=CaseStatus.RESOLVED, resolved_at__lt=latest)
                  .select_related("resolution_message").prefetch_related("resolution_message__emails"))
    for case in candidates:
        if working_days_between(timezone.localtime(case.resolved_at, zone).date(), today) < days:
            continue
        if not resolution_delivered(case):
            continue  # never closed unheard: the desk's queues show it
        try:
            close(case=case, actor=None, automatic=True, reason="no reply from the customer", now=now)
            closed += 1
        except Conflict:
            continue  # changed meanwhile (a reply reopened it)
    return closed


@transaction.atomic
def resolution_bounced(email) -> None:
    """A reply of a case bounced: the case shows it; a bounced resolution reopens the case (the customer
    never heard the answer)."""
    from partnerdesk.notifications.models import EmailStatus

    for message in CaseMessage.objects.filter(emails=email).select_related("case"):
        case = _lock(message.case)
        add_event(case, f"The email to {email.to_address} bounced: {email.last_error[:500]}")
        if not message.is_resolution or case.resolution_message_id != message.pk:
            continue
        if email.status != EmailStatus.BOUNCED or case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            continue
        if message.read_in_portal_at is not None:
            continue  # the customer read the answer in the portal (or confirmed it): it reached them
        before = snapshot(case, AUDITED)
        now = timezone.now()
        case.resolved_at, case.closed_at, case.resolution_message = None, None, None
        case.status, case.closed_automatically = CaseStatus.OPEN, False
        case.reopen_count += 1
        if case.satisfaction_score is None:
            case.survey_sent_at = None  # the survey bounced with the answer: the next resolution asks again
        sla.restart_resolution(case, now)
        _touch(case, now, "status", "resolved_at", "closed_at", "resolution_message", "reopen_count",
               "closed_automatically", "survey_sent_at")
        sla.refresh_next_deadline(case)
        _audit(case, "case.reopened_bounce", None, before, reason=f"the resolution to {email.to_address} bounced")
