"""Every email to a customer: queued in the transaction of the change that causes it, sent by a worker over
SMTP, retried with backoff, marked bounced, and the templates it is written from.

Queueing never renders: the subject and body are rendered when the worker sends, so a template fixed in
the meantime applies, and the collections run can queue tens of thousands of rows in a few inserts.
"""

import logging

from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record, snapshot
from partnerdesk.batch_sql import (
    id_list_condition,
    insert_ignoring_duplicates,
    placeholder,
    run_sql,
    sql_value,
)
from partnerdesk.customers.models import Customer, Language
from partnerdesk.errors import Conflict, InvalidInput, NotFound, status_word

from .attachments import check as check_attachments
from .background import email_bounced, emails_due
from .defaults import DEFAULTS, SAMPLE_CONTEXT, default_template
from .models import AUDITED_FIELDS, EmailStatus, EmailTemplate, OutboundEmail
from .rendering import TemplateProblem, render_email, render_source
from .sending import NO_RECIPIENT, claim_next, default_worker_id, deliver

logger = logging.getLogger(__name__)

BULK_BATCH = 1000
RECIPIENT_CHUNK = 5000
TEMPLATE_FIELDS = ["key", "language", "subject", "body"]


# --- queueing ----------------------------------------------------------------------------------------------


def _require_transaction(name: str) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name} must be called inside the transaction of the change that causes the email")


def _check_template_key(key, *, field: str = "template_key") -> None:
    if key not in DEFAULTS:
        raise InvalidInput(_("unknown email template %(key)s"), field=field, key=repr(key))


def _check_language(language, *, field: str = "language") -> None:
    if language not in Language.values:
        raise InvalidInput(_("language must be one of %(choices)s"), field=field, choices=", ".join(Language.values))


def _clean_address(address, *, field: str = "to") -> str:
    address = (address or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput(_("%(email)s is not an email address"), field=field, email=repr(address))
    return address


# The headers a sender may add; the rest (From, To, Subject, Message-ID) are the sending path's own.
EXTRA_HEADERS = frozenset({"In-Reply-To", "References", "Auto-Submitted", "X-Auto-Response-Suppress"})


def _check_headers(headers) -> dict:
    if not headers:
        return {}
    if not isinstance(headers, dict) or set(headers) - EXTRA_HEADERS:
        raise InvalidInput(_("only threading and automatic-mail headers may be added"), field="headers")
    if any(not isinstance(v, str) or "\n" in v or "\r" in v or len(v) > 2000 for v in headers.values()):
        raise InvalidInput(_("a header is a single line of text"), field="headers")
    return dict(headers)


def _resolve_recipient(customer: Customer | None, to: str | None, language: str | None) -> tuple[str, str]:
    """The address and language of an email: the given ones, else the primary contact's, else the customer's."""
    if to and language:
        return to, language  # nothing to look up (the primary contact is a query)
    contact = customer.primary_contact if customer is not None else None
    address = to or (contact.email if contact else "")
    if not language and contact is not None and address.lower() == contact.email.lower():
        language = contact.language
    return address, language or (customer.language if customer is not None else Language.ZH_CN)


def _enqueue_send_task() -> None:
    emails_due.send(sender=__name__)


def schedule_send() -> None:
    """Have the background worker send once the current transaction commits (one task per transaction)."""
    if any(entry[1] is _enqueue_send_task for entry in connection.run_on_commit):
        return
    # robust: the change is committed whatever happens here; the send-emails loop picks the rows up anyway.
    transaction.on_commit(_enqueue_send_task, robust=True)


def queue_email(*, customer, template_key: str, context: dict, dedupe_key: str | None = None,
                to: str | None = None, language: str | None = None, actor=None,
                attachments: list[dict] | None = None, headers: dict | None = None,
                cc: list[str] | None = None) -> OutboundEmail:
    """Queue one email as part of the current transaction; it is sent after commit, once per dedupe_key.

    `attachments` names files made when the email is sent (attachments.py), e.g. [{"kind": "invoice_pdf", ...}].
    `headers` adds threading headers (In-Reply-To, References) or Auto-Submitted; `cc` copies the mail.
    """
    _require_transaction("queue_email")
    _check_template_key(template_key)
    if language:
        _check_language(language)
    if not isinstance(context, dict):
        raise InvalidInput(_("the context must be a mapping of names to values"), field="context")
    attachments = check_attachments(attachments)
    if to is not None:
        to = _clean_address(to)
    if customer is None and not to:
        raise InvalidInput(_("an email that is not for a customer needs an address"), field="to")
    if dedupe_key:
        existing = OutboundEmail.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    address, lang = _resolve_recipient(customer, to, language)
    headers = _check_headers(headers)
    cc = [_clean_address(a, field="cc") for a in (cc or [])]
    email = OutboundEmail(customer=customer, to_address=address, language=lang, template_key=template_key,
                          context=context, dedupe_key=dedupe_key or None, attachments=attachments or None,
                          headers=headers or None, cc=cc or None)
    if not address:
        # Kept, as failed: the change that caused it still goes through, and the gap shows on the customer page.
        email.status, email.last_error = EmailStatus.FAILED, NO_RECIPIENT
    try:
        with transaction.atomic():
            email.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        return OutboundEmail.objects.get(dedupe_key=dedupe_key)  # a concurrent transaction queued it first
    record(actor=actor, action="email.queued", obj=email, customer=customer, after=snapshot(email, AUDITED_FIELDS))
    if email.status == EmailStatus.QUEUED:
        schedule_send()
    return email


def _recipients_for(customer_ids) -> dict[int, tuple[str, str]]:
    """Each customer's primary contact address and language, in one query per few thousand customers."""
    out: dict[int, tuple[str, str]] = {}
    ids = sorted(customer_ids)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), RECIPIENT_CHUNK):
            in_ids, params = id_list_condition("c.id", ids[start:start + RECIPIENT_CHUNK], marker="%s")
            cursor.execute(f"""SELECT c.id, COALESCE(bc.email, ''), COALESCE(NULLIF(bc.language, ''), c.language)
                               FROM customers_customer c {_primary_contact_join("c.id")} WHERE {in_ids}""", params)
            for pk, email, language in cursor.fetchall():
                out[pk] = (email, language)
    return out


