"""What each audit action is called in the reader's language. The log stores the action's code (what the
filter matches and the API returns); pages show this label, with the code beside it for searching."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "api_token.created": _("API token created"),
    "api_token.revoked": _("API token revoked"),
    "calendar.year_loaded": _("Working-day calendar loaded"),
    "case.assigned": _("Case assigned"),
    "case.attachment_added": _("File attached to a case"),
    "case.closed": _("Case closed"),
    "case.closed_automatically": _("Case closed automatically"),
    "case.customer_replied": _("Customer wrote on a case"),
    "case.first_response": _("First response sent on a case"),
    "case.merge_received": _("Another case merged into this one"),
    "case.merged": _("Case merged into another"),
    "case.message_sent": _("Reply sent on a case"),
    "case.note_added": _("Internal note added to a case"),
    "case.opened": _("Case opened"),
    "case.reopened": _("Case reopened by the customer"),
    "case.reopened_bounce": _("Case reopened: its resolution bounced"),
    "case.replied": _("Case answered"),
    "case.resolved": _("Case resolved"),
    "case.scored": _("Customer's satisfaction score recorded"),
    "case.sla_breach": _("SLA deadline passed: notice sent"),
    "case.sla_warning": _("SLA deadline near: warning sent"),
    "case.status_changed": _("Case status changed"),
    "case.updated": _("Case details changed"),
    "calendar.year_set": _("Working-day calendar corrected"),
    "collections.call_closed": _("Collections call no longer needed"),
    "collections.call_done": _("Collections call made"),
    "collections.policy_acknowledged": _("Collections policy acknowledged"),
    "collections.policy_changed": _("Collections policy changed"),
    "collections.policy_created": _("Collections policy created"),
    "collections.profile_changed": _("Customer's collections settings changed"),
    "collections.run": _("Collections run"),
    "contact.added": _("Contact added"),
    "contact.removed": _("Contact removed"),
    "contact.updated": _("Contact updated"),
    "credit_note.issued": _("Credit note issued"),
    "credit_limit.set": _("Credit limit or budget set"),
    "credit_limit.changed": _("Credit limit or budget changed"),
    "credit_limit.removed": _("Credit limit or budget removed"),
    "credit_limit.warning_sent": _("Customer warned of its credit limit or budget (80% or 100%)"),
    "customer.created": _("Customer created"),
    "customer.owner_changed": _("Customer's owner changed"),
    "customer.updated": _("Customer updated"),
    "dispute.amount_changed": _("Disputed amount changed"),
    "dispute.opened": _("Dispute opened"),
    "dispute.resolved": _("Dispute resolved"),
    "email.bounced": _("Email bounced"),
    "email.failed": _("Email failed"),
    "email.queued": _("Email queued"),
    "email.retried": _("Email queued to be sent again"),
    "email.sent": _("Email sent"),
    "email_template.reset": _("Email template reset"),
    "email_template.updated": _("Email template edited"),
    # fraud monitoring (fraud.alerts, fraud.services, fraud.controls)
    "customer_risk.changed": _("Customer's fraud controls changed (prepayment, held orders)"),
    "fraud_alert.opened": _("Fraud alert opened"),
    "fraud_alert.confirmed": _("Fraud alert confirmed"),
    "fraud_alert.dismissed": _("Fraud alert dismissed as a false alarm"),
    "fraud_alert.expected": _("Fraud alert marked as expected"),
    "fraud_alert.cleared": _("Fraud alert cleared"),
    "fraud_alert.action_taken": _("Action taken on a fraud alert"),
    "fraud_alert.action_failed": _("Action on a fraud alert failed at the operator"),
    "fraud_alert.action_undone": _("Action of a fraud alert undone"),
    "fraud_pattern.added": _("Expected pattern added (no fraud alerts for it)"),
    "fraud_pattern.removed": _("Expected pattern removed"),
    "fraud.rule_set": _("Fraud signal rule set"),  # (fraud.rule_services)
    "fraud.rule_removed": _("Fraud signal rule removed"),
    "fraud.settings_changed": _("Fraud monitoring settings changed"),
    "fapiao.buyer_details_changed": _("Fapiao invoicing details changed"),
    "fapiao.delivered": _("Fapiao delivered to the buyer"),
    "fapiao.issued": _("Fapiao issued"),
    "fapiao.request_reduced": _("Fapiao request reduced after a credit note"),
    "fapiao.request_withdrawn": _("Fapiao request withdrawn after a credit note"),
    "fapiao.requested": _("Fapiao requested"),
    "fapiao.reversal_reason_changed": _("Red-letter reason changed"),
    "fapiao.reversal_requested": _("Red-letter reversal of a fapiao requested"),
    "fapiao.reversed": _("Fapiao reversed by a red-letter fapiao"),
    "invoice.created": _("Invoice created"),
    "invoice.credited": _("Invoice credited"),
    "invoice.draft_updated": _("Draft invoice edited"),
    "invoice.issued": _("Invoice issued"),
    "invoice.reopened": _("Invoice owed again (payment taken off)"),
    "invoice.voided": _("Invoice voided"),
    "price_rule.deleted": _("Price rule deleted"),
    "price_rule.saved": _("Price rule saved"),
    "rebilling.adjustment_added": _("Adjustment added to a draft invoice"),
    "rebilling.draft_created": _("Draft invoice generated from the operator's lines"),
    "rebilling.draft_deleted": _("Draft invoice removed with its operator lines"),
    "rebilling.draft_updated": _("Operator lines added to a draft invoice"),
    "rebilling.lines_released": _("Operator lines taken off a draft invoice"),
    "recon_mapping.created": _("Unmatched operator lines mapped to a customer"),
    "recon_file.imported": _("Operator reconciliation file imported"),
    "recon_file.replaced": _("Operator reconciliation file replaced by a corrected one"),
    "mail.discarded": _("Incoming email discarded"),
    "mail.filed": _("Incoming email filed by hand"),
    "mail.received": _("Email received"),
    "operator_invoice.recorded": _("21Vianet invoice recorded"),
    "operator_invoice.updated": _("21Vianet invoice corrected or its due date set"),
    "operator_invoice.payment_recorded": _("Payment to 21Vianet recorded"),
    "operator_invoice.warning_sent": _("Finance warned of a 21Vianet due date"),
    "finance_settings.updated": _("Finance settings changed"),
    "operator_request.queued": _("Suspension or reactivation asked for by hand"),
    "operator_request.retried": _("Operator request tried again"),
    "operator_request.given_up": _("Operator request given up (the operator's answer will not change)"),
    "operator_request.cancelled": _("Operator request cancelled"),
    "operator_request.case_opened": _("Case opened for an operator request that keeps failing"),
    "service_request.note_sent": _("Our note sent to 21Vianet"),
    "service_request.refused": _("Service request refused by 21Vianet"),
    "escalations.settings_changed": _("Escalation settings changed"),
    "stuck_request.retried": _("Failing operator request tried again from its case"),
    "stuck_request.cancelled": _("Failing operator request cancelled from its case"),
    "stuck_request.followed": _("Failing operator request's case brought up to date"),
    "payment.allocated": _("Payment applied to an invoice"),
    "payment.allocation_moved": _("Payment moved to another invoice"),
    "payment.recorded": _("Payment recorded"),
    "payment.refunded": _("Payment refunded"),
    "payment_instructions.updated": _("Payment instructions changed"),
    "payment.reversed": _("Payment reversed"),
    "promise.added": _("Promise to pay recorded"),
    "subscription.reactivate_write_failed": _("Subscription reactivated at the operator; recording it failed, "
                                              "the operator's state was copied"),
    "subscription.reactivated": _("Subscription reactivated"),
    "subscription.suspend_write_failed": _("Subscription suspended at the operator; recording it failed, "
                                           "the operator's state was copied"),
    "subscription.suspended": _("Subscription suspended"),
    "subscription.synced": _("Subscription updated from the operator"),
    "support.canned_reply_changed": _("Canned reply changed"),
    "support.canned_reply_created": _("Canned reply created"),
    "support.canned_reply_deleted": _("Canned reply deleted"),
    "support.settings_changed": _("Support desk settings changed"),
    "support.sla_policies_changed": _("SLA targets changed"),
    "support_information.reset": _("Published support information back to the built-in text"),
    "support_information.updated": _("Published support information changed"),
    "team.changed": _("Team changed"),
    "team.created": _("Team created"),
    "user.changed": _("User's role or teams changed"),
    "user.created": _("User created"),
    "user.deactivated": _("User deactivated"),
    "user.invitation_accepted": _("Invitation accepted"),
    "user.invitation_resent": _("Invitation sent again"),
    "user.invited": _("User invited"),
    "user.reactivated": _("User reactivated"),
}


def codes_named(text: str) -> list[str]:
    """The actions whose name, in the active language or in English, contains `text` ("收款" finds the payment
    actions), for the log's filter."""
    from django.utils import translation

    text = text.strip().lower()
    if not text:
        return []
    with translation.override("en"):
        english = {code: str(label).lower() for code, label in ACTION_LABELS.items()}
    return sorted(code for code, label in ACTION_LABELS.items() if text in str(label).lower() or text in english[code])


