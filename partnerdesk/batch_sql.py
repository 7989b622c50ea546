"""SQL for batch jobs: fast idempotent inserts (multi-row INSERT ... ON CONFLICT DO NOTHING) and
statements run on the raw connection.

Django's bulk_create prepares every value through the field machinery, which costs more than the
database does at the collections run's volumes. Here each model field gets one converter, chosen once,
and rows go to the database as tuples. Duplicate natural keys are skipped, which is what makes a rerun
of a batch job harmless. Works on PostgreSQL and SQLite (3.24+).
"""

import datetime as dt
import json
from decimal import Decimal

from django.db import connection, models


def _memo(convert):
    seen: dict = {None: None}

    def converted(value):
        try:
            return seen[value]
        except KeyError:
            out = seen[value] = convert(value)
            return out

    return converted


def _converter(field: models.Field):
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json.dumps(v, ensure_ascii=False, cls=field.encoder)
    if isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
        # SQLite stores Django datetimes as naive UTC text. A batch shares a handful of values: convert each once.
        return _memo(lambda v: v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" "))
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return _memo(lambda v: v.isoformat())
    if isinstance(field, models.DecimalField) and connection.vendor == "sqlite":
        return lambda v: None if v is None else str(v)
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else Decimal(v)
    return lambda v: v


def placeholder() -> str:
    """The parameter marker of the raw driver ("?" for sqlite3, "%s" for psycopg)."""
    return "?" if connection.vendor == "sqlite" else "%s"


def run_sql(sql: str, params) -> None:
    """Execute on the raw connection, inside the current transaction; `sql` uses placeholder() markers.

    Django's SQLite cursor rewrites every "%s" with a regular expression, which at thousands of
    parameters a statement costs more than the statement does.
    """
    connection.ensure_connection()
    if connection.queries_logged:  # keep assertNumQueries and the debug toolbar truthful
        connection.queries_log.append({"sql": sql[:200], "time": "0"})
    if connection.vendor == "sqlite":
        connection.connection.execute(sql, params)
    else:
        with connection.connection.cursor() as cursor:
            cursor.execute(sql, params)


def insert_ignoring_duplicates(model: type[models.Model], rows: list[dict], *, chunk: int = 500) -> None:
    """Insert rows (dicts of field attnames -> values); rows that break a unique constraint are skipped."""
    if not rows:
        return
    names = list(rows[0].keys())
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[n] for n in names]
    columns = [f.column for f in fields]
    convert = [_converter(f) for f in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    one = "(" + ", ".join([placeholder()] * len(columns)) + ")"
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        params = [c(row[n]) for row in part for n, c in zip(names, convert, strict=True)]
        run_sql(f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(part))} ON CONFLICT DO NOTHING", params)
