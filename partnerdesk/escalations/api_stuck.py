"""The internal cases of operator requests that keep failing (escalations.stuck): list and read them
("collections.view"), and from one try the request again or cancel it ("subscriptions.suspend", as suspending and
reactivating by hand). Staff only; another customer's is not found."""

import datetime as dt

from ninja import Router, Schema
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import get_scoped_or_404, require, scope
from partnerdesk.api_schemas import Id, Pagination, Reason
from partnerdesk.dunning.api import OperatorRequestOut
from partnerdesk.service_messages import translate_system_text

from . import stuck as services
from .models import StuckRequest

router = Router(tags=["escalations"])

CUSTOMER = "operator_request__customer"


class StuckRequestOut(Schema):
    id: int
    case_id: int
    case_token: str
    opened_at: dt.datetime
    outcome: str  # "" while the case waits for a person; retried, cancelled, or done (the operator accepted it)
    ended_at: dt.datetime | None
    operator_answer: str  # the operator's last answer, in the reader's language where PartnerDesk wrote it
    operator_request: OperatorRequestOut

    @staticmethod
    def resolve_case_token(obj):
        return obj.case.token

    @staticmethod
    def resolve_operator_answer(obj):
        return translate_system_text(obj.operator_request.last_error)


class CancelIn(Schema):
    reason: Reason


def _rows():
    return StuckRequest.objects.select_related("case", "operator_request").order_by("-id")


def _one(request, stuck_id: int, permission: str) -> StuckRequest:
    stuck = get_scoped_or_404(_rows(), request.user, stuck_id, customer_field=CUSTOMER)
    require(request.user, permission)
    return stuck


@router.get("/stuck-requests", response=list[StuckRequestOut],
            summary="Operator requests that keep failing, each with its internal case (newest first)")
@paginate(Pagination)
def list_stuck_requests(request, open: bool | None = None):  # noqa: A002  (the query parameter's name)
    """`open=true`: those whose case still waits for a person (or for the operator, after a retry)."""
    require(request.user, "collections.view")
    rows = scope(_rows(), request.user, CUSTOMER)
    if open is True:
        rows = rows.filter(outcome__in=["", services.RETRIED])
    elif open is False:
        rows = rows.exclude(outcome__in=["", services.RETRIED])
    return rows


@router.get("/stuck-requests/{stuck_id}", response=StuckRequestOut, summary="One operator request that kept failing")
def stuck_request(request, stuck_id: Id):
    return _one(request, stuck_id, "collections.view")


@router.post("/stuck-requests/{stuck_id}/retry", response=StuckRequestOut,
             summary="Try the request again now (the worker carries it out; the case hears the operator's answer)")
def retry(request, stuck_id: Id):
    stuck = _one(request, stuck_id, "subscriptions.suspend")
    services.retry_stuck_request(stuck, actor=request.user)
    return _rows().get(pk=stuck.pk)


@router.post("/stuck-requests/{stuck_id}/cancel", response=StuckRequestOut,
             summary="Cancel the request (reason required): nothing more is asked of the operator")
def cancel(request, stuck_id: Id, payload: CancelIn):
    stuck = _one(request, stuck_id, "subscriptions.suspend")
    services.cancel_stuck_request(stuck, actor=request.user, reason=payload.reason)
    return _rows().get(pk=stuck.pk)
