"""Suspensions and reactivations the operator keeps refusing: an internal case for the collections team.

A request (dunning.OperatorRequest) that the operator refused with an answer that will never change is given up
by collections (status failed); one it keeps refusing for longer than EscalationSettings.failing_request_hours is
still retried. Either way it gets one internal case, however many workers look at once: the request's row is
taken with SELECT ... FOR UPDATE SKIP LOCKED, and StuckRequest's one-to-one on the request is the backstop. From
the case the request is retried or cancelled; the case hears when the operator accepts it at last.
"""

import datetime as dt
import logging

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk.audit.services import record
from partnerdesk.billing.documents import customer_zone
from partnerdesk.dunning.models import OperatorRequest, RequestStatus
from partnerdesk.errors import Conflict, status_word
from partnerdesk.service_messages import translate_system_text
from partnerdesk.support.models import CaseType, Channel, Severity

from .models import EscalationSettings, StuckRequest
from .targets import settings_row

logger = logging.getLogger(__name__)

# StuckRequest.outcome: blank while the case waits for a person.
RETRIED, CANCELLED, DONE = "retried", "cancelled", "done"
STAFF_LANGUAGE = "zh-CN"  # the staff's emails, as the desk's SLA alerts (support.alerts)
EMAIL_TEMPLATE = "escalations.reactivation_stuck"


def _stuck_requests(now: dt.datetime, hours: int):
    """Requests given up, or refused and still retried since longer than `hours`, with no case yet. (When the
    first refusal came is not kept: the request's creation stands for it, as it is tried when made.)"""
    since = now - dt.timedelta(hours=hours)
    return OperatorRequest.objects.filter(
        Q(status=RequestStatus.FAILED) | Q(status=RequestStatus.PENDING, attempts__gt=0, created_at__lte=since),
        stuck_case__isnull=True)


def open_cases_for_stuck_requests(now: dt.datetime | None = None, *, request_ids=None) -> int:
    """Open one internal case for each stuck request that has none (all, or those of `request_ids`); how many
    were opened. Safe to run in several workers at once."""
    now = now or timezone.now()
    config = settings_row()
    due = _stuck_requests(now, config.failing_request_hours)
    if request_ids is not None:
        due = due.filter(pk__in=list(request_ids))
    opened = 0
    for req_id in list(due.order_by("id").values_list("id", flat=True)[:500]):
        try:
            with transaction.atomic():
                # Another worker holding the row is opening its case: skipped here, never waited for.
                req = (OperatorRequest.objects.select_for_update(skip_locked=True, of=("self",))
                       .filter(pk=req_id).select_related("subscription", "customer").first())
                if req is None or StuckRequest.objects.filter(operator_request_id=req_id).exists():
                    continue
                if not (req.status == RequestStatus.FAILED or (req.status == RequestStatus.PENDING and req.attempts)):
                    continue  # it went through, or was cancelled, since it was listed
                _open_case(req, config, now)
                opened += 1
        except IntegrityError:
            continue  # a worker that did not lock (SQLite) opened it first: its case stands
    return opened


def _open_case(req: OperatorRequest, config: EscalationSettings, now: dt.datetime) -> StuckRequest:
    from partnerdesk.support.services import open_case

    reactivating = req.action == OperatorRequest.REACTIVATE
    # Written in the site's language: the desk's queues show the subject as it is. The panel on the case shows
    # the request live, in each reader's language.
    with translation.override(django_settings.LANGUAGE_CODE):
        subject, description = _case_text(req, now)
    case = open_case(customer=req.customer, subject=subject, description=description, actor=None,
                     type=CaseType.SUSPENSION_ACCESS, channel=Channel.INTERNAL, team=config.collections_team,
                     # The customer has paid and still has no access: urgent.
                     severity=Severity.B if reactivating else Severity.C,
                     subscriptions=[req.subscription], acknowledge=False, now=now)
    stuck = StuckRequest.objects.create(operator_request=req, case=case, opened_at=now)
    record(actor=None, action="operator_request.case_opened", obj=stuck, customer=req.customer,
           after={"operator_request": req.pk, "case": case.token, "status": req.status},
           reason=req.last_error[:2000])
    if reactivating:
        _email_collections_team(stuck, config)
    return stuck


