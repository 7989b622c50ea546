"""Matching reconciliation lines to customers and subscriptions (issue 15, item 2).

The order is the contract's: an agent's mapping of the Partner Center subscription number, then the number
itself (Subscription.operator_id); the billing platform's SubscriptionID (a mapping, or a license line already
matched with the same id); the customer's tenant id (a mapping, or Customer.tenant_id); its domain (a mapping,
or Customer.primary_domain, case-insensitive, only when one customer has it). Only lines not matched yet are
touched. Each step is one set-based UPDATE ... FROM over the lines in scope, so a file of millions of lines
is matched in a few statements. Unmatched lines keep customer NULL: listed for an agent, never billed.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, Count, F, Max, Q, Sum, Value, When
from django.db.models.functions import Lower, Replace
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record
from partnerdesk.customers.models import Customer, Subscription
from partnerdesk.errors import InvalidInput, NotFound

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


def _tables() -> dict:
    return {
        "line": ReconLine._meta.db_table,
        "file": ReconFile._meta.db_table,
        "sub": Subscription._meta.db_table,
        "cust": Customer._meta.db_table,
        "map": LineMapping._meta.db_table,
    }


def _tenant_sql(column: str) -> str:
    # Customer.tenant_id is a uuid on PostgreSQL and 32 hex digits on SQLite: compare both as bare lower hex.
    if connection.vendor == "postgresql":
        return f"replace({column}::text, '-', '')"
    return f"replace(lower({column}), '-', '')"


def _ref_sql(column: str) -> str:
    return f"replace(replace(replace(lower({column}), '-', ''), '{{', ''), '}}', '')"


def _steps() -> list[tuple[str, str]]:
    """(method, UPDATE statement) in matching order. Each statement takes the scope's WHERE as {scope}."""
    t = _tables()
    line = t["line"]
    set_both = "customer_id = k.customer_id, subscription_id = k.subscription_id, match_method = '{method}'"
    set_customer = "customer_id = k.customer_id, match_method = '{method}'"
    steps = [
        # 1. the Partner Center subscription number: an agent's mapping, then the operator's id
        (MatchMethod.MAPPING, set_both,
         f"(SELECT m.key AS mkey, customer_id, subscription_id FROM {t['map']} m WHERE key_kind = 'subscription') k",
         f"k.mkey = {line}.subscription_ref"),
        (MatchMethod.SUBSCRIPTION, set_both,
         f"(SELECT operator_id AS mkey, customer_id, id AS subscription_id FROM {t['sub']}) k",
         f"{line}.subscription_ref <> '' AND k.mkey = {line}.subscription_ref"),
        # 2. the billing platform's SubscriptionID: a mapping, then a license line already matched with it
        (MatchMethod.MAPPING, set_both,
         f"(SELECT m.key AS mkey, customer_id, subscription_id FROM {t['map']} m WHERE key_kind = 'billing_subscription') k",
         f"k.mkey = {line}.billing_subscription_ref"),
        (MatchMethod.BILLING_SUBSCRIPTION, set_both,
         f"(SELECT l.billing_subscription_ref AS mkey, MIN(l.customer_id) AS customer_id,"
         f" MIN(l.subscription_id) AS subscription_id FROM {line} l JOIN {t['file']} f ON f.id = l.file_id"
         f" WHERE f.status = 'active' AND l.kind = '{FileKind.LICENSE}' AND l.subscription_id IS NOT NULL"
         f" AND l.billing_subscription_ref <> '' GROUP BY l.billing_subscription_ref"
         f" HAVING COUNT(DISTINCT l.subscription_id) = 1) k",
         f"{line}.billing_subscription_ref <> '' AND k.mkey = {line}.billing_subscription_ref"),
        # 3. the tenant id
        (MatchMethod.MAPPING, set_customer,
         f"(SELECT m.key AS mkey, customer_id FROM {t['map']} m WHERE key_kind = 'customer_id') k",
         f"{line}.customer_ref <> '' AND k.mkey = {_ref_sql(line + '.customer_ref')}"),
        (MatchMethod.CUSTOMER_ID, set_customer,
         f"(SELECT {_tenant_sql('tenant_id')} AS mkey, id AS customer_id FROM {t['cust']}) k",
         f"{line}.customer_ref <> '' AND k.mkey = {_ref_sql(line + '.customer_ref')}"),
        # 4. the domain, without case; a domain two customers share matches neither
        (MatchMethod.MAPPING, set_customer,
         f"(SELECT m.key AS mkey, customer_id FROM {t['map']} m WHERE key_kind = 'domain') k",
         f"{line}.domain <> '' AND k.mkey = lower({line}.domain)"),
        (MatchMethod.DOMAIN, set_customer,
         f"(SELECT lower(primary_domain) AS mkey, MIN(id) AS customer_id FROM {t['cust']}"
         f" WHERE primary_domain <> '' GROUP BY lower(primary_domain) HAVING COUNT(*) = 1) k",
         f"{line}.domain <> '' AND k.mkey = lower({line}.domain)"),
    ]
    return [
        (method, f"UPDATE {line} SET {sets.format(method=method)} FROM {source} WHERE {on} AND {line}.customer_id IS NULL"
                 " AND {scope}")
        for method, sets, source, on in steps
    ]


