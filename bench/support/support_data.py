"""Generate the support benchmark's data straight into the database (bulk SQL, not the ORM).

Customers (each with a billing contact), 5 teams of 10 agents, cases over three years (most closed; the recent
ones open, waiting or new, a few thousand per queue at full size), their conversations (customer questions and
follow-ups, agents' answers, ~10% internal notes, a few events; email replies carry quoted history), SLA clocks
(met on closed cases, running or paused on active ones, with next_deadline_at on the case row) and the
full-text index rows, made with support.fulltext's own tokenizer. PostgreSQL gets COPY, SQLite executemany,
both in large batches; plain indexes are dropped during the load and rebuilt after it, as a bulk load does.
"""

import datetime as dt
import random
import uuid

from django.db import connection, transaction
from django.utils import timezone
from support_texts import SEARCH_WORDS, Writer

from partnerdesk.support import fulltext
from partnerdesk.support.mail.parsing import normalized_subject
from partnerdesk.support.models import Case, CaseMessage, SlaClock

BATCH = 50_000
LANGUAGES = (["zh-CN"] * 60) + (["zh-TW"] * 15) + (["en"] * 25)
CASE_TYPES = (["billing_question"] * 35 + ["invoice_dispute"] * 12 + ["payment_problem"] * 18 + ["refund"] * 10
              + ["suspension_access"] * 10 + ["technical"] * 8 + ["fraud_misuse"] * 1 + ["other"] * 6)
CHANNELS = ["email"] * 55 + ["portal"] * 30 + ["phone"] * 8 + ["chat"] * 5 + ["api"] * 2
ACTIVE_MIX = ["new"] * 15 + ["open"] * 45 + ["waiting_customer"] * 25 + ["waiting_operator"] * 15
# Minutes per severity: first response, next response, resolution (defaults of support.sla).
TARGETS = {"A": (120, 120, 480), "B": (240, 240, 1440), "C": (480, 480, 2400)}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "华"]
ENGLISH = ["Alice Wang", "David Chen", "Emma Liu", "Kevin Zhang", "Grace Lin", "Tom Huang", "Lucy Zhao", "Jason Wu"]
COMPANY = ["上海云图科技有限公司", "北京星河数据有限公司", "深圳蓝海网络科技有限公司", "杭州青禾软件有限公司",
           "成都天府智能科技有限公司", "廣州嘉信貿易有限公司", "Suzhou Brightline Manufacturing Co., Ltd.",
           "南京初心教育科技有限公司", "武汉长江物流有限公司", "Xiamen Harbor Logistics Ltd."]
TEAMS = ["Billing East", "Billing North", "Billing South", "Collections desk", "Key accounts"]


class Sink:
    """Rows for one table, written in batches (COPY on PostgreSQL, executemany on SQLite); the columns the
    generator does not set get their model default."""

    def __init__(self, model, columns: list[str]):
        fields = {f.column: f for f in model._meta.concrete_fields}
        # (an id the generator does not give comes from the table's own sequence)
        extra = [c for c, f in fields.items() if c not in columns and not f.primary_key]
        for column in extra:
            if fields[column].get_default() is None and not fields[column].null:
                raise ValueError(f"{model._meta.db_table}.{column} needs a value")
        self.extra = tuple(_db_value(fields[c]) for c in extra)
        self.table, self.columns, self.rows, self.count = model._meta.db_table, columns + extra, [], 0

    def add(self, row: tuple) -> None:
        self.rows.append(row + self.extra)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            insert(self.table, self.columns, self.rows)
            self.count += len(self.rows)
            self.rows = []


def _db_value(field):
    value = field.get_default()
    if isinstance(value, list | dict):
        return "[]" if isinstance(value, list) else "{}"
    if isinstance(value, dt.timedelta):
        return value if connection.vendor == "postgresql" else int(value.total_seconds() * 1_000_000)
    if isinstance(value, dt.datetime):
        return ts(value)
    return value