def queue_emails_bulk(rows: list[dict]) -> int:
    """Queue many emails in a few inserts (the collections run); rows whose dedupe_key exists are skipped.

    Each row has customer (or customer_id), template_key, context, and optionally dedupe_key, to, language.
    Returns how many rows were attempted. Must run inside the transaction of the change that causes them.
    """
    _require_transaction("queue_emails_bulk")
    cleaned, unresolved = [], set()
    for i, row in enumerate(rows):
        customer = row.get("customer")
        customer_id = customer.pk if customer is not None else row.get("customer_id")
        _check_template_key(row.get("template_key"), field=f"rows[{i}].template_key")
        if row.get("language"):
            _check_language(row["language"], field=f"rows[{i}].language")
        to = _clean_address(row["to"], field=f"rows[{i}].to") if row.get("to") else ""
        if customer_id is None and not to:
            raise InvalidInput(_("an email that is not for a customer needs an address"), field=f"rows[{i}].to")
        if customer_id is not None and not (to and row.get("language")):
            unresolved.add(customer_id)
        cleaned.append((customer_id, to, row))
    recipients = _recipients_for(unresolved)
    now = timezone.now()
    emails = []
    for customer_id, to, row in cleaned:
        contact_address, contact_language = recipients.get(customer_id, ("", Language.ZH_CN))
        address = to or contact_address
        emails.append({
            "customer_id": customer_id, "to_address": address, "language": row.get("language") or contact_language,
            "template_key": row["template_key"], "context": row.get("context") or {},
            "dedupe_key": row.get("dedupe_key") or None, "status": EmailStatus.QUEUED if address else EmailStatus.FAILED,
            "last_error": "" if address else NO_RECIPIENT, "queued_at": now, "next_attempt_at": now,
            "attempts": 0, "subject": "", "body": "", "claimed_by": "", "message_id": "",
        })
    insert_ignoring_duplicates(OutboundEmail, emails, key="dedupe_key")
    if emails:
        schedule_send()
    return len(emails)


def _primary_contact_join(customer_id: str) -> str:
    """LEFT JOIN of `bc`, the primary contact of customer `customer_id` (an SQL expression), looked up per row:
    the first by (is_primary DESC, id), the order Customer.primary_contact uses. The one SQL form of that rule."""
    pick = f"""FROM customers_billingcontact b WHERE b.customer_id = {customer_id} ORDER BY b.is_primary DESC, b.id LIMIT 1"""
    if connection.vendor == "postgresql":
        return f"LEFT JOIN LATERAL (SELECT b.email, b.language {pick}) bc ON true"
    return f"LEFT JOIN customers_billingcontact bc ON bc.id = (SELECT b.id {pick})"


