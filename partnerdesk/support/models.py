"""The billing support desk: cases, their conversation, SLA clocks, mail that came in, canned replies and
the desk's settings.

A case's token is its number, `PD-<id>`: it goes in every subject PartnerDesk sends, so a customer's answer
from a client that sends no threading headers still finds its case.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import Language

TOKEN_PREFIX = "PD-"


class CaseType(models.TextChoices):
    BILLING_QUESTION = "billing_question", _("Billing question")
    INVOICE_DISPUTE = "invoice_dispute", _("Invoice dispute")
    PAYMENT_PROBLEM = "payment_problem", _("Payment problem")
    REFUND = "refund", _("Refund")
    SUSPENSION_ACCESS = "suspension_access", _("Suspension or access")
    TECHNICAL = "technical", _("Technical")
    FRAUD_MISUSE = "fraud_misuse", _("Fraud or misuse report")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    # 21Vianet's own scale: A (critical) is for technical problems only.
    A = "A", _("A: critical")
    B = "B", _("B: moderate")
    C = "C", _("C: minimal")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    API = "api", _("API")
    INTERNAL = "internal", _("Internal")


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting on customer")
    WAITING_OPERATOR = "waiting_operator", _("Waiting on operator")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING_CUSTOMER, CaseStatus.WAITING_OPERATOR)


class CaseTag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """One question or problem of one customer, from the first message until the customer has the answer."""

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="cases")
    # The requester: a contact, a portal user, or (mail from an address not on file) just an address.
    requester_contact = models.ForeignKey("customers.BillingContact", verbose_name=_("requester"), null=True,
                                          blank=True, on_delete=models.SET_NULL, related_name="+")
    requester_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    requester_email = models.EmailField(_("requester email"), blank=True)
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    cc = models.JSONField(_("CC"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.ZH_CN)
    type = models.CharField(_("type"), max_length=20, choices=CaseType.choices, default=CaseType.BILLING_QUESTION)
    subject = models.CharField(_("subject"), max_length=300)
    # Subject without Re:/Fwd: prefixes and token, lower-cased: finds the case of a reply with no headers.
    subject_key = models.CharField(max_length=300, blank=True, db_index=True)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices, default=Severity.C)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_cases")
    team = models.ForeignKey("accounts.Team", verbose_name=_("team"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="cases")
    tags = models.ManyToManyField(CaseTag, verbose_name=_("tags"), blank=True, related_name="cases")
    invoices = models.ManyToManyField("billing.Invoice", verbose_name=_("invoices"), blank=True, related_name="cases")
    payments = models.ManyToManyField("billing.Payment", verbose_name=_("payments"), blank=True, related_name="cases")
    subscriptions = models.ManyToManyField("customers.Subscription", verbose_name=_("subscriptions"), blank=True,
                                           related_name="cases")
    # A case merged into another stays readable and points at the one that goes on.
    merged_into = models.ForeignKey("self", verbose_name=_("merged into"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="merged_cases")
    # A reply that came too late to reopen an old case opens a new one that follows it.
    follows = models.ForeignKey("self", verbose_name=_("follows"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="followed_by")
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_automatically = models.BooleanField(default=False)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    # The public message that carries the resolution: the case closes only once it reached the customer.
    resolution_message = models.ForeignKey("CaseMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    satisfaction_score = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True)
    satisfaction_at = models.DateTimeField(null=True, blank=True)
    survey_sent_at = models.DateTimeField(null=True, blank=True)
    # The earliest running SLA deadline, kept on the row so queues sort and filter on an index.
    next_deadline_at = models.DateTimeField(_("next deadline"), null=True, blank=True)

    # An internal case (opened by the partner for itself, e.g. an operator request that keeps failing) is never
    # shown to the customer's users, whatever the path (accounts.permissions.scope).
    hidden_from_customers = Q(channel="internal")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_deadline_at"], name="case_status_deadline"),
            models.Index(fields=["assignee", "status", "next_deadline_at"], name="case_assignee_queue"),
            models.Index(fields=["team", "status", "next_deadline_at"], name="case_team_queue"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_recent"),
            models.Index(fields=["requester_email", "created_at"], name="case_requester_recent"),
        ]
        constraints = [
            models.CheckConstraint(name="case_status_valid", condition=Q(status__in=[s.value for s in CaseStatus])),
            models.CheckConstraint(name="case_severity_valid", condition=Q(severity__in=["A", "B", "C"])),
            models.CheckConstraint(
                name="case_satisfaction_1_to_5",
                condition=Q(satisfaction_score__isnull=True) | Q(satisfaction_score__gte=1, satisfaction_score__lte=5)),
        ]

    def __str__(self) -> str:
        return self.token

    @property
    def token(self) -> str:
        return f"{TOKEN_PREFIX}{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class MessageKind(models.TextChoices):
    PUBLIC = "public", _("Public reply")
    INTERNAL = "internal", _("Internal note")
    EVENT = "event", _("Event")  # a bounce, a merge, an operator answer logged: shown to staff only


class Direction(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")


class CaseMessage(models.Model):
    """One entry of a case's conversation: a public reply either way, or a note staff alone can read."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=10, choices=MessageKind.choices, default=MessageKind.PUBLIC)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    author_email = models.EmailField(blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    body = models.TextField(_("message"))  # as written or received, whole
    visible_body = models.TextField(blank=True)  # inbound mail without quoted history and signature
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    is_resolution = models.BooleanField(default=False)
    # RFC 5322 Message-ID (without <>) of the mail this message came in as or went out as.
    message_id = models.CharField(max_length=250, blank=True, db_index=True)
    # The emails it went out as (one per recipient; the first is the requester's).
    emails = models.ManyToManyField("notifications.OutboundEmail", blank=True, related_name="case_messages")
    inbound_mail = models.ForeignKey("InboundMail", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="case_messages")
    read_in_portal_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_message_order")]

    def __str__(self) -> str:
        return f"{self.case.token} #{self.pk}" if self.case_id else f"message {self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind == MessageKind.PUBLIC

    @property
    def display_body(self) -> str:
        return self.visible_body or self.body