def _case_text(req: OperatorRequest, now: dt.datetime) -> tuple[str, str]:
    values = {"customer": req.customer.name, "subscription": str(req.subscription)}
    if req.action == OperatorRequest.REACTIVATE:
        subject = gettext("Urgent: the operator refuses to reactivate %(subscription)s of %(customer)s (paid, "
                          "no access)") % values
    else:
        subject = gettext("The operator refuses to suspend %(subscription)s of %(customer)s") % values
    since = timezone.localtime(req.created_at, customer_zone(req.customer)).strftime("%Y-%m-%d %H:%M")
    state = (gettext("Given up after %(attempts)s attempts: the operator's answer will not change.")
             if req.status == RequestStatus.FAILED else
             gettext("Still retried: %(attempts)s attempts so far.")) % {"attempts": req.attempts}
    lines = [
        gettext("Customer: %(customer)s") % values,
        gettext("Subscription: %(subscription)s (operator id %(operator_id)s)") % {
            **values, "operator_id": req.subscription.operator_id},
        gettext("Asked for since: %(since)s") % {"since": since},
        state,
        gettext("The operator's last answer: %(answer)s") % {"answer": translate_system_text(req.last_error) or "—"},
        gettext("Why it was asked: %(reason)s") % {"reason": translate_system_text(req.reason)},
    ]
    if req.action == OperatorRequest.REACTIVATE:
        lines.append(gettext("The customer has paid and still has no access: fix it at the operator, then try the "
                             "request again from this case."))
    else:
        lines.append(gettext("Check the subscription at the operator, then try the request again or cancel it "
                             "from this case."))
    return subject[:300], "\n".join(lines)


def _email_collections_team(stuck: StuckRequest, config: EscalationSettings) -> None:
    """Tell the collections team's lead and members at once (each once, whatever runs again)."""
    from partnerdesk.notifications.services import queue_email
    from partnerdesk.support.links import site_url

    team = config.collections_team
    if team is None:
        logger.warning("Stuck reactivation %s: no collections team is set; its case %s waits unassigned",
                       stuck.operator_request_id, stuck.case.token)
        return
    people = [team.lead] if team.lead_id else []
    people += [user for user in team.members.order_by("id") if user not in people]
    req = stuck.operator_request
    with translation.override("zh-hans"):
        answer = translate_system_text(req.last_error)
    context = {"case_token": stuck.case.token, "case_subject": stuck.case.subject, "customer_name": req.customer.name,
               "subscription": str(req.subscription), "operator_answer": answer,
               "case_url": site_url() + reverse("support_case", args=[stuck.case_id])}
    for user in people:
        if user.is_active and user.email:
            queue_email(customer=None, to=user.email, language=STAFF_LANGUAGE, template_key=EMAIL_TEMPLATE,
                        context=context, dedupe_key=f"stuck-request-{req.pk}-{user.pk}")


# --- from the case ----------------------------------------------------------------------------------------


def _lock(stuck: StuckRequest) -> StuckRequest:
    return StuckRequest.objects.select_for_update().select_related(
        "case", "operator_request__subscription", "operator_request__customer").get(pk=stuck.pk)


def _check_open(stuck: StuckRequest) -> None:
    if stuck.outcome in (CANCELLED, DONE):
        raise Conflict(_("This request has ended: it is %(status)s."), field="status",
                       status=status_word(RequestStatus, stuck.operator_request.status))


def _who(actor) -> str:
    return actor.get_username() if actor is not None else "system"


