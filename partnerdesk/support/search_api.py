"""GET /cases/search: full-text search over the cases the user may see (mounted before /cases/{case_id})."""

import datetime as dt
from typing import Annotated

from ninja import Router, Schema
from pydantic import Field

from partnerdesk.api_schemas import Search

from . import search as services

router = Router(tags=["support"])


class CaseSearchHitOut(Schema):
    id: int
    token: str
    customer_id: int
    customer_name: str
    subject: str
    type: str
    severity: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    merged_into_id: int | None
    snippet: str  # plain text around the first match; empty when only the subject matched
    message_id: int | None
    message_kind: str | None  # a customer's user only ever gets "public"
    message_at: dt.datetime | None


class CaseSearchOut(Schema):
    query: str
    items: list[CaseSearchHitOut]
    limit: int
    offset: int
    has_more: bool


def _hit(hit: services.CaseHit) -> dict:
    case = hit.case
    return {"id": case.pk, "token": case.token, "customer_id": case.customer_id, "customer_name": case.customer.name,
            "subject": case.subject, "type": case.type, "severity": case.severity, "status": case.status,
            "created_at": case.created_at, "updated_at": case.updated_at, "merged_into_id": case.merged_into_id,
            "snippet": hit.snippet, "message_id": hit.message_id, "message_kind": hit.message_kind,
            "message_at": hit.message_at}


@router.get("/cases/search", response=CaseSearchOut,
            summary="Find cases by words in their subject or messages (Chinese words, invoice numbers, emails)")
def search_cases(request, q: Search,
                 limit: Annotated[int, Field(ge=1, le=services.MAX_LIMIT)] = services.PER_PAGE,
                 offset: Annotated[int, Field(ge=0, le=services.MAX_OFFSET)] = 0):
    """Every word of q must appear in the subject or in one message. A customer's user searches its own
    customer's cases and their public messages only; staff also search internal notes."""
    hits, has_more = services.search_cases(request.user, q, limit=limit, offset=offset)
    return {"query": q.strip(), "items": [_hit(h) for h in hits], "limit": limit, "offset": offset,
            "has_more": has_more}
