"""Customers and their subscriptions: create, import, sync from the operator, suspend and reactivate."""

import csv
import datetime as dt
import io
import logging
import uuid
import zoneinfo
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import actor_label, record, snapshot
from partnerdesk.billing.services import parse_amount
from partnerdesk.errors import Conflict, DomainError, InvalidInput, OperatorFailure, status_word
from partnerdesk.gateway.failures import OPERATOR_FAILURES

from .models import (
    BillingContact,
    BillingType,
    ContactKind,
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
        name = bounds.clean_text(data["name"], field=prefix + "name", max_length=bounds.NAME_LENGTH).strip()
        if not name:
            raise InvalidInput(_("the company name is required"), field=prefix + "name")
        out["name"] = name
    if "tenant_id" in data:
        try:
            out["tenant_id"] = uuid.UUID(str(data["tenant_id"]).strip())
        except ValueError:
            raise InvalidInput(_("the tenant id must be a GUID"), field=prefix + "tenant_id")
    if "primary_domain" in data:
        out["primary_domain"] = bounds.clean_text(data["primary_domain"], field=prefix + "primary_domain", max_length=253).strip().lower()
    if "payment_terms_days" in data and data["payment_terms_days"] not in (None, ""):
        try:
            days = int(str(data["payment_terms_days"]).strip())
        except ValueError:
            raise InvalidInput(_("payment terms must be a whole number of days"), field=prefix + "payment_terms_days")
        if not 0 <= days <= 365:
            raise InvalidInput(_("payment terms must be between 0 and 365 days"), field=prefix + "payment_terms_days")
        out["payment_terms_days"] = days
    if "credit_limit" in data and data["credit_limit"] not in (None, ""):
        limit = parse_amount(data["credit_limit"], field=prefix + "credit_limit", positive=False)
        if limit < 0:
            raise InvalidInput(_("the credit limit cannot be negative"), field=prefix + "credit_limit")
        out["credit_limit"] = limit
    if "language" in data and data["language"] not in (None, ""):
        if data["language"] not in Language.values:
            raise InvalidInput(_("language must be one of %(choices)s"), field=prefix + "language",
                               choices=", ".join(Language.values))
        out["language"] = data["language"]
    if "status" in data and data["status"] not in (None, ""):
        if data["status"] not in CustomerStatus.values:
            raise InvalidInput(_("status must be one of %(choices)s"), field=prefix + "status",
                               choices=", ".join(CustomerStatus.values))
        out["status"] = data["status"]
    if "time_zone" in data and data["time_zone"] not in (None, ""):
        try:
            zoneinfo.ZoneInfo(data["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(_("unknown time zone %(zone)s"), field=prefix + "time_zone", zone=repr(data["time_zone"]))
        out["time_zone"] = data["time_zone"]
    return out


def _clean_contact(data: dict, *, prefix: str = "contact_") -> dict | None:
    if not any(data.get(k) for k in ("name", "email", "phone")):
        return None
    name = bounds.clean_text(data.get("name"), field=prefix + "name", max_length=bounds.NAME_LENGTH).strip()
    if not name:
        raise InvalidInput(_("the contact name is required"), field=prefix + "name")
    email = bounds.clean_text(data.get("email"), field=prefix + "email", max_length=254).strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("%(email)s is not an email address"), field=prefix + "email", email=repr(email))
    return {"name": name, "email": email, "phone": bounds.clean_text(data.get("phone"), field=prefix + "phone", max_length=40).strip()}


@transaction.atomic
def create_customer(*, actor, name: str, tenant_id, contact: dict | None = None, reason: str = "", **fields) -> Customer:
    """Create a customer (and its primary billing contact)."""
    clean = _clean_customer_fields({"name": name, "tenant_id": tenant_id, **fields})
    if Customer.objects.filter(tenant_id=clean["tenant_id"]).exists():
        raise Conflict(_("a customer with this tenant id already exists"), field="tenant_id")
    contact_data = _clean_contact(contact or {})
    customer = Customer.objects.create(**clean)
    if contact_data:
        BillingContact.objects.create(customer=customer, language=customer.language, time_zone=customer.time_zone,
                                      is_primary=True, **contact_data)
    record(actor=actor, action="customer.created", obj=customer, after=snapshot(customer, CUSTOMER_FIELDS), reason=reason)
    return customer


@transaction.atomic
def update_customer(customer: Customer, *, actor, reason: str = "", **fields) -> Customer:
    """Change a customer's details."""
    clean = _clean_customer_fields(fields)
    if "tenant_id" in clean and Customer.objects.filter(tenant_id=clean["tenant_id"]).exclude(pk=customer.pk).exists():
        raise Conflict(_("a customer with this tenant id already exists"), field="tenant_id")
    before = snapshot(customer, CUSTOMER_FIELDS)
    for key, value in clean.items():
        setattr(customer, key, value)
    customer.save()
    after = snapshot(customer, CUSTOMER_FIELDS)
    if after != before:
        record(actor=actor, action="customer.updated", obj=customer, before=before, after=after, reason=reason)
    return customer


# --- contacts -------------------------------------------------------------------------------------------

CONTACT_FIELDS = ["name", "email", "phone", "kind", "language", "time_zone", "is_primary"]


def _clean_contact_fields(data: dict) -> dict:
    """Validate a contact's fields (those given); raise InvalidInput naming the first bad one."""
    out = {}
    if "name" in data:
        out["name"] = bounds.clean_text(data["name"], field="name", max_length=bounds.NAME_LENGTH).strip()
        if not out["name"]:
            raise InvalidInput(_("the contact name is required"), field="name")
    if "email" in data:
        email = bounds.clean_text(data["email"], field="email", max_length=254).strip()
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(_("%(email)s is not an email address"), field="email", email=repr(email))
        out["email"] = email
    if "phone" in data:
        out["phone"] = bounds.clean_text(data["phone"], field="phone", max_length=40).strip()
    if data.get("kind") not in (None, ""):
        if data["kind"] not in ContactKind.values:
            raise InvalidInput(_("the role must be one of %(choices)s"), field="kind", choices=", ".join(ContactKind.values))
        out["kind"] = data["kind"]
    if data.get("language") not in (None, ""):
        if data["language"] not in Language.values:
            raise InvalidInput(_("the language must be one of %(choices)s"), field="language",
                               choices=", ".join(Language.values))
        out["language"] = data["language"]
    if data.get("time_zone") not in (None, ""):
        try:
            zoneinfo.ZoneInfo(data["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(_("unknown time zone %(zone)s"), field="time_zone", zone=repr(data["time_zone"]))
        out["time_zone"] = data["time_zone"]
    if data.get("is_primary") is not None:
        out["is_primary"] = bool(data["is_primary"])
    return out


def _make_primary(contact: BillingContact) -> None:
    """The contact becomes the customer's one primary billing contact (the previous one stays, as billing)."""
    BillingContact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(pk=contact.pk).update(
        is_primary=False)


@transaction.atomic
def add_contact(customer: Customer, *, actor, name: str, email: str, reason: str = "", **fields) -> BillingContact:
    """Add a contact to a customer; its first billing contact becomes the primary one."""
    clean = _clean_contact_fields({"name": name, "email": email, **fields})
    type(customer).objects.select_for_update().filter(pk=customer.pk).first()  # one primary, whoever adds at once
    clean.setdefault("language", customer.language)
    clean.setdefault("time_zone", customer.time_zone)
    kind = clean.get("kind", ContactKind.BILLING)
    has_primary = BillingContact.objects.filter(customer=customer, is_primary=True).exists()
    wants_primary = clean.pop("is_primary", False) or (kind == ContactKind.BILLING and not has_primary)
    if wants_primary and kind != ContactKind.BILLING:
        raise InvalidInput(_("only a billing contact can be the primary billing contact"), field="is_primary")
    contact = BillingContact(customer=customer, is_primary=False, **clean)
    contact.save()
    if wants_primary:
        _make_primary(contact)
        contact.is_primary = True
        contact.save(update_fields=["is_primary"])
    record(actor=actor, action="contact.added", obj=contact, customer=customer,
           after=snapshot(contact, CONTACT_FIELDS), reason=reason)
    return contact


@transaction.atomic
def update_contact(contact: BillingContact, *, actor, reason: str = "", **fields) -> BillingContact:
    """Change a contact (its email, role, language...); making it primary moves the role from the other one."""
    clean = _clean_contact_fields(fields)
    contact = BillingContact.objects.select_for_update().get(pk=contact.pk)
    before = snapshot(contact, CONTACT_FIELDS)
    kind = clean.get("kind", contact.kind)
    primary = clean.pop("is_primary", contact.is_primary)
    if contact.is_primary and (not primary or kind != ContactKind.BILLING):
        raise Conflict(_("this is the primary billing contact: make another billing contact primary first"),
                       field="is_primary" if not primary else "kind")
    if primary and kind != ContactKind.BILLING:
        raise InvalidInput(_("only a billing contact can be the primary billing contact"), field="is_primary")
    for key, value in clean.items():
        setattr(contact, key, value)
    if primary and not contact.is_primary:
        _make_primary(contact)
        contact.is_primary = True
    contact.save()
    after = snapshot(contact, CONTACT_FIELDS)
    if after != before:
        record(actor=actor, action="contact.updated", obj=contact, customer=contact.customer, before=before,
               after=after, reason=reason)
    return contact


@transaction.atomic
def remove_contact(contact: BillingContact, *, actor, reason: str = "") -> None:
    """Remove a contact; the primary billing contact stays until another one is made primary."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    contact = BillingContact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    if contact.is_primary and BillingContact.objects.filter(customer_id=contact.customer_id).count() > 1:
        raise Conflict(_("this is the primary billing contact: make another billing contact primary first"),
                       field="is_primary")
    before = snapshot(contact, CONTACT_FIELDS)
    record(actor=actor, action="contact.removed", obj=contact, customer=contact.customer, before=before, reason=reason)
    contact.delete()


# --- CSV import -----------------------------------------------------------------------------------------

IMPORT_COLUMNS = ["name", "tenant_id", "primary_domain", "contact_name", "contact_email", "contact_phone",
                  "language", "time_zone", "payment_terms_days", "credit_limit"]
REQUIRED_COLUMNS = {"name", "tenant_id"}
CONTACT_COLUMNS = ["contact_name", "contact_email", "contact_phone"]


@dataclass
class RowError:
    """One problem of one row of the file (a row may have several)."""

    row: int  # 1-based line number in the file, the header being line 1
    column: str
    problem: DomainError  # rendered in the reader's language by `message`

    @property
    def message(self) -> str:
        return self.problem.message

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.problem}"


def _problem(line: int, column: str, text, **params) -> RowError:
    return RowError(line, column, InvalidInput(text, field=column, **params))


class ImportFailed(InvalidInput):
    """The file has problems (all of them are listed); nothing was imported."""

    def __init__(self, errors: list[RowError], *, file: str = ""):
        first = errors[0]
        text = (_("%(file)s: 1 problem; nothing was imported. Row %(row)s, column %(column)s: %(first)s")
                if len(errors) == 1 else
                _("%(file)s: %(count)s problems; nothing was imported. The first: row %(row)s, column %(column)s: %(first)s"))
        # `first` is rendered when the message is (the reader's language), not now
        super().__init__(text, field=first.column, file=file or _("the file"), count=len(errors), row=first.row,
                         column=first.column, first=lazy(lambda: first.message, str)())
        self.errors = errors
        self.file = file

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["file"] = self.file
        body["errors"] = [{"file": self.file, "row": e.row, "column": e.column, "message": e.message} for e in self.errors]
        return body


@dataclass
class ImportResult:
    created: list[Customer] = field(default_factory=list)
    updated: list[Customer] = field(default_factory=list)


def _rows(reader, errors: list):
    """(line number, row) of each readable row; an unreadable one (a field past the csv module's limit of
    131,072 characters, a stray quote) is an error of its line, and reading goes on with the next."""
    line_no = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_no += 1
            errors.append(_problem(line_no, "?", _("The row cannot be read as CSV: %(detail)s"), detail=str(exc)))
            continue
        line_no += 1
        yield line_no, raw


def _header_problems(header: list[str]) -> list[RowError]:
    problems = [_problem(1, column, _("required column missing from the header"))
                for column in sorted(REQUIRED_COLUMNS - set(header))]
    problems += [_problem(1, column, _("Unknown column; expected: %(columns)s."), columns=", ".join(IMPORT_COLUMNS))
                 for column in header if column not in IMPORT_COLUMNS]
    problems += [_problem(1, column, _("the column appears twice in the header"))
                 for column in sorted({c for c in header if header.count(c) > 1})]
    return problems


def _import_contact(row: dict, line_no: int, problems: list) -> dict | None:
    """The row's contact (name as given, possibly blank), or None if it gives none. An email alone is enough."""
    if not any(row.get(c) for c in CONTACT_COLUMNS):
        return None
    contact = {}
    for column, max_length in (("contact_name", bounds.NAME_LENGTH), ("contact_phone", 40)):
        problem = bounds.text_problem(row.get(column, ""), max_length)
        if problem:
            problems.append(_problem(line_no, column, problem))
        contact[column.removeprefix("contact_")] = row.get(column, "")
    email = row.get("contact_email", "")
    if not email:
        problems.append(_problem(line_no, "contact_email", _("a contact needs an email address")))
    else:
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            problems.append(_problem(line_no, "contact_email", _("%(email)s is not an email address."), email=repr(email)))
    contact["email"] = email
    return contact


def _contact_name(contact: dict) -> dict:
    """The contact as stored: without a name in the file, the name is the email's local part."""
    return {**contact, "name": contact["name"] or contact["email"].partition("@")[0]}


def _check_row(row: dict, line_no: int) -> tuple[dict, dict | None, list[RowError]]:
    """The row's customer fields and contact, cleaned, and every problem of the row (each field checked
    on its own, so a row with three problems reports three)."""
    problems, clean = [], {}
    for column in IMPORT_COLUMNS:
        if column in row and column not in CONTACT_COLUMNS:
            try:
                clean.update(_clean_customer_fields({column: row[column]}))
            except InvalidInput as exc:
                problems.append(RowError(line_no, column, exc))
    contact = _import_contact(row, line_no, problems)
    return clean, contact, problems


def _import_contact_into(customer: Customer, contact: dict, *, actor, reason: str) -> None:
    """A known customer's contact from the file: the one with that email is updated (a blank name or phone
    in the file leaves it as it is), else it is added."""
    existing = BillingContact.objects.filter(customer=customer, email__iexact=contact["email"]).first()
    if existing is None:
        add_contact(customer, actor=actor, reason=reason, **_contact_name(contact))
        return
    changes = {k: contact[k] for k in ("name", "phone") if contact[k]}
    if changes:
        update_contact(existing, actor=actor, reason=reason, **changes)


def import_customers_csv(text: str, *, actor, reason: str = "CSV import", file: str = "") -> ImportResult:
    """Import customers from CSV text, all or nothing: if any row has a problem, nothing is written and every
    problem of every row is listed (ImportFailed). Rows whose tenant id is already known update that customer.
    `file` names the file in the problems."""
    text = text.lstrip("\ufeff")
    problem = bounds.text_problem(text)
    if problem:  # (a NUL byte: PostgreSQL cannot store it; the csv module stops at it)
        line = text.count("\n", 0, text.find("\x00") if "\x00" in text else len(text)) + 1
        raise ImportFailed([_problem(line, "?", problem)], file=file)
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ImportFailed([_problem(1, "?", _("The header cannot be read as CSV: %(detail)s"), detail=str(exc))], file=file)
    header_problems = _header_problems(header)
    if header_problems:
        raise ImportFailed(header_problems, file=file)
    rows, errors, seen = [], [], {}
    for line_no, raw in _rows(reader, errors):
        if None in raw:  # (the values are shifted: checking them would only add noise)
            errors.append(_problem(line_no, header[-1], _("more values than columns")))
            continue
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        clean, contact, problems = _check_row(row, line_no)
        tenant_id = clean.get("tenant_id")
        if tenant_id is not None:
            if tenant_id in seen:
                problems.append(_problem(line_no, "tenant_id", _("Duplicate of row %(row)s."), row=seen[tenant_id]))
            else:
                seen[tenant_id] = line_no
        errors.extend(problems)
        if not problems:
            rows.append((clean, contact))
    if errors:
        raise ImportFailed(errors, file=file)
    if not rows:
        raise ImportFailed([_problem(2, "name", _("the file has no customer rows"))], file=file)
    result = ImportResult()
    with transaction.atomic():
        existing = {c.tenant_id: c for c in Customer.objects.filter(tenant_id__in=[r[0]["tenant_id"] for r in rows])}
        for clean, contact in rows:
            customer = existing.get(clean["tenant_id"])
            if customer is None:
                customer = create_customer(actor=actor, contact=contact and _contact_name(contact), reason=reason,
                                           **clean)
                result.created.append(customer)
            else:
                update_customer(customer, actor=actor, reason=reason, **clean)
                if contact:
                    _import_contact_into(customer, contact, actor=actor, reason=reason)
                result.updated.append(customer)
    return result


# --- subscriptions, mirrored from the operator ------------------------------------------------------------
#
# The rule for every change made at the operator: every input is checked, and what will be written prepared,
# before the call, so nothing the caller gave can make the local write fail once the operator has acted. If
# that write fails anyway (the database, anything), the operator's state is copied in a fresh transaction and
# the failure audited before the error goes on to the caller: PartnerDesk never silently shows a state the
# operator no longer holds.

logger = logging.getLogger(__name__)

# What the audit log keeps of who acted (AuditEntry.actor_label).
ACTOR_LABEL_LENGTH = 150


def _gateway(gateway):
    if gateway is not None:
        return gateway
    from partnerdesk.gateway import get_gateway

    return get_gateway()


def _operator_call(fn, *args, **kwargs):
    """Call the operator; turn its errors into an OperatorFailure (or Conflict) that says what went wrong."""
    from partnerdesk.gateway import OperatorConflict, OperatorError

    try:
        return fn(*args, **kwargs)
    except OperatorError as exc:
        text = next(OPERATOR_FAILURES[c.__name__] for c in type(exc).__mro__ if c.__name__ in OPERATOR_FAILURES)
        if isinstance(exc, OperatorConflict):
            raise Conflict(text, field="etag", code="operator_conflict", detail=exc.detail)
        raise OperatorFailure(text, detail=exc.detail, permanent=exc.permanent)


def _check_actor(actor) -> None:
    """Refuse, before any operator call, an actor the audit log could not name (a programming error: callers
    pass request.user, a user, or None for background work)."""
    try:
        label = actor_label(actor)
    except AttributeError:
        raise TypeError(f"actor must be a user or None, not {type(actor).__name__}") from None
    if not isinstance(label, str) or bounds.text_problem(label, ACTOR_LABEL_LENGTH):
        raise ValueError("the actor's name cannot be stored in the audit log")


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


def _mirror_change(sub: Subscription, resource: dict, reason_code: str = "") -> None:
    """Copy the operator's answer to a suspension or reactivation onto the (locked) local row."""
    was_suspended = sub.status == SubscriptionStatus.SUSPENDED  # by another worker (or a sync) while we called
    _apply_resource(sub, resource)
    if reason_code and sub.status == SubscriptionStatus.SUSPENDED:
        if not was_suspended:
            sub.suspended_at = timezone.now()  # the suspension began when it first did
        if not was_suspended or not sub.suspension_reason:  # a sync records the operator's state without a reason
            sub.suspension_reason = reason_code


def _record_change(subscription: Subscription, resource: dict, *, actor, action: str, reason: str,
                   reason_code: str = "") -> Subscription:
    """Write what the operator answered, and the audit entry, in one transaction."""
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
        before = snapshot(sub, SUBSCRIPTION_FIELDS)
        _mirror_change(sub, resource, reason_code)
        sub.save()
        record(actor=actor, action=action, obj=sub, before=before, after=snapshot(sub, SUBSCRIPTION_FIELDS), reason=reason)
    return sub


def _storable_error(exc: BaseException) -> str:
    """The error as any column can store it (its message may quote the very text that could not be stored)."""
    text = f"{type(exc).__name__}: {exc}"[:500]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _mirror_after_failed_write(subscription: Subscription, resource: dict, *, error: Exception, actor, action: str,
                               reason: str, reason_code: str = "", gateway=None) -> None:
    """The operator made the change but writing it here failed: copy the operator's state in a fresh
    transaction and audit the failure (`action`), so PartnerDesk shows what the operator holds. Never raises:
    the caller raises the original error."""
    try:
        # The operator's state now, which is what PartnerDesk must show; its answer to the call if it cannot say.
        resource = _gateway(gateway).get_subscription(str(subscription.customer.tenant_id), subscription.operator_id)
    except Exception:
        logger.warning("Subscription %s: could not read it back from the operator; using its answer to the change",
                       subscription.operator_id, exc_info=True)
    failure = {"local_error": _storable_error(error)}
    # First the whole answer; if that cannot be stored either (the operator's own data, say), its status alone.
    for answer in (resource, {"status": resource.get("status")}):
        try:
            with transaction.atomic():
                sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
                before = snapshot(sub, SUBSCRIPTION_FIELDS)
                _mirror_change(sub, answer, reason_code)
                sub.save()
                record(actor=actor, action=action, obj=sub, before=before,
                       after={**snapshot(sub, SUBSCRIPTION_FIELDS), **failure}, reason=reason)
        except Exception:
            logger.exception("Subscription %s: could not record the operator's state after a failed write",
                             subscription.operator_id)
            continue
        logger.error("Subscription %s: the operator's change could not be recorded as asked (%s); it now shows the "
                     "operator's state, %s", subscription.operator_id, failure["local_error"], sub.status)
        error.add_note(f"The operator made the change; PartnerDesk shows its state ({sub.status}) and the audit "
                       f"log has {action}.")
        return
    error.add_note("The operator made the change, but PartnerDesk could not record its state: sync the customer.")


def sync_subscriptions(customer: Customer, *, actor, gateway=None) -> list[Subscription]:
    """Mirror the customer's subscriptions from the operator; changes are audited."""
    _check_actor(actor)
    resources = _operator_call(_gateway(gateway).list_subscriptions, str(customer.tenant_id))
    synced = []
    with transaction.atomic():
        for resource in resources:
            sub = Subscription.objects.filter(operator_id=resource["id"]).first()
            created = sub is None
            if created:
                sub = Subscription(customer=customer, operator_id=resource["id"])
            elif sub.customer_id != customer.pk:
                raise Conflict(_("subscription %(id)s belongs to another customer here"), field="operator_id",
                               id=resource["id"])
            before = None if created else snapshot(sub, SUBSCRIPTION_FIELDS)
            _apply_resource(sub, resource)
            sub.save()
            after = snapshot(sub, SUBSCRIPTION_FIELDS)
            if created or before != after:
                record(actor=actor, action="subscription.synced", obj=sub, customer=customer, before=before, after=after)
            synced.append(sub)
    return synced


def check_suspension(subscription: Subscription, *, actor, reason_code: str, reason: str) -> str:
    """Refuse a suspension that could not be carried out or recorded, before anything is asked of the operator
    (or queued for it); returns the reason as it will be stored."""
    if reason_code not in SuspensionReason.values:
        raise InvalidInput(_("the reason code must be one of %(choices)s"), field="reason_code",
                           choices=", ".join(SuspensionReason.values))
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    if not reason.strip():
        raise InvalidInput(_("a reason is required to suspend a subscription"), field="reason")
    _check_actor(actor)
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise Conflict(_("Only an active subscription can be suspended; this one is %(status)s."), field="status",
                       status=status_word(SubscriptionStatus, subscription.status))
    return reason


def check_reactivation(subscription: Subscription, *, actor, reason: str) -> str:
    """As check_suspension, for a reactivation."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH)
    if not reason.strip():
        raise InvalidInput(_("a reason is required to reactivate a subscription"), field="reason")
    _check_actor(actor)
    if subscription.status != SubscriptionStatus.SUSPENDED:
        raise Conflict(_("Only a suspended subscription can be reactivated; this one is %(status)s."), field="status",
                       status=status_word(SubscriptionStatus, subscription.status))
    return reason


def suspend_subscription(subscription: Subscription, *, actor, reason_code: str, reason: str, gateway=None) -> Subscription:
    """Suspend a subscription at the operator; it shows suspended only once the operator confirms. (Staff ask
    through dunning.services.suspend_by_hand, which queues it when the operator cannot be reached.)"""
    reason = check_suspension(subscription, actor=actor, reason_code=reason_code, reason=reason)
    resource = _operator_call(_gateway(gateway).suspend_subscription, str(subscription.customer.tenant_id), subscription.operator_id)
    try:
        return _record_change(subscription, resource, actor=actor, action="subscription.suspended", reason=reason,
                              reason_code=reason_code)
    except Exception as exc:
        _mirror_after_failed_write(subscription, resource, error=exc, actor=actor, reason=reason, reason_code=reason_code,
                                   action="subscription.suspend_write_failed", gateway=gateway)
        raise


def reactivate_subscription(subscription: Subscription, *, actor, reason: str, gateway=None) -> Subscription:
    """Reactivate a suspended subscription at the operator."""
    reason = check_reactivation(subscription, actor=actor, reason=reason)
    resource = _operator_call(_gateway(gateway).reactivate_subscription, str(subscription.customer.tenant_id), subscription.operator_id)
    try:
        return _record_change(subscription, resource, actor=actor, action="subscription.reactivated", reason=reason)
    except Exception as exc:
        _mirror_after_failed_write(subscription, resource, error=exc, actor=actor, reason=reason,
                                   action="subscription.reactivate_write_failed", gateway=gateway)
        raise
