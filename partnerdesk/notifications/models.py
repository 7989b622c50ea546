from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import Language

# The fields of an OutboundEmail that its audit entries record before and after a change.
AUDITED_FIELDS = ["status", "to_address", "language", "template_key", "dedupe_key", "attempts", "last_error", "message_id"]


class EmailTemplate(models.Model):
    """An administrator's version of a built-in template (defaults.py); it wins over the default."""

    key = models.CharField(_("template"), max_length=80)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="email_template_key_language")]

    def __str__(self) -> str:
        return f"{self.key} ({self.language})"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class OutboundEmailQuerySet(models.QuerySet):
    def due(self, now):
        """Rows a worker may claim: queued and due, or stuck in 'sending' past their claim's lease."""
        return self.filter(status__in=[EmailStatus.QUEUED, EmailStatus.SENDING], next_attempt_at__lte=now)


class OutboundEmail(models.Model):
    """One message to one recipient, from the moment it is queued until it is delivered, fails or bounces.

    Subject and body are rendered when the message is sent, so a template fixed in the meantime applies.
    While a row is 'sending', next_attempt_at is the end of the worker's lease: a worker that crashed
    leaves the row claimable again once the lease runs out.
    """

    # No database-level foreign key (Django still refuses to delete a customer with emails: PROTECT). The
    # collections run queues tens of thousands of emails at once, and PostgreSQL's check of each one locks
    # its customer's row, a write per email that costs a tenth of the run and contends with people editing
    # customers. Customers are never deleted; the run's INSERT joins each email to its customer.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="emails",
        db_index=False, db_constraint=False)
    to_address = models.EmailField(_("to"), blank=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.ZH_CN)
    template_key = models.CharField(_("template"), max_length=80)
    context = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # What to attach, made when sending (attachments.py): [{"kind": "invoice_pdf", "invoice_id": 12}]. Null for
    # none, so the bulk inserts of the collections run need not name the column.
    attachments = models.JSONField(_("attachments"), null=True, blank=True)
    # Extra headers (threading: In-Reply-To, References; Auto-Submitted) and copies, for the desk's replies.
    headers = models.JSONField(null=True, blank=True)
    cc = models.JSONField(_("CC"), null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # unique: see Meta
    status = models.CharField(_("status"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    message_id = models.CharField(_("message id"), max_length=250, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["customer", "queued_at"]),
        ]
        constraints = [
            # A constraint rather than unique=True, so PostgreSQL adds no LIKE index to maintain.
            models.UniqueConstraint(fields=["dedupe_key"], name="outbound_email_once"),
            models.CheckConstraint(
                name="outbound_email_status_valid", condition=Q(status__in=[s.value for s in EmailStatus])
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_key} to {self.to_address or '(no address)'}"
