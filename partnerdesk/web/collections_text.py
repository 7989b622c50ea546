"""The collections process in words, in the active language: what happens on each stage, and when.

Used by the published policy (portal page, print version, PDF) and by the staff policy pages.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from partnerdesk.customers.models import DATA_DELETION_DAYS
from partnerdesk.dunning.models import DayKind, InvoiceScope, SuspendScope

from .templatetags.desk import money

# The actions engine.preview names.
PREVIEW_ACTIONS = {
    "reminder": gettext_lazy("Reminder"),
    "notice": gettext_lazy("Overdue notice"),
    "call": gettext_lazy("Phone call"),
    "suspend": gettext_lazy("Suspension"),
    "cancel": gettext_lazy("Cancellation flagged"),
    "deletion_warning": gettext_lazy("Data deletion warning"),
}

# The counts a collections run records.
RUN_COUNTS = {
    "due": gettext_lazy("Invoices due a stage"),
    "actions": gettext_lazy("Actions"),
    "emails": gettext_lazy("Emails queued"),
    "calls": gettext_lazy("Calls flagged"),
    "operator_requests": gettext_lazy("Operator requests"),
    "deletion_warnings": gettext_lazy("Deletion warnings"),
}


def join_list(items: list[str]) -> str:
    """ "45", "55" -> "45 and 55"; three or more: "30, 45 and 55" (in the active language)."""
    if len(items) < 2:
        return "".join(items)
    return _("%(items)s and %(last)s") % {"items": _(", ").join(items[:-1]), "last": items[-1]}


def effective_offset(stage, grace_days: int) -> int:
    """Days from the due date, the grace period included (it only delays the stages after the due date)."""
    return stage.offset_days + (grace_days if stage.offset_days > 0 else 0)


def stage_when(stage, grace_days: int = 0) -> str:
    """ "3 days before the due date", "21 days after the due date", "On the due date"."""
    offset = effective_offset(stage, grace_days)
    n = abs(offset)
    business = stage.day_kind == DayKind.BUSINESS
    if offset == 0:
        return _("On the due date")
    if offset < 0:
        if business:
            return ngettext("%(count)d business day before the due date",
                            "%(count)d business days before the due date", n) % {"count": n}
        return ngettext("%(count)d day before the due date", "%(count)d days before the due date", n) % {"count": n}
    if business:
        return ngettext("%(count)d business day after the due date",
                        "%(count)d business days after the due date", n) % {"count": n}
    return ngettext("%(count)d day after the due date", "%(count)d days after the due date", n) % {"count": n}


def stage_actions(stage) -> list[str]:
    """What the stage does, each as a clause addressed to the customer."""
    what = []
    if stage.send_notice:
        what.append(_("we send you a payment reminder") if stage.offset_days <= 0 else _("we send you an overdue notice"))
    if stage.call_task:
        what.append(_("we call your billing contact"))
    if stage.suspend:
        if stage.suspend_scope == SuspendScope.INVOICE:
            what.append(_("the subscriptions billed on the unpaid invoice are suspended: your users cannot sign in "
                          "to them; administrators can still reach the data"))
        else:
            what.append(_("your subscriptions are suspended: your users cannot sign in; administrators can still "
                          "reach the data"))
    if stage.cancel:
        what.append(_("your subscriptions may be cancelled"))
    return what


def stage_sentence(stage, grace_days: int = 0) -> str:
    """ "3 days before the due date, we send you a payment reminder." """
    what = stage_actions(stage) or [_("the invoice moves to the next stage")]
    return _("%(when)s, %(what)s.") % {"when": stage_when(stage, grace_days), "what": _("; ").join(what)}


@dataclass
class ProcessText:
    steps: list[str]
    deletion: str
    notes: list[str]


def process_text(policy, stages, currency: str = "CNY") -> ProcessText:
    """The whole process in words: one sentence per stage, data deletion, and the rules around them."""
    grace = policy.grace_days or 0
    steps = [stage_sentence(s, grace) for s in stages]
    deletion = ngettext(
        "If a suspended subscription is not reactivated, the operator (21Vianet) deletes all its data %(count)d day "
        "after suspension.",
        "If a suspended subscription is not reactivated, the operator (21Vianet) deletes all its data %(count)d days "
        "after suspension.", DATA_DELETION_DAYS) % {"count": DATA_DELETION_DAYS}
    notes = []
    warnings = list(policy.deletion_warning_days or [])
    if warnings and any(s.suspend for s in stages):
        notes.append(_("Before that happens, we warn you %(days)s days after suspension.")
                     % {"days": join_list([str(d) for d in warnings])})
    if any(s.suspend for s in stages):
        notes.append(_("Once the overdue balance is paid in full, we ask the operator to reactivate the suspended "
                       "subscriptions straight away."))
    if grace and any(s.offset_days > 0 for s in stages):
        notes.append(ngettext("The days after the due date include a grace period of %(count)d day.",
                              "The days after the due date include a grace period of %(count)d days.", grace)
                     % {"count": grace})
    if policy.min_overdue_amount and policy.min_overdue_amount > 0:
        notes.append(_("Nothing happens after the due date while your overdue balance is below %(amount)s.")
                     % {"amount": money(policy.min_overdue_amount, currency)})
    if policy.invoice_scope == InvoiceScope.UNPAID_ONLY:
        notes.append(_("Only invoices on which nothing has been paid go through this process."))
    if any(s.day_kind == DayKind.BUSINESS for s in stages):
        notes.append(_("Business days follow China's official working-day calendar (public holidays and make-up "
                       "working days)."))
    if policy.wait_for_fapiao:
        notes.append(_("Collections start only once the fapiao (VAT invoice) for an invoice has been delivered to you: "
                       "until then we send no reminder or notice for it and suspend nothing, and the days after the "
                       "due date count from the later of the due date and the day you received the fapiao."))
    notes.append(_("While you dispute an amount on an invoice, we do not collect that amount and take no action for "
                   "it until the dispute is settled; the rest of the invoice is collected as usual. While a promise to "
                   "pay agreed with us covers an invoice, we take no action on it."))
    notes.append(_("If a dispute is rejected, or upheld only in part, we tell you the day on which we resume collecting "
                   "what is still owed: the next step comes on that day, never a step whose date passed during the "
                   "dispute, and the later steps keep their usual spacing."))
    return ProcessText(steps, deletion, notes)
