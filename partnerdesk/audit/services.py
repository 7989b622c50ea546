"""Writing and reading the audit log."""

import csv
import datetime as dt
import io
import threading
import uuid
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, models
from django.db.models import Q

from .models import SYSTEM_ACTOR, AuditEntry


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict:
    """The named fields of an object as JSON-safe values, for the before/after of an audit entry."""
    out = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, field.attname)
        out[name] = _jsonable(value)
    return out


def actor_label(actor) -> str:
    """How an actor is named in the log: the username, or 'system' for background work."""
    if actor is None:
        return SYSTEM_ACTOR
    return actor.get_username()


def record(*, actor, action: str, obj: models.Model, customer=None, before=None, after=None, reason: str = "") -> AuditEntry:
    """Append an audit entry. Must run inside the transaction that makes the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the transaction of the change it records")
    if customer is None and obj.__class__.__name__ == "Customer":
        customer = obj
    elif customer is None:
        customer = getattr(obj, "customer", None)
    entry = AuditEntry(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label(actor),
        customer=customer,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason or "",
    )
    pending = getattr(_batch, "entries", None)
    # Batched only at the batch's own level: an entry made inside a savepoint is written at once, so it rolls
    # back with the savepoint's changes.
    if pending is not None and len(connection.savepoint_ids) == _batch.depth:
        pending.append(entry)  # written when the batch ends, in the same transaction
    else:
        entry.save()
    return entry


_batch = threading.local()


@contextmanager
def batched():
    """Inside, record() keeps its entries and they are written in one INSERT when the block ends, which must be
    inside the transaction of the changes (email in: one statement per message for all its entries). The
    entries record() returns have no id until then. On an error nothing is written: the transaction rolls back."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.batched must be used inside the transaction of the changes it records")
    if getattr(_batch, "entries", None) is not None:
        yield  # already batching: the outer block writes
        return
    _batch.entries, _batch.depth = [], len(connection.savepoint_ids)
    try:
        yield
        entries = _batch.entries
    finally:
        _batch.entries = None
    AuditEntry.objects.bulk_create(entries)


def filter_entries(queryset, *, customer_id=None, action=None, actor=None, object_type=None, since=None, until=None):
    """Apply the filters the UI and API offer to a queryset of audit entries."""
    if customer_id:
        queryset = queryset.filter(customer_id=customer_id)
    if action:
        from .labels import codes_named

        # The code's beginning ("payment.") or words of the action's name in the reader's language ("收款").
        queryset = queryset.filter(Q(action__startswith=action) | Q(action__in=codes_named(action)))
    if actor:
        queryset = queryset.filter(actor_label=actor)
    if object_type:
        queryset = queryset.filter(object_type=object_type)
    if since:
        queryset = queryset.filter(at__date__gte=since)
    if until:
        queryset = queryset.filter(at__date__lte=until)
    return queryset


CSV_COLUMNS = ["id", "at", "actor", "customer_id", "action", "object_type", "object_id", "object", "before", "after", "reason"]


def export_csv(queryset) -> str:
    """The entries as CSV text (UTC times, before/after as JSON)."""
    import json

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for e in queryset.order_by("at", "id").iterator():
        writer.writerow([
            e.id, e.at.isoformat(), e.actor_label, e.customer_id or "", e.action, e.object_type, e.object_id,
            e.object_repr, json.dumps(e.before, ensure_ascii=False), json.dumps(e.after, ensure_ascii=False), e.reason,
        ])
    return buf.getvalue()
