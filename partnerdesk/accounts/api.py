import datetime as dt
from typing import Annotated

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from partnerdesk.api_schemas import Code, Id, Pagination, Reason, Search, Text
from partnerdesk.customers.models import BillingContact, Language
from partnerdesk.errors import InvalidInput

from . import services
from .models import ApiToken, Team, User
from .permissions import get_customer_or_404, require
from .queries import user_list

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    username: str
    role: str
    customer_id: int | None


class TokenIn(Schema):
    name: Text(100, min_length=1)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked: bool

    @staticmethod
    def resolve_created_at(obj):
        return obj.created_at.isoformat()

    @staticmethod
    def resolve_last_used_at(obj):
        return obj.last_used_at.isoformat() if obj.last_used_at else None

    @staticmethod
    def resolve_revoked(obj):
        return obj.revoked_at is not None


class TokenCreatedOut(TokenOut):
    token: str


@router.get("/me", response=MeOut, summary="Who am I")
def me(request):
    return request.user


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def list_tokens(request):
    return ApiToken.objects.filter(user=request.user).order_by("-created_at")


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token (shown once)")
def create_token(request, payload: TokenIn):
    token, raw = services.create_api_token(user=request.user, name=payload.name, actor=request.user)
    token.token = raw
    return 201, token


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke one of my API tokens")
def revoke_token(request, token_id: Id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    return services.revoke_api_token(token, actor=request.user)


# --- users and teams (administrators: users.manage) --------------------------------------------------------

IdList = Annotated[list[Id], Field(max_length=1000)]


class TeamRef(Schema):
    id: int
    name: str


class UserOut(Schema):
    id: int
    username: str
    email: str
    name: str
    role: str
    status: str
    customer_id: int | None
    contact_id: int | None
    teams: list[TeamRef]
    last_login: dt.datetime | None
    invited_at: dt.datetime | None

    @staticmethod
    def resolve_name(obj):
        return obj.get_full_name()

    @staticmethod
    def resolve_teams(obj):
        return list(obj.teams.all())


class InviteIn(Schema):
    email: Text(254, min_length=1)
    role: Code
    team_ids: IdList = []
    language: Code = "zh-CN"
    name: Text(150) = ""
    reason: Reason = ""


class UserChangeIn(Schema):
    role: Code | None = None
    team_ids: IdList | None = None
    reason: Reason = ""


class ReasonIn(Schema):
    reason: Reason


class PortalInviteIn(Schema):
    reason: Reason = ""


class MemberRef(Schema):
    id: int
    username: str


class TeamOut(Schema):
    id: int
    name: str
    members: list[MemberRef]

    @staticmethod
    def resolve_members(obj):
        return sorted(obj.members.all(), key=lambda user: user.username)  # (the prefetched members)


class TeamIn(Schema):
    name: Text(100, min_length=1)
    member_ids: IdList = []
    reason: Reason = ""


class TeamChangeIn(Schema):
    name: Text(100, min_length=1) | None = None
    member_ids: IdList | None = None
    add_ids: IdList = []
    remove_ids: IdList = []
    reason: Reason = ""


def _link_base(request) -> str:
    return request.build_absolute_uri("/")


def _user(request, user_id) -> User:
    require(request.user, "users.manage")
    return get_object_or_404(User, pk=user_id)


@router.get("/users", response=list[UserOut], summary="Staff and portal users with role, teams, status, last sign-in")
@paginate(Pagination)
def list_users(request, status: Code | None = None, role: Code | None = None, q: Search | None = None):
    require(request.user, "users.manage")
    return user_list(status=status, role=role, q=q)


@router.post("/users", response={201: UserOut}, summary="Invite a staff user by email (role, teams)")
def invite_user(request, payload: InviteIn):
    require(request.user, "users.manage")
    if payload.language not in Language.values:
        raise InvalidInput(_("language must be one of %(choices)s"), field="language", choices=", ".join(Language.values))
    user = services.invite_staff_user(actor=request.user, email=payload.email, role=payload.role,
                                      team_ids=payload.team_ids, language=payload.language, name=payload.name,
                                      link_base=_link_base(request), reason=payload.reason)
    return 201, user


@router.get("/users/{user_id}", response=UserOut, summary="One user")
def get_user(request, user_id: Id):
    return _user(request, user_id)


@router.patch("/users/{user_id}", response=UserOut, summary="Change a staff user's role and teams")
def change_user(request, user_id: Id, payload: UserChangeIn):
    user = _user(request, user_id)
    return services.change_user(user, actor=request.user, role=payload.role, team_ids=payload.team_ids,
                                reason=payload.reason)


@router.post("/users/{user_id}/deactivate", response=UserOut,
             summary="Deactivate a user: its sessions end and its API tokens are revoked at once")
def deactivate_user(request, user_id: Id, payload: ReasonIn):
    return services.deactivate_user(_user(request, user_id), actor=request.user, reason=payload.reason)


@router.post("/users/{user_id}/reactivate", response=UserOut, summary="Let a deactivated user sign in again")
def reactivate_user(request, user_id: Id, payload: ReasonIn):
    return services.reactivate_user(_user(request, user_id), actor=request.user, reason=payload.reason)


@router.post("/users/{user_id}/invitation", response=UserOut,
             summary="Send the invitation again (the earlier link stops working)")
def resend_invitation(request, user_id: Id):
    return services.resend_invitation(_user(request, user_id), actor=request.user, link_base=_link_base(request))


@router.post("/customers/{customer_id}/contacts/{contact_id}/portal-invitation", response={201: UserOut},
             summary="Invite a customer's contact to the customer portal")
def invite_portal_user(request, customer_id: Id, contact_id: Id, payload: PortalInviteIn):
    require(request.user, "users.manage")
    customer = get_customer_or_404(request.user, customer_id)
    contact = get_object_or_404(BillingContact, pk=contact_id, customer=customer)
    return 201, services.invite_portal_user(actor=request.user, contact=contact, link_base=_link_base(request),
                                            reason=payload.reason)


@router.get("/teams", response=list[TeamOut], summary="Teams and their members")
def list_teams(request):
    require(request.user, "users.manage")
    return Team.objects.prefetch_related("members")


@router.post("/teams", response={201: TeamOut}, summary="Create a team")
def create_team(request, payload: TeamIn):
    require(request.user, "users.manage")
    return 201, services.create_team(actor=request.user, name=payload.name, member_ids=payload.member_ids,
                                     reason=payload.reason)


@router.patch("/teams/{team_id}", response=TeamOut, summary="Rename a team, add or remove members")
def change_team(request, team_id: Id, payload: TeamChangeIn):
    require(request.user, "users.manage")
    team = get_object_or_404(Team, pk=team_id)
    return services.change_team(team, actor=request.user, name=payload.name, member_ids=payload.member_ids,
                                add_ids=payload.add_ids, remove_ids=payload.remove_ids, reason=payload.reason)