@transaction.atomic
def retry_stuck_request(stuck: StuckRequest, *, actor) -> StuckRequest:
    """Try the request again now (pending, carried out by the worker at once); the case records it, and records
    the operator's answer when it comes."""
    from partnerdesk.dunning.services import retry_operator_request
    from partnerdesk.support.services import add_event

    stuck = _lock(stuck)
    _check_open(stuck)
    req = retry_operator_request(stuck.operator_request, actor=actor)
    before = {"outcome": stuck.outcome}
    stuck.outcome, stuck.ended_at = RETRIED, None
    stuck.save(update_fields=["outcome", "ended_at"])
    add_event(stuck.case, f"Tried again at the operator by {_who(actor)}.")
    record(actor=actor, action="stuck_request.retried", obj=stuck, customer=req.customer, before=before,
           after={"outcome": stuck.outcome, "operator_request": req.pk})
    stuck.operator_request = req
    return stuck


@transaction.atomic
def cancel_stuck_request(stuck: StuckRequest, *, actor, reason: str) -> StuckRequest:
    """Cancel the request (nothing more is asked of the operator); the case records it and who did."""
    from partnerdesk.dunning.services import cancel_operator_request
    from partnerdesk.support.services import add_event

    stuck = _lock(stuck)
    _check_open(stuck)
    req = cancel_operator_request(stuck.operator_request, actor=actor, reason=reason)
    before = {"outcome": stuck.outcome}
    stuck.outcome, stuck.ended_at = CANCELLED, timezone.now()
    stuck.save(update_fields=["outcome", "ended_at"])
    add_event(stuck.case, f"Cancelled by {_who(actor)}: {reason.strip()}")
    record(actor=actor, action="stuck_request.cancelled", obj=stuck, customer=req.customer, before=before,
           after={"outcome": stuck.outcome, "operator_request": req.pk}, reason=reason)
    stuck.operator_request = req
    return stuck


def follow_stuck_requests(*, request_ids=None) -> int:
    """Bring the cases in step with their requests: one the operator accepted at last (done) or that ended
    elsewhere (a payment cancelled a suspension, say) ends its case's wait; one given up again after a retry is
    told on its case. How many cases heard something."""
    waiting = StuckRequest.objects.filter(outcome__in=["", RETRIED])
    if request_ids is not None:
        waiting = waiting.filter(operator_request_id__in=list(request_ids))
    changed = 0
    for stuck_id in list(waiting.values_list("pk", flat=True)):
        with transaction.atomic():
            stuck = _lock(StuckRequest(pk=stuck_id))
            if _follow(stuck):
                changed += 1
    return changed


def _follow(stuck: StuckRequest) -> bool:
    from partnerdesk.support.services import add_event

    req = stuck.operator_request
    if stuck.outcome not in ("", RETRIED):
        return False
    if req.status == RequestStatus.DONE:
        outcome = DONE
        add_event(stuck.case, f"The operator accepted it: the subscription is {req.subscription.status}.")
    elif req.status in (RequestStatus.CANCELLED, RequestStatus.SKIPPED):
        outcome = CANCELLED
        add_event(stuck.case, "The request ended without the operator's change (cancelled or no longer needed).")
    elif req.status == RequestStatus.FAILED and stuck.outcome == RETRIED:
        outcome = ""  # waiting for a person again
        add_event(stuck.case, f"The operator refused it again and it was given up: {req.last_error}")
    else:
        return False
    before = {"outcome": stuck.outcome}
    stuck.outcome, stuck.ended_at = outcome, (timezone.now() if outcome else None)
    stuck.save(update_fields=["outcome", "ended_at"])
    record(actor=None, action="stuck_request.followed", obj=stuck, customer=req.customer, before=before,
           after={"outcome": outcome, "request_status": req.status})
    return True


def stuck_requests_pass(now: dt.datetime | None = None) -> dict:
    """One pass of the worker: open the cases due, and bring the open ones in step with their requests."""
    return {"opened": open_cases_for_stuck_requests(now), "followed": follow_stuck_requests()}