def insert(table: str, columns: list[str], rows) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def ts(value: dt.datetime | None):
    """A datetime as the database column takes it (SQLite: Django's naive UTC text)."""
    if value is None or connection.vendor == "postgresql":
        return value
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def duration(value: dt.timedelta):
    return value if connection.vendor == "postgresql" else int(value.total_seconds() * 1_000_000)


class Documents:
    """Index documents made of text pieces: the tokens of each repeated piece are computed once."""

    def __init__(self):
        self.cache: dict[str, list[str]] = {}

    def make(self, pieces, *whole: str) -> str:
        terms = []
        cache = self.cache
        for piece in pieces:
            found = cache.get(piece)
            if found is None:
                found = fulltext.tokens(piece)
                if len(cache) < 300_000:
                    cache[piece] = found
            terms += found
        for text in whole:
            terms += fulltext.tokens(text)
        return " ".join(dict.fromkeys(terms))


# --- the load ---------------------------------------------------------------------------------------------------


def _plain_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the tables' indexes that back no constraint (dropped during the load)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) AND indexname NOT IN "
                        "(SELECT conname FROM pg_constraint)", [tables])
        else:
            marks = ", ".join(["%s"] * len(tables))
            cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                        f"AND tbl_name IN ({marks})", tables)
        return list(cur.fetchall())


def _staff(now) -> dict:
    """5 teams of 10 agents (billing agents, collections, finance), through the ORM: 55 rows."""
    from partnerdesk.accounts.models import Role, Team, User

    roles = [Role.BILLING_AGENT] * 8 + [Role.COLLECTIONS, Role.FINANCE]
    agents = User.objects.bulk_create([
        User(username=f"agent{n:02d}", email=f"agent{n:02d}@partner.example.cn", role=roles[n % 10],
             first_name=GIVEN[n % len(GIVEN)], last_name=SURNAMES[n % len(SURNAMES)], password="!")
        for n in range(1, 51)])
    admin = User.objects.create(username="bench-admin", email="admin@partner.example.cn", role=Role.ADMIN,
                                is_staff=True, password="!")
    agents = list(User.objects.filter(username__startswith="agent").order_by("username"))
    team_of = {}
    for t, name in enumerate(TEAMS):
        members = agents[t * 10:(t + 1) * 10]
        team = Team.objects.create(name=name, lead=members[0], created_at=now)
        team.members.set(members)
        team_of.update({a.pk: team.pk for a in members})
    return {"agents": [a.pk for a in agents], "team_of": team_of, "admin": admin.pk}


