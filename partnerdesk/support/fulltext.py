"""Full-text search over cases and their messages that finds Chinese words inside Chinese text.

Neither PostgreSQL's parsers nor SQLite's unicode61 tokenizer split Chinese, so the text is tokenized here,
the way Lucene's CJK analyzer does it: a run of Han (or kana, hangul) characters becomes its overlapping
bigrams ("发票金额" -> 发票 票金 金额), other text becomes lower-case words. Invoice numbers and email
addresses are also kept whole, with their punctuation dropped (INV-2026-000123 -> inv2026000123), so they
match exactly. The tokens, joined by spaces, are indexed by PostgreSQL (a tsvector with the 'simple'
configuration and a GIN index) or by SQLite's FTS5; a query is tokenized the same way and every token must
match.

One index row per case message and one for the case's subject; a row is public (a customer may find it) or
not (internal notes and events: staff only).
"""

import re
import threading
import unicodedata
from contextlib import contextmanager

from django.db import connection

TABLE = "support_search"
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[A-Za-z0-9\u00c0-\u024f]+(?:[-_.@+/][A-Za-z0-9\u00c0-\u024f]+)*")
_IS_CJK = re.compile(rf"[{_CJK}]")
_JOINERS = re.compile(r"[-_.@+/]")
MAX_TEXT = 20000  # characters of one message that are indexed: enough for any question, bounded for a spam


def tokens(text: str) -> list[str]:
    """The index terms of a text: CJK bigrams, lower-case words, and compound words (emails, numbers) whole."""
    out = []
    # NFKC: full-width letters and digits (ＩＮＶ－２０２６, typed with a Chinese input method) read as ASCII.
    for match in _TOKEN.finditer(unicodedata.normalize("NFKC", (text or "")[:MAX_TEXT])):
        word = match.group()
        if _IS_CJK.match(word):
            if len(word) == 1:
                out.append(word)
            else:
                out.extend(word[i:i + 2] for i in range(len(word) - 1))
            continue
        word = word.lower()
        parts = _JOINERS.split(word)
        if len(parts) > 1:
            out.append("".join(parts))
        out.extend(p for p in parts if p)
    return out


