"""The email templates PartnerDesk sends: each one's name and purpose, and the variables a template may use.

They live beside the templates (notifications.defaults) so that pages, forms and the audit trail read them
from here rather than from one another."""

from django.utils.translation import gettext_lazy

# What each template is for, in the order a customer meets them.
TEMPLATES = {
    "invoice.issued": (gettext_lazy("Invoice issued"),
                       gettext_lazy("An invoice is issued; the invoice PDF, with how to pay, is attached.")),
    "collections.reminder": (gettext_lazy("Payment reminder"),
                             gettext_lazy("Before an invoice falls due.")),
    "collections.notice": (gettext_lazy("Overdue notice"),
                           gettext_lazy("An invoice is overdue; tells the customer when subscriptions will be suspended.")),
    "collections.suspended": (gettext_lazy("Subscriptions suspended"),
                              gettext_lazy("Subscriptions were suspended for non-payment; what to do, and when data goes.")),
    "collections.reactivated": (gettext_lazy("Subscriptions reactivated"),
                                gettext_lazy("Access is restored after payment.")),
    "collections.deletion_warning": (gettext_lazy("Data deletion warning"),
                                     gettext_lazy("The data of a still-suspended subscription will be deleted on a date.")),
    "accounts.invitation": (gettext_lazy("Staff invitation"),
                            gettext_lazy("An administrator invited a colleague; the link sets a password.")),
    "accounts.portal_invitation": (gettext_lazy("Portal invitation"),
                                   gettext_lazy("A customer's contact is invited to the portal; the link sets a password.")),
    "support.acknowledgement": (gettext_lazy("Case acknowledgement"),
                                gettext_lazy("A case was opened: its number, the response target and how support "
                                             "works; a reply adds to the case.")),
    "support.reply": (gettext_lazy("Reply on a case"),
                      gettext_lazy("An agent's public reply on a case, signed by the agent.")),
    "support.resolution": (gettext_lazy("Case resolved"),
                           gettext_lazy("The resolution of a case, with the link to confirm it or say it is not "
                                        "solved, and (once per case) to score the help.")),
    "support.sla_warning": (gettext_lazy("SLA breach warning"),
                            gettext_lazy("To the assignee and the team lead: a case's deadline is near.")),
    "support.sla_breach": (gettext_lazy("SLA breach"),
                           gettext_lazy("To the assignee and the team lead: a case missed its deadline.")),
    "escalations.reactivation_stuck": (gettext_lazy("Reactivation refused by the operator"),
                                       gettext_lazy("To the collections team: a customer has paid, but the operator "
                                                    "keeps refusing to reactivate its subscription.")),
    "escalations.reminder": (gettext_lazy("Operator late on a service request"),
                             gettext_lazy("To the case's agent: 21Vianet has not answered a service request within "
                                          "its first-response target, or not closed it within its resolution "
                                          "target.")),
    "escalations.attention": (gettext_lazy("Operator needs our answer"),
                              gettext_lazy("To the case's agent: 21Vianet marked a service request as needing our "
                                           "attention.")),
    "escalations.closed": (gettext_lazy("Service request closed: tell the customer"),
                           gettext_lazy("To the case's agent: 21Vianet closed a service request; the case is back "
                                        "with one task, telling the customer the outcome.")),
    "payables.due_warning": (gettext_lazy("Operator invoice falling due"),
                             gettext_lazy("To finance: an invoice from 21Vianet falls due within the warning days "
                                          "and is not paid in full (once per invoice and due date).")),
    "limits.warning": (gettext_lazy("Credit limit or budget at 80%"),
                       gettext_lazy("To the customer's billing contacts: its credit limit or monthly budget is 80 "
                                    "percent used (once per limit and month).")),
    "limits.reached": (gettext_lazy("Credit limit or budget used up"),
                       gettext_lazy("To the customer's billing contacts: its credit limit or monthly budget is used up "
                                    "(once per limit and month).")),
    "limits.agent_warning": (gettext_lazy("Customer's credit limit or budget at 80% or 100%"),
                             gettext_lazy("To the account's agent: the customer was warned that its credit limit or "
                                          "budget is 80 percent or fully used.")),
    "support.too_large": (gettext_lazy("Email too large"),
                          gettext_lazy("To a sender whose email was over the size limit: it was not filed, and "
                                       "how to send large files.")),
}

# Templates that carry what a person wrote (an agent's reply): the only mail sent without Auto-Submitted.
PERSONAL_TEMPLATES = frozenset({"support.reply", "support.resolution"})