def generate(*, customers: int, cases: int, messages: int, seed: int = 7, now: dt.datetime | None = None,
             bulk_indexes: bool = True) -> dict:
    """Load the data set; returns counts and what the measurement queries (ids, invoice numbers, words)."""
    rng = random.Random(seed)
    now = now or timezone.now()
    pg = connection.vendor == "postgresql"
    tables = ["support_case", "support_casemessage", "support_slaclock", fulltext.TABLE]
    staff = _staff(now)
    dropped = _plain_indexes(tables) if bulk_indexes else []
    # SQLite checks deferred foreign keys by scanning the child tables, whose indexes are dropped for the load.
    checks_off = not pg and connection.disable_constraint_checking()
    with transaction.atomic():
        with connection.cursor() as cur:
            if pg:
                cur.execute("SET LOCAL session_replication_role = replica")  # the load is consistent: skip FK triggers
            for name, _sql in dropped:
                cur.execute(f"DROP INDEX {name}")
        info = _load(rng, now, staff, customers=customers, cases=cases, messages=messages)
        with connection.cursor() as cur:
            if pg:
                cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for _name, sql in dropped:
                cur.execute(sql)
    if checks_off:
        connection.enable_constraint_checking()
    with connection.cursor() as cur:
        if pg:
            for table in ("customers_customer", "customers_billingcontact", "support_case", "support_casemessage",
                          "support_slaclock"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            if bulk_indexes and connection.get_autocommit():
                # A live database has been vacuumed (visibility map, hint bits) and its writes flushed.
                cur.execute("VACUUM ANALYZE")
                cur.execute("CHECKPOINT")
        else:
            cur.execute("ANALYZE")
    return info


def _load(rng, now, staff, *, customers: int, cases: int, messages: int) -> dict:
    from partnerdesk.customers.models import BillingContact, Customer
    from partnerdesk.customers.sorting import name_sort_key

    sort_keys = {name: name_sort_key(name) for name in COMPANY}
    customer_sink = Sink(Customer, ["id", "name", "tenant_id", "primary_domain", "language", "created_at", "name_sort"])
    contact_sink = Sink(BillingContact, ["id", "customer_id", "name", "email", "language", "is_primary"])
    langs, names = [None], [None]
    for i in range(1, customers + 1):
        company, lang = rng.choice(COMPANY), rng.choice(LANGUAGES)
        person = (rng.choice(ENGLISH) if lang == "en" else rng.choice(SURNAMES) + rng.choice(GIVEN))
        langs.append(lang)
        names.append(person)
        customer_sink.add((i, f"{company} {i:06d}", str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                           f"c{i}.example.cn", lang, ts(now - dt.timedelta(days=1200)), f"{sort_keys[company]}{i:06d}"))
        contact_sink.add((i, i, person, f"billing{i}@c{i}.example.cn", lang, True))
    customer_sink.flush()
    contact_sink.flush()

    case_sink = Sink(Case, [
        "id", "customer_id", "requester_contact_id", "requester_email", "requester_name", "language", "type", "subject",
        "subject_key", "description", "severity", "channel", "status", "assignee_id", "team_id", "created_at",
        "updated_at", "first_response_at", "last_customer_message_at", "last_agent_message_at", "resolved_at",
        "closed_at", "closed_automatically", "resolution_message_id", "satisfaction_score", "next_deadline_at"])
    message_sink = Sink(CaseMessage, [
        "id", "case_id", "kind", "direction", "channel", "author_id", "author_email", "author_name", "body",
        "visible_body", "created_at", "is_resolution", "message_id", "read_in_portal_at"])
    clock_sink = Sink(SlaClock, [
        "case_id", "target", "sequence", "started_at", "target_minutes", "around_the_clock", "elapsed", "running_since",
        "deadline_at", "met_at", "breached_at", "warned_at", "breach_notified_at"])
    search_rows: list = []
    docs, writer = Documents(), Writer(rng)
    agents, team_of = staff["agents"], staff["team_of"]
    # Three years of cases at full size; a small run keeps at least 60 days so its queues are not empty.
    span = dt.timedelta(days=max(60, 1095 * cases / 1_000_000))
    counts = {"active": 0, "unassigned": 0, "waiting_customer": 0, "breached": 0, "public": 0, "internal": 0}
    samples = {"invoices": [], "cases": [], "mine": {}}
    checks = 0
    message_id = 0
    left = messages

    def flush_search():
        fulltext.append_documents(search_rows)
        search_rows.clear()

    for case_id in range(1, cases + 1):
        customer = rng.randrange(1, customers + 1)
        lang, person, email = langs[customer], names[customer], f"billing{customer}@c{customer}.example.cn"
        created = now - span * ((cases - case_id + rng.random()) / cases)
        age = (now - created).total_seconds() / 86400
        case_type, channel = rng.choice(CASE_TYPES), rng.choice(CHANNELS)
        severity = "A" if case_type == "technical" and rng.random() < 0.3 else rng.choice("BCCC")
        p_active = 0.7 if age < 7 else 0.3 if age < 30 else 0.005
        if rng.random() < p_active:
            status = rng.choice(ACTIVE_MIX)
            if status == "new" and age > 3:
                status = "open"
        else:
            status = "resolved" if age < 10 and rng.random() < 0.5 else "closed"
        active = status in ("new", "open", "waiting_customer", "waiting_operator")
        unassigned = active and rng.random() < (0.8 if status == "new" else 0.04)
        assignee = None if unassigned else rng.choice(agents)
        team = team_of[assignee] if assignee else (rng.choice(list(team_of.values())) if rng.random() < 0.5 else None)
        values = writer.values(created.year)
        subject = writer.subject(lang, values)
        subject_text = " ".join(subject)

        # The conversation: how many messages (about messages/cases each, at least one) and who wrote each.
        remaining_cases = cases - case_id
        mean = max(left / (remaining_cases + 1), 1)
        k = round(rng.expovariate(1 / mean)) if remaining_cases else left
        k = max(1, min(k, 60, left - remaining_cases))
        left -= k
        kinds = ["in"]
        direction = "out"
        for _ in range(k - 1):
            roll = rng.random()
            if roll < 0.10:
                kinds.append("note")
            elif roll < 0.12:
                kinds.append("event")
            else:
                kinds.append(direction)
                direction = "in" if direction == "out" else "out"
        if status == "new":
            kinds = [("in" if kd == "out" else kd) for kd in kinds]
        elif status in ("resolved", "closed", "waiting_customer") and k > 1:
            publics = [j for j, kd in enumerate(kinds) if kd in ("in", "out")]
            if kinds[publics[-1]] == "in":
                kinds[publics[-1] if publics[-1] > 0 else k - 1] = "out"
        if active:
            end = now - dt.timedelta(seconds=rng.uniform(0, min(age, 3) * 86400))
        else:
            end = min(now - dt.timedelta(minutes=5), created + dt.timedelta(days=rng.uniform(0.1, 9)))
        end = max(end, created)
        times = sorted(created + (end - created) * rng.random() for _ in range(k - 1))
        times = [created, *times]
        first_response = last_in = last_out = resolution = None
        resolution_index = max((j for j, kd in enumerate(kinds) if kd == "out"), default=None)
        inv_seen = values["inv"] in subject
        previous: list[str] = []
        description = ""
        for j, (kind, at) in enumerate(zip(kinds, times, strict=True)):
            message_id += 1
            author_id, author_email, author_name, mid, visible = None, "", "", "", ""
            if kind == "in":
                pieces = writer.question(lang, case_type, values) if j == 0 else writer.follow_up(lang, values)
                author_email, author_name, last_in = email, person, at
                row_kind, row_dir, msg_channel = "public", "inbound", channel if j == 0 else "email"
                if msg_channel == "email":
                    mid = f"{uuid.UUID(int=rng.getrandbits(128), version=4).hex}@c{customer}.example.cn"
                    if j > 0 and previous and rng.random() < 0.5:
                        visible = " ".join(pieces)
                        pieces = pieces + writer.quote(lang, "support@partner.example.cn", values["date"], previous)
            elif kind == "out":
                pieces = writer.answer(lang, values)
                author_id, last_out = assignee or rng.choice(agents), at
                first_response = first_response or at
                row_kind, row_dir, msg_channel = "public", "outbound", "email"
            elif kind == "note":
                pieces, author_id = writer.note(values), assignee or rng.choice(agents)
                row_kind, row_dir, msg_channel = "internal", "outbound", "internal"
            else:
                pieces = writer.event()
                row_kind, row_dir, msg_channel = "event", "outbound", "internal"
            body = " ".join(pieces)
            if j == 0:
                description = body
            if row_kind == "public":
                previous = pieces
            inv_seen = inv_seen or values["inv"] in pieces
            is_resolution = status in ("resolved", "closed") and j == resolution_index
            if is_resolution:
                resolution = message_id
            message_sink.add((message_id, case_id, row_kind, row_dir, msg_channel, author_id, author_email, author_name,
                              body, visible, ts(at), is_resolution, mid,
                              ts(at + dt.timedelta(hours=2)) if is_resolution and channel == "portal" else None))
            counts["public" if row_kind == "public" else "internal"] += 1
            document = docs.make(pieces, author_email, author_name)
            if message_id % 997 == 0:  # the shortcut makes exactly what the desk's own indexing makes
                assert document == fulltext._document(f"{body} {author_email} {author_name}"), body
                checks += 1
            search_rows.append((case_id, message_id, customer, row_kind == "public", document))

        resolved_at = times[-1] if status in ("resolved", "closed") else None
        closed_at = min(now, resolved_at + dt.timedelta(days=rng.uniform(1, 7))) if status == "closed" else None
        clocks, next_deadline = _clocks(rng, now, status, severity, created, first_response, resolved_at)
        for clock in clocks:
            clock_sink.add((case_id, *clock))
        if active:
            counts["active"] += 1
            counts["unassigned"] += assignee is None
            counts["waiting_customer"] += status == "waiting_customer"
            counts["breached"] += next_deadline is not None and next_deadline < now
            if assignee:
                samples["mine"][assignee] = samples["mine"].get(assignee, 0) + 1
        case_sink.add((case_id, customer, customer, email, person, lang, case_type, subject_text[:300],
                       normalized_subject(subject_text)[:300], description, severity, channel, status, assignee, team,
                       ts(created), ts(closed_at or times[-1]), ts(first_response), ts(last_in), ts(last_out),
                       ts(resolved_at), ts(closed_at), False, resolution,
                       rng.choice([None, None, 3, 4, 5, 5]) if status == "closed" else None, ts(next_deadline)))
        search_rows.append((case_id, None, customer, True, docs.make(subject, f"PD-{case_id}", email, person)))
        if len(search_rows) >= BATCH:
            case_sink.flush()
            message_sink.flush()
            flush_search()
        if rng.random() < 400 / cases and inv_seen:
            samples["invoices"].append(values["inv"])
        if rng.random() < 400 / cases:
            samples["cases"].append(case_id)
    for sink in (case_sink, message_sink, clock_sink):
        sink.flush()
    flush_search()
    busiest = sorted(samples["mine"].items(), key=lambda kv: -kv[1])
    return {"customers": customers, "cases": case_sink.count, "messages": message_sink.count,
            "clocks": clock_sink.count, **counts, "doc_checks": checks, "agents": agents,
            "mine_agents": [pk for pk, _n in busiest[:5]] or agents[:5], "mine_sizes": [n for _pk, n in busiest[:5]],
            "search_words": SEARCH_WORDS, "invoices": samples["invoices"][:200], "case_ids": samples["cases"][:200]}


def _clocks(rng, now, status, severity, created, first_response, resolved_at):
    """(clock rows, the case's next deadline). Closed cases: met clocks. Active: running, or paused while
    waiting on the customer."""
    first_min, _next_min, resolution_min = TARGETS[severity]
    around = severity == "A"
    rows, deadlines = [], []

    def clock(target, minutes, *, met=None, paused=False, due=None):
        deadline = due if due is not None else created + dt.timedelta(minutes=minutes * (1 if around else 2.7))
        if paused:
            rows.append((target, 1, ts(created), minutes, around, duration(dt.timedelta(minutes=minutes * rng.random())),
                         None, None, None, None, None, None))
            return
        breached = deadline if (met or now) > deadline else None
        running = None if met else ts(created)
        warned = deadline - dt.timedelta(minutes=30)
        rows.append((target, 1, ts(created), minutes, around,
                     duration((met - created) if met else dt.timedelta(0)), running, ts(deadline), ts(met), ts(breached),
                     ts(warned) if warned < (met or now) else None, ts(breached)))
        if not met:
            deadlines.append(deadline)

    if status in ("resolved", "closed"):
        clock("first_response", first_min, met=first_response or resolved_at)
        clock("resolution", resolution_min, met=resolved_at)
    elif status == "new":
        clock("first_response", first_min, due=now + dt.timedelta(hours=rng.uniform(-6, 8)))
        clock("resolution", resolution_min, due=now + dt.timedelta(hours=rng.uniform(10, 96)))
    else:
        clock("first_response", first_min, met=first_response or created + dt.timedelta(hours=1))
        if status == "waiting_customer":
            clock("resolution", resolution_min, paused=True)
        else:
            clock("resolution", resolution_min, due=now + dt.timedelta(hours=rng.uniform(-36, 72)))
    return rows, min(deadlines) if deadlines else None
