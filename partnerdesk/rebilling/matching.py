"""Matching reconciliation lines to customers and subscriptions (issue 15, item 2).

The order is the contract's: an agent's mapping of the Partner Center subscription number, then the number
itself (Subscription.operator_id); the billing platform's SubscriptionID (a mapping, or a license line already
matched with the same id); the customer's tenant id (a mapping, or Customer.tenant_id); its domain (a mapping,
or Customer.primary_domain, case-insensitive, only when one customer has it). Only lines not matched yet are
touched. A file of millions of lines has a few thousand distinct keys: they are read in one pass, decided in
Python in that order, and the answers written in one UPDATE ... FROM a scratch table (two passes over the
lines in all). Unmatched lines keep customer NULL: listed for an agent, never billed.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, F, Max, Q, Sum, Value, When
from django.db.models.functions import Lower, Replace
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from partnerdesk import batch_sql
from partnerdesk.audit.services import record
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.errors import Conflict, InvalidInput, NotFound

from .models import FileKind, FileStatus, LineMapping, MappingKey, MatchMethod, ReconFile, ReconLine


@dataclass(frozen=True)
class MatchSummary:
    """matched: lines this call matched; unmatched: lines in its scope that are still unmatched."""

    matched: int
    unmatched: int


@dataclass(frozen=True)
class UnmatchedGroup:
    """Unmatched lines sharing the key an agent can map (a subscription number, else a customer id, else a domain)."""

    key_kind: str
    key: str
    customer_name: str
    domain: str
    line_count: int
    charges: Decimal


def normal_key(key_kind: str, key: str) -> str:
    """A mapping key as it is stored and compared: domains and tenant ids without case, tenant ids without dashes."""
    key = (key or "").strip()
    if key_kind == MappingKey.DOMAIN:
        return key.lower()
    if key_kind == MappingKey.CUSTOMER_ID:
        return key.lower().replace("-", "").strip("{}")
    return key


# The columns a line is matched by: its kind and its four keys. Lines with the same five values match alike.
KEY_COLUMNS = ("kind", "subscription_ref", "billing_subscription_ref", "customer_ref", "domain")
SCRATCH = [("kind", "text"), ("subscription_ref", "text"), ("billing_subscription_ref", "text"),
           ("customer_ref", "text"), ("domain", "text"), ("customer_id", "bigint"), ("subscription_id", "bigint"),
           ("method", "text")]
LOOKUP_BATCH = 900  # keys per IN (...) lookup


def _batches(values):
    values = list(values)
    for start in range(0, len(values), LOOKUP_BATCH):
        yield values[start:start + LOOKUP_BATCH]


def _tenant(text: str) -> str | None:
    """A CustomerID as 32 lower hex digits, or None if it is not a tenant id at all."""
    bare = normal_key(MappingKey.CUSTOMER_ID, text)
    return bare if len(bare) == 32 and all(c in "0123456789abcdef" for c in bare) else None


def _in_batches(queryset, field: str, values):
    """The queryset's rows whose `field` is one of `values` (all rows if `values` is None), a batch at a time."""
    if values is None:
        yield from queryset
        return
    for batch in _batches(values):
        yield from queryset.filter(**{f"{field}__in": batch})


