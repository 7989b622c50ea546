import datetime as dt

from django.http import HttpResponse
from ninja import Router, Schema
from ninja.pagination import paginate

from partnerdesk.accounts.permissions import require
from partnerdesk.api_schemas import BusinessDate, Id, Pagination, Search

from . import services
from .models import AuditEntry

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    customer_id: int | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: dict | list | None
    after: dict | list | None
    reason: str

    @staticmethod
    def resolve_actor(obj):
        return obj.actor_label


def _entries(request, customer_id, action, actor, object_type, since, until):
    require(request.user, "audit.view")
    return services.filter_entries(AuditEntry.objects.all(), customer_id=customer_id, action=action, actor=actor,
                                   object_type=object_type, since=since, until=until)


@router.get("/audit", response=list[AuditEntryOut], summary="The audit log, newest first")
@paginate(Pagination)
def list_audit(request, customer_id: Id | None = None, action: Search | None = None, actor: Search | None = None,
               object_type: Search | None = None, since: BusinessDate | None = None, until: BusinessDate | None = None):
    return _entries(request, customer_id, action, actor, object_type, since, until)


@router.get("/audit/export.csv", summary="The audit log as CSV (same filters)", openapi_extra={"responses": {200: {"description": "CSV (UTF-8)", "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def export_audit(request, customer_id: Id | None = None, action: Search | None = None, actor: Search | None = None,
                 object_type: Search | None = None, since: BusinessDate | None = None, until: BusinessDate | None = None):
    entries = _entries(request, customer_id, action, actor, object_type, since, until)
    response = HttpResponse(services.export_csv(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
