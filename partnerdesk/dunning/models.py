"""Collections: policies and their stages, holds (disputes, promises to pay), the collections log, the
queue of operator requests (suspend / reactivate) and the runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.billing.money import MoneyField


class DayKind(models.TextChoices):
    CALENDAR = "calendar", _("calendar days")
    BUSINESS = "business", _("business days")


class InvoiceScope(models.TextChoices):
    ALL_OPEN = "all_open", _("All open invoices")
    UNPAID_ONLY = "unpaid_only", _("Only invoices with nothing paid")


class SuspendScope(models.TextChoices):
    ALL = "all", _("All the customer's subscriptions")
    INVOICE = "invoice", _("Subscriptions billed on the overdue invoice")


class CollectionsPolicy(models.Model):
    """A named collections process: what happens to an unpaid invoice, and when."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default policy"), default=False)
    min_overdue_amount = MoneyField(_("minimum overdue amount"), default=0)
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"), default=0)
    invoice_scope = models.CharField(_("invoices that count"), max_length=20, choices=InvoiceScope.choices,
                                     default=InvoiceScope.ALL_OPEN)
    # Days after suspension on which the customer is warned that the operator will delete its data (day 60).
    deletion_warning_days = models.JSONField(_("data-deletion warnings (days after suspension)"), default=list)
    # Many Chinese customers pay only against a fapiao: if set, an invoice is not dunned until its fapiao was delivered.
    wait_for_fapiao = models.BooleanField(_("wait until the fapiao was delivered"), default=False)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_policy")]

    def __str__(self) -> str:
        return self.name


class PolicyStage(models.Model):
    """One step of a policy, due a number of days after (or, negative, before) the invoice due date."""

    policy = models.ForeignKey(CollectionsPolicy, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=100)
    offset_days = models.SmallIntegerField(_("days from due date"))
    day_kind = models.CharField(_("counted in"), max_length=10, choices=DayKind.choices, default=DayKind.CALENDAR)
    send_notice = models.BooleanField(_("send a notice"), default=True)
    template_key = models.CharField(_("email template"), max_length=60, default="collections.notice")
    call_task = models.BooleanField(_("flag for a phone call"), default=False)
    suspend = models.BooleanField(_("suspend subscriptions"), default=False)
    suspend_scope = models.CharField(_("which subscriptions"), max_length=10, choices=SuspendScope.choices, default=SuspendScope.ALL)
    cancel = models.BooleanField(_("flag for cancellation"), default=False)

    class Meta:
        ordering = ["policy_id", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="stage_position_unique")]

    def __str__(self) -> str:
        sign = "+" if self.offset_days >= 0 else ""
        return f"{self.name} ({sign}{self.offset_days} {self.get_day_kind_display()})"


