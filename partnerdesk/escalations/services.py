"""Every change to a service request to the operator: escalating a case, filing it (the portal's reference
number, or the API's create), the operator's answers, our notes, and its closing, which hands the case back to
its agent with one task: tell the customer.

Each function validates, changes the rows and writes the audit record in the same transaction; emails go through
notifications and operator calls run after commit, under a claim (claimed_by / next_poll_at), so a request is
in the hands of one worker at a time and a crash leaves it for the poller (tasks.py), never lost. The create is
sent with the request's stored client_request_id as MS-RequestId, so sending it again creates nothing twice.
"""

import datetime as dt
import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.customers.models import Language
from partnerdesk.errors import Conflict, InvalidInput, status_word
from partnerdesk.gateway import service_requests as operator_requests
from partnerdesk.gateway.client import OperatorError, OperatorNotFound, OperatorRejected
from partnerdesk.notifications.services import queue_email
from partnerdesk.support import services as support
from partnerdesk.support.alerts import STAFF_LANGUAGE
from partnerdesk.support.links import site_url
from partnerdesk.support.models import Case, CaseStatus

from . import targets
from .background import service_request_due
from .models import (
    NoteSource,
    OperatorNote,
    OperatorSeverity,
    RequestChannel,
    ServiceRequest,
    ServiceRequestStatus,
    Topic,
)

logger = logging.getLogger(__name__)

AUDITED = ["status", "channel", "topic", "severity", "title", "reference", "filed_at", "first_response_at",
           "closed_at", "first_response_due_at", "resolution_due_at", "customer_told_at", "last_error"]
TITLE_LENGTH = 300
REFERENCE_LENGTH = 100
MAX_LINKS = 100
# A worker's claim on a request lasts this long: a worker that died mid-call frees it when the lease ends.
CLAIM_LEASE = dt.timedelta(minutes=5)
# How often the API channel reads an open request; after a failure it waits longer each time, up to an hour.
POLL_EVERY = dt.timedelta(minutes=15)
RETRY_AFTER = [dt.timedelta(minutes=m) for m in (1, 5, 15, 30, 60)]
ACTIVE = (ServiceRequestStatus.OPEN, ServiceRequestStatus.ATTENTION_NEEDED)
NO_SUCH_LINK = {"invoice_ids": _("no such invoice for this customer"),
                "subscription_ids": _("no such subscription for this customer")}
NEEDS_ZONE = _("give the time with its time zone, such as 2026-11-24T10:30:00+08:00")


def _audit(sr: ServiceRequest, action: str, actor, before=None, reason: str = "", **extra) -> None:
    record(actor=actor, action=action, obj=sr, customer=sr.customer, before=before,
           after={**snapshot(sr, AUDITED), **extra}, reason=reason)


def _lock(sr: ServiceRequest) -> ServiceRequest:
    return ServiceRequest.objects.select_for_update().select_related("case", "customer").get(pk=sr.pk)


