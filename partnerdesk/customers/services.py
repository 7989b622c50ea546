"""Customers and their subscriptions: create, import, sync from the operator, suspend and reactivate."""

import csv
import datetime as dt
import io
import uuid
import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from partnerdesk.audit.services import record, snapshot
from partnerdesk.billing.services import parse_amount
from partnerdesk.errors import Conflict, InvalidInput, OperatorFailure

from .models import (
    BillingContact,
    BillingType,
    Customer,
    CustomerStatus,
    Language,
    Subscription,
    SubscriptionStatus,
    SuspensionReason,
)

CUSTOMER_FIELDS = ["name", "tenant_id", "primary_domain", "payment_terms_days", "credit_limit", "status", "language", "time_zone"]
SUBSCRIPTION_FIELDS = ["status", "quantity", "operator_reasons", "suspension_reason", "suspended_at", "offer_name"]


def _clean_customer_fields(data: dict, *, prefix: str = "") -> dict:
    """Validate customer fields; raise InvalidInput naming the first bad field."""
    out = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            raise InvalidInput("the company name is required", field=prefix + "name")
        out["name"] = name[:200]
    if "tenant_id" in data:
        try:
            out["tenant_id"] = uuid.UUID(str(data["tenant_id"]).strip())
        except ValueError:
            raise InvalidInput("the tenant id must be a GUID", field=prefix + "tenant_id")
    if "primary_domain" in data:
        out["primary_domain"] = (data["primary_domain"] or "").strip().lower()
    if "payment_terms_days" in data and data["payment_terms_days"] not in (None, ""):
        try:
            days = int(str(data["payment_terms_days"]).strip())
        except ValueError:
            raise InvalidInput("payment terms must be a whole number of days", field=prefix + "payment_terms_days")
        if not 0 <= days <= 365:
            raise InvalidInput("payment terms must be between 0 and 365 days", field=prefix + "payment_terms_days")
        out["payment_terms_days"] = days
    if "credit_limit" in data and data["credit_limit"] not in (None, ""):
        limit = parse_amount(data["credit_limit"], field=prefix + "credit_limit", positive=False)
        if limit < 0:
            raise InvalidInput("the credit limit cannot be negative", field=prefix + "credit_limit")
        out["credit_limit"] = limit
    if "language" in data and data["language"] not in (None, ""):
        if data["language"] not in Language.values:
            raise InvalidInput(f"language must be one of {', '.join(Language.values)}", field=prefix + "language")
        out["language"] = data["language"]
    if "status" in data and data["status"] not in (None, ""):
        if data["status"] not in CustomerStatus.values:
            raise InvalidInput(f"status must be one of {', '.join(CustomerStatus.values)}", field=prefix + "status")
        out["status"] = data["status"]
    if "time_zone" in data and data["time_zone"] not in (None, ""):
        try:
            zoneinfo.ZoneInfo(data["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {data['time_zone']!r}", field=prefix + "time_zone")
        out["time_zone"] = data["time_zone"]
    return out


def _clean_contact(data: dict, *, prefix: str = "contact_") -> dict | None:
    if not any(data.get(k) for k in ("name", "email", "phone")):
        return None
    name = (data.get("name") or "").strip()
    if not name:
        raise InvalidInput("the contact name is required", field=prefix + "name")
    email = (data.get("email") or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"{email!r} is not an email address", field=prefix + "email")
    return {"name": name, "email": email, "phone": (data.get("phone") or "").strip()}


@transaction.atomic
def create_customer(*, actor, name: str, tenant_id, contact: dict | None = None, reason: str = "", **fields) -> Customer:
    """Create a customer (and its primary billing contact)."""
    clean = _clean_customer_fields({"name": name, "tenant_id": tenant_id, **fields})
    if Customer.objects.filter(tenant_id=clean["tenant_id"]).exists():
        raise Conflict("a customer with this tenant id already exists", field="tenant_id")
    contact_data = _clean_contact(contact or {})
    customer = Customer.objects.create(**clean)
    if contact_data:
        BillingContact.objects.create(customer=customer, language=customer.language, time_zone=customer.time_zone, **contact_data)
    record(actor=actor, action="customer.created", obj=customer, after=snapshot(customer, CUSTOMER_FIELDS), reason=reason)
    return customer


@transaction.atomic
def update_customer(customer: Customer, *, actor, reason: str = "", **fields) -> Customer:
    """Change a customer's details."""
    clean = _clean_customer_fields(fields)
    if "tenant_id" in clean and Customer.objects.filter(tenant_id=clean["tenant_id"]).exclude(pk=customer.pk).exists():
        raise Conflict("a customer with this tenant id already exists", field="tenant_id")
    before = snapshot(customer, CUSTOMER_FIELDS)
    for key, value in clean.items():
        setattr(customer, key, value)
    customer.save()
    after = snapshot(customer, CUSTOMER_FIELDS)
    if after != before:
        record(actor=actor, action="customer.updated", obj=customer, before=before, after=after, reason=reason)
    return customer


# --- CSV import -----------------------------------------------------------------------------------------

IMPORT_COLUMNS = ["name", "tenant_id", "primary_domain", "contact_name", "contact_email", "contact_phone",
                  "language", "time_zone", "payment_terms_days", "credit_limit"]
REQUIRED_COLUMNS = {"name", "tenant_id"}


@dataclass
class RowError:
    row: int  # 1-based line number in the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportFailed(InvalidInput):
    """The file has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        first = errors[0]
        super().__init__(f"{len(errors)} bad row(s); nothing was imported. First: {first}", field=first.column)
        self.errors = errors

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["errors"] = [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors]
        return body


@dataclass
class ImportResult:
    created: list[Customer] = field(default_factory=list)
    updated: list[Customer] = field(default_factory=list)


def import_customers_csv(text: str, *, actor, reason: str = "CSV import") -> ImportResult:
    """Import customers from CSV text, all or nothing: one bad row and nothing is written.

    Rows whose tenant id is already known update that customer.
    """
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise ImportFailed([RowError(1, sorted(missing)[0], "required column missing from the header")])
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if unknown:
        raise ImportFailed([RowError(1, unknown[0], f"unknown column; expected {', '.join(IMPORT_COLUMNS)}")])
    rows, errors, seen = [], [], {}
    for line_no, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if None in raw:
            errors.append(RowError(line_no, header[-1], "more values than columns"))
            continue
        try:
            clean = _clean_customer_fields({k: row.get(k, "") for k in IMPORT_COLUMNS if k in row and not k.startswith("contact_")})
            contact = _clean_contact({"name": row.get("contact_name"), "email": row.get("contact_email"), "phone": row.get("contact_phone")})
        except InvalidInput as exc:
            errors.append(RowError(line_no, exc.field or "?", exc.message))
            continue
        if clean["tenant_id"] in seen:
            errors.append(RowError(line_no, "tenant_id", f"duplicate of row {seen[clean['tenant_id']]}"))
            continue
        seen[clean["tenant_id"]] = line_no
        rows.append((clean, contact))
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([RowError(2, "name", "the file has no customer rows")])
    result = ImportResult()
    with transaction.atomic():
        existing = {c.tenant_id: c for c in Customer.objects.filter(tenant_id__in=[r[0]["tenant_id"] for r in rows])}
        for clean, contact in rows:
            customer = existing.get(clean["tenant_id"])
            if customer is None:
                customer = create_customer(actor=actor, contact=contact and {"name": contact["name"], "email": contact["email"], "phone": contact["phone"]},
                                           reason=reason, **clean)
                result.created.append(customer)
            else:
                update_customer(customer, actor=actor, reason=reason, **clean)
                if contact:
                    BillingContact.objects.update_or_create(customer=customer, email=contact["email"],
                                                            defaults={"name": contact["name"], "phone": contact["phone"]})
                result.updated.append(customer)
    return result


# --- subscriptions, mirrored from the operator ------------------------------------------------------------


def _gateway(gateway):
    if gateway is not None:
        return gateway
    from partnerdesk.gateway import get_gateway

    return get_gateway()


def _operator_call(fn, *args, **kwargs):
    """Call the operator; turn its errors into an OperatorFailure (or Conflict) that names what went wrong."""
    from partnerdesk.gateway import OperatorConflict, OperatorError

    try:
        return fn(*args, **kwargs)
    except OperatorConflict as exc:
        raise Conflict(str(exc), field="etag", code="operator_conflict")
    except OperatorError as exc:
        raise OperatorFailure(str(exc))


def _parse_operator_date(value) -> dt.date | None:
    if not value:
        return None
    return parse_date(str(value)[:10])


def _apply_resource(sub: Subscription, resource: dict) -> None:
    """Copy the operator's view of a subscription onto the local mirror."""
    status = str(resource.get("status") or "none").lower()
    sub.status = status if status in SubscriptionStatus.values else SubscriptionStatus.NONE
    sub.offer_id = resource.get("offerId") or sub.offer_id
    sub.offer_name = resource.get("offerName") or sub.offer_name
    sub.friendly_name = resource.get("friendlyName") or sub.friendly_name
    sub.quantity = int(resource.get("quantity") or sub.quantity or 0)
    billing_type = str(resource.get("billingType") or "").lower()
    sub.billing_type = billing_type if billing_type in BillingType.values else sub.billing_type
    sub.billing_cycle = str(resource.get("billingCycle") or sub.billing_cycle).lower()
    sub.term_duration = resource.get("termDuration") or sub.term_duration
    sub.operator_reasons = list(resource.get("suspensionReasons") or [])
    sub.commitment_end_date = _parse_operator_date(resource.get("commitmentEndDate")) or sub.commitment_end_date
    sub.auto_renew = bool(resource.get("autoRenewEnabled", sub.auto_renew))
    sub.etag = (resource.get("attributes") or {}).get("etag", "") or sub.etag
    sub.synced_at = timezone.now()
    if sub.status != SubscriptionStatus.SUSPENDED:
        sub.suspended_at = None
        sub.suspension_reason = ""
    elif sub.suspended_at is None:
        sub.suspended_at = timezone.now()


def sync_subscriptions(customer: Customer, *, actor, gateway=None) -> list[Subscription]:
    """Mirror the customer's subscriptions from the operator; changes are audited."""
    resources = _operator_call(_gateway(gateway).list_subscriptions, str(customer.tenant_id))
    synced = []
    with transaction.atomic():
        for resource in resources:
            sub = Subscription.objects.filter(operator_id=resource["id"]).first()
            created = sub is None
            if created:
                sub = Subscription(customer=customer, operator_id=resource["id"])
            elif sub.customer_id != customer.pk:
                raise Conflict(f"subscription {resource['id']} belongs to another customer here", field="operator_id")
            before = None if created else snapshot(sub, SUBSCRIPTION_FIELDS)
            _apply_resource(sub, resource)
            sub.save()
            after = snapshot(sub, SUBSCRIPTION_FIELDS)
            if created or before != after:
                record(actor=actor, action="subscription.synced", obj=sub, customer=customer, before=before, after=after)
            synced.append(sub)
    return synced


def suspend_subscription(subscription: Subscription, *, actor, reason_code: str, reason: str, gateway=None) -> Subscription:
    """Suspend a subscription at the operator; it shows suspended only once the operator confirms."""
    if reason_code not in SuspensionReason.values:
        raise InvalidInput(f"reason code must be one of {', '.join(SuspensionReason.values)}", field="reason_code")
    if not reason.strip():
        raise InvalidInput("a reason is required to suspend a subscription", field="reason")
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise Conflict(f"only an active subscription can be suspended; this one is {subscription.status}", field="status")
    resource = _operator_call(_gateway(gateway).suspend_subscription, str(subscription.customer.tenant_id), subscription.operator_id)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = snapshot(sub, SUBSCRIPTION_FIELDS)
        was_suspended = sub.status == SubscriptionStatus.SUSPENDED  # by another worker (or a sync) while we called
        _apply_resource(sub, resource)
        if sub.status == SubscriptionStatus.SUSPENDED:
            if not was_suspended:
                sub.suspended_at = timezone.now()  # the suspension began when it first did
            if not was_suspended or not sub.suspension_reason:  # a sync records the operator's state without a reason
                sub.suspension_reason = reason_code
        sub.save()
        record(actor=actor, action="subscription.suspended", obj=sub, before=before, after=snapshot(sub, SUBSCRIPTION_FIELDS), reason=reason)
    return sub


def reactivate_subscription(subscription: Subscription, *, actor, reason: str, gateway=None) -> Subscription:
    """Reactivate a suspended subscription at the operator."""
    if not reason.strip():
        raise InvalidInput("a reason is required to reactivate a subscription", field="reason")
    if subscription.status != SubscriptionStatus.SUSPENDED:
        raise Conflict(f"only a suspended subscription can be reactivated; this one is {subscription.status}", field="status")
    resource = _operator_call(_gateway(gateway).reactivate_subscription, str(subscription.customer.tenant_id), subscription.operator_id)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = snapshot(sub, SUBSCRIPTION_FIELDS)
        _apply_resource(sub, resource)
        sub.save()
        record(actor=actor, action="subscription.reactivated", obj=sub, before=before, after=snapshot(sub, SUBSCRIPTION_FIELDS), reason=reason)
    return sub
