"""Django's own SQL for the few statements email in runs per message, compiled once per process.

Filing a message takes a handful of statements, and compiling each through the ORM costs more CPU than the
database spends running it. These run the SQL the ORM makes for a model (the same columns, value conversions
and save signals) without compiling it again: a select by parameters, the insert of a new row, the update of
named fields. Only for models that do not override save() (the desk's cases, messages, clocks and mail).
"""

import threading
from contextlib import contextmanager

from django.db import DatabaseError, connection
from django.db.models.query import get_related_populators
from django.db.models.signals import m2m_changed, post_save, pre_save

_compiled: dict = {}


def select(key: str, make_queryset, *params) -> list:
    """The instances make_queryset(*params) gives. The queryset is compiled once per key (and database): its
    SQL must take exactly `params`, in order, as its parameters, and vary in nothing else."""
    entry = _compiled.get((connection.alias, connection.vendor, "select", key))
    if entry is None:
        queryset = make_queryset(*params)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, compiled_params = compiler.as_sql()
        if list(compiled_params) != list(params):
            return list(queryset)  # the ORM changes these parameters (a LIKE pattern): not compiled once
        klass_info, columns = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        entry = (sql, compiler, klass_info["model"], start, end,
                 [c[0].target.attname for c in columns[start:end]],
                 compiler.get_converters([c[0] for c in columns[0:compiler.col_count]]))
        _compiled[(connection.alias, connection.vendor, "select", key)] = entry
    sql, compiler, model, start, end, attnames, converters = entry
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        rows = compiler.apply_converters(rows, converters)
    db = connection.alias
    populators = get_related_populators(compiler.klass_info, compiler.select, db) if rows else []
    out = []
    for row in rows:
        obj = model.from_db(db, attnames, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        out.append(obj)
    return out


def insert(obj) -> None:
    """Insert obj, a new row with no primary key yet, as obj.save(force_insert=True) does (save signals
    included); sets its primary key. Inside deferred(), a message's or a clock's row is written later."""
    model, meta = type(obj), obj._meta
    state = _deferring()
    if state is not None and meta.label in POOLED:
        return _insert_later(state, obj)
    key = (connection.alias, connection.vendor, "insert", meta.label)
    entry = _compiled.get(key)
    if entry is None:
        fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
        qn = connection.ops.quote_name
        sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        returning = connection.features.can_return_columns_from_insert
        if returning:
            sql += f" RETURNING {qn(meta.pk.column)}"
        entry = _compiled[key] = (sql, fields, returning)
    sql, fields, returning = entry
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=connection.alias, update_fields=None)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0] if returning else connection.ops.last_insert_id(cursor, meta.db_table,
                                                                                  meta.pk.column)
    setattr(obj, meta.pk.attname, pk)
    obj._state.adding, obj._state.db = False, connection.alias
    if post_save.has_listeners(model):
        post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False,
                       using=connection.alias)


def update(obj, *names: str) -> None:
    """Write obj's named fields, as obj.save(update_fields=names) does (save signals included)."""
    model, meta = type(obj), obj._meta
    key = (connection.alias, connection.vendor, "update", meta.label, names)
    entry = _compiled.get(key)
    if entry is None:
        fields = [meta.get_field(name) for name in names]
        qn = connection.ops.quote_name
        sql = (f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
               f"WHERE {qn(meta.pk.column)} = %s")
        entry = _compiled[key] = (sql, fields)
    sql, fields = entry
    update_fields = frozenset(names)
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=connection.alias, update_fields=update_fields)
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    state = _deferring()
    if state is not None and meta.label in DEFERRED_UPDATES:
        # Written with the next statement (a row this transaction locked or made: it is there).
        state.pending.append((sql, [*values, obj.pk]))
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*values, obj.pk])
            if cursor.rowcount == 0:
                raise DatabaseError("Save with update_fields did not affect any rows.")
    if post_save.has_listeners(model):
        post_save.send(sender=model, instance=obj, created=False, update_fields=update_fields, raw=False,
                       using=connection.alias)