def queue_emails_select(source_sql: str, params, *, template_keys) -> int:
    """Queue the emails a SELECT describes, in one INSERT ... SELECT (the collections run's notices).

    `source_sql` (placeholder() markers) yields customer_id, template_key, context (a JSON object built with
    batch_sql.json_object_sql) and dedupe_key; `template_keys` are the keys it may yield. Each email goes to the
    customer's primary contact in the contact's language (else the customer's), as queue_emails_bulk does, and
    is kept as failed if there is no address. Rows whose dedupe_key exists are skipped. Returns how many were
    queued. Must run inside the transaction of the change that causes them.
    """
    _require_transaction("queue_emails_select")
    for key in template_keys:
        _check_template_key(key)
    p = placeholder()
    now = sql_value(OutboundEmail, "queued_at", timezone.now())
    # The primary contact is the first by (is_primary DESC, id), the order Customer.primary_contact uses.
    queued = run_sql(f"""
        INSERT INTO notifications_outboundemail (customer_id, to_address, language, template_key, context, dedupe_key,
            status, last_error, queued_at, next_attempt_at, attempts, subject, body, claimed_by, message_id)
        SELECT q.customer_id, COALESCE(bc.email, ''), COALESCE(NULLIF(bc.language, ''), c.language), q.template_key,
            q.context, q.dedupe_key,
            CASE WHEN COALESCE(bc.email, '') = '' THEN '{EmailStatus.FAILED}' ELSE '{EmailStatus.QUEUED}' END,
            CASE WHEN COALESCE(bc.email, '') = '' THEN {p} ELSE '' END, {p}, {p}, 0, '', '', '', ''
        FROM ({source_sql}) q
        JOIN customers_customer c ON c.id = q.customer_id
        {_primary_contact_join("q.customer_id")}
        WHERE true
        ON CONFLICT DO NOTHING""", [NO_RECIPIENT, now, now, *params])
    if queued:
        schedule_send()
    return queued


# --- rendering -------------------------------------------------------------------------------------------


def render(email: OutboundEmail, *, overrides: dict | None = None) -> tuple[str, str]:
    """The email's subject and body: the administrator's template else the default, in the email's language.

    customer_name defaults to the customer's name. Raises rendering.TemplateProblem if it cannot be rendered.
    """
    return render_email(email, overrides=overrides)


# --- sending ---------------------------------------------------------------------------------------------


def send_pending(*, limit: int = 100, worker_id: str | None = None) -> dict:
    """Claim and send up to `limit` due emails; any number of workers may run this at once.

    Stops early when the mail server cannot be reached, so an outage costs one attempt, not one per email.
    """
    worker_id = (worker_id or default_worker_id())[:100]
    counts = {"claimed": 0, "sent": 0, "requeued": 0, "failed": 0, "server_error": False}
    mailer = get_connection(fail_silently=False)
    overrides: dict = {}
    try:
        while counts["claimed"] < limit:
            email = claim_next(worker_id)
            if email is None:
                break
            counts["claimed"] += 1
            outcome, server_error = deliver(email, worker_id, mailer, overrides)
            counts[outcome] += 1
            if server_error:
                counts["server_error"] = True
                break
    finally:
        try:
            mailer.close()
        except Exception:
            logger.warning("closing the SMTP connection failed", exc_info=True)
    return counts


def send_all_due(*, limit: int = 100, worker_id: str | None = None, max_rounds: int | None = None) -> dict:
    """Send until nothing is due (or the mail server fails), `limit` emails per round."""
    worker_id = worker_id or default_worker_id()
    total = {"claimed": 0, "sent": 0, "requeued": 0, "failed": 0, "server_error": False}
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        rounds += 1
        counts = send_pending(limit=limit, worker_id=worker_id)
        for key in ("claimed", "sent", "requeued", "failed"):
            total[key] += counts[key]
        total["server_error"] = counts["server_error"]
        if counts["server_error"] or counts["claimed"] < limit:
            break
    return total


# --- staff actions on one email --------------------------------------------------------------------------


