import datetime as dt
import uuid

from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import File, Router, Schema, UploadedFile
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import (
    get_customer_or_404,
    get_scoped_or_404,
    require,
    visible_customers,
)
from partnerdesk.api_schemas import Amount, Code, Days, Id, Name, Pagination, Reason, Search, Text
from partnerdesk.dunning import services as dunning
from partnerdesk.dunning.api import OperatorRequestOut
from partnerdesk.errors import InvalidInput

from . import services
from .models import BillingContact, Subscription

router = Router(tags=["customers"])


class ContactIn(Schema):
    name: Name
    email: Text(254)
    phone: Text(40) = ""


class ContactOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    kind: str
    language: str
    time_zone: str
    is_primary: bool


class ContactCreateIn(Schema):
    name: Name
    email: Text(254)
    phone: Text(40) = ""
    kind: Code = "billing"
    language: Code | None = None
    time_zone: Text(64) | None = None
    is_primary: bool = False
    reason: Reason = ""


class ContactPatch(Schema):
    name: Name | None = None
    email: Text(254) | None = None
    phone: Text(40) | None = None
    kind: Code | None = None
    language: Code | None = None
    time_zone: Text(64) | None = None
    is_primary: bool | None = None
    reason: Reason = ""


class CustomerIn(Schema):
    name: Name
    tenant_id: uuid.UUID
    primary_domain: Text(253) = ""
    payment_terms_days: Days = 30
    credit_limit: Amount = "0"
    language: Code = "zh-CN"
    time_zone: Text(64) = "Asia/Shanghai"
    contact: ContactIn | None = None


class CustomerPatch(Schema):
    name: Name | None = None
    primary_domain: Text(253) | None = None
    payment_terms_days: Days | None = None
    credit_limit: Amount | None = None
    language: Code | None = None
    time_zone: Text(64) | None = None
    status: Code | None = None
    reason: Reason = ""


class CustomerOut(Schema):
    id: int
    name: str
    tenant_id: uuid.UUID
    primary_domain: str
    payment_terms_days: int
    credit_limit: str
    currency: str
    status: str
    language: str
    time_zone: str
    contacts: list[ContactOut]

    @staticmethod
    def resolve_credit_limit(obj):
        return str(obj.credit_limit)

    @staticmethod
    def resolve_contacts(obj):
        return list(obj.contacts.all())


class SubscriptionOut(Schema):
    id: int
    customer_id: int
    operator_id: str
    offer_id: str
    offer_name: str
    friendly_name: str
    quantity: int
    unit_price: str
    billing_type: str
    billing_cycle: str
    term_duration: str
    status: str
    operator_reasons: list[str]
    suspension_reason: str
    suspended_at: dt.datetime | None
    data_deletion_date: dt.date | None
    synced_at: dt.datetime | None

    @staticmethod
    def resolve_unit_price(obj):
        return str(obj.unit_price)


class SuspendIn(Schema):
    reason_code: Code
    reason: Reason


class ReactivateIn(Schema):
    reason: Reason


class ImportOut(Schema):
    created: int
    updated: int


@router.get("/customers", response=list[CustomerOut], summary="Customers (a customer user sees only its own)")
@paginate(Pagination)
def list_customers(request, q: Search | None = None, status: Code | None = None):
    require(request.user, "customers.view")
    customers = visible_customers(request.user).prefetch_related("contacts")
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(primary_domain__icontains=q)
                                     | Q(tenant_id__icontains=q) | Q(contacts__email__icontains=q)).distinct()
    if status:
        customers = customers.filter(status=status)
    return customers


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request, payload: CustomerIn):
    require(request.user, "customers.manage")
    data = payload.dict(exclude={"contact"})
    contact = payload.contact.dict() if payload.contact else None
    return 201, services.create_customer(actor=request.user, contact=contact, **data)


@router.post("/customers/import", response={201: ImportOut}, summary="Import customers from CSV (all or nothing)")
def import_customers(request, file: UploadedFile = File(...)):
    require(request.user, "customers.manage")
    try:
        text = file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("the file must be UTF-8 CSV"), field="file")
    result = services.import_customers_csv(text, actor=request.user, file=file.name or "")
    return 201, {"created": len(result.created), "updated": len(result.updated)}


