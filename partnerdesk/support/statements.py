"""Django's own SQL for the few statements email in runs per message, compiled once per process.

Filing a message takes a handful of statements, and compiling each through the ORM costs more CPU than the
database spends running it. These run the SQL the ORM makes for a model (the same columns, value conversions
and save signals) without compiling it again: a select by parameters, the insert of a new row, the update of
named fields. Only for models that do not override save() (the desk's cases, messages, clocks and mail).
"""

from django.db import DatabaseError, connection
from django.db.models.query import get_related_populators
from django.db.models.signals import post_save, pre_save

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
    included); sets its primary key."""
    model, meta = type(obj), obj._meta
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
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, obj.pk])
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    if post_save.has_listeners(model):
        post_save.send(sender=model, instance=obj, created=False, update_fields=update_fields, raw=False,
                       using=connection.alias)