class CollectionsProfile(models.Model):
    """A customer's own collections terms: its policy, or an exemption."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="collections_profile")
    policy = models.ForeignKey(CollectionsPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    exempt = models.BooleanField(_("exempt from collections"), default=False)
    exempt_reason = models.TextField(_("exemption reason"), blank=True)


class HoldStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class DisputeOutcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld in full")
    PARTLY_UPHELD = "partly_upheld", _("Upheld in part")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Dispute(models.Model):
    """A customer disputes an invoice, or an amount of it: while the dispute is open, collections leaves the
    disputed amount alone and goes on for the undisputed rest."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="disputes")
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="disputes")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    # The amount disputed, up to the open balance; None disputes the whole open balance (as disputes did before
    # they named an amount).
    amount = MoneyField(_("disputed amount"), null=True, blank=True)
    # The support case the dispute is handled in (a dispute opened from the collections page has none).
    case = models.ForeignKey("support.Case", verbose_name=_("case"), null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="disputes")
    outcome = models.CharField(_("outcome"), max_length=15, choices=DisputeOutcome.choices, blank=True)
    upheld_amount = MoneyField(_("upheld amount"), null=True, blank=True)
    credit_note = models.ForeignKey("billing.CreditNote", verbose_name=_("credit note"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    # What was not upheld is collected again from resume_on, the date told to the customer. The stages count from
    # collections_due_date from then on, so no stage that would have passed during the dispute comes at once.
    resume_on = models.DateField(_("collections resume on"), null=True, blank=True)
    collections_due_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]
        constraints = [models.UniqueConstraint(fields=["invoice"], condition=Q(status="open"), name="one_open_dispute_per_invoice")]

    def __str__(self) -> str:
        return f"dispute of {self.invoice} ({self.get_status_display()})"


class PromiseToPay(models.Model):
    """A promise to pay (or a payment plan's last instalment): holds collections until the date."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="promises")
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="promises")
    amount = MoneyField(_("amount"))
    promised_date = models.DateField(_("promised by"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=HoldStatus.choices, default=HoldStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "promised_date"])]

    def __str__(self) -> str:
        return f"promise to pay {self.amount} by {self.promised_date}"


class ActionKind(models.TextChoices):
    REMINDER = "reminder", _("Reminder sent")
    NOTICE = "notice", _("Notice sent")
    CALL = "call", _("Phone call flagged")
    SUSPEND = "suspend", _("Suspension requested")
    SUSPENDED = "suspended", _("Suspended at the operator")
    DELETION_WARNING = "deletion_warning", _("Data-deletion warning sent")
    CANCEL = "cancel", _("Cancellation flagged")
    REACTIVATE = "reactivate", _("Reactivation requested")
    REACTIVATED = "reactivated", _("Reactivated at the operator")
    STAGE = "stage", _("Stage reached")


class CollectionsAction(models.Model):
    """The collections log. `key` is the natural key of the effect, so each is done exactly once."""

    key = models.CharField(max_length=120)  # unique: see Meta (a constraint, so PostgreSQL adds no LIKE index)
    # The run inserts tens of thousands of these a day: few indexes ((customer, as_of) serves the customer
    # page) and no database-level foreign-key checks, whose per-row cost would dominate the run. The rows
    # point at customers, invoices and subscriptions that are never deleted (on_delete=PROTECT elsewhere).
    customer = models.ForeignKey("customers.Customer", on_delete=models.DO_NOTHING, related_name="collections_actions",
                                 db_index=False, db_constraint=False)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                                db_index=False, db_constraint=False)
    subscription = models.ForeignKey("customers.Subscription", null=True, blank=True, on_delete=models.DO_NOTHING,
                                     related_name="+", db_index=False, db_constraint=False)
    stage = models.ForeignKey(PolicyStage, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                              db_index=False, db_constraint=False)
    kind = models.CharField(_("action"), max_length=20, choices=ActionKind.choices)
    as_of = models.DateField(_("collections day"))
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["customer", "as_of"]), models.Index(fields=["as_of", "kind"])]
        constraints = [models.UniqueConstraint(fields=["key"], name="collections_action_once")]


class CallTask(models.Model):
    """A phone call for a collections agent to make."""

    # No database-level foreign keys, as for queued emails (see OutboundEmail.customer): the run creates these
    # by the thousand; PROTECT still stops a customer or invoice with call tasks from being deleted.
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="call_tasks",
                                 db_constraint=False)
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False, db_constraint=False)
    key = models.CharField(max_length=120)
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_index=False)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="call_task_once")]

    def __str__(self) -> str:
        return f"call about {self.invoice}" if self.invoice_id else f"call to customer {self.customer_id}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Not needed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Given up")  # refused with an answer that will never change: left for a person


MANUAL_CAUSE = "manual:"  # the cause of a request made by hand: manual:<user id>:<nonce>


class OperatorRequest(models.Model):
    """A suspension or reactivation to carry out at the operator; retried in the background until it is."""

    SUSPEND = "suspend"
    REACTIVATE = "reactivate"

    # The unique (subscription, action, cause) index serves lookups by subscription. No database-level foreign
    # keys, as for queued emails (see OutboundEmail.customer); PROTECT still guards deletes.
    subscription = models.ForeignKey("customers.Subscription", on_delete=models.PROTECT, related_name="operator_requests",
                                     db_index=False, db_constraint=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False,
                                 db_constraint=False)
    action = models.CharField(max_length=12, choices=[(SUSPEND, _("Suspend")), (REACTIVATE, _("Reactivate"))])
    cause = models.CharField(max_length=120)  # inv:…:st:… (collections), payment:… (ledger), manual:USER:NONCE (by hand)
    reason = models.TextField()
    # Set on requests made by hand: the suspension reason code and who asked. A database default, as the run's
    # INSERT … SELECT names its columns.
    reason_code = models.CharField(max_length=20, blank=True, default="", db_default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False, db_constraint=False)
    status = models.CharField(max_length=12, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Refusals in a row that will never succeed (a 404, say); a temporary failure resets it. A database default,
    # as the run's INSERT … SELECT names its columns.
    refusals = models.PositiveSmallIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    told_at = models.DateTimeField(null=True, blank=True)  # when the customer was emailed about it (done requests)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "action", "cause"], name="operator_request_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.subscription}"

    @property
    def by_hand(self) -> bool:
        return self.cause.startswith(MANUAL_CAUSE)

    @property
    def failing(self) -> bool:
        """Waiting for another attempt after the operator refused or did not answer."""
        return self.status == RequestStatus.PENDING and self.attempts > 0


class CollectionsRun(models.Model):
    """One collections run: running, then finished, failed, or interrupted (its process died or hung)."""

    as_of = models.DateField()
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, default="running")
    counts = models.JSONField(default=dict)
    holder = models.CharField(max_length=200, blank=True)  # the lease holder that ran it (host:pid:start:nonce)
    last_seen_at = models.DateTimeField(null=True, blank=True)  # its last heartbeat

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"collections run for {self.as_of}" + (" (dry run)" if self.dry_run else "")


class RunLock(models.Model):
    """A lease, claimed with a conditional UPDATE, so two collections runs never act at once."""

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)  # the holder's heartbeat


class PolicyAcknowledgement(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="policy_acknowledgements")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    policy = models.ForeignKey(CollectionsPolicy, on_delete=models.PROTECT, related_name="+")
    policy_version = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.policy} v{self.policy_version} acknowledged"
