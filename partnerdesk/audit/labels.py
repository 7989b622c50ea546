"""What each audit action is called in the reader's language. The log stores the action's code (what the
filter matches and the API returns); pages show this label, with the code beside it for searching."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "api_token.created": _("API token created"),
    "api_token.revoked": _("API token revoked"),
    "calendar.year_loaded": _("Working-day calendar loaded"),
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
    "customer.created": _("Customer created"),
    "customer.owner_changed": _("Customer's owner changed"),
    "customer.updated": _("Customer updated"),
    "dispute.opened": _("Dispute opened"),
    "dispute.resolved": _("Dispute resolved"),
    "email.bounced": _("Email bounced"),
    "email.failed": _("Email failed"),
    "email.queued": _("Email queued"),
    "email.retried": _("Email queued to be sent again"),
    "email.sent": _("Email sent"),
    "email_template.reset": _("Email template reset"),
    "email_template.updated": _("Email template edited"),
    "invoice.created": _("Invoice created"),
    "invoice.credited": _("Invoice credited"),
    "invoice.draft_updated": _("Draft invoice edited"),
    "invoice.issued": _("Invoice issued"),
    "invoice.reopened": _("Invoice owed again (payment taken off)"),
    "invoice.voided": _("Invoice voided"),
    "operator_request.retried": _("Operator request tried again"),
    "payment.allocated": _("Payment applied to an invoice"),
    "payment.allocation_moved": _("Payment moved to another invoice"),
    "payment.recorded": _("Payment recorded"),
    "payment.refunded": _("Payment refunded"),
    "payment.reversed": _("Payment reversed"),
    "promise.added": _("Promise to pay recorded"),
    "subscription.reactivate_write_failed": _("Subscription reactivated at the operator; recording it failed, "
                                              "the operator's state was copied"),
    "subscription.reactivated": _("Subscription reactivated"),
    "subscription.suspend_write_failed": _("Subscription suspended at the operator; recording it failed, "
                                           "the operator's state was copied"),
    "subscription.suspended": _("Subscription suspended"),
    "subscription.synced": _("Subscription updated from the operator"),
    "user.created": _("User created"),
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