@router.get("/customers/{customer_id}", response=CustomerOut, summary="One customer")
def get_customer(request, customer_id: Id):
    require(request.user, "customers.view")
    return get_customer_or_404(request.user, customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change a customer's details")
def update_customer(request, customer_id: Id, payload: CustomerPatch):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "customers.manage")
    data = payload.dict(exclude_none=True, exclude={"reason"})
    return services.update_customer(customer, actor=request.user, reason=payload.reason, **data)


@router.get("/customers/{customer_id}/subscriptions", response=list[SubscriptionOut], summary="A customer's subscriptions")
def list_subscriptions(request, customer_id: Id):
    require(request.user, "subscriptions.view")
    customer = get_customer_or_404(request.user, customer_id)
    return customer.subscriptions.all()


@router.post("/customers/{customer_id}/subscriptions/sync", response=list[SubscriptionOut],
             summary="Mirror a customer's subscriptions from the operator")
def sync_subscriptions(request, customer_id: Id):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "subscriptions.sync")
    return services.sync_subscriptions(customer, actor=request.user)


@router.get("/subscriptions/{subscription_id}", response=SubscriptionOut, summary="One subscription")
def get_subscription(request, subscription_id: Id):
    require(request.user, "subscriptions.view")
    return get_scoped_or_404(Subscription.objects.all(), request.user, subscription_id)


BY_HAND = ("Goes through the queue of operator requests. 200 with the subscription once the operator has "
           "made the change; 202 with the queued request when the operator cannot be reached: it is retried "
           "with backoff (GET /collections/operator-requests/{id}) and the subscription keeps its status until "
           "the operator confirms. 409 if one asked for by hand is already waiting.")


def _by_hand_answer(done):
    return (202, done.request) if done.queued else (200, done.subscription)


@router.post("/subscriptions/{subscription_id}/suspend", response={200: SubscriptionOut, 202: OperatorRequestOut},
             summary="Suspend at the operator (reason required); 202 if queued", description=BY_HAND)
def suspend(request, subscription_id: Id, payload: SuspendIn):
    sub = get_scoped_or_404(Subscription.objects.select_related("customer"), request.user, subscription_id)
    require(request.user, "subscriptions.suspend")
    return _by_hand_answer(dunning.suspend_by_hand(sub, actor=request.user, reason_code=payload.reason_code,
                                           reason=payload.reason))


@router.post("/subscriptions/{subscription_id}/reactivate", response={200: SubscriptionOut, 202: OperatorRequestOut},
             summary="Reactivate at the operator (reason required); 202 if queued", description=BY_HAND)
def reactivate(request, subscription_id: Id, payload: ReactivateIn):
    sub = get_scoped_or_404(Subscription.objects.select_related("customer"), request.user, subscription_id)
    require(request.user, "subscriptions.suspend")
    return _by_hand_answer(dunning.reactivate_by_hand(sub, actor=request.user, reason=payload.reason))


# --- contacts -----------------------------------------------------------------------------------------------


def _contact(request, customer_id: int, contact_id: int):
    customer = get_customer_or_404(request.user, customer_id)
    contact = BillingContact.objects.filter(customer=customer, pk=contact_id).first()
    if contact is None:
        raise Http404
    return customer, contact


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut}, summary="Add a contact to a customer")
def add_contact(request, customer_id: Id, payload: ContactCreateIn):
    customer = get_customer_or_404(request.user, customer_id)
    require(request.user, "customers.manage")
    data = payload.dict(exclude={"reason"}, exclude_none=True)
    return 201, services.add_contact(customer, actor=request.user, reason=payload.reason, **data)


@router.patch("/customers/{customer_id}/contacts/{contact_id}", response=ContactOut, summary="Change a contact")
def update_contact(request, customer_id: Id, contact_id: Id, payload: ContactPatch):
    _customer, contact = _contact(request, customer_id, contact_id)
    require(request.user, "customers.manage")
    data = payload.dict(exclude={"reason"}, exclude_none=True)
    return services.update_contact(contact, actor=request.user, reason=payload.reason, **data)


@router.delete("/customers/{customer_id}/contacts/{contact_id}", response=ContactOut,
               summary="Remove a contact (answers with the contact as it was)")
def remove_contact(request, customer_id: Id, contact_id: Id, reason: Reason = ""):
    _customer, contact = _contact(request, customer_id, contact_id)
    require(request.user, "customers.manage")
    removed = ContactOut.from_orm(contact)
    services.remove_contact(contact, actor=request.user, reason=reason)
    return removed