# --- writes deferred to the next statement (PostgreSQL) ----------------------------------------------------------
#
# Email in writes a few rows for each message (the message, its clock, the case's new state) and reads almost
# nothing back (mail.batch has read ahead). On PostgreSQL each statement is a round trip; inside deferred() these
# writes wait and go together, pipelined in one round trip, just before the next statement anyone runs (an
# execute wrapper), so every read still sees them, and at the end of the block. Inserted rows take their ids from
# the table's sequence, a few at a time (unused ones are skipped, as a rolled-back insert skips its id). An error
# of a deferred write is raised by the statement that follows it, in the same transaction, which rolls back.

POOLED = frozenset({"support.CaseMessage", "support.SlaClock"})
DEFERRED_UPDATES = frozenset({"support.Case", "support.SlaClock"})
_deferral = threading.local()


class _Deferral:
    def __init__(self, expected: int):
        self.pending: list = []
        self.ids: dict = {}
        self.expected = max(1, expected)


def _deferring() -> _Deferral | None:
    return getattr(_deferral, "state", None)


def deferring() -> bool:
    return _deferring() is not None


@contextmanager
def deferred(expected: int = 1):
    """Defer the writes of insert() and update() to the next statement (PostgreSQL; elsewhere, a statement costs
    no round trip and nothing changes). `expected`: about how many rows of a table the block inserts (the ids
    taken from a sequence at a time). Must be inside a transaction; flush() ends it with the writes done."""
    if connection.vendor != "postgresql" or _deferring() is not None:
        yield
        return
    _deferral.state = _Deferral(expected)
    try:
        with connection.execute_wrapper(_flush_first):
            yield
            flush()
    finally:
        _deferral.state = None


def _flush_first(execute, sql, params, many, context):
    flush()
    return execute(sql, params, many, context)


def flush() -> None:
    """Write the deferred rows now, in one round trip."""
    state = _deferring()
    if state is None or not state.pending:
        return
    pending, state.pending = state.pending, []
    raw = connection.connection
    with connection.wrap_database_errors, raw.pipeline(), raw.cursor() as cursor:  # (Django's exceptions)
        for sql, params in pending:
            cursor.execute(sql, params)


def _insert_later(state: _Deferral, obj) -> None:
    model, meta = type(obj), obj._meta
    key = (connection.alias, connection.vendor, "insert_with_id", meta.label)
    entry = _compiled.get(key)
    if entry is None:
        fields = [f for f in meta.local_concrete_fields if not f.generated]
        qn = connection.ops.quote_name
        sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        entry = _compiled[key] = (sql, fields)
    sql, fields = entry
    if pre_save.has_listeners(model):
        pre_save.send(sender=model, instance=obj, raw=False, using=connection.alias, update_fields=None)
    setattr(obj, meta.pk.attname, _next_id(state, meta))
    state.pending.append((sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]))
    obj._state.adding, obj._state.db = False, connection.alias
    if post_save.has_listeners(model):
        post_save.send(sender=model, instance=obj, created=True, update_fields=None, raw=False,
                       using=connection.alias)


def _next_id(state: _Deferral, meta) -> int:
    ids = state.ids.setdefault(meta.db_table, [])
    if not ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, meta.pk.column, state.expected])
            ids.extend(sorted((row[0] for row in cursor.fetchall()), reverse=True))  # handed out in order
    return ids.pop()


def link(obj, name: str, targets) -> None:
    """obj.<name>.add(*targets) for a many-to-many of Django's own table, as one compiled insert that skips a pair
    already there (deferred inside deferred()); through the related manager when anything listens to its changes."""
    targets = list(targets)
    if not targets:
        return
    field = obj._meta.get_field(name)
    through = field.remote_field.through
    if (m2m_changed.has_listeners(through) or not through._meta.auto_created
            or connection.vendor not in ("postgresql", "sqlite")):
        getattr(obj, name).add(*targets)
        return
    qn = connection.ops.quote_name
    columns = f"{qn(through._meta.db_table)} ({qn(field.m2m_column_name())}, {qn(field.m2m_reverse_name())})"
    sql = (f"INSERT INTO {columns} VALUES (%s, %s) ON CONFLICT DO NOTHING" if connection.vendor == "postgresql"
           else f"INSERT OR IGNORE INTO {columns} VALUES (%s, %s)")
    rows = [[obj.pk, target.pk] for target in targets]
    state = _deferring()
    if state is not None:
        state.pending.extend((sql, row) for row in rows)
        return
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(sql, row)
