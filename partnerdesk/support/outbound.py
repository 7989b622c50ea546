"""The desk's mail out, through notifications (the one email path): acknowledgements and public replies.

Every subject carries the case token ([#PD-123]) and every reply the threading headers, so the customer's
answer finds its case whatever the mail client keeps. Acknowledgements are automatic mail (Auto-Submitted:
auto-replied, RFC 3834); an agent's reply is a person's and goes without it.
"""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from partnerdesk.customers.models import DJANGO_LANGUAGE
from partnerdesk.notifications.services import queue_email

from . import statements
from .links import answer_url
from .models import Case, CaseMessage, Direction, SupportInformation

TARGET_WITHIN_HOURS = _("within %(hours)s working hours (09:00-18:00 Beijing time on working days)")
TARGET_AROUND_THE_CLOCK = _("within %(hours)s hours, around the clock")


def response_target_text(case: Case, language: str, policy=None) -> str:
    """The first-response target of the case's severity, as the customer reads it (policy: the case's, if read)."""
    from .sla import policy_for

    policy = policy or policy_for(case.severity, case.type)
    hours = policy.first_response_minutes / 60
    hours_text = f"{hours:g}"
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        template = TARGET_AROUND_THE_CLOCK if policy.around_the_clock else TARGET_WITHIN_HOURS
        return str(template) % {"hours": hours_text}


def support_information(language: str) -> dict:
    """The published support information (hours, channels, process) in a language, empty where unset."""
    from .mail import batch as mail_batch

    batch = mail_batch.current()  # email in: read once a batch
    if batch is not None and language in batch.support_information:
        return dict(batch.support_information[language])
    row = SupportInformation.objects.filter(language=language).first()
    if row is None:
        from .publication import default_information

        info = default_information(language)
    else:
        info = {"support_hours": row.hours, "support_channels": row.channels, "support_process": row.process}
    if batch is not None:
        batch.support_information[language] = dict(info)
    return info


def _threading(case: Case) -> dict:
    """In-Reply-To the customer's latest mail, References to all the case's mail (RFC 5322 3.6.4)."""
    ids = []
    for message_id, email_ids in _message_ids(case):
        if message_id:
            ids.append(f"<{message_id}>")
        ids.extend(email_ids)
    inbound = (CaseMessage.objects.filter(case=case, direction=Direction.INBOUND).exclude(message_id="")
               .order_by("-created_at", "-id").values_list("message_id", flat=True).first())
    headers = {}
    if inbound:
        headers["In-Reply-To"] = f"<{inbound}>"
    if ids:
        headers["References"] = " ".join(dict.fromkeys(ids[-20:]))  # the last 20: a header has a size
    return headers


def _message_ids(case: Case):
    for message in case.messages.exclude(kind="internal").exclude(kind="event").prefetch_related("emails"):
        yield message.message_id, [e.message_id for e in message.emails.all() if e.message_id]


def _base_context(case: Case) -> dict:
    return {"customer_name": case.customer.name, "case_token": case.token, "case_subject": case.subject,
            "requester_name": case.requester_name, **support_information(case.language)}


def queue_acknowledgement(case: Case, *, actor, in_reply_to: str = "", first: CaseMessage | None = None,
                          policy=None) -> None:
    """Tell the requester the case's number, the response target and how support works (first: the case's first
    message and policy: its SLA policy, when the caller has them)."""
    headers = {"Auto-Submitted": "auto-replied"}
    if in_reply_to:
        headers["In-Reply-To"] = f"<{in_reply_to}>"
        headers["References"] = f"<{in_reply_to}>"
    context = {**_base_context(case), "response_target": response_target_text(case, case.language, policy)}
    email = queue_email(customer=case.customer, to=case.requester_email, language=case.language, actor=actor,
                        template_key="support.acknowledgement", context=context, headers=headers,
                        dedupe_key=f"support-ack-{case.pk}")
    first = first or case.messages.order_by("id").first()
    if first is not None:
        statements.link(first, "emails", [email])  # (email in opens cases by the hundred: compiled once)


def queue_public_reply(case: Case, message: CaseMessage, *, actor, resolution: bool = False) -> None:
    """Email a public reply to the requester, CC'ing the case's contacts; a resolution carries the link to
    confirm or reopen, and (once per case) the request to score."""
    context = {**_base_context(case), "message": message.body, "agent_name": _agent_name(actor)}
    if resolution:
        context["answer_url"] = answer_url(case, message)
        # Asked once per case: by this email, and on the case in the portal (which asks without an email too).
        context["ask_score"] = case.survey_sent_at is None and case.satisfaction_score is None
        if context["ask_score"]:
            case.survey_sent_at = message.created_at
            Case.objects.filter(pk=case.pk).update(survey_sent_at=message.created_at)
    if not case.requester_email:
        return  # a case opened by phone with no address: the portal shows the reply
    email = queue_email(customer=case.customer, to=case.requester_email, language=case.language, actor=actor,
                        template_key="support.resolution" if resolution else "support.reply", context=context,
                        headers=_threading(case), cc=[a for a in case.cc if a != case.requester_email.lower()],
                        dedupe_key=f"support-message-{message.pk}")
    message.emails.add(email)


def _agent_name(actor) -> str:
    if actor is None:
        return ""
    return actor.get_full_name() or actor.get_username()
