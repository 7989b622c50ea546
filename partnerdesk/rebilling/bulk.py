"""Fast reads and writes for draft generation (drafts.generate_drafts): a period's lines read raw with one
query, rows inserted with multi-row INSERTs that return their ids, and reconciliation lines claimed by the
invoice lines that bill them in one UPDATE ... FROM a list of pairs.

Django's bulk_create and value converters prepare every value through the field machinery, which at 20,000
customers costs more than the database does; here each column is prepared once. PostgreSQL takes each column
as one array (unnest), so a statement's text stays short whatever the number of rows; SQLite takes multi-row
VALUES on its raw driver.
"""

from decimal import Decimal
from typing import NamedTuple

from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from partnerdesk import batch_sql
from partnerdesk.errors import Conflict

from .models import ReconLine

CLAIM_BATCH = 4000  # reconciliation lines per UPDATE on SQLite (two parameters each, under its limit)
INSERT_PARAMETERS = 30000  # values per multi-row INSERT on SQLite (it takes 32,766)
UNNEST_ROWS = 20000  # rows per statement on PostgreSQL
LINE_FIELDS = ("id", "customer_id", "subscription_id", "kind", "product", "product_name", "service", "charge_type",
               "charge_start", "charge_end", "quantity", "unit_price", "charges", "tax")


class Line(NamedTuple):
    """A reconciliation line as generation reads it (raw from the cursor, converted once)."""

    id: int
    customer_id: int
    subscription_id: int | None
    kind: str
    product: str
    product_name: str
    service: str
    charge_type: str
    charge_start: str  # ISO dates: they are only printed and compared
    charge_end: str
    quantity: Decimal
    unit_price: Decimal
    charges: Decimal
    tax: Decimal


def _decimal(value) -> Decimal:
    # SQLite returns a decimal column as a float (REAL affinity): its shortest repr is the stored decimal.
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _iso(value) -> str:
    return value if isinstance(value, str) else value.isoformat()


def read_lines(lines_qs) -> list[Line]:
    """The lines, read with one cursor and converted here (Django's per-value converters cost more than the query)."""
    sql, params = lines_qs.order_by("customer_id", "file_id", "row_number").values_list(*LINE_FIELDS).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        raw = cursor.fetchall()
    return [Line(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _iso(r[8]), _iso(r[9]), _decimal(r[10]),
                 _decimal(r[11]), _decimal(r[12]), _decimal(r[13])) for r in raw]


def insert_rows(model, fixed: dict, varying: list[str], rows: list[tuple]) -> list[int]:
    """Insert rows (values of the `varying` attnames; the other fields as in `fixed` or their defaults) and return
    their ids in the rows' order. PostgreSQL: one INSERT ... SELECT FROM unnest(arrays) per few thousand rows;
    SQLite: multi-row INSERT ... VALUES on the raw driver. Both skip Django's per-value preparation."""
    if not rows:
        return []
    template = model(**fixed)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    by_attname = {f.attname: f for f in fields}
    base = {f.attname: batch_sql.sql_value(model, f.attname, getattr(template, f.attname)) for f in fields}
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    ids: list[int] = []
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{by_attname[name].db_type(connection)}[]" for name in varying)
        names = [f"v{i}" for i in range(len(varying))]
        select = ", ".join(names[varying.index(f.attname)] if f.attname in varying else f"%s::{f.db_type(connection)}"
                           for f in fields)
        sql = (f"INSERT INTO {table} ({columns}) SELECT {select} FROM unnest({arrays}) AS u({', '.join(names)}) "
               "RETURNING id")
        fixed_params = [base[f.attname] for f in fields if f.attname not in varying]
        for start in range(0, len(rows), UNNEST_ROWS):
            part = rows[start:start + UNNEST_ROWS]
            with connection.connection.cursor() as cursor:
                # (the fixed values come first: they are in the select list, before the arrays of unnest)
                cursor.execute(sql, fixed_params + [list(column) for column in zip(*part, strict=True)])
                ids.extend(sorted(r[0] for r in cursor.fetchall()))
        return ids
    slots = [(fields.index(by_attname[name]), isinstance(by_attname[name], models.DecimalField)) for name in varying]
    values_base = [base[f.attname] for f in fields]
    one = "(" + ", ".join("?" * len(fields)) + ")"
    per_statement = max(1, INSERT_PARAMETERS // len(fields))
    for start in range(0, len(rows), per_statement):
        part = rows[start:start + per_statement]
        params = []
        for row in part:
            values = values_base[:]
            for (index, decimal), value in zip(slots, row, strict=True):
                values[index] = str(value) if decimal and value is not None else value  # sqlite3 takes decimals as text
            params.extend(values)
        got = connection.connection.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(part))} RETURNING id", params).fetchall()
        # One statement's new ids rise in the order of its rows; RETURNING need not list them in that order.
        ids.extend(sorted(r[0] for r in got))
    return ids


def claim_lines(pairs: list[tuple[int, int]]) -> None:
    """Point each reconciliation line at its invoice line, only where it is still unbilled; all or nothing."""
    table = ReconLine._meta.db_table
    update = f"UPDATE {table} SET invoice_line_id = k.line_id FROM {{source}} WHERE {table}.id = k.recon_id " \
             f"AND {table}.invoice_line_id IS NULL"
    changed = 0
    if connection.vendor == "postgresql":
        for start in range(0, len(pairs), UNNEST_ROWS):
            part = pairs[start:start + UNNEST_ROWS]
            changed += batch_sql.run_sql(update.format(source="unnest(%s::bigint[], %s::bigint[]) AS k(recon_id, line_id)"),
                                         [[p[0] for p in part], [p[1] for p in part]])
    else:
        for start in range(0, len(pairs), CLAIM_BATCH):
            part = pairs[start:start + CLAIM_BATCH]
            values = ", ".join(["(?, ?)"] * len(part))
            changed += batch_sql.run_sql(update.format(
                source=f"(SELECT column1 AS recon_id, column2 AS line_id FROM (VALUES {values})) AS k"),
                [n for pair in part for n in pair])
    if changed != len(pairs):
        # Another generation billed some of these lines meanwhile: nothing of this chunk is kept.
        raise Conflict(_("Some of these operator lines were billed by another run meanwhile; generate again."),
                       field="period")
