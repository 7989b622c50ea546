"""Email over the REST API: a customer's emails and their delivery status, retry and bounce, and templates."""

import datetime as dt

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.pagination import paginate

from partnerdesk import bounds
from partnerdesk.accounts.permissions import get_customer_or_404, get_scoped_or_404, require
from partnerdesk.api_schemas import Code, Id, Pagination, Reason, Text
from partnerdesk.errors import InvalidInput

from . import services
from .defaults import CONFIDENTIAL_TEMPLATES
from .models import EmailStatus, OutboundEmail

router = Router(tags=["email"])


class EmailOut(Schema):
    id: int
    customer_id: int | None
    to_address: str
    language: str
    template_key: str
    status: str
    attempts: int
    last_error: str
    queued_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    subject: str
    body: str
    message_id: str
    dedupe_key: str | None
    context: dict

    # An invitation's link sets a password: it is never read back (CONFIDENTIAL_TEMPLATES).
    @staticmethod
    def resolve_body(obj):
        return "" if obj.template_key in CONFIDENTIAL_TEMPLATES else obj.body

    @staticmethod
    def resolve_context(obj):
        return {} if obj.template_key in CONFIDENTIAL_TEMPLATES else obj.context


class RetryIn(Schema):
    reason: Reason = ""


class BounceIn(Schema):
    reason: Reason


class TemplateOut(Schema):
    key: str
    language: str
    subject: str
    body: str
    is_default: bool
    updated_by: str | None
    updated_at: dt.datetime | None


class TemplateIn(Schema):
    subject: Text(300)
    body: Text(bounds.BODY_LENGTH)
    reason: Reason = ""


class TemplateResetIn(Schema):
    reason: Reason = ""


@router.get("/customers/{customer_id}/emails", response=list[EmailOut],
            summary="The emails sent (or queued) to a customer, newest first, with their delivery status")
@paginate(Pagination)
def list_customer_emails(request, customer_id: Id, status: Code | None = None):
    require(request.user, "emails.view")
    customer = get_customer_or_404(request.user, customer_id)
    emails = OutboundEmail.objects.filter(customer=customer)
    if status:
        if status not in EmailStatus.values:
            raise InvalidInput(_("status must be one of %(choices)s"), field="status", choices=", ".join(EmailStatus.values))
        emails = emails.filter(status=status)
    return emails


@router.get("/emails/{email_id}", response=EmailOut, summary="One email: recipient, rendered text, delivery status")
def get_email(request, email_id: Id):
    require(request.user, "emails.view")
    return get_scoped_or_404(OutboundEmail.objects.all(), request.user, email_id)


@router.post("/emails/{email_id}/retry", response=EmailOut, summary="Send a failed or bounced email again")
def retry_email(request, email_id: Id, payload: RetryIn):
    email = get_scoped_or_404(OutboundEmail.objects.all(), request.user, email_id)
    require(request.user, "emails.manage")
    return services.retry(email, actor=request.user, reason=payload.reason)


@router.post("/emails/{email_id}/bounce", response=EmailOut, summary="Record that a sent email bounced")
def bounce_email(request, email_id: Id, payload: BounceIn):
    email = get_scoped_or_404(OutboundEmail.objects.all(), request.user, email_id)
    require(request.user, "emails.manage")
    return services.mark_bounced(email, reason=payload.reason, actor=request.user)


@router.get("/email-templates", response=list[TemplateOut], summary="Every email template in every language")
def list_templates(request):
    require(request.user, "emails.view")
    return services.all_templates()


@router.get("/email-templates/{key}/{language}", response=TemplateOut, summary="One email template")
def get_template(request, key: Text(80), language: Code):
    require(request.user, "emails.view")
    return services.template_info(key, language)


@router.put("/email-templates/{key}/{language}", response=TemplateOut,
            summary="Replace a template (checked: it must compile and render)")
def put_template(request, key: Text(80), language: Code, payload: TemplateIn):
    require(request.user, "templates.manage")
    services.update_template(key=key, language=language, subject=payload.subject, body=payload.body,
                             actor=request.user, reason=payload.reason)
    return services.template_info(key, language)


@router.delete("/email-templates/{key}/{language}", response=TemplateOut,
               summary="Go back to the built-in template")
def reset_template(request, key: Text(80), language: Code, payload: TemplateResetIn | None = None):
    require(request.user, "templates.manage")
    services.reset_template(key=key, language=language, actor=request.user, reason=payload.reason if payload else "")
    return services.template_info(key, language)
