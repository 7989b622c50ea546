"""The support API's desk settings (administrators): limits, SLA targets, canned replies, and the published
support information (which everyone, customers included, may read)."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import Router
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import has_perm, require
from partnerdesk.api_schemas import Code, Id, Pagination, Reason
from partnerdesk.customers.models import Language
from partnerdesk.errors import InvalidInput

from . import desk_settings as desk
from . import publishing
from .models import CannedReply, CaseType, Severity, SlaPolicy
from .schemas import (
    CannedReplyIn,
    CannedReplyOut,
    DeskSettingsIn,
    DeskSettingsOut,
    InformationIn,
    InformationOut,
    SlaPoliciesIn,
    SlaPoliciesOut,
)
from .services import desk_settings
from .sla import policy_for

router = Router(tags=["support"])


@router.get("/support/settings", response=DeskSettingsOut, summary="The desk's settings")
def get_settings(request):
    require(request.user, "desk.manage")
    return desk_settings()


@router.put("/support/settings", response=DeskSettingsOut, summary="Change the desk's settings")
def put_settings(request, payload: DeskSettingsIn):
    require(request.user, "desk.manage")
    return desk.update_settings(actor=request.user, **payload.dict(exclude={"reason"}), reason=payload.reason)


# --- SLA targets ------------------------------------------------------------------------------------------


def _policy(row: SlaPolicy) -> dict:
    return {"severity": row.severity, "type": row.type, "first_response_minutes": row.first_response_minutes,
            "next_response_minutes": row.next_response_minutes, "resolution_minutes": row.resolution_minutes,
            "around_the_clock": row.around_the_clock}


def _policies() -> dict:
    effective = [_policy(policy_for(s, CaseType.TECHNICAL if s == Severity.A else "")) for s in Severity.values]
    return {"policies": [_policy(row) for row in SlaPolicy.objects.all()], "effective": effective}


@router.get("/support/sla-policies", response=SlaPoliciesOut, summary="SLA targets per severity (and type)")
def get_sla_policies(request):
    require(request.user, "desk.manage")
    return _policies()


@router.put("/support/sla-policies", response=SlaPoliciesOut,
            summary="Replace the SLA targets (a severity without a row keeps 21Vianet's defaults)",
            description="New targets apply to the clocks started from now on.")
def put_sla_policies(request, payload: SlaPoliciesIn):
    require(request.user, "desk.manage")
    desk.replace_sla_policies(policies=[p.dict() for p in payload.policies], actor=request.user,
                              reason=payload.reason)
    return _policies()


# --- canned replies ---------------------------------------------------------------------------------------


@router.get("/support/canned-replies", response=list[CannedReplyOut],
            summary="Canned replies (agents: the active ones; administrators: all)")
@paginate(Pagination)
def list_canned(request, language: Code | None = None):
    if not has_perm(request.user, "desk.manage"):
        require(request.user, "cases.work")
    replies = CannedReply.objects.order_by("title", "language", "id")
    if not has_perm(request.user, "desk.manage"):
        replies = replies.filter(is_active=True)
    if language is not None:
        if language not in Language.values:
            raise InvalidInput(_("%(value)s is not one of the choices"), field="language", value=repr(language))
        replies = replies.filter(language=language)
    return replies


def _canned(reply_id: int) -> CannedReply:
    reply = CannedReply.objects.filter(pk=reply_id).first()
    if reply is None:
        raise Http404
    return reply


@router.post("/support/canned-replies", response={201: CannedReplyOut}, summary="Add a canned reply")
def create_canned(request, payload: CannedReplyIn):
    require(request.user, "desk.manage")
    return 201, desk.create_canned_reply(actor=request.user, **payload.dict())


@router.put("/support/canned-replies/{reply_id}", response=CannedReplyOut, summary="Change a canned reply")
def update_canned(request, reply_id: Id, payload: CannedReplyIn):
    require(request.user, "desk.manage")
    return desk.update_canned_reply(_canned(reply_id), actor=request.user, **payload.dict())


@router.delete("/support/canned-replies/{reply_id}", response=CannedReplyOut,
               summary="Remove a canned reply (answers with it as it was)")
def delete_canned(request, reply_id: Id, reason: Reason = ""):
    require(request.user, "desk.manage")
    reply = _canned(reply_id)
    removed = CannedReplyOut.from_orm(reply)
    desk.delete_canned_reply(reply, actor=request.user, reason=reason)
    return removed


# --- published support information --------------------------------------------------------------------------


def _language(language: str) -> str:
    if language not in Language.values:
        raise InvalidInput(_("%(value)s is not one of the choices"), field="language", value=repr(language))
    return language


@router.get("/support/information/{language}", response=InformationOut,
            summary="The partner's published support information: hours, channels, process, response targets")
def get_information(request, language: Code):
    require(request.user, "cases.view")
    return publishing.published_information(_language(language))


@router.put("/support/information/{language}", response=InformationOut,
            summary="Publish the support information of a language (all three texts blank: the built-in text)")
def put_information(request, language: Code, payload: InformationIn):
    require(request.user, "desk.manage")
    publishing.save_support_information(language=_language(language), hours=payload.hours, channels=payload.channels,
                                        process=payload.process, actor=request.user, reason=payload.reason)
    return publishing.published_information(language)
