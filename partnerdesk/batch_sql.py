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

from django.db import IntegrityError, connection, models, transaction


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
        return lambda v: None if v is None else "{}" if v == {} else json.dumps(v, ensure_ascii=False, cls=field.encoder)
    if isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
        # SQLite stores Django datetimes as naive UTC text. A batch shares a handful of values: convert each once.
        return _memo(lambda v: v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" "))
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
        return _memo(lambda v: v.isoformat())
    if isinstance(field, models.DecimalField) and connection.vendor == "sqlite":
        return lambda v: None if v is None else str(v)
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else Decimal(v)
    return None  # the driver takes the value as it is


def placeholder() -> str:
    """The parameter marker of the raw driver ("?" for sqlite3, "%s" for psycopg)."""
    return "?" if connection.vendor == "sqlite" else "%s"


def id_list_condition(column: str, ids: list[int], *, marker: str | None = None) -> tuple[str, list]:
    """`column` is one of `ids`: one array parameter on PostgreSQL, a list of markers on SQLite.

    `marker` is "%s" for Django's cursor; by default the raw driver's (see placeholder()).
    """
    marker = marker or placeholder()
    if connection.vendor == "postgresql":
        return f"{column} = ANY({marker})", [list(ids)]
    return f"{column} IN ({', '.join([marker] * len(ids))})", list(ids)


def run_sql(sql: str, params=()) -> int:
    """Execute on the raw connection, inside the current transaction; `sql` uses placeholder() markers.
    Returns the number of rows the statement changed (for an INSERT ... ON CONFLICT DO NOTHING: inserted).

    Django's SQLite cursor rewrites every "%s" with a regular expression, which at thousands of
    parameters a statement costs more than the statement does.
    """
    connection.ensure_connection()
    if connection.queries_logged:  # keep assertNumQueries and the debug toolbar truthful
        connection.queries_log.append({"sql": sql[:200], "time": "0"})
    if connection.vendor == "sqlite":
        return connection.connection.execute(sql, params).rowcount
    with connection.connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def sql_value(model: type[models.Model], attname: str, value):
    """`value` as the raw driver takes it for this model field (dates and times are text on SQLite)."""
    field = next(f for f in model._meta.concrete_fields if f.attname == attname)
    convert = _converter(field)
    return convert(value) if convert else value


def json_object_sql(*pairs: str) -> str:
    """A JSON object built in SQL from alternating key and value expressions, as the JSONField column stores it."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    return f"{function}({', '.join(pairs)})"


def json_array_agg_sql(expression: str) -> str:
    """An aggregate: the JSON array of `expression` over the group, in the order the rows arrive on SQLite
    and in the order of `expression` on PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"jsonb_agg({expression} ORDER BY {expression})"
    return f"json_group_array({expression})"


def json_sql(text_expression: str) -> str:
    """A JSON value from its text, fit to nest in json_object_sql()."""
    return f"({text_expression})::jsonb" if connection.vendor == "postgresql" else f"json({text_expression})"


def load_scratch(name: str, columns: list[tuple[str, str]], rows) -> str:
    """A temporary table of this connection, holding just `rows` (tuples in column order); returns its name.

    Set-based batch statements read it: one statement per kind of effect instead of one row per effect from
    Python. Call inside the batch's transaction; the rows are gone after it (PostgreSQL empties the table on
    commit; SQLite's copy is emptied here before loading).
    """
    table = connection.ops.quote_name(name)
    names = ", ".join(connection.ops.quote_name(c) for c, _ in columns)
    if connection.vendor == "postgresql":
        definition = ", ".join(f"{connection.ops.quote_name(c)} {kind}" for c, kind in columns)
        run_sql(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({definition}) ON COMMIT DELETE ROWS")
        run_sql(f"TRUNCATE {table}")
        _copy(f"COPY {table} ({names}) FROM STDIN", rows, types=[kind for _, kind in columns])
        return table
    definition = ", ".join(f"{connection.ops.quote_name(c)} {_SQLITE_TYPES.get(kind, kind)}" for c, kind in columns)
    run_sql(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({definition})")
    run_sql(f"DELETE FROM {table}")
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"INSERT INTO {table}", "time": "0"})
    connection.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)
    return table


_SQLITE_TYPES = {"bigint": "INTEGER", "integer": "INTEGER", "text": "TEXT", "date": "TEXT"}


def _values(rows: list[dict], names: list[str], converters):
    """Each row's values in column order, converted only where the driver needs it."""
    for row in rows:
        values = [row[n] for n in names]
        for i, convert in converters:
            values[i] = convert(values[i])
        yield values


def _copy(statement: str, values, types: list[str] | None = None) -> None:
    connection.ensure_connection()
    if connection.queries_logged:
        connection.queries_log.append({"sql": statement[:200], "time": "0"})
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        if types:
            copy.set_types(types)  # one dumper per column, chosen once
        for row in values:
            copy.write_row(row)


def insert_ignoring_duplicates(model: type[models.Model], rows: list[dict], *, key: str | None = None,
                               chunk: int = 500) -> None:
    """Insert rows (dicts of field attnames -> values); rows that break a unique constraint are skipped.

    `key` names the row's unique natural key, if it has a single-column one: on PostgreSQL the rows whose
    key is new are then copied straight into the table.
    """
    if not rows:
        return
    names = list(rows[0].keys())
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_attname[n] for n in names]
    columns = [f.column for f in fields]
    converters = [(i, c) for i, c in enumerate(_converter(f) for f in fields) if c is not None]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    one = "(" + ", ".join([placeholder()] * len(columns)) + ")"
    if connection.vendor == "postgresql" and key is not None:
        key_column = connection.ops.quote_name(by_attname[key].column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {key_column} FROM {table} WHERE {key_column} = ANY(%s)", [[r[key] for r in rows]])
            existing = {k for (k,) in cursor.fetchall()}
        rows = [r for r in rows if r[key] not in existing]
        if not rows:
            return
        try:
            with transaction.atomic():  # a savepoint: should another writer race us to a key, take the slow path
                _copy(f"COPY {table} ({cols}) FROM STDIN", _values(rows, names, converters))
            return
        except IntegrityError:
            pass
    if connection.vendor == "postgresql":
        # COPY into a scratch table, then one INSERT ... SELECT: the fastest way in, and duplicates still skipped.
        scratch = connection.ops.quote_name(f"_batch_{model._meta.db_table}")
        statements = [f"CREATE TEMP TABLE IF NOT EXISTS {scratch} ON COMMIT DELETE ROWS AS SELECT {cols} FROM {table} WITH NO DATA",
                      f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {scratch} ON CONFLICT DO NOTHING",
                      f"TRUNCATE {scratch}"]
        connection.ensure_connection()
        if connection.queries_logged:
            connection.queries_log.extend({"sql": sql[:200], "time": "0"} for sql in statements)
        with connection.connection.cursor() as cursor:
            cursor.execute(statements[0])
        _copy(f"COPY {scratch} ({cols}) FROM STDIN", _values(rows, names, converters))
        with connection.connection.cursor() as cursor:
            cursor.execute(statements[1])
            cursor.execute(statements[2])
        return
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        params = [v for values in _values(part, names, converters) for v in values]
        run_sql(f"INSERT INTO {table} ({cols}) VALUES {', '.join([one] * len(part))} ON CONFLICT DO NOTHING", params)