def _document(*texts: str) -> str:
    return " ".join(dict.fromkeys(t for text in texts for t in tokens(text)))


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def create_index_table(schema_editor) -> None:
    """The index table (a migration runs this): a tsvector with GIN on PostgreSQL, FTS5 on SQLite."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, case_id bigint NOT NULL, message_id bigint, "
            "customer_id bigint NOT NULL, public boolean NOT NULL, doc tsvector NOT NULL)")
        schema_editor.execute(f"CREATE INDEX {TABLE}_doc ON {TABLE} USING gin (doc)")
        schema_editor.execute(f"CREATE INDEX {TABLE}_case ON {TABLE} (case_id)")
        schema_editor.execute(f"CREATE UNIQUE INDEX {TABLE}_message ON {TABLE} (message_id) WHERE message_id IS NOT NULL")
        schema_editor.execute(f"CREATE UNIQUE INDEX {TABLE}_subject ON {TABLE} (case_id) WHERE message_id IS NULL")
    else:
        # Tokens are made here, so FTS5's tokenizer only splits on the spaces between them.
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5(doc, case_id UNINDEXED, message_id UNINDEXED, "
            "customer_id UNINDEXED, public UNINDEXED, tokenize = 'unicode61 remove_diacritics 0')")


def drop_index_table(schema_editor) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def _delete(cursor, case_id: int, message_id: int | None) -> None:
    if message_id is None:
        cursor.execute(f"DELETE FROM {TABLE} WHERE case_id = %s AND message_id IS NULL", [case_id])
    else:
        cursor.execute(f"DELETE FROM {TABLE} WHERE message_id = %s", [message_id])


_pending = threading.local()


@contextmanager
def batched():
    """Inside, index_rows() keeps its rows and they are written when the block ends, in one statement (email in:
    one per batch of messages, not one per message). Must be inside the transaction of the changes; on an error
    nothing is written (the transaction rolls back). Nothing reads the index inside the block."""
    if getattr(_pending, "rows", None) is not None:
        yield  # already batching: the outer block writes
        return
    _pending.rows = {}
    try:
        yield
        rows = _pending.rows
    finally:
        _pending.rows = None
    if rows:
        _write([row for row, _fresh in rows.values()], fresh=all(fresh for _row, fresh in rows.values()),
               fresh_keys={key for key, (_row, fresh) in rows.items() if fresh})


def index_rows(rows, *, fresh: bool = False) -> None:
    """(Re)index rows of (case_id, message_id or None, customer_id, public, text...); fresh: rows never indexed
    before (nothing to delete: on SQLite that delete reads the whole index, message_id not being indexed)."""
    rows = list(rows)
    if not rows:
        return
    pending = getattr(_pending, "rows", None)
    if pending is not None:
        for row in rows:
            key = (row[0], None) if row[1] is None else (None, row[1])  # a case's subject row, or a message's
            # The last text wins; the row is fresh only if it was never indexed before this batch either.
            pending[key] = (row, fresh and pending.get(key, (None, True))[1])
        return
    _write(rows, fresh=fresh)


def _write(rows, *, fresh: bool, fresh_keys=()) -> None:
    values = [(case_id, message_id, customer_id, bool(public), _document(text))
              for case_id, message_id, customer_id, public, text in rows]
    with connection.cursor() as cursor:
        if _is_postgres():
            # One statement for the rows (at most one row a key), replacing whatever row the unique indexes say is
            # there, fresh or not: a row left behind by something that bypassed the signals (a test database
            # flushed and its ids reused, a restore) cannot block the new one.
            # (One statement cannot write a row twice: the last row given for a key wins, as it would one by one.)
            messages = list({v[1]: v for v in values if v[1] is not None}.values())
            subjects = list({v[0]: v for v in values if v[1] is None}.values())
            for conflict, group in ((_MESSAGE_CONFLICT, messages), (_SUBJECT_CONFLICT, subjects)):
                for start in range(0, len(group), _ROWS_A_STATEMENT):
                    chunk = group[start:start + _ROWS_A_STATEMENT]
                    marks = ", ".join(["(%s, %s, %s, %s, to_tsvector('simple', %s))"] * len(chunk))
                    cursor.execute(
                        f"INSERT INTO {TABLE} (case_id, message_id, customer_id, public, doc) VALUES {marks} "
                        f"ON CONFLICT {conflict} DO UPDATE SET case_id = EXCLUDED.case_id, "
                        "message_id = EXCLUDED.message_id, customer_id = EXCLUDED.customer_id, "
                        "public = EXCLUDED.public, doc = EXCLUDED.doc", [v for row in chunk for v in row])
            return
        if not fresh:
            for case_id, message_id, _customer_id, _public, _text in rows:
                key = (case_id, None) if message_id is None else (None, message_id)
                if key not in fresh_keys:
                    _delete(cursor, case_id, message_id)
        cursor.executemany(
            f"INSERT INTO {TABLE} (case_id, message_id, customer_id, public, doc) VALUES (%s, %s, %s, %s, %s)",
            [(c, m, cu, 1 if p else 0, d) for c, m, cu, p, d in values])


# The unique indexes create_index_table makes: one row per message, one subject row per case.
_MESSAGE_CONFLICT = "(message_id) WHERE message_id IS NOT NULL"
_SUBJECT_CONFLICT = "(case_id) WHERE message_id IS NULL"
_ROWS_A_STATEMENT = 500


def append_documents(rows) -> None:
    """Add index rows of (case_id, message_id or None, customer_id, public, document), the document made by
    _document(), in bulk and deleting nothing first: for loading many rows at once (the benchmark's data)."""
    rows = list(rows)
    if not rows:
        return
    with connection.cursor() as cursor:
        if not _is_postgres():
            cursor.executemany(
                f"INSERT INTO {TABLE} (case_id, message_id, customer_id, public, doc) VALUES (%s, %s, %s, %s, %s)",
                [(c, m, cu, 1 if p else 0, d) for c, m, cu, p, d in rows])
            return
        # COPY into a scratch table, then one INSERT ... SELECT makes the tsvectors as index_rows does.
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS support_search_load (case_id bigint, message_id bigint, "
                       "customer_id bigint, public boolean, doc text)")
        cursor.execute("TRUNCATE support_search_load")
        with cursor.cursor.copy("COPY support_search_load (case_id, message_id, customer_id, public, doc) "
                                "FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO {TABLE} (case_id, message_id, customer_id, public, doc) SELECT case_id, "
                       "message_id, customer_id, public, to_tsvector('simple', doc) FROM support_search_load")


def index_case(case, *, fresh: bool = False) -> None:
    """The case's number, subject and requester (public; the description is its first message, indexed as one)."""
    text = f"{case.token} {case.subject} {case.requester_email} {case.requester_name}"
    index_rows([(case.pk, None, case.customer_id, True, text)], fresh=fresh)


def index_message(message, *, fresh: bool = False) -> None:
    from .models import MessageKind

    text = f"{message.body} {message.author_email} {message.author_name}"
    index_rows([(message.case_id, message.pk, message.case.customer_id, message.kind == MessageKind.PUBLIC, text)],
               fresh=fresh)


def move_messages(case_ids_from: int, case_id_to: int) -> None:
    """After a merge: the source's messages are found on the target."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET case_id = %s WHERE case_id = %s AND message_id IS NOT NULL",
                       [case_id_to, case_ids_from])


def query_tokens(q: str) -> list[str]:
    """The terms a search must all match (at most 12: a pasted paragraph is not a query)."""
    return list(dict.fromkeys(tokens(q)))[:12]


# A query matches a few rows (an invoice number, an email address) or very many (a word half the messages
# hold). One "ORDER BY case_id DESC LIMIT n" query lets PostgreSQL walk the case index newest first, testing
# each row: instant for a common word, a scan of the whole table (seconds at a million cases) for a rare one.
# So the matching rows are first read from the word index, at most FEW_ROWS of them; only a query that matches
# more walks newest first, and such a walk stops early because most rows match.
FEW_ROWS = 5000


def matching_case_ids(q: str, *, customer_id: int | None, include_internal: bool, limit: int, offset: int = 0) -> list[int]:
    """Ids of the cases (newest first) with a message or subject matching every term of q."""
    terms = query_tokens(q)
    if not terms:
        return []
    params: list = []
    where = []
    if _is_postgres():
        where.append("doc @@ to_tsquery('simple', %s)")
        params.append(" & ".join(_pg_quote(t) for t in terms))
    else:
        where.append(f"{TABLE} MATCH %s")
        params.append(" AND ".join(f'"{t}"' for t in terms))
    if customer_id is not None:
        # The customer's cases first (an index on support_case), then their rows: never every row of a word.
        where.append("case_id = ANY(ARRAY(SELECT id FROM support_case WHERE customer_id = %s))" if _is_postgres()
                     else "case_id IN (SELECT id FROM support_case WHERE customer_id = %s)")
        params.append(customer_id)
    if not include_internal:
        where.append("public = %s" if _is_postgres() else "public = 1")
        if _is_postgres():
            params.append(True)
    condition = " AND ".join(where)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT case_id FROM {TABLE} WHERE {condition} LIMIT %s", [*params, FEW_ROWS + 1])
        found = [int(row[0]) for row in cursor.fetchall()]
        if len(found) <= FEW_ROWS:
            return sorted(set(found), reverse=True)[offset:offset + limit]
        if _is_postgres():
            cursor.execute(f"SELECT case_id FROM {TABLE} WHERE {condition} "
                           "GROUP BY case_id ORDER BY case_id DESC LIMIT %s OFFSET %s", [*params, limit, offset])
            return [int(row[0]) for row in cursor.fetchall()]
        return _newest_sqlite(cursor, condition, params, limit + offset)[offset:offset + limit]


def _newest_sqlite(cursor, condition: str, params: list, wanted: int) -> list[int]:
    """FTS5 reads a word's rows newest first (rowid order) and stops at LIMIT; GROUP BY case_id would read them
    all. Rows are indexed as cases and messages come, so the newest rows hold the newest cases (a new message on
    an old case brings that case in too)."""
    window = wanted * 20
    while True:
        cursor.execute(f"SELECT case_id FROM {TABLE} WHERE {condition} ORDER BY rowid DESC LIMIT %s", [*params, window])
        rows = [int(row[0]) for row in cursor.fetchall()]
        ids = sorted(set(rows), reverse=True)
        if len(ids) >= wanted or len(rows) < window:
            return ids
        window *= 4


def matching_messages(q: str, case_ids, *, include_internal: bool) -> dict[int, list[int | None]]:
    """For each of the cases, the ids of its rows matching every term of q (None: the subject row), newest
    message first: where a result's snippet comes from."""
    terms, case_ids = query_tokens(q), [int(pk) for pk in case_ids]
    if not terms or not case_ids:
        return {}
    if not _is_postgres():
        return _matching_rows_read_here(terms, case_ids, include_internal)
    marks = ", ".join(["%s"] * len(case_ids))
    if _is_postgres():
        where = ["doc @@ to_tsquery('simple', %s)", f"case_id IN ({marks})"]
        params: list = [" & ".join(_pg_quote(t) for t in terms), *case_ids]
        if not include_internal:
            where.append("public = %s")
            params.append(True)
    else:
        where = [f"{TABLE} MATCH %s", f"case_id IN ({marks})"]
        params = [" AND ".join(f'"{t}"' for t in terms), *case_ids]
        if not include_internal:
            where.append("public = 1")
    out: dict[int, list[int | None]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT case_id, message_id FROM {TABLE} WHERE {' AND '.join(where)}", params)
        for case_id, message_id in cursor.fetchall():
            out.setdefault(int(case_id), []).append(None if message_id is None else int(message_id))
    for rows in out.values():
        rows.sort(key=lambda pk: -1 if pk is None else pk, reverse=True)
    return out


def _matching_rows_read_here(terms: list[str], case_ids: list[int], include_internal: bool) -> dict:
    """SQLite: FTS5 keeps case_id unindexed, so "MATCH q AND case_id IN (...)" reads every row of a common word
    (seconds at millions of messages). The few cases' own texts are tokenized here instead, as they were indexed."""
    from .models import Case, CaseMessage, MessageKind

    wanted, out = set(terms), {}
    for case in Case.objects.filter(pk__in=case_ids).only("id", "subject", "requester_email", "requester_name"):
        if wanted <= set(tokens(f"{case.token} {case.subject} {case.requester_email} {case.requester_name}")):
            out.setdefault(case.pk, []).append(None)
    messages = CaseMessage.objects.filter(case_id__in=case_ids)
    if not include_internal:
        messages = messages.filter(kind=MessageKind.PUBLIC)
    for message in messages.only("id", "case_id", "body", "author_email", "author_name"):
        if wanted <= set(tokens(f"{message.body} {message.author_email} {message.author_name}")):
            out.setdefault(message.case_id, []).append(message.pk)
    for rows in out.values():
        rows.sort(key=lambda pk: -1 if pk is None else pk, reverse=True)
    return out


def _pg_quote(term: str) -> str:
    # Terms are letters and digits only (see tokens); quoted so no term reads as an operator.
    return "'" + term.replace("'", "") + "'"
