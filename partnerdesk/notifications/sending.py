"""Sending one email: claiming it from the queue, talking SMTP, and recording the outcome.

services.send_pending drives these; nothing else should call them.
"""

import datetime as dt
import logging
import os
import smtplib
import socket
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from partnerdesk.audit.services import record, snapshot

from .attachments import AttachmentProblem, make_all
from .catalogue import PERSONAL_TEMPLATES
from .models import AUDITED_FIELDS, EmailStatus, OutboundEmail
from .rendering import TemplateProblem, render_email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE = dt.timedelta(minutes=5)  # 5, 10, 20, 40 minutes between the five attempts
CLAIM_LEASE = dt.timedelta(minutes=10)  # a row 'sending' for longer belongs to a worker that died
NO_RECIPIENT = "the customer has no billing contact with an email address"


def default_worker_id() -> str:
    """A name for this sender that no other process or call shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def claim_next(worker_id: str) -> OutboundEmail | None:
    """Claim one due email for this worker, or None when nothing is due."""
    while True:
        now = timezone.now()
        candidates = list(OutboundEmail.objects.due(now).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:20])
        if not candidates:
            return None
        for pk in candidates:
            # The conditional UPDATE is the claim: of two workers racing for a row, only one matches it.
            # While 'sending', next_attempt_at is the end of the claim's lease.
            claimed = OutboundEmail.objects.filter(pk=pk).due(now).update(
                status=EmailStatus.SENDING, claimed_by=worker_id, next_attempt_at=now + CLAIM_LEASE,
                attempts=F("attempts") + 1,
            )
            if claimed:
                return OutboundEmail.objects.select_related("customer").get(pk=pk)


def _mail_domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or socket.getfqdn()


def message_id_for(pk: int) -> str:
    """The Message-ID of an email: its row and a keyed signature, so no one outside can make up the id of an
    email we sent (a forged bounce or reply naming it finds nothing)."""
    signature = salted_hmac("partnerdesk.notifications.message-id", str(pk)).hexdigest()[:16]
    return f"<partnerdesk-email-{pk}.{signature}@{_mail_domain()}>"


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                         for addr, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {msg}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _message_problem(exc: Exception) -> bool | None:
    """For an error about this one message: True if permanent (5xx), False if not. None: a server problem."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return None


def _finish(email: OutboundEmail, worker_id: str, *, action: str | None, **fields) -> bool:
    """Write the outcome of a send, if this worker still holds the claim; audit final outcomes."""
    with transaction.atomic():
        done = OutboundEmail.objects.filter(pk=email.pk, status=EmailStatus.SENDING, claimed_by=worker_id).update(**fields)
        if not done:
            logger.warning("email %s: claim of %s lost before the outcome was written", email.pk, worker_id)
            return False
        before = snapshot(email, AUDITED_FIELDS)
        for key, value in fields.items():
            setattr(email, key, value)
        if action:
            record(actor=None, action=action, obj=email, before=before, after=snapshot(email, AUDITED_FIELDS))
    return True


def _fail(email: OutboundEmail, worker_id: str, *, error: str, permanent: bool, subject="", body="") -> str:
    """Requeue with exponential backoff, or mark failed after the last attempt (or a permanent refusal)."""
    now = timezone.now()
    fields = {"last_error": error[:2000], "subject": subject[:300], "body": body}
    if permanent or email.attempts >= MAX_ATTEMPTS:
        _finish(email, worker_id, action="email.failed", status=EmailStatus.FAILED, next_attempt_at=now, **fields)
        return "failed"
    delay = RETRY_BASE * 2 ** (max(email.attempts, 1) - 1)
    _finish(email, worker_id, action=None, status=EmailStatus.QUEUED, next_attempt_at=now + delay, claimed_by="", **fields)
    return "requeued"


def deliver(email: OutboundEmail, worker_id: str, mailer, overrides: dict) -> tuple[str, bool]:
    """Render and send one claimed email. Returns the outcome and whether the mail server itself failed."""
    if email.attempts > MAX_ATTEMPTS:
        # Only a claim that ran out (a worker died mid-send) gets here: stop trying.
        return _fail(email, worker_id, error=email.last_error or "the sending worker stopped", permanent=True), False
    try:
        subject, body = render_email(email, overrides=overrides)
    except TemplateProblem as exc:
        return _fail(email, worker_id, error=str(exc), permanent=True), False  # (kept in English, as all errors)
    if not email.to_address:
        return _fail(email, worker_id, error=NO_RECIPIENT, permanent=True, subject=subject, body=body), False
    try:
        # Made afresh on every attempt: nothing is stored, and a retry carries the same document.
        files = make_all(email)
    except AttachmentProblem as exc:
        return _fail(email, worker_id, error=f"attachment: {exc}", permanent=True, subject=subject, body=body), False
    except Exception as exc:  # a renderer's failure may pass (memory, a font cache): retried with backoff
        logger.exception("email %s: making an attachment failed", email.pk)
        return _fail(email, worker_id, error=f"attachment: {_describe(exc)}", permanent=False, subject=subject,
                     body=body), False
    # The same Message-ID on every attempt: if a worker dies between the SMTP answer and marking the row
    # sent, the resend is recognisably the same message (mail systems and clients drop duplicates).
    message_id = message_id_for(email.pk)
    reply_to = (getattr(settings, "NOTIFICATIONS", {}) or {}).get("SUPPORT_EMAIL")
    headers = {**(email.headers or {}), "Message-ID": message_id, "Content-Language": email.language}
    if email.template_key not in PERSONAL_TEMPLATES:
        # Mail no person wrote says so (RFC 3834): auto-responders and the desk's own loop guard leave it alone.
        headers.setdefault("Auto-Submitted", "auto-generated")
    message = EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[email.to_address],
        cc=email.cc or None, reply_to=[reply_to] if reply_to else None, connection=mailer, headers=headers,
    )
    for file in files:
        message.attach(file.filename, file.content, file.mimetype)
    try:
        mailer.open()
        if not mailer.send_messages([message]):
            raise smtplib.SMTPException("the mail backend did not accept the message")
    except (smtplib.SMTPException, OSError) as exc:
        permanent = _message_problem(exc)
        if permanent is None:
            try:
                mailer.close()
            except Exception:  # the connection is already broken; a fresh one is opened next time
                pass
        outcome = _fail(email, worker_id, error=_describe(exc), permanent=bool(permanent), subject=subject, body=body)
        return outcome, permanent is None
    now = timezone.now()
    _finish(email, worker_id, action="email.sent", status=EmailStatus.SENT, sent_at=now, next_attempt_at=now,
            subject=subject[:300], body=body, message_id=message_id, last_error="")
    return "sent", False
