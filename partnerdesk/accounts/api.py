from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from partnerdesk.api_schemas import Id, Text

from . import services
from .models import ApiToken

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