class _Resolver:
    """Decides whom lines belong to from their keys, in the contract's order. Given the distinct keys it reads
    only the rows they name (mappings, subscriptions, customers, matched license lines); given None, all of them
    (LineMatcher, for lines not read yet)."""

    def __init__(self, keys: list[tuple] | None):
        subs = bills = tenants = domains = None
        if keys is not None:
            subs = {k[1] for k in keys if k[1]}
            bills = {k[2] for k in keys if k[2]}
            tenants = [uuid.UUID(t) for k in keys if k[3] for t in [_tenant(k[3])] if t]
            domains = {k[4].lower() for k in keys if k[4]}
        self.mappings = {(m.key_kind, m.key): (m.customer_id, m.subscription_id) for m in LineMapping.objects.all()}
        self.subscriptions = {op: (c, s) for op, c, s in _in_batches(
            Subscription.objects.values_list("operator_id", "customer_id", "id"), "operator_id", subs)}
        self.tenants = {t.hex: c for t, c in _in_batches(Customer.objects.values_list("tenant_id", "id"), "tenant_id",
                                                         tenants)}
        self.domains = {}
        for domain, customer_id in _in_batches(Customer.objects.exclude(primary_domain="").annotate(
                lower_domain=Lower("primary_domain")).values_list("lower_domain", "id"), "lower_domain", domains):
            self.domains[domain] = None if domain in self.domains else customer_id  # a domain two share: neither's
        # The billing platform's id of license lines already matched to a subscription (one subscription only).
        self.billing = {}
        if bills is None or bills:
            matched = (ReconLine.objects.filter(kind=FileKind.LICENSE, file__status=FileStatus.ACTIVE,
                                                subscription__isnull=False).exclude(billing_subscription_ref="")
                       .order_by().values_list("billing_subscription_ref", "customer_id", "subscription_id").distinct())
            for ref, customer_id, subscription_id in _in_batches(matched, "billing_subscription_ref", bills):
                self._learn(ref, customer_id, subscription_id)

    def _learn(self, ref: str, customer_id: int, subscription_id: int) -> None:
        known = self.billing.get(ref, (customer_id, subscription_id))
        self.billing[ref] = known if known == (customer_id, subscription_id) else None

    def by_subscription(self, key: tuple):
        kind, sub, bill = key[0], key[1], key[2]
        if not sub:
            return None
        found = None
        if (MappingKey.SUBSCRIPTION, sub) in self.mappings:
            found = (*self.mappings[(MappingKey.SUBSCRIPTION, sub)], MatchMethod.MAPPING)
        elif sub in self.subscriptions:
            found = (*self.subscriptions[sub], MatchMethod.SUBSCRIPTION)
        if found and found[1] and kind == FileKind.LICENSE and bill:
            self._learn(bill, found[0], found[1])  # usage lines of the same billing id follow it
        return found

    def by_the_rest(self, key: tuple):
        bill, ref, domain = key[2], key[3], key[4].lower()
        if bill and (MappingKey.BILLING_SUBSCRIPTION, bill) in self.mappings:
            return (*self.mappings[(MappingKey.BILLING_SUBSCRIPTION, bill)], MatchMethod.MAPPING)
        if bill and self.billing.get(bill):
            return (*self.billing[bill], MatchMethod.BILLING_SUBSCRIPTION)
        tenant = normal_key(MappingKey.CUSTOMER_ID, ref) if ref else ""
        if tenant and (MappingKey.CUSTOMER_ID, tenant) in self.mappings:
            return (self.mappings[(MappingKey.CUSTOMER_ID, tenant)][0], None, MatchMethod.MAPPING)
        if tenant and self.tenants.get(tenant):
            return (self.tenants[tenant], None, MatchMethod.CUSTOMER_ID)
        if domain and (MappingKey.DOMAIN, domain) in self.mappings:
            return (self.mappings[(MappingKey.DOMAIN, domain)][0], None, MatchMethod.MAPPING)
        if domain and self.domains.get(domain):
            return (self.domains[domain], None, MatchMethod.DOMAIN)
        return None


class LineMatcher:
    """Matches lines one at a time as they are read, before they are written: for an importer streaming millions
    of rows, whose lines then need no UPDATE. Everything it needs is loaded once (all mappings, subscriptions,
    customers and matched license lines). `match` returns (customer_id, subscription_id, method) or None; lines of
    the same keys are answered from a cache. match_file afterwards still matches what only the whole file tells
    (a license line whose billing id is learned from a later row)."""

    def __init__(self):
        self._resolver = _Resolver(None)
        self._answers: dict[tuple, tuple | None] = {}
        # The keys it could not match, with their number of lines: match_file(unmatched=...) takes it from there
        # without reading the file's lines again.
        self.unmatched: dict[tuple, int] = {}

    def match(self, kind: str, subscription_ref: str, billing_subscription_ref: str, customer_ref: str,
              domain: str) -> tuple | None:
        key = (kind, subscription_ref, billing_subscription_ref, customer_ref, domain)
        try:
            found = self._answers[key]
        except KeyError:
            found = self._resolver.by_subscription(key) or self._resolver.by_the_rest(key)
            self._answers[key] = found
        if found is None:
            self.unmatched[key] = self.unmatched.get(key, 0) + 1
        return found

    def hold_references(self) -> None:
        """hold_references() for every customer and subscription this matcher has pointed lines at."""
        answers = [found for found in self._answers.values() if found is not None]
        hold_references([found[0] for found in answers], [found[1] for found in answers])