def attachment_path(instance, filename: str) -> str:
    # Never the uploader's name in the path: it may hold anything. The name is kept in the row.
    return f"support/{timezone.now():%Y/%m}/{instance.sha256[:2]}/{instance.sha256}"


class CaseAttachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(CaseMessage, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_internal(self) -> bool:
        return self.message is not None and self.message.kind != MessageKind.PUBLIC


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")


class SlaPolicy(models.Model):
    """Response and resolution targets for a severity, and optionally one case type (else all types)."""

    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices)
    type = models.CharField(_("type"), max_length=20, choices=CaseType.choices, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    next_response_minutes = models.PositiveIntegerField(_("next response (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"))
    # A: around the clock; otherwise 09:00-18:00 Beijing time on China's working days.
    around_the_clock = models.BooleanField(_("around the clock"), default=False)

    class Meta:
        ordering = ["severity", "type"]
        constraints = [models.UniqueConstraint(fields=["severity", "type"], name="sla_policy_once")]

    def __str__(self) -> str:
        return f"{self.severity} {self.type or '*'}"

    def minutes_for(self, target: str) -> int:
        return {
            SlaTarget.FIRST_RESPONSE: self.first_response_minutes,
            SlaTarget.NEXT_RESPONSE: self.next_response_minutes,
            SlaTarget.RESOLUTION: self.resolution_minutes,
        }[target]


class SlaClock(models.Model):
    """One target's clock on one case. It runs from running_since and has used `elapsed` business time
    before that; while the case waits on the customer it is paused (running_since null, no deadline)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sla_clocks")
    target = models.CharField(_("target"), max_length=20, choices=SlaTarget.choices)
    sequence = models.PositiveSmallIntegerField(default=1)  # next responses: one clock per customer message
    started_at = models.DateTimeField(default=timezone.now)
    target_minutes = models.PositiveIntegerField()
    around_the_clock = models.BooleanField(default=False)
    elapsed = models.DurationField(default=dt.timedelta)
    running_since = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breach_notified_at = models.DateTimeField(null=True, blank=True)
    cancelled = models.BooleanField(default=False)  # e.g. a merged case's clocks

    class Meta:
        ordering = ["case_id", "target", "sequence"]
        constraints = [models.UniqueConstraint(fields=["case", "target", "sequence"], name="sla_clock_once")]
        indexes = [models.Index(fields=["met_at", "deadline_at"], name="sla_clock_due")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.target} {self.sequence}"

    @property
    def is_running(self) -> bool:
        return self.met_at is None and not self.cancelled and self.running_since is not None

    @property
    def was_met_in_time(self) -> bool | None:
        if self.met_at is None:
            return None
        return self.breached_at is None or self.met_at <= self.breached_at


class MailSource(models.TextChoices):
    IMAP = "imap", _("Mailbox (IMAP)")
    HTTP = "http", _("Posted to the API")
    FILE = "file", _("Imported from a file")


class MailStatus(models.TextChoices):
    FILED = "filed", _("Filed in a case")
    UNMATCHED = "unmatched", _("Waiting for an agent: sender not known")
    HELD = "held", _("Held: too many cases from this sender")
    TOO_LARGE = "too_large", _("Refused: too large")
    MALFORMED = "malformed", _("Could not be read")
    AUTO_REPLY = "auto_reply", _("Auto-reply or bulk mail: ignored")
    BOUNCE = "bounce", _("Bounce")
    DELAY = "delay", _("Delayed-delivery notice")
    DISCARDED = "discarded", _("Discarded by an agent")


# Mail an agent has to look at.
NEEDS_AGENT = (MailStatus.UNMATCHED, MailStatus.HELD, MailStatus.MALFORMED, MailStatus.TOO_LARGE)


def raw_mail_path(instance, filename: str) -> str:
    return f"mail/{timezone.now():%Y/%m/%d}/{instance.sha256}.eml"


class InboundMail(models.Model):
    """Every message that came in, kept raw whatever became of it, so nothing is ever lost."""

    raw = models.FileField(upload_to=raw_mail_path, max_length=200)
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveIntegerField(_("size"))
    source = models.CharField(_("source"), max_length=10, choices=MailSource.choices)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    message_id = models.CharField(max_length=250, blank=True)  # unique when given: see Meta
    from_address = models.CharField(_("from"), max_length=254, blank=True, db_index=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=MailStatus.choices)
    problem = models.TextField(_("problem"), blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="inbound_mail")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_mail")
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_mail_queue")]
        # One message is filed once, whatever copy of it (To and Cc, two mailboxes) comes in first.
        constraints = [models.UniqueConstraint(fields=["message_id"], condition=~Q(message_id=""),
                                               name="inbound_mail_message_once")]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"mail {self.pk}"


class CannedReply(models.Model):
    """A ready answer in one language; {balance}, {overdue}, {next_collections_date}... are filled from the
    customer's figures when an agent uses it."""

    title = models.CharField(_("title"), max_length=120)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "language"]
        constraints = [models.UniqueConstraint(fields=["title", "language"], name="canned_reply_once")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class SupportInformation(models.Model):
    """The partner's published support information in one language: hours, channels, process, targets."""

    language = models.CharField(_("language"), max_length=5, choices=Language.choices, unique=True)
    hours = models.TextField(_("support hours"))
    channels = models.TextField(_("channels"))
    process = models.TextField(_("process"))
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.language


class DeskSettings(models.Model):
    """The desk's settings (one row)."""

    reopen_window_days = models.PositiveSmallIntegerField(
        _("a reply reopens a resolved case within (working days)"), default=5)
    auto_close_days = models.PositiveSmallIntegerField(
        _("a resolved case closes itself after (working days)"), default=5)
    max_cases_per_sender_hour = models.PositiveSmallIntegerField(_("cases one sender may open per hour"), default=5)
    max_message_bytes = models.PositiveIntegerField(_("largest message accepted (bytes)"), default=25 * 1024 * 1024)
    max_attachment_bytes = models.PositiveIntegerField(_("largest attachment (bytes)"), default=10 * 1024 * 1024)
    allowed_attachment_types = models.JSONField(_("allowed attachment types"), default=list, blank=True)
    breach_warning_minutes = models.PositiveIntegerField(_("warn before a deadline (minutes)"), default=30)
    thread_window_days = models.PositiveSmallIntegerField(
        _("a message with the same sender and subject joins a case within (days)"), default=14)

    def __str__(self) -> str:
        return "desk settings"


class BotKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group bot")
    DINGTALK = "dingtalk", _("DingTalk group bot")
    FEISHU = "feishu", _("Feishu group bot")


class TeamBot(models.Model):
    """A team's chat group bot that receives SLA warnings and breaches (a webhook, optionally signed)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="bots")
    kind = models.CharField(_("kind"), max_length=10, choices=BotKind.choices)
    url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    def __str__(self) -> str:
        return f"{self.team} {self.kind}"


class SlaAlert(models.Model):
    """One warning or breach notice about one clock, sent once (the natural key of the SLA job's effect)."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=[("warning", _("Breach warning")), ("breach", _("Breach"))])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clock", "kind"], name="sla_alert_once")]
