"""Changing a collections policy: settings and stages in one transaction, a new version number (customers
acknowledge a version), and an audit entry. Stages are numbered by their offset. Invoices part-way through the process keep
their place: an invoice that reached stage k had every stage numbered up to k done; after the edit it stands at
the longest run of new stages, from the first, that are done for it. A stage the policy kept is done if it was
done before (wherever it moved); a new stage is done if it falls on or before the day of the stage the invoice
had reached. So a stage moved later that an invoice already went through is not done again, and no stage the
invoice has not been through is skipped. (A notice already sent is never sent twice anyway: its key exists.)
"""

import datetime as dt

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record
from partnerdesk.billing.models import Invoice
from partnerdesk.errors import InvalidInput

from .models import CollectionsPolicy, CollectionsProfile, PolicyStage

POLICY_FIELDS = ["name", "description", "is_default", "min_overdue_amount", "grace_days", "invoice_scope",
                 "deletion_warning_days", "wait_for_fapiao"]
STAGE_FIELDS = ["name", "offset_days", "day_kind", "send_notice", "template_key", "call_task", "suspend",
                "suspend_scope", "cancel"]
_PARKED = 1000  # positions are moved out of the way while stages are renumbered (unique per policy)


def policy_state(policy: CollectionsPolicy) -> dict:
    """The policy's settings and stages as JSON-safe values (the before/after of the audit entry)."""
    state = {f: getattr(policy, f) for f in POLICY_FIELDS}
    state["min_overdue_amount"] = str(policy.min_overdue_amount)
    state["version"] = policy.version
    state["stages"] = [{"position": s.position, **{f: getattr(s, f) for f in STAGE_FIELDS}}
                       for s in policy.stages.order_by("position")]
    return state


def _governed_invoices(policy: CollectionsPolicy, was_default: bool):
    """Invoices in progress whose customers this policy governs."""
    invoices = Invoice.objects.filter(collections_stage__gt=0)
    if was_default:
        others = CollectionsProfile.objects.filter(policy__isnull=False).exclude(policy=policy).values("customer_id")
        return invoices.exclude(customer_id__in=others)
    return invoices.filter(customer_id__in=CollectionsProfile.objects.filter(policy=policy).values("customer_id"))


@transaction.atomic
def update_policy(policy: CollectionsPolicy, *, settings: dict, stages: list[dict], actor, reason: str) -> CollectionsPolicy:
    """Replace a policy's settings and stages; bump its version.

    `settings`: values for POLICY_FIELDS. `stages`: dicts of STAGE_FIELDS, with "id" for a stage the policy
    already has; the policy's stages not listed are removed. Making the policy the default takes that role
    from the previous default.
    """
    if not reason.strip():
        raise InvalidInput(_("a reason is required to change a policy"), field="reason")
    if not stages:
        raise InvalidInput(_("a policy needs at least one stage"), field="stages")
    offsets = [s["offset_days"] for s in stages]
    if len(set(offsets)) != len(offsets):
        raise InvalidInput(_("two stages fall on the same day"), field="stages")
    policy = CollectionsPolicy.objects.select_for_update().get(pk=policy.pk)
    before = policy_state(policy)
    was_default = policy.is_default
    old = {s.pk: s for s in policy.stages.all()}
    old_offset_at = {s.position: s.offset_days for s in old.values()}
    old_position = {pk: s.position for pk, s in old.items()}
    keep = {s["id"] for s in stages if s.get("id")}
    if keep - old.keys():
        raise InvalidInput(_("a stage belongs to another policy"), field="stages")

    unknown = set(settings) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidInput(_("unknown policy settings: %(names)s"), field="settings", names=", ".join(sorted(unknown)))
    if was_default and settings.get("is_default") is False:
        raise InvalidInput(_("there must be a default policy: make another policy the default instead"), field="is_default")
    if settings.get("is_default") and not was_default:
        CollectionsPolicy.objects.filter(is_default=True).exclude(pk=policy.pk).update(is_default=False)
    for name, value in settings.items():
        setattr(policy, name, value)

    policy.stages.exclude(pk__in=keep).delete()
    policy.stages.update(position=F("position") + _PARKED)
    ordered = sorted(stages, key=lambda s: s["offset_days"])
    for position, data in enumerate(ordered, start=1):
        stage = old[data["id"]] if data.get("id") else PolicyStage(policy=policy)
        for name in STAGE_FIELDS:
            setattr(stage, name, data[name])
        stage.position = position
        stage.save()

    moved = {}
    for position, offset in old_offset_at.items():
        reached = 0
        for data in ordered:
            done = (old_position[data["id"]] <= position if data.get("id") in old_position
                    else data["offset_days"] <= offset)
            if not done:
                break
            reached += 1
        if reached != position:
            moved[position] = reached
    if moved:
        _governed_invoices(policy, was_default).filter(collections_stage__in=list(moved)).update(
            collections_stage=Case(*[When(collections_stage=k, then=Value(v)) for k, v in moved.items()],
                                   default=F("collections_stage"), output_field=IntegerField()))

    policy.version += 1
    policy.updated_at = timezone.now()
    policy.save()
    record(actor=actor, action="collections.policy_changed", obj=policy, before=before, after=policy_state(policy),
           reason=reason)
    return policy


@transaction.atomic
def copy_policy(policy: CollectionsPolicy, *, actor) -> CollectionsPolicy:
    """A new, non-default policy with the same settings and stages, to adapt for some customers."""
    base = f"{policy.name} (copy)"
    name, n = base, 2
    while CollectionsPolicy.objects.filter(name=name).exists():
        name, n = f"{base} {n}", n + 1
    copy = CollectionsPolicy.objects.create(
        name=name[:100], description=policy.description, is_default=False, min_overdue_amount=policy.min_overdue_amount,
        grace_days=policy.grace_days, invoice_scope=policy.invoice_scope,
        deletion_warning_days=list(policy.deletion_warning_days or []), wait_for_fapiao=policy.wait_for_fapiao,
        updated_at=timezone.now())
    for stage in policy.stages.order_by("position"):
        PolicyStage.objects.create(policy=copy, position=stage.position, **{f: getattr(stage, f) for f in STAGE_FIELDS})
    record(actor=actor, action="collections.policy_created", obj=copy, after=policy_state(copy),
           reason=f"copied from {policy.name}")
    return copy


def sample_due_date(today: dt.date) -> dt.date:
    """The due date the policy pages use to show a worked example: the last day of next month."""
    first_next = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return (first_next + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
