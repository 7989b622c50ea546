"""SLA warnings before a deadline and breach notices after it, to the assignee and the team lead by email
and to the team's group bots (WeCom, DingTalk, Feishu).

Each alert is one SlaAlert row (clock + kind, unique): the row is the claim, so two workers running this at
once, or a rerun after a crash, never send one twice. Bots are posted to after the row commits.
"""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.services import record
from partnerdesk.notifications.services import queue_email

from .chat_bots import BotTarget, post_to_bot
from .links import site_url
from .models import ACTIVE_STATUSES, SlaAlert, SlaClock, SlaTarget, TeamBot
from .queues import soon_clocks
from .sla import time_left

logger = logging.getLogger(__name__)

WARNING, BREACH = "warning", "breach"
STAFF_LANGUAGE = "zh-CN"  # staff read the desk in Chinese unless a template is edited
TARGET_WORDS = {
    "zh-CN": {SlaTarget.FIRST_RESPONSE: "首次响应", SlaTarget.NEXT_RESPONSE: "后续响应", SlaTarget.RESOLUTION: "解决"},
}


def _due(now: dt.datetime, warning_minutes: int):
    """Running clocks of active cases whose deadline is within the warning time (or past)."""
    # The same "breaching soon" as the queues (support.queues): in each clock's own time.
    due = Q(met_at__isnull=True, cancelled=False, deadline_at__lte=now) | soon_clocks(now, warning_minutes)
    return (SlaClock.objects.filter(due, deadline_at__isnull=False, case__status__in=ACTIVE_STATUSES)
            .filter(Q(warned_at__isnull=True, breach_notified_at__isnull=True)
                    | Q(breach_notified_at__isnull=True, deadline_at__lte=now))
            .select_related("case", "case__customer", "case__assignee", "case__team", "case__team__lead")
            .prefetch_related(Prefetch("case__team__bots", TeamBot.objects.filter(is_active=True),
                                       to_attr="active_bots")))


def send_sla_alerts(*, now: dt.datetime | None = None) -> dict:
    """Warn about deadlines coming up and report the ones passed; each once per clock."""
    from .services import desk_settings

    now = now or timezone.now()
    counts = {WARNING: 0, BREACH: 0}
    for clock in _due(now, desk_settings().breach_warning_minutes):
        # A deadline that passed between two runs gets its breach notice only: it says it all.
        kind = BREACH if clock.deadline_at <= now else WARNING
        if _alert_once(clock, kind, now):
            counts[kind] += 1
    return counts


def _alert_once(clock: SlaClock, kind: str, now: dt.datetime) -> bool:
    try:
        with transaction.atomic():
            SlaAlert.objects.create(clock=clock, kind=kind, created_at=now)
            field = "breach_notified_at" if kind == BREACH else "warned_at"
            updates = {field: now}
            if kind == BREACH:
                updates["breached_at"] = clock.breached_at or clock.deadline_at
            SlaClock.objects.filter(pk=clock.pk).update(**updates)
            context = _context(clock, now)  # (business time worked out once, for the emails and the bots)
            _queue_emails(clock, kind, context)
            record(actor=None, action=f"case.sla_{kind}", obj=clock.case, customer=clock.case.customer,
                   after={"target": clock.target, "deadline": clock.deadline_at.isoformat()})
            text = _bot_text(clock, kind, context)
            bots = list(clock.case.team.active_bots) if clock.case.team_id else []
            transaction.on_commit(lambda: _post_bots(bots, text), robust=True)
    except IntegrityError:
        return False  # another worker (or an earlier run) sent this one
    return True


def _recipients(clock: SlaClock) -> list:
    people = []
    case = clock.case
    for user in (case.assignee, case.team.lead if case.team_id else None):
        if user is not None and user.is_active and user.email and user not in people:
            people.append(user)
    return people


def _context(clock: SlaClock, now: dt.datetime) -> dict:
    case = clock.case
    left = time_left(clock, now)
    minutes = int(left.total_seconds() // 60) if left is not None else 0
    return {"case_token": case.token, "case_subject": case.subject, "customer_name": case.customer.name,
            "target": clock.target, "deadline": timezone.localtime(clock.deadline_at).strftime("%Y-%m-%d %H:%M"),
            "time_left": f"{minutes // 60}:{abs(minutes) % 60:02d}" if minutes >= 0 else f"-{abs(minutes) // 60}:{abs(minutes) % 60:02d}",
            "case_url": site_url() + reverse("support_case", args=[case.pk])}


def _queue_emails(clock: SlaClock, kind: str, context: dict) -> None:
    for user in _recipients(clock):
        queue_email(customer=None, to=user.email, language=STAFF_LANGUAGE, template_key=f"support.sla_{kind}",
                    context=context, dedupe_key=f"sla-{kind}-{clock.pk}-{user.pk}")


def _bot_text(clock: SlaClock, kind: str, c: dict) -> str:
    what = TARGET_WORDS["zh-CN"].get(clock.target, clock.target)
    if kind == BREACH:
        return f"【SLA 已超时】{c['case_token']} {c['case_subject']}（{c['customer_name']}）{what}期限 {c['deadline']} 已过。{c['case_url']}"
    return f"【SLA 即将超时】{c['case_token']} {c['case_subject']}（{c['customer_name']}）{what}期限 {c['deadline']}，剩余 {c['time_left']}。{c['case_url']}"


def _post_bots(bots: list[TeamBot], text: str) -> None:
    for bot in bots:
        result = post_to_bot(BotTarget(kind=bot.kind, url=bot.url, secret=bot.secret), text)
        if not result.ok:
            logger.warning("team bot %s (%s) refused an SLA alert: %s", bot.pk, bot.kind, result.error)