def _check_choice(value, choices, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(_("%(value)s is not one of the choices"), field=field, value=repr(value))
    return value


def _required_text(value, *, field: str, max_length: int) -> str:
    value = bounds.clean_text(value, field=field, max_length=max_length).strip()
    if not value:
        raise InvalidInput(_("this is required"), field=field)
    return value


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def case_url(case: Case) -> str:
    return site_url() + reverse("support_case", args=[case.pk])


# --- escalating -------------------------------------------------------------------------------------------


# The status of a request sent through the API is read from the operator: set by hand, the poller would stop
# reading a request the operator still works on (and its later answers would be lost).
API_STATUS_IS_THE_OPERATORS = _("21Vianet sets the status of a request sent through the API; PartnerDesk reads it "
                                "from there")


def check_severity(topic: str, severity: str) -> None:
    """The operator's highest severity for billing, subscription and fraud requests is B (moderate)."""
    _check_choice(topic, Topic, "topic")
    _check_choice(severity, OperatorSeverity, "severity")
    if severity == OperatorSeverity.CRITICAL and topic != Topic.TECHNICAL:
        raise InvalidInput(_("severity A (critical) is for technical requests only: the operator takes billing, "
                             "subscription and fraud requests at B (moderate) at most"), field="severity")


def escalate(case: Case, *, actor, channel: str, topic: str, severity: str, title: str, description: str,
             language: str = Language.ZH_CN, invoices=(), subscriptions=()) -> ServiceRequest:
    """Escalate a case to the operator on the customer's behalf: a service request with the partner's own contact
    (never the customer's) and the customer's tenant id. Portal: a draft whose text the agent pastes into the
    operator's portal (portal_text). API: created at the operator after commit; if it cannot be reached now, the
    worker sends it later. The case waits on the operator."""
    _check_choice(channel, RequestChannel, "channel")
    check_severity(topic, severity)
    _check_choice(language, Language, "language")
    title = _required_text(title, field="title", max_length=TITLE_LENGTH)
    description = _required_text(description, field="description", max_length=bounds.NOTE_LENGTH)
    invoices, subscriptions = list(invoices or ()), list(subscriptions or ())
    for field, objects in (("invoice_ids", invoices), ("subscription_ids", subscriptions)):
        if len(objects) > MAX_LINKS:
            raise InvalidInput(_("at most %(count)s items"), field=field, count=MAX_LINKS)
        for i, obj in enumerate(objects):
            if obj.customer_id != case.customer_id:
                raise InvalidInput(_("%(name)s belongs to another customer"), field=f"{field}[{i}]", name=str(obj))
    row = targets.settings_row()
    if not (row.contact_name and row.contact_email):
        raise InvalidInput(_("the partner's contact for service requests is not set: fill in the contact name and "
                             "email in the escalation settings first"), field="contact_email")
    now = timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("customer").get(pk=case.pk)
        if case.status == CaseStatus.CLOSED or case.merged_into_id:
            raise Conflict(_("case %(case)s is %(status)s"), field="case_id", case=case.token,
                           status=status_word(CaseStatus, case.status))
        api = channel == RequestChannel.API
        sr = ServiceRequest.objects.create(
            case=case, customer=case.customer, channel=channel, topic=topic, severity=severity, title=title,
            description=description, language=language, contact_name=row.contact_name,
            contact_email=row.contact_email, contact_phone=row.contact_phone, tenant_id=str(case.customer.tenant_id),
            created_by=actor if actor is not None and actor.pk else None, created_at=now,
            # The API request is in this call's hands until its lease ends; then the poller sends it.
            claimed_by=_escalating() if api else "", next_poll_at=now + CLAIM_LEASE if api else None)
        if invoices:
            sr.invoices.set(invoices)
        if subscriptions:
            sr.subscriptions.set(subscriptions)
        _audit(sr, "service_request.created", actor, invoice_ids=[i.pk for i in invoices],
               subscription_ids=[s.pk for s in subscriptions])
        if case.assignee_id is None and actor is not None and getattr(actor, "is_partner_staff", False):
            # The case comes back to "its agent" when the operator closes the request: the one who escalated it.
            case = support.assign(case=case, actor=actor, assignee=actor, team=case.team,
                                  reason="escalated to the operator")
        if case.status != CaseStatus.WAITING_OPERATOR:
            support.change_status(case=case, status=CaseStatus.WAITING_OPERATOR, actor=actor,
                                  reason=f"escalated to the operator ({sr.channel})", now=now)
        # Stored in English, shown in the reader's language (service_messages).
        letter = {"critical": "A", "moderate": "B", "minimal": "C"}[sr.severity]
        how = "sent through the Partner Center API" if api else "to be filed in the operator's portal"
        support.add_event(case, f"Escalated to 21Vianet, severity {letter}, {how}: {title}", now=now)
        if api:
            claim = sr.claimed_by
            transaction.on_commit(lambda: service_request_due.send(sender=__name__, sr_id=sr.pk, claim=claim),
                                  robust=True)
    return sr


def _escalating() -> str:
    return f"escalate-{uuid.uuid4().hex[:12]}"


def draft_for(sr: ServiceRequest):
    """What the gateway sends or prepares for this request."""
    return operator_requests.ServiceRequestDraft(
        title=sr.title, description=sr.description, severity=sr.severity, topic_id=sr.topic,
        contact=operator_requests.Contact(name=sr.contact_name, email=sr.contact_email, phone=sr.contact_phone),
        tenant_id=sr.tenant_id, language=sr.language,
        invoices=[i.number or str(i) for i in sr.invoices.order_by("pk")],
        subscriptions=[s.operator_id for s in sr.subscriptions.order_by("pk")])


def portal_text(sr: ServiceRequest) -> str:
    """The request as text ready to paste into the operator's portal, in the request's language."""
    return operator_requests.channel(RequestChannel.PORTAL).prepare(draft_for(sr))


def _file(sr: ServiceRequest, reference: str, now: dt.datetime) -> None:
    """The request is at the operator: its reference, open, and the operator's targets start (not saved)."""
    sr.reference, sr.status, sr.filed_at = reference, ServiceRequestStatus.OPEN, now
    targets.set_targets(sr, now)


@transaction.atomic
def record_reference(sr: ServiceRequest, reference: str, *, actor, now: dt.datetime | None = None) -> ServiceRequest:
    """Portal: the agent filed the prepared text in the operator's portal and records the number it gave; the
    request is open and the operator's targets start."""
    reference = _required_text(reference, field="reference", max_length=REFERENCE_LENGTH)
    sr = _lock(sr)
    if sr.channel != RequestChannel.PORTAL:
        raise Conflict(_("the operator gives the reference of a request sent through the API"), field="reference")
    if sr.status != ServiceRequestStatus.DRAFT:
        if sr.reference == reference:
            return sr  # recorded twice (a double click): nothing changes
        raise Conflict(_("this request was already filed as %(reference)s"), field="reference",
                       reference=sr.reference)
    before = snapshot(sr, AUDITED)
    _file(sr, reference, now or timezone.now())
    try:
        with transaction.atomic():
            sr.save(update_fields=["reference", "status", "filed_at", "first_response_due_at", "resolution_due_at"])
    except IntegrityError:
        raise Conflict(_("another request already has the reference %(reference)s"), field="reference",
                       reference=reference)
    support.add_event(sr.case, f"Filed in 21Vianet's portal as {reference}.", now=sr.filed_at)
    _audit(sr, "service_request.filed", actor, before)
    return sr


# --- the operator's answers and our notes --------------------------------------------------------------------


def log_operator_answer(sr: ServiceRequest, text: str, *, actor, author: str = "",
                        written_at: dt.datetime | None = None, source: str = NoteSource.AGENT,
                        status: str | None = None, key: str = "") -> OperatorNote | None:
    """An answer from the operator (logged by an agent, read from the API, or forwarded by email): shown on the
    case to staff only, never to the customer. The first one is the operator's first response. With `status`, the
    operator also changed the request's status (closed: mark_closed). None if this answer (its key) is already
    recorded."""
    text = _required_text(text, field="text", max_length=bounds.NOTE_LENGTH)
    author = bounds.clean_text(author, field="author", max_length=bounds.NAME_LENGTH).strip()
    _check_choice(source, NoteSource, "source")
    if status is not None:
        _check_choice(status, ServiceRequestStatus, "status")
        if status == ServiceRequestStatus.DRAFT:
            raise InvalidInput(_("%(value)s is not one of the choices"), field="status", value=repr(status))
    now = timezone.now()
    written_at = written_at or now
    if timezone.is_naive(written_at):
        raise InvalidInput(NEEDS_ZONE, field="written_at")
    if written_at > now + dt.timedelta(minutes=5) or written_at.date() < bounds.MIN_DATE:
        raise InvalidInput(_("the answer's time cannot be in the future"), field="written_at")
    with transaction.atomic():
        sr = _lock(sr)
        if sr.status == ServiceRequestStatus.DRAFT:
            raise Conflict(_("the request is not filed yet: record the operator's reference first"),
                           field="reference")
        if sr.filed_at and written_at < sr.filed_at - dt.timedelta(minutes=5):
            raise InvalidInput(_("the answer cannot be older than the request (filed %(filed)s)"), field="written_at",
                               filed=f"{timezone.localtime(sr.filed_at):%Y-%m-%d %H:%M}")
        if status is not None and sr.channel == RequestChannel.API and source != NoteSource.API:
            raise Conflict(API_STATUS_IS_THE_OPERATORS, field="status")
        if key and sr.notes.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                note = OperatorNote.objects.create(request=sr, from_operator=True, author=author, text=text,
                                                   written_at=written_at, source=source, recorded_at=now, key=key,
                                                   recorded_by=actor if actor is not None and actor.pk else None)
        except IntegrityError:
            return None  # another poller recorded it first
        before = snapshot(sr, AUDITED)
        if sr.first_response_at is None:
            sr.first_response_at = written_at
            sr.save(update_fields=["first_response_at"])
        who = f" ({author})" if author else ""
        note.case_message = support.add_event(sr.case, f"21Vianet answered on {sr}{who}:\n{text}", now=now)
        note.save(update_fields=["case_message"])
        _audit(sr, "service_request.answer_logged", actor, before, note_id=note.pk, source=source)
        if status is not None and status != sr.status:
            set_status(sr, status, actor=actor)
    return note


def set_status(sr: ServiceRequest, status: str, *, actor) -> ServiceRequest:
    """The operator changed the request's status: closed hands the case back (mark_closed); attention needed
    tells the case's agent."""
    if status == ServiceRequestStatus.CLOSED:
        return mark_closed(sr, actor=actor)
    with transaction.atomic():
        sr = _lock(sr)
        if sr.status == status or sr.status in (ServiceRequestStatus.DRAFT, ServiceRequestStatus.CLOSED):
            return sr
        before = snapshot(sr, AUDITED)
        sr.status = status
        sr.save(update_fields=["status"])
        _audit(sr, "service_request.status_changed", actor, before)
        if status == ServiceRequestStatus.ATTENTION_NEEDED:
            support.add_event(sr.case, f"21Vianet needs our attention on {sr}: read its notes and answer.")
            _tell_agent(sr, "escalations.attention", dedupe=f"escalation-attention-{sr.pk}-{before['status']}-"
                                                          f"{sr.notes.count()}")
    return sr


@transaction.atomic
def add_our_note(sr: ServiceRequest, text: str, actor) -> OperatorNote:
    """A note of ours to the operator: sent through the API (after commit, or by the worker if the operator cannot
    be reached), or, on a portal request, logged as written there by the agent."""
    text = _required_text(text, field="text", max_length=bounds.NOTE_LENGTH)
    sr = _lock(sr)
    if sr.status == ServiceRequestStatus.CLOSED:
        raise Conflict(_("request %(reference)s is closed"), field="text", reference=str(sr))
    now = timezone.now()
    api = sr.channel == RequestChannel.API
    note = OperatorNote.objects.create(request=sr, from_operator=False, author=_name(actor), text=text, written_at=now,
                                       source=NoteSource.AGENT, recorded_at=now, sent_at=None if api else now,
                                       recorded_by=actor if actor is not None and actor.pk else None)
    note.case_message = support.add_event(sr.case, f"Our note to 21Vianet on {sr}:\n{text}", now=now)
    note.save(update_fields=["case_message"])
    _audit(sr, "service_request.note_added", actor, note_id=note.pk)
    if api:
        # Sent now if no worker holds the request; else the worker holding it sends it before it lets go.
        ServiceRequest.objects.filter(pk=sr.pk, claimed_by="").update(next_poll_at=now)
        transaction.on_commit(lambda: service_request_due.send(sender=__name__, sr_id=sr.pk, claim=None),
                              robust=True)
    return note


def log_forwarded_answer(case: Case, message, *, actor=None) -> OperatorNote | None:
    """A mail from the operator forwarded into the case: logged as the operator's answer on the case's request
    (the newest one still open), once per message."""
    sr = (case.service_requests.filter(status__in=ACTIVE).order_by("-filed_at", "-pk").first()
          or case.service_requests.exclude(status=ServiceRequestStatus.DRAFT).order_by("-filed_at", "-pk").first())
    if sr is None:
        raise Conflict(_("case %(case)s has no filed request to the operator"), field="case_id", case=case.token)
    return log_operator_answer(sr, message.display_body, actor=actor, author=message.author_name or message.author_email,
                               written_at=message.created_at, source=NoteSource.EMAIL, key=f"mail-{message.pk}")


def log_forwarded_mail(case: Case, mail, text: str, *, actor) -> OperatorNote | None:
    """The operator's answer a colleague forwarded to the desk naming the case: logged on the case's request
    (the newest one still open), once per mail. None when there is nothing to log it on (or it is closed)."""
    sr = (case.service_requests.filter(status__in=ACTIVE).order_by("-filed_at", "-pk").first()
          or case.service_requests.exclude(status=ServiceRequestStatus.DRAFT).order_by("-filed_at", "-pk").first())
    if sr is None or sr.status == ServiceRequestStatus.CLOSED:
        return None
    return log_operator_answer(sr, _clean(text, bounds.NOTE_LENGTH).strip() or "-", actor=actor,
                               author=_clean(_name(actor), bounds.NAME_LENGTH), source=NoteSource.EMAIL,
                               key=f"inbound-{mail.pk}") or sr.notes.filter(key=f"inbound-{mail.pk}").first()


# --- closing, and telling the customer -----------------------------------------------------------------------


def mark_closed(sr: ServiceRequest, actor=None, *, now: dt.datetime | None = None) -> ServiceRequest:
    """The operator closed the request: the case goes back to its agent (open, assignee kept) with one task,
    tell the customer; the agent hears of it on the case and by email."""
    now = now or timezone.now()
    with transaction.atomic():
        sr = _lock(sr)
        if sr.status == ServiceRequestStatus.CLOSED:
            return sr
        if sr.channel == RequestChannel.API and actor is not None:
            raise Conflict(API_STATUS_IS_THE_OPERATORS, field="status")
        if sr.status == ServiceRequestStatus.DRAFT:  # never filed: the operator cannot have closed it
            raise Conflict(_("the request is not filed yet: record the operator's reference first"),
                           field="reference")
        before = snapshot(sr, AUDITED)
        sr.status, sr.closed_at = ServiceRequestStatus.CLOSED, now
        sr.save(update_fields=["status", "closed_at"])
        _audit(sr, "service_request.closed", actor, before)
        case = Case.objects.select_for_update().get(pk=sr.case_id)
        others_open = case.service_requests.exclude(pk=sr.pk).exclude(status=ServiceRequestStatus.CLOSED).exists()
        if case.status in (CaseStatus.NEW, CaseStatus.WAITING_OPERATOR) and not others_open:
            support.change_status(case=case, status=CaseStatus.OPEN, actor=actor,
                                  reason=f"21Vianet closed {sr}", now=now)
        support.add_event(case, f"21Vianet closed {sr}. Task: tell the customer the outcome in a reply.", now=now)
        _tell_agent(sr, "escalations.closed", dedupe=f"escalation-closed-{sr.pk}")
    return sr


def customer_told(case: Case, *, actor=None, now: dt.datetime | None = None) -> int:
    """The agent's public reply went out: the closed requests of the case whose outcome the customer was still to
    hear are done. How many."""
    now = now or timezone.now()
    done = 0
    for sr in ServiceRequest.objects.select_for_update().filter(case=case, status=ServiceRequestStatus.CLOSED,
                                                                customer_told_at__isnull=True):
        before = snapshot(sr, AUDITED)
        sr.customer_told_at = now
        sr.save(update_fields=["customer_told_at"])
        _audit(sr, "service_request.customer_told", actor, before)
        done += 1
    return done


def agent_for(case: Case):
    """Who works the case: its assignee, else its team's lead (None if neither can get mail)."""
    for user in (case.assignee, case.team.lead if case.team_id else None):
        if user is not None and user.is_active and user.email:
            return user
    return None


def _tell_agent(sr: ServiceRequest, template_key: str, *, dedupe: str, target: str = "", deadline=None) -> bool:
    case = sr.case
    agent = agent_for(case)
    if agent is None:
        return False
    context = {"case_token": case.token, "case_subject": case.subject, "customer_name": case.customer.name,
               "operator_reference": str(sr), "request_title": sr.title, "case_url": case_url(case)}
    if target:
        context["target"] = target
    if deadline is not None:
        context["deadline"] = timezone.localtime(deadline, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")
    queue_email(customer=None, to=agent.email, language=STAFF_LANGUAGE, template_key=template_key, context=context,
                dedupe_key=f"{dedupe}-{agent.pk}")
    return True


# --- the API channel: sending, reading, our notes ------------------------------------------------------------


def claim(sr_id: int, worker: str, *, now: dt.datetime | None = None, due_only: bool = True) -> bool:
    """Take a request for one worker: a conditional UPDATE, so of two workers only one gets it. due_only: the
    poller takes requests due for a read; otherwise any request no worker holds (or whose lease ran out)."""
    now = now or timezone.now()
    rows = ServiceRequest.objects.filter(pk=sr_id, channel=RequestChannel.API).exclude(status=ServiceRequestStatus.CLOSED)
    rows = rows.filter(next_poll_at__lte=now) if due_only else rows.filter(Q(claimed_by="") | Q(next_poll_at__lte=now))
    return rows.update(claimed_by=worker, next_poll_at=now + CLAIM_LEASE) == 1


def _release(sr_id: int, worker: str, next_at: dt.datetime | None, **fields) -> None:
    ServiceRequest.objects.filter(pk=sr_id, claimed_by=worker).update(claimed_by="", next_poll_at=next_at, **fields)


def work_on(sr_id: int, worker: str | None = None, *, gateway=None) -> str:
    """Bring one API request in step with the operator: send it if it is not there yet, send our waiting notes,
    read its notes and status. `worker` already holds the claim; without it, it is claimed here (and left alone
    if a worker holds it). The outcome: sent, polled, failed, busy or gone."""
    if worker is None:
        worker = f"now-{uuid.uuid4().hex[:12]}"
        if not claim(sr_id, worker, due_only=False):
            return "busy"
    sr = ServiceRequest.objects.select_related("case", "customer").filter(pk=sr_id).first()
    if sr is None or sr.channel != RequestChannel.API:
        return "gone"
    api = operator_requests.channel(RequestChannel.API, gateway)
    now = timezone.now()
    try:
        if not sr.reference:
            _create_at_operator(sr, api)
            outcome = "sent"
        else:
            _send_notes(sr, api)
            _read_from_operator(sr, api)
            outcome = "polled"
    except OperatorError as exc:
        _failed(sr, worker, exc, now)
        return "failed"
    except Exception as exc:  # noqa: BLE001  (one request's surprise must not stop the poller for the others)
        logger.exception("service request %s: could not bring it in step with the operator", sr.pk)
        _failed(sr, worker, OperatorError(f"PartnerDesk could not process the operator's answer ({type(exc).__name__})"),
                now)
        return "failed"
    waiting = sr.notes.filter(from_operator=False, sent_at__isnull=True).exists()
    closed = ServiceRequest.objects.filter(pk=sr.pk, status=ServiceRequestStatus.CLOSED).exists()
    _release(sr.pk, worker, None if closed else (now if waiting else now + POLL_EVERY), attempts=0, last_error="",
             last_polled_at=now)
    return outcome


def _create_at_operator(sr: ServiceRequest, api) -> None:
    # The same MS-RequestId on every attempt, whichever worker makes it: the operator makes the request once.
    created = api.create(draft_for(sr), request_id=str(sr.client_request_id))
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(sr)
        if locked.reference:
            return
        before = snapshot(locked, AUDITED)
        _file(locked, str(created.id), now)
        locked.save(update_fields=["reference", "status", "filed_at", "first_response_due_at", "resolution_due_at"])
        support.add_event(locked.case, f"21Vianet received the request as {created.id}.", now=now)
        _audit(locked, "service_request.filed", None, before)
    sr.reference = locked.reference


def _note_request_id(sr: ServiceRequest, note: OperatorNote) -> str:
    return str(uuid.uuid5(sr.client_request_id, f"note-{note.pk}"))


def _send_notes(sr: ServiceRequest, api) -> None:
    for note in sr.notes.filter(from_operator=False, sent_at__isnull=True).order_by("pk"):
        answer = api.add_note(sr.reference, note.text, request_id=_note_request_id(sr, note))
        known = set(sr.notes.exclude(key="").values_list("key", flat=True))
        # Our note comes back among the request's notes: its key marks it as ours, so a read skips it.
        mine = next((n for n in reversed(answer.notes) if n.text.strip() == note.text.strip() and n.key not in known),
                    None)
        with transaction.atomic():
            OperatorNote.objects.filter(pk=note.pk).update(sent_at=timezone.now(), key=mine.key if mine else "")
            record(actor=None, action="service_request.note_sent", obj=sr, customer=sr.customer,
                   after={"note_id": note.pk})


def _read_from_operator(sr: ServiceRequest, api) -> None:
    current = api.read(sr.reference)
    ours = {t.strip() for t in sr.notes.filter(from_operator=False, key="").values_list("text", flat=True)}
    known = set(sr.notes.exclude(key="").values_list("key", flat=True))
    for note in sorted(current.notes, key=lambda n: n.written_at):
        if note.key in known or note.text.strip() in ours:
            continue
        text, author, written_at = _as_we_keep_it(note, sr)
        log_operator_answer(sr, text, actor=None, author=author, written_at=written_at, source=NoteSource.API,
                            key=note.key)
    if current.status in (ServiceRequestStatus.OPEN, ServiceRequestStatus.ATTENTION_NEEDED,
                          ServiceRequestStatus.CLOSED):
        set_status(sr, current.status, actor=None)


def _clean(value: str, limit: int) -> str:
    """Text as the operator sent it, made storable: no NUL or lone surrogates, cut to `limit` characters."""
    value = (value or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return value if len(value) <= limit else value[:limit - 1] + "…"


def _as_we_keep_it(note, sr: ServiceRequest) -> tuple[str, str, dt.datetime]:
    """An operator's note is recorded whatever it holds (the checks on an agent's input do not apply): an
    over-long text is cut, a time ahead of our clock (the operator's clock runs fast) or before filing is
    clamped."""
    now = timezone.now()
    written_at = min(note.written_at, now) if note.written_at else now
    if sr.filed_at and written_at < sr.filed_at:
        written_at = sr.filed_at
    return (_clean(note.text, bounds.NOTE_LENGTH).strip() or "-", _clean(note.author, bounds.NAME_LENGTH).strip(),
            written_at)


def _failed(sr: ServiceRequest, worker: str, exc: OperatorError, now: dt.datetime) -> None:
    attempts = sr.attempts + 1
    # A request the operator refuses as it is (a 4xx) is not sent again by itself: the case says why.
    permanent = (isinstance(exc, OperatorRejected) and getattr(exc, "permanent", True)) or (
        isinstance(exc, OperatorNotFound) and not sr.reference)
    next_at = None if permanent else now + RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1]
    logger.warning("service request %s: %s", sr.pk, exc.message)
    with transaction.atomic():
        _release(sr.pk, worker, next_at, attempts=attempts, last_error=exc.message[:2000])
        if permanent:
            support.add_event(sr.case, f"21Vianet refused {sr}: {exc.message}")
            record(actor=None, action="service_request.refused", obj=sr, customer=sr.customer,
                   after={"last_error": exc.message[:2000]})