def hold_references(customer_ids, subscription_ids) -> None:
    """What a database foreign key checks for each line, checked once per distinct row (ReconLine's customer and
    subscription have no database constraint; see the model): every customer and subscription that lines are about
    to point at exists, and on PostgreSQL is locked FOR KEY SHARE, as a foreign key's check locks it, so that it
    can be neither deleted nor renumbered before this transaction commits. Raises Conflict if one is gone."""
    for model, ids in ((Customer, customer_ids), (Subscription, subscription_ids)):
        ids = sorted({i for i in ids if i is not None})
        if not ids:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        found = 0
        for batch in _batches(ids):
            if connection.vendor == "postgresql":
                sql = f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id = ANY(%s) FOR KEY SHARE) AS held"
                params = [batch]
            else:
                sql = f"SELECT count(*) FROM {table} WHERE id IN ({', '.join(['%s'] * len(batch))})"
                params = batch
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                found += cursor.fetchone()[0]
        if found != len(ids):
            raise Conflict(_("A customer or subscription these lines are matched to was deleted meanwhile; "
                             "try again."), field="customer")


def _match(lines, scope: str, params: list, keys: list[tuple] | None = None, analyze: bool = False) -> int:
    """Match the unmatched lines of a queryset; the number matched. `scope` is the same lines as SQL (for the
    UPDATE). Two passes over the lines whatever their number: their distinct keys are read (a few thousand for
    millions of lines; or given, by an importer that knows them), decided in Python, and the answers written with
    one UPDATE ... FROM a scratch table. analyze: the lines were just loaded (PostgreSQL's planner must learn them
    before that UPDATE)."""
    table = ReconLine._meta.db_table
    if keys is None:
        keys = list(lines.filter(customer__isnull=True).order_by().values_list(*KEY_COLUMNS).distinct())
    if not keys:
        return 0
    resolver = _Resolver(keys)
    answers = {}
    for key in keys:  # subscription numbers first: a license line matched so teaches its billing id
        found = resolver.by_subscription(key)
        if found:
            answers[key] = found
    for key in keys:
        if key not in answers:
            found = resolver.by_the_rest(key)
            if found:
                answers[key] = found
    if not answers:
        return 0
    if analyze and connection.vendor == "postgresql":
        # The planner's statistics do not know the rows just loaded; the UPDATE's join needs them (without, it
        # takes a million-row file for a few rows and plans nested loops).
        batch_sql.run_sql(f"ANALYZE {table}")
    with transaction.atomic():
        hold_references([found[0] for found in answers.values()], [found[1] for found in answers.values()])
        scratch = batch_sql.load_scratch("recon_matches", SCRATCH, [(*key, *found) for key, found in answers.items()])
        if connection.vendor == "sqlite":
            batch_sql.run_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS temp.recon_matches_keys ON recon_matches "
                              f"({', '.join(KEY_COLUMNS)})")
        on = " AND ".join(f"{table}.{c} = k.{c}" for c in KEY_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET customer_id = k.customer_id, subscription_id = k.subscription_id, "
                           f"match_method = k.method FROM {scratch} k WHERE {scope} AND {table}.customer_id IS NULL "
                           f"AND {on}", params)
            return max(cursor.rowcount, 0)


def _active_scope() -> tuple[str, list]:
    return (f"{ReconLine._meta.db_table}.file_id IN (SELECT id FROM {ReconFile._meta.db_table} WHERE status = %s)",
            [FileStatus.ACTIVE])


def _unmatched_active():
    return ReconLine.objects.filter(customer__isnull=True, file__status=FileStatus.ACTIVE)


def match_file(recon_file: ReconFile, unmatched: dict[tuple, int] | None = None) -> MatchSummary:
    """Match the unmatched lines of one file (the importer calls it in its transaction, after writing the lines).

    unmatched: what the importer's LineMatcher left unmatched (its `unmatched`: key -> lines), when every line of
    the file went through it; the file's lines are then not read again (only the lines of a key now matched, by a
    billing id that a later row taught, are updated)."""
    lines, scope = ReconLine.objects.filter(file=recon_file), f"{ReconLine._meta.db_table}.file_id = %s"
    if unmatched is None:
        matched = _match(lines, scope, [recon_file.pk])
        return MatchSummary(matched=matched, unmatched=lines.filter(customer__isnull=True).count())
    matched = _match(lines, scope, [recon_file.pk], keys=list(unmatched), analyze=True)
    return MatchSummary(matched=matched, unmatched=sum(unmatched.values()) - matched)


def match_unmatched() -> MatchSummary:
    """Match again the unmatched lines of every active file (after a new customer, subscription or mapping)."""
    matched = _match(_unmatched_active(), *_active_scope())
    return MatchSummary(matched=matched, unmatched=_unmatched_active().count())


