"""Escalations to the operator (21Vianet): service requests the partner files on a customer's behalf, the
operator's notes on them, and the internal cases opened for suspensions and reactivations the operator keeps
refusing.

A request goes through one of two channels (gateway.service_requests): the operator's portal, where an agent
files the text PartnerDesk prepared and records the reference number, or Partner Center's service-request API.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import Language


class RequestChannel(models.TextChoices):
    PORTAL = "portal", _("Operator's portal")
    API = "api", _("Partner Center API")


class Topic(models.TextChoices):
    # Billing and subscription topics: the operator's highest severity for them is B (moderate).
    BILLING = "billing", _("Billing and invoices")
    SUBSCRIPTION = "subscription", _("Subscriptions and licences")
    FRAUD = "fraud", _("Fraud or misuse")
    TECHNICAL = "technical", _("Technical")


class OperatorSeverity(models.TextChoices):
    # Partner Center's names; A, B and C on 21Vianet's support plans.
    CRITICAL = "critical", _("A: critical")
    MODERATE = "moderate", _("B: moderate")
    MINIMAL = "minimal", _("C: minimal")


class ServiceRequestStatus(models.TextChoices):
    DRAFT = "draft", _("Prepared, not filed yet")  # portal: the agent has not recorded the reference yet
    OPEN = "open", _("Open")
    ATTENTION_NEEDED = "attention_needed", _("Needs our attention")
    CLOSED = "closed", _("Closed")


class ServiceRequest(models.Model):
    """A service request to the operator about one case, on the customer's behalf. The contact is the partner's
    own, never the customer's."""

    case = models.ForeignKey("support.Case", verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="service_requests")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=RequestChannel.choices)
    topic = models.CharField(_("support topic"), max_length=20, choices=Topic.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=OperatorSeverity.choices)
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"))
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.ZH_CN)
    contact_name = models.CharField(_("contact name"), max_length=200)
    contact_email = models.EmailField(_("contact email"))
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    tenant_id = models.CharField(_("customer tenant id"), max_length=64, blank=True)
    invoices = models.ManyToManyField("billing.Invoice", verbose_name=_("invoices"), blank=True, related_name="+")
    subscriptions = models.ManyToManyField("customers.Subscription", verbose_name=_("subscriptions"), blank=True,
                                           related_name="+")
    # The operator's reference: the number its portal gave, or the API's request id.
    reference = models.CharField(_("operator reference"), max_length=100, blank=True)
    # MS-RequestId of the create call: the same on every retry, so a create that timed out is not made twice.
    client_request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=ServiceRequestStatus.choices,
                              default=ServiceRequestStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("operator's first response"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The operator's own targets, from filing, on its calendar (business hours for billing topics).
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_reminded_at = models.DateTimeField(null=True, blank=True)
    resolution_reminded_at = models.DateTimeField(null=True, blank=True)
    # The API channel: when it was last read, and the claim of the poller reading it (two pollers at once each
    # take different requests).
    last_polled_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # When the operator closed it, the case went back to its agent to tell the customer; done when told.
    customer_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["channel", "status", "next_poll_at"], name="service_request_poll"),
                   models.Index(fields=["status", "first_response_due_at"], name="service_request_due")]
        constraints = [models.UniqueConstraint(fields=["channel", "reference"], condition=~Q(reference=""),
                                               name="service_request_reference_once")]

    def __str__(self) -> str:
        return self.reference or f"SR-{self.pk}"


class NoteSource(models.TextChoices):
    API = "api", _("Read from the operator's API")
    AGENT = "agent", _("Logged by an agent")
    EMAIL = "email", _("Forwarded by email")


class OperatorNote(models.Model):
    """A note on a service request: the operator's answer (from the API, logged by an agent, or forwarded by
    email), or the partner's own note to the operator."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="notes")
    from_operator = models.BooleanField(default=True)
    author = models.CharField(_("written by"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    written_at = models.DateTimeField(_("written at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=10, choices=NoteSource.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # A note read from the API is keyed by its date, author and text, so polling twice records it once.
    key = models.CharField(max_length=100, blank=True)
    # A note of ours sent through the API: when the operator accepted it (None while it waits to go).
    sent_at = models.DateTimeField(null=True, blank=True)
    case_message = models.ForeignKey("support.CaseMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["written_at", "id"]
        constraints = [models.UniqueConstraint(fields=["request", "key"], condition=~Q(key=""),
                                               name="operator_note_once")]

    def __str__(self) -> str:
        return f"note on {self.request}"


class EscalationSettings(models.Model):
    """The partner's contact on service requests, the operator's targets, and when a failing operator request
    becomes a case (one row)."""

    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    default_channel = models.CharField(_("default channel"), max_length=10, choices=RequestChannel.choices,
                                       default=RequestChannel.PORTAL)
    # 21Vianet's first-response targets: A 2 hours around the clock; B 4 and C 8 business hours.
    first_response_a_minutes = models.PositiveIntegerField(_("first response, A (minutes)"), default=120)
    first_response_b_minutes = models.PositiveIntegerField(_("first response, B (business minutes)"), default=240)
    first_response_c_minutes = models.PositiveIntegerField(_("first response, C (business minutes)"), default=480)
    # Resolution: the operator publishes none; these are the partner's expectations (3 and 5 working days).
    resolution_b_minutes = models.PositiveIntegerField(_("resolution, A and B (business minutes)"), default=3 * 9 * 60)
    resolution_c_minutes = models.PositiveIntegerField(_("resolution, C (business minutes)"), default=5 * 9 * 60)
    # A suspension or reactivation refused for longer than this opens a case for the collections team.
    failing_request_hours = models.PositiveIntegerField(_("an operator request failing for longer than (hours)"),
                                                        default=24)
    collections_team = models.ForeignKey("accounts.Team", verbose_name=_("collections team"), null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return "escalation settings"


class StuckRequest(models.Model):
    """The internal case opened for an operator request (suspension or reactivation) the operator keeps
    refusing: one per request, whatever runs at once."""

    operator_request = models.OneToOneField("dunning.OperatorRequest", on_delete=models.PROTECT,
                                            related_name="stuck_case")
    case = models.ForeignKey("support.Case", on_delete=models.PROTECT, related_name="stuck_requests")
    opened_at = models.DateTimeField(default=timezone.now)
    # retried, cancelled, or done (the operator accepted it at last); blank while it is open.
    outcome = models.CharField(max_length=10, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"stuck {self.operator_request_id}"
