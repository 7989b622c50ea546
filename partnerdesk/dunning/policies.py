"""Which policy governs which customer, and on which due dates each stage falls."""

import datetime as dt
from dataclasses import dataclass

from .models import CollectionsPolicy, CollectionsProfile, DayKind, PolicyStage

DEFAULT_STAGES = [
    # name, offset, template, notice, call, suspend
    ("Reminder", -3, "collections.reminder", True, False, False),
    ("First notice", 1, "collections.notice", True, False, False),
    ("Second notice", 7, "collections.notice", True, False, False),
    ("Final notice", 14, "collections.notice", True, True, False),
    ("Suspension", 21, "collections.notice", False, False, True),
]


def create_default_policy(policy_model=CollectionsPolicy, stage_model=PolicyStage) -> CollectionsPolicy:
    """The standard policy: reminder 3 days before due, notices at +1, +7, +14, suspension at +21,
    data-deletion warnings 45 and 55 days after suspension (the operator deletes at 60)."""
    policy = policy_model.objects.create(
        name="Standard", is_default=True, deletion_warning_days=[45, 55],
        description="Reminder 3 days before the due date; notices 1, 7 and 14 days after; "
                    "subscriptions suspended 21 days after the due date.")
    for position, (name, offset, template, notice, call, suspend) in enumerate(DEFAULT_STAGES, start=1):
        stage_model.objects.create(policy=policy, position=position, name=name, offset_days=offset, template_key=template,
                                   send_notice=notice, call_task=call, suspend=suspend, day_kind=DayKind.CALENDAR)
    return policy


def default_policy() -> CollectionsPolicy:
    """The default policy (created on first use if an admin deleted them all)."""
    return CollectionsPolicy.objects.filter(is_default=True).first() or create_default_policy()


def policy_for(customer) -> CollectionsPolicy | None:
    """The policy that governs a customer, or None if the customer is exempt."""
    profile = CollectionsProfile.objects.filter(customer=customer).select_related("policy").first()
    if profile is not None and profile.exempt:
        return None
    if profile is not None and profile.policy is not None:
        return profile.policy
    return default_policy()


def stage_date(due_date: dt.date, stage: PolicyStage, grace_days: int = 0) -> dt.date:
    """The day a stage falls due for an invoice due on `due_date` (the grace period delays overdue stages)."""
    from partnerdesk.workdays.services import shift

    offset = stage.offset_days + (grace_days if stage.offset_days > 0 else 0)
    return shift(due_date, offset, stage.day_kind)


def due_date_threshold(stage: PolicyStage, as_of: dt.date, grace_days: int = 0) -> dt.date:
    """The latest due date for which the stage has fallen due by `as_of`."""
    offset = stage.offset_days + (grace_days if stage.offset_days > 0 else 0)
    candidate = as_of - dt.timedelta(days=offset)
    if stage.day_kind == DayKind.CALENDAR:
        return candidate
    # stage_date is non-decreasing in the due date: walk to the boundary.
    if stage_date(candidate, stage, grace_days) <= as_of:
        while stage_date(candidate + dt.timedelta(days=1), stage, grace_days) <= as_of:
            candidate += dt.timedelta(days=1)
    else:
        while stage_date(candidate, stage, grace_days) > as_of:
            candidate -= dt.timedelta(days=1)
    return candidate


@dataclass
class InvoiceSchedule:
    """The concrete dates of one open invoice under a policy: what the published policy shows."""

    stage: PolicyStage
    date: dt.date


def schedule_for_invoice(policy: CollectionsPolicy, due_date: dt.date) -> list[InvoiceSchedule]:
    """Each stage of the policy with the day it falls due for an invoice due on `due_date`."""
    return [InvoiceSchedule(s, stage_date(due_date, s, policy.grace_days)) for s in policy.stages.order_by("position")]


def suspension_date(policy: CollectionsPolicy, due_date: dt.date) -> dt.date | None:
    """When access is suspended for an invoice due on `due_date` left unpaid (None if the policy never suspends)."""
    stage = policy.stages.filter(suspend=True).order_by("position").first()
    return stage_date(due_date, stage, policy.grace_days) if stage else None