def unmatched_groups() -> list[UnmatchedGroup]:
    """The unmatched lines of active files, one group per key an agent can map, most charges first."""
    kind = Case(
        When(~Q(subscription_ref=""), then=Value(MappingKey.SUBSCRIPTION.value)),
        When(~Q(customer_ref=""), then=Value(MappingKey.CUSTOMER_ID.value)),
        default=Value(MappingKey.DOMAIN.value),
    )
    key = Case(
        When(~Q(subscription_ref=""), then=F("subscription_ref")),
        When(~Q(customer_ref=""), then=F("customer_ref")),
        default=F("domain"),
    )
    rows = (
        _unmatched_active().annotate(group_kind=kind, group_key=key).order_by()
        .values("group_kind", "group_key")
        .annotate(name=Max("customer_name"), dom=Max("domain"), n=Count("id"), total=Sum("charges"))
    )
    groups = [
        UnmatchedGroup(key_kind=r["group_kind"], key=r["group_key"], customer_name=r["name"] or "",
                       domain=r["dom"] or "", line_count=r["n"], charges=r["total"] or Decimal("0.00"))
        for r in rows
    ]
    groups.sort(key=lambda g: (-abs(g.charges), g.key_kind, g.key))
    return groups


def _key_filter(key_kind: str, key: str) -> Q:
    if key_kind == MappingKey.SUBSCRIPTION:
        return Q(subscription_ref=key)
    if key_kind == MappingKey.BILLING_SUBSCRIPTION:
        return Q(billing_subscription_ref=key)
    if key_kind == MappingKey.DOMAIN:
        return Q(domain__iexact=key)
    bare = Replace(Replace(Replace(Lower("customer_ref"), Value("-"), Value("")), Value("{"), Value("")), Value("}"),
                   Value(""))
    return Q(Exact(bare, key))


def map_key(*, key_kind: str, key: str, customer, subscription=None, actor, reason: str = "") -> MatchSummary:
    """Remember that a key means this customer (and subscription), and match every unmatched line with that key."""
    if key_kind not in MappingKey.values:
        raise InvalidInput(_("Unknown key kind %(kind)s."), field="key_kind", kind=key_kind)
    key = normal_key(key_kind, key)
    if not key:
        raise InvalidInput(_("Give the value to map."), field="key")
    if customer is None:
        raise NotFound(_("No such customer."), field="customer")
    if subscription is not None:
        if subscription.customer_id != customer.pk:
            raise InvalidInput(_("Subscription %(subscription)s does not belong to %(customer)s."),
                               field="subscription", subscription=str(subscription), customer=customer.name)
        if key_kind not in (MappingKey.SUBSCRIPTION, MappingKey.BILLING_SUBSCRIPTION):
            raise InvalidInput(_("Only a subscription key maps to a subscription."), field="subscription")
    with transaction.atomic():
        existing = LineMapping.objects.select_for_update().filter(key_kind=key_kind, key=key).first()
        before = None
        if existing is not None:
            before = {"customer": existing.customer_id, "subscription": existing.subscription_id}
            existing.customer, existing.subscription, existing.created_by = customer, subscription, actor
            existing.save(update_fields=["customer", "subscription", "created_by"])
            mapping = existing
        else:
            mapping = LineMapping.objects.create(key_kind=key_kind, key=key, customer=customer,
                                                 subscription=subscription, created_by=actor)
        # Every unmatched line with that key now matches, in the contract's order (a subscription number the
        # operator knows still wins over a mapped tenant id).
        matched = _match(_unmatched_active().filter(_key_filter(key_kind, key)), *_active_scope())
        if key_kind == MappingKey.SUBSCRIPTION and subscription is not None:
            # usage lines of the billing ids of the license lines just matched follow them
            bills = (ReconLine.objects.filter(kind=FileKind.LICENSE, subscription_ref=key, file__status=FileStatus.ACTIVE)
                     .exclude(billing_subscription_ref="").values("billing_subscription_ref"))
            matched += _match(_unmatched_active().filter(billing_subscription_ref__in=bills), *_active_scope())
        record(actor=actor, action="recon_mapping.created", obj=mapping, customer=customer, before=before,
               after={"key_kind": key_kind, "key": key, "customer": customer.pk,
                      "subscription": subscription.pk if subscription else None, "lines": matched},
               reason=reason)
    return MatchSummary(matched=matched, unmatched=_unmatched_active().count())