# The variables a template may use (the senders pass them; see notifications.defaults).
VARIABLES = {
    "customer_name": gettext_lazy("The customer's company name."),
    "invoice_number": gettext_lazy("The invoice number."),
    "amount_due": gettext_lazy("The amount due, with thousands separators."),
    "amount_disputed": gettext_lazy("Collections notices: the part of the invoice under an open dispute, not being "
                                    "collected (empty when none)."),
    "currency": gettext_lazy("The currency code, such as CNY."),
    "due_date": gettext_lazy("The invoice's due date, written for the email's language."),
    "days_overdue": gettext_lazy("Days since the due date."),
    "suspension_date": gettext_lazy("When the subscriptions were or will be suspended."),
    "deletion_date": gettext_lazy("When the operator deletes the data of a subscription that is still suspended."),
    "subscriptions": gettext_lazy("The names of the subscriptions concerned, a list: the built-in text shows how to "
                                  "write one per line."),
    "partner_name": gettext_lazy("Your company's name (from the settings)."),
    "support_email": gettext_lazy("Where customers write for help."),
    "support_hours": gettext_lazy("When support answers."),
    "portal_url": gettext_lazy("The customer portal's address."),
    "invitation_url": gettext_lazy("The invitation link that sets a password (invitations only)."),
    "invited_by": gettext_lazy("Who sent the invitation."),
    "role_name": gettext_lazy("The invited colleague's role."),
    "expiry_date": gettext_lazy("The last day the invitation link works."),
    "case_token": gettext_lazy("The case's number, such as PD-123."),
    "case_subject": gettext_lazy("The case's subject."),
    "requester_name": gettext_lazy("The name of the person who asked, where known."),
    "response_target": gettext_lazy("The first-response target of the case's severity, in words."),
    "support_channels": gettext_lazy("How customers reach support (the published support information)."),
    "support_process": gettext_lazy("How support works (the published support information)."),
    "message": gettext_lazy("The agent's message (replies and resolutions)."),
    "agent_name": gettext_lazy("The agent who wrote the message."),
    "answer_url": gettext_lazy("The signed link where the customer confirms the resolution or says it is not solved."),
    "ask_score": gettext_lazy("Whether to ask for a satisfaction score (once per case)."),
    "target": gettext_lazy("The SLA target: first_response, next_response or resolution."),
    "severity": gettext_lazy("The case's severity: A, B or C."),
    "deadline": gettext_lazy("The SLA deadline, in Beijing time."),
    "time_left": gettext_lazy("The time left before the deadline."),
    "time_overdue": gettext_lazy("How long ago the deadline passed."),
    "case_url": gettext_lazy("The case's page in the desk (staff only)."),
    "size_limit": gettext_lazy("The largest email the desk accepts, such as 25 MB."),
    "mail_subject": gettext_lazy("The subject of the email that was refused."),
    "operator_reference": gettext_lazy("The operator's number of a service request (escalations)."),
    "request_title": gettext_lazy("The title of a service request to the operator (escalations)."),
    "subscription": gettext_lazy("The subscription concerned."),
    "operator_answer": gettext_lazy("The operator's last answer to the request."),
    "operator_invoice_number": gettext_lazy("The number of 21Vianet's invoice to the partner (payables)."),
    "payment_due_date": gettext_lazy("The last day to pay 21Vianet: the due date, or the next working day when "
                                     "banks are closed on it (payables)."),
    "days_left": gettext_lazy("Days left to pay 21Vianet on time (payables)."),
    "amount_late_charge": gettext_lazy("The late charge for one month late (payables)."),
    "payables_url": gettext_lazy("The operator invoice's page in PartnerDesk (staff only)."),
    "limit_kind": gettext_lazy("Credit limits: credit_limit (what the customer owes) or budget (the month's usage)."),
    "limit_level": gettext_lazy("Credit limits: the warning's level, 80 or 100 (percent)."),
    "limit_month": gettext_lazy("Credit limits: the month, written for the email's language."),
    "amount_limit": gettext_lazy("Credit limits: the limit or budget."),
    "amount_used": gettext_lazy("Credit limits: what counts against the limit now."),
    "amount_balance": gettext_lazy("Credit limits: the unpaid balance of the customer's invoices."),
    "amount_unbilled": gettext_lazy("Credit limits: usage charged by 21Vianet and not yet invoiced to the customer."),
    "percent_used": gettext_lazy("Credit limits: the percent of the limit used, a whole number."),
    "customer_url": gettext_lazy("The customer's page in PartnerDesk (staff only)."),
}


def template_label(key: str) -> str:
    """An email template's name ("Overdue notice") rather than its key."""
    return str(TEMPLATES[key][0]) if key in TEMPLATES else key