def action_label(code: str) -> str:
    """The action's name in the active language; an action without one shows as its code."""
    return str(ACTION_LABELS.get(code, code))


# --- who acted and on what, as the log keeps them (in English), shown in the reader's language -------------------
# The log stores `actor_label` and `object_repr` as written (the API and CSV keep them so); pages show these.

SYSTEM_ACTOR_LABEL = _("PartnerDesk (automatic)")

_OBJECT_PATTERNS = [  # (object type or None for any, pattern of the stored text, how it reads)
    ("billing.invoice", r"draft #(?P<id>\d+)", _("draft invoice #%(id)s")),
    ("billing.payment", r"(?P<currency>[A-Z]{3}) (?P<amount>-?[\d.]+) (?P<date>\d{4}-\d\d-\d\d) ?(?P<reference>.*)",
     _("payment of %(currency)s %(amount)s received on %(date)s %(reference)s")),
    ("billing.refund", r"refund (?P<amount>-?[\d.]+) of payment (?P<payment>\d+)",
     _("refund of %(amount)s from payment #%(payment)s")),
    ("billing.paymentinstructions", r"payment instructions", _("payment instructions")),
    ("notifications.outboundemail", r"(?P<template>[\w.]+) to (?P<to>.+)", _("email “%(template)s” to %(to)s")),
    ("notifications.emailtemplate", r"(?P<template>[\w.]+) \((?P<language>[\w-]+)\)",
     _("email template “%(template)s” (%(language)s)")),
    ("dunning.dispute", r"dispute of (?P<invoice>\S+) \((?P<status>.+)\)", _("dispute of %(invoice)s (%(status)s)")),
    ("dunning.promisetopay", r"promise to pay (?P<amount>-?[\d.]+) by (?P<date>\d{4}-\d\d-\d\d)",
     _("promise to pay %(amount)s by %(date)s")),
    ("dunning.calltask", r"call to customer (?P<id>\d+)", _("call to customer #%(id)s")),
    ("fapiao.fapiaorecord", r"fapiao request #(?P<id>\d+)", _("fapiao request #%(id)s")),
    ("support.casemessage", r"(?P<case>PD-\d+) #(?P<id>\d+)", _("message #%(id)s of case %(case)s")),
    ("support.casemessage", r"message (?P<id>\d+)", _("message #%(id)s")),
    ("support.inboundmail", r"mail (?P<id>\d+)", _("incoming email #%(id)s")),
    ("support.desksettings", r"desk settings", _("support desk settings")),
    ("payables.financesettings", r"FinanceSettings object \(\d+\)", _("finance settings")),  # (no __str__)
    ("fraud.expectedpattern", r"ExpectedPattern object \((?P<id>\d+)\)", _("expected pattern #%(id)s")),  # (no __str__)
    ("fraud.customerrisk", r"CustomerRisk object \((?P<id>\d+)\)", _("fraud controls #%(id)s")),  # (no __str__)
    ("fraud.creditlimit", r"CreditLimit object \((?P<id>\d+)\)", _("credit limit or budget #%(id)s")),  # (no __str__)
    ("fraud.signalrule", r"SignalRule object \((?P<id>\d+)\)", _("fraud signal rule #%(id)s")),  # (no __str__)
    ("fraud.fraudsettings", r"FraudSettings object \(\d+\)", _("fraud monitoring settings")),  # (no __str__)
    ("support.supportinformation", r"(?P<language>[\w-]+)", _("support information (%(language)s)")),
]


def actor_name(actor_label: str, actor_id=None) -> str:
    """Who acted, as the reader reads it: PartnerDesk's own work (no user) is named in the reader's language."""
    from partnerdesk.audit.models import SYSTEM_ACTOR

    if actor_id is None and actor_label == SYSTEM_ACTOR:
        return str(SYSTEM_ACTOR_LABEL)
    return actor_label


def _template_name(key: str) -> str:
    from partnerdesk.notifications.catalogue import template_label

    return template_label(key)


def object_name(object_type: str, object_repr: str) -> str:
    """What an entry is about, in the reader's language where PartnerDesk named it ("draft #21", an email's
    template); a name someone gave (a customer, an invoice number) as it is."""
    import re

    from django.utils.translation import gettext

    from partnerdesk.service_messages import translate_system_name

    for kind, pattern, text in _OBJECT_PATTERNS:
        found = re.fullmatch(pattern, object_repr or "", re.S)
        if found and kind == object_type:
            values = found.groupdict()
            if "template" in values:
                values["template"] = _template_name(values["template"])
            if values.get("to") == "(no address)":
                values["to"] = gettext("no address")
            if "status" in values:
                values["status"] = gettext(values["status"])
            return (str(text) % values).strip()
    return translate_system_name(object_repr or "")
