"""GET /search: the staff search box over the API."""

from typing import Annotated, Literal

from ninja import Router, Schema
from pydantic import Field

from partnerdesk.api_schemas import Search

from . import services

router = Router(tags=["search"])


class SearchHitOut(Schema):
    kind: Literal["customer", "contact", "invoice", "payment", "subscription", "case"]
    id: int
    customer_id: int
    customer_name: str
    title: str


class SearchOut(Schema):
    query: str
    hits: list[SearchHitOut]
    more: list[str]  # kinds with more matches than were returned: refine the query


@router.get("/search", response=SearchOut,
            summary="Find customers, contacts, invoices, payments, subscriptions and cases (staff only)")
def search(request, q: Search, limit: Annotated[int, Field(ge=1, le=services.MAX_PER_KIND)] = services.PER_KIND):
    results = services.search(request.user, q, limit=limit)
    return {"query": results.query, "hits": results.hits, "more": sorted(results.more)}