def _run(scope_sql: str, params: list) -> int:
    """Run every matching step over the unmatched lines in scope; the number of lines matched."""
    matched = 0
    with connection.cursor() as cursor:
        for _method, sql in _steps():
            cursor.execute(sql.replace("{scope}", scope_sql), params)
            matched += max(cursor.rowcount, 0)
    return matched


def _active_scope() -> tuple[str, list]:
    t = _tables()
    return f"{t['line']}.file_id IN (SELECT id FROM {t['file']} WHERE status = %s)", [FileStatus.ACTIVE]


def _unmatched_active():
    return ReconLine.objects.filter(customer__isnull=True, file__status=FileStatus.ACTIVE)


def match_file(recon_file: ReconFile) -> MatchSummary:
    """Match the unmatched lines of one file (the importer calls it in its transaction, after writing the lines)."""
    line = _tables()["line"]
    with transaction.atomic():
        matched = _run(f"{line}.file_id = %s", [recon_file.pk])
    unmatched = ReconLine.objects.filter(file=recon_file, customer__isnull=True).count()
    return MatchSummary(matched=matched, unmatched=unmatched)


def match_unmatched() -> MatchSummary:
    """Match again the unmatched lines of every active file (after a new customer, subscription or mapping)."""
    scope, params = _active_scope()
    with transaction.atomic():
        matched = _run(scope, params)
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
    return Q()  # customer_id: compared in SQL without dashes, see map_key


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
        lines = ReconLine.objects.filter(customer__isnull=True, file__status=FileStatus.ACTIVE)
        if key_kind == MappingKey.CUSTOMER_ID:
            bare = Replace(Replace(Replace(Lower("customer_ref"), Value("-"), Value("")), Value("{"), Value("")),
                           Value("}"), Value(""))
            lines = lines.annotate(bare_ref=bare).filter(bare_ref=key)
        else:
            lines = lines.filter(_key_filter(key_kind, key))
        matched = ReconLine.objects.filter(pk__in=lines.values("pk")).update(
            customer=customer, subscription=subscription, match_method=MatchMethod.MAPPING)
        if key_kind in (MappingKey.SUBSCRIPTION, MappingKey.BILLING_SUBSCRIPTION) and subscription is not None:
            # usage lines of the same billing subscription follow a license line matched just now
            scope, params = _active_scope()
            matched += _run(scope, params)
        record(actor=actor, action="recon_mapping.created", obj=mapping, customer=customer, before=before,
               after={"key_kind": key_kind, "key": key, "customer": customer.pk,
                      "subscription": subscription.pk if subscription else None, "lines": matched},
               reason=reason)
    return MatchSummary(matched=matched, unmatched=_unmatched_active().count())