@transaction.atomic
def mark_bounced(email: OutboundEmail, *, reason: str, actor) -> OutboundEmail:
    """Record that a sent email came back (the bounce message is the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("give the reason (the bounce message)"), field="reason")
    email = OutboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status != EmailStatus.SENT:
        raise Conflict(_("only a sent email can bounce; this one is %(status)s"), field="status",
                       status=status_word(EmailStatus, email.status))
    before = snapshot(email, AUDITED_FIELDS)
    email.status, email.last_error = EmailStatus.BOUNCED, reason[:2000]
    email.save(update_fields=["status", "last_error"])
    record(actor=actor, action="email.bounced", obj=email, before=before, after=snapshot(email, AUDITED_FIELDS), reason=reason)
    email_bounced.send(sender=OutboundEmail, email=email)
    return email


@transaction.atomic
def retry(email: OutboundEmail, *, actor, reason: str = "") -> OutboundEmail:
    """Send a failed or bounced email again (to the customer's current address if the old one is gone)."""
    email = OutboundEmail.objects.select_for_update(of=("self",)).select_related("customer").get(pk=email.pk)
    if email.status not in (EmailStatus.FAILED, EmailStatus.BOUNCED):
        raise Conflict(_("only a failed or bounced email can be retried; this one is %(status)s"), field="status",
                       status=status_word(EmailStatus, email.status))
    before = snapshot(email, AUDITED_FIELDS)
    if email.customer is not None:
        known = {c.email.lower() for c in email.customer.contacts.all()}
        if not email.to_address or email.to_address.lower() not in known:
            # The address was missing or has been corrected on the customer since: use the current one.
            email.to_address = _resolve_recipient(email.customer, None, email.language)[0] or email.to_address
    if not email.to_address:
        raise Conflict(_("the customer has no billing contact with an email address; add one to the customer first"),
                       field="to_address")
    email.status, email.attempts, email.claimed_by = EmailStatus.QUEUED, 0, ""
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["status", "attempts", "claimed_by", "next_attempt_at", "to_address"])
    record(actor=actor, action="email.retried", obj=email, before=before, after=snapshot(email, AUDITED_FIELDS), reason=reason)
    schedule_send()
    return email


# --- templates -------------------------------------------------------------------------------------------


def _check_template_exists(key, language) -> None:
    if key not in DEFAULTS:
        raise NotFound(_("there is no email template %(key)s"), field="key", key=repr(key))
    if language not in Language.values:
        raise NotFound(_("templates exist in %(languages)s, not %(language)s"), field="language",
                       languages=", ".join(Language.values), language=repr(language))


def template_info(key: str, language: str) -> dict:
    """A template as staff see it: the administrator's version if any, else the default."""
    _check_template_exists(key, language)
    row = EmailTemplate.objects.select_related("updated_by").filter(key=key, language=language).first()
    return _info(key, language, row)


def _info(key: str, language: str, row: EmailTemplate | None) -> dict:
    default = default_template(key, language)
    return {
        "key": key,
        "language": language,
        "subject": row.subject if row else default.subject,
        "body": row.body if row else default.body,
        "is_default": row is None,
        "updated_by": row.updated_by.get_username() if row and row.updated_by else None,
        "updated_at": row.updated_at if row else None,
    }


def all_templates() -> list[dict]:
    """Every template key in every language, with the administrator's versions where there are any."""
    rows = {(r.key, r.language): r for r in EmailTemplate.objects.select_related("updated_by")}
    return [_info(key, language, rows.get((key, language))) for key in sorted(DEFAULTS) for language in Language.values]


@transaction.atomic
def update_template(*, key: str, language: str, subject: str, body: str, actor, reason: str = "") -> EmailTemplate:
    """Save an administrator's version of a template, after checking it compiles and renders."""
    _check_template_exists(key, language)
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n")
    if not subject:
        raise InvalidInput(_("the subject is required"), field="subject")
    if len(subject) > 300:
        raise InvalidInput(_("the subject template is longer than 300 characters"), field="subject")
    if not body.strip():
        raise InvalidInput(_("the body is required"), field="body")
    try:
        render_source(subject, body, SAMPLE_CONTEXT, language, check=True)
    except TemplateProblem as exc:
        raise InvalidInput(exc.template, field=exc.part, **exc.params) from None
    row = EmailTemplate.objects.select_for_update().filter(key=key, language=language).first()
    if row is None:
        default = default_template(key, language)
        before = {"key": key, "language": language, "subject": default.subject, "body": default.body}
        row = EmailTemplate(key=key, language=language)
    else:
        before = snapshot(row, TEMPLATE_FIELDS)
    row.subject, row.body = subject, body
    row.updated_by = actor if actor is not None and actor.pk else None
    row.updated_at = timezone.now()
    row.save()
    record(actor=actor, action="email_template.updated", obj=row, before=before, after=snapshot(row, TEMPLATE_FIELDS),
           reason=reason)
    return row


@transaction.atomic
def reset_template(*, key: str, language: str, actor, reason: str = "") -> None:
    """Drop the administrator's version of a template: the built-in default applies again."""
    _check_template_exists(key, language)
    row = EmailTemplate.objects.select_for_update().filter(key=key, language=language).first()
    if row is None:
        return
    default = default_template(key, language)
    record(actor=actor, action="email_template.reset", obj=row, before=snapshot(row, TEMPLATE_FIELDS),
           after={"key": key, "language": language, "subject": default.subject, "body": default.body}, reason=reason)
    row.delete()
