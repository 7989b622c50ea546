"""Dispute cases: a customer disputes amounts of its invoices in a support case; an agent upholds (a credit note
for what is upheld) or rejects (collections resume on a stated date), and the customer is told in the case.

The disputes themselves are dunning's (the hold that collections respects): these functions open and end them
through dunning.services, the credit note through the ledger, and the conversation through support.services, so
the desk's close-the-loop rule holds: the case closes only once the decision reached the customer.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record
from partnerdesk.billing.models import Invoice
from partnerdesk.billing.services import issue_credit_note, parse_amount
from partnerdesk.customers.models import DJANGO_LANGUAGE, BillingContact
from partnerdesk.dunning import services as dunning
from partnerdesk.dunning.models import Dispute, DisputeOutcome, HoldStatus
from partnerdesk.errors import Conflict, InvalidInput, status_word
from partnerdesk.notifications.rendering import format_amount, format_date
from partnerdesk.support import services as support
from partnerdesk.support.models import Case, CaseStatus, CaseType, Channel

MAX_INVOICES = 50


# --- reading -------------------------------------------------------------------------------------------------


def open_disputes(case: Case) -> list[Dispute]:
    """The case's disputes still waiting for a decision, oldest first."""
    return list(Dispute.objects.filter(case=case, status=HoldStatus.OPEN).select_related("invoice").order_by("id"))


def disputed_amount(dispute: Dispute) -> Decimal:
    """What the dispute holds back: its amount capped at the invoice's open balance (a payment or credit may have
    landed since it was opened), or (a dispute that names none) that balance. See dunning.services.held_amount."""
    return dunning.held_amount(dispute)


# --- opening -------------------------------------------------------------------------------------------------


def _check_amount(invoice: Invoice, amount, field: str = "amount") -> Decimal:
    amount = parse_amount(amount, field=field, currency=invoice.currency)
    if not invoice.is_open or invoice.balance <= 0:
        raise Conflict(_("invoice %(number)s has nothing open to dispute"), field="invoice_id", number=str(invoice))
    if amount > invoice.balance:
        raise InvalidInput(_("invoice %(number)s has only %(amount)s open"), field=field, number=str(invoice),
                           amount=str(invoice.balance))
    return amount


def _subject(invoices, language: str) -> str:
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        return str(_("Dispute of invoice %(numbers)s") % {"numbers": ", ".join(i.number for i in invoices)})[:300]


@transaction.atomic
def open_dispute_case(*, customer, actor, amounts, reason: str, requester=None, channel: str = Channel.PORTAL,
                      attachments=()) -> Case:
    """Open a support case of type invoice_dispute for amounts of the customer's invoices: one dispute per
    invoice, each up to its open balance. `amounts`: [(invoice, amount)]; `requester`: a contact or a portal
    user of the customer (a customer's own user is always its own requester)."""
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip()
    if not reason:
        raise InvalidInput(_("say why the amount is wrong"), field="reason")
    amounts = list(amounts or [])
    if not amounts:
        raise InvalidInput(_("name at least one invoice and the amount disputed"), field="amounts")
    if len(amounts) > MAX_INVOICES:
        raise InvalidInput(_("at most %(count)s invoices"), field="amounts", count=MAX_INVOICES)
    checked, seen = [], set()
    for invoice, amount in amounts:
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.customer_id != customer.pk:
            raise InvalidInput(_("%(name)s belongs to another customer"), field="invoice_id", name=str(invoice))
        if invoice.pk in seen:
            raise InvalidInput(_("invoice %(number)s is named twice"), field="invoice_id", number=str(invoice))
        seen.add(invoice.pk)
        checked.append((invoice, _check_amount(invoice, amount)))
    contact = requester if isinstance(requester, BillingContact) else None
    user = requester if requester is not None and contact is None else None
    invoices = [invoice for invoice, _amount in checked]
    case = support.open_case(
        customer=customer, actor=actor, subject=_subject(invoices, contact.language if contact else customer.language),
        description=reason, type=CaseType.INVOICE_DISPUTE, channel=channel, requester_contact=contact,
        requester_user=user, invoices=invoices)
    if attachments:
        from partnerdesk.support.attachments import store_attachment

        for item in attachments:
            store_attachment(message=case.first_message, actor=actor, **item)
    for invoice, amount in checked:
        dunning.open_dispute(invoice=invoice, reason=reason, actor=actor, amount=amount, case=case)
    _record(case, "dispute_case.opened", actor, reason=reason, channel=channel,
            disputed=[_line(invoice, amount) for invoice, amount in checked])
    return case


@transaction.atomic
def dispute_in_case(case: Case, invoice: Invoice, amount, *, actor, reason: str = "",
                    channel: str = Channel.INTERNAL) -> Dispute:
    """Dispute an amount of an invoice in an existing case (an agent turns a question into a dispute, or adds an
    invoice; email in reads a dispute): the case becomes an invoice dispute linked to the invoice. Naming an
    invoice the case already disputes changes its amount."""
    case = Case.objects.select_for_update().select_related("customer").get(pk=case.pk)
    if not case.is_active:
        raise Conflict(_("case %(case)s is %(status)s"), field="status", case=case.token,
                       status=status_word(CaseStatus, case.status))
    # Lock order, as in uphold and reject: the case, its disputes, then invoices.
    list(Dispute.objects.select_for_update().filter(invoice_id=invoice.pk, status=HoldStatus.OPEN).order_by("id"))
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.customer_id != case.customer_id:
        raise InvalidInput(_("%(name)s belongs to another customer"), field="invoice_id", name=str(invoice))
    amount = _check_amount(invoice, amount)
    reason = bounds.clean_text(reason, field="reason", max_length=bounds.REASON_LENGTH).strip() or case.subject
    existing = Dispute.objects.filter(invoice=invoice, status=HoldStatus.OPEN).first()
    if existing is not None and existing.case_id != case.pk:
        raise Conflict(_("invoice %(number)s is already disputed in another case or on the collections page"),
                       field="invoice_id", number=str(invoice))
    if existing is not None:
        dispute = dunning.change_disputed_amount(existing, amount=amount, actor=actor, reason=reason)
    else:
        dispute = dunning.open_dispute(invoice=invoice, reason=reason, actor=actor, amount=amount, case=case)
    if case.type != CaseType.INVOICE_DISPUTE or not case.invoices.filter(pk=invoice.pk).exists():
        support.update_details(case=case, actor=actor, type=CaseType.INVOICE_DISPUTE,
                               invoices=[*case.invoices.all(), invoice], reason=reason)
    _record(case, "dispute_case.amount_disputed", actor, reason=reason, channel=channel,
            disputed=[_line(invoice, amount)])
    return dispute


# --- deciding ------------------------------------------------------------------------------------------------


def _lock(target) -> Case:
    """Lock the case a decision is about, first: two agents deciding two disputes of one case take turns (the
    second sees the first's decision, so the last one resolves the case), and every path locks case, disputes,
    invoices in that order."""
    case_id = target.pk if isinstance(target, Case) else Dispute.objects.filter(pk=target.pk).values_list(
        "case_id", flat=True).first()
    if case_id is None:
        raise Conflict(_("this dispute has no case to tell the customer in"), field="dispute_id")
    return Case.objects.select_for_update().get(pk=case_id)


def _the_dispute(target, field: str = "dispute_id") -> Dispute:
    """The open dispute a decision is about: the one given, or the only open one of a case."""
    if isinstance(target, Dispute):
        dispute = (Dispute.objects.select_for_update(of=("self",)).select_related("invoice", "case", "customer")
                   .get(pk=target.pk))
        if dispute.status != HoldStatus.OPEN:
            raise Conflict(_("the dispute of invoice %(number)s is already decided"), field=field,
                           number=str(dispute.invoice))
        return dispute
    disputes = _open_locked(target)
    if len(disputes) != 1:
        raise InvalidInput(_("the case has %(count)s open disputes: name the one decided"), field=field,
                           count=len(disputes))
    return disputes[0]


def _open_locked(case: Case) -> list[Dispute]:
    return list(Dispute.objects.select_for_update(of=("self",)).select_related("invoice", "case", "customer")
                .filter(case=case, status=HoldStatus.OPEN).order_by("id"))


def _lock_invoices(disputes) -> None:
    list(Invoice.objects.select_for_update().filter(pk__in=[d.invoice_id for d in disputes]).order_by("id"))


def _credit_reason(case: Case) -> str:
    """The credit note's reason, which the customer reads on its invoice: in the case's language."""
    with translation.override(DJANGO_LANGUAGE.get(case.language, "en")):
        return str(CREDIT_REASON % {"case": case.token})


CREDIT_REASON = _("Dispute upheld in %(case)s")


@transaction.atomic
def uphold(target, *, amount, actor, message: str = "", refund=None) -> Dispute:
    """Uphold a dispute in full or in part: a credit note for the upheld amount (the balance goes down), the
    dispute ends upheld or partly upheld, and the customer is told in the case. `target`: a dispute, or a case
    with one open dispute. An invoice paid in full meanwhile has nothing left to credit: the agent refunds the
    upheld amount through billing first and names that `refund` here."""
    case = _lock(target)
    dispute = _the_dispute(target)
    _lock_invoices([dispute])
    dispute.invoice.refresh_from_db()
    message = _message(message)
    disputed = disputed_amount(dispute)
    amount = parse_amount(amount, field="amount", currency=dispute.invoice.currency)
    note = None
    if disputed > 0:
        if refund is not None:
            raise InvalidInput(_("invoice %(number)s still has %(amount)s open: uphold with a credit note, not a "
                                 "refund"), field="refund_id", number=str(dispute.invoice), amount=str(disputed))
        if amount > disputed:
            raise InvalidInput(_("only %(amount)s is disputed"), field="amount", amount=str(disputed))
        note = issue_credit_note(invoice=dispute.invoice, amount=amount, actor=actor, reason=_credit_reason(case))
        outcome = DisputeOutcome.UPHELD if amount == disputed else DisputeOutcome.PARTLY_UPHELD
    else:
        # Paid in full while disputed: what is upheld goes back to the customer as a refund made in billing.
        claimed = dispute.amount if dispute.amount is not None else dispute.invoice.total
        if refund is None:
            raise Conflict(_("invoice %(number)s is paid in full, so there is nothing to credit: refund the upheld "
                             "amount through billing, then uphold naming that refund"), field="refund_id",
                           number=str(dispute.invoice))
        if amount > claimed:
            raise InvalidInput(_("only %(amount)s is disputed"), field="amount", amount=str(claimed))
        disputed = claimed
        outcome = DisputeOutcome.UPHELD if amount == claimed else DisputeOutcome.PARTLY_UPHELD
    dispute = dunning.end_dispute(dispute, outcome=outcome, actor=actor, resolution=_summary(message, outcome),
                                  upheld_amount=amount, credit_note=note, refund=refund, in_case=True)
    dispute.refund = refund
    _tell(dispute.case, [(dispute, disputed)], actor=actor, message=message)
    return dispute


@transaction.atomic
def reject(target, *, actor, resume_on: dt.date | None = None, message: str = "") -> list[Dispute]:
    """Reject a dispute (or every open dispute of a case): collections resume on resume_on (by default the date
    dunning works out; a day off moves it to the next working day), which the customer is told in the case."""
    _lock(target)
    disputes = [_the_dispute(target)] if isinstance(target, Dispute) else _open_locked(target)
    if not disputes:
        raise Conflict(_("the case has no open dispute"), field="dispute_id")
    _lock_invoices(disputes)
    message = _message(message)
    bounds.check_date(resume_on, field="resume_on")
    if resume_on is not None and resume_on < timezone.localdate():
        raise InvalidInput(_("collections cannot resume in the past"), field="resume_on")
    decided = []
    for dispute in disputes:
        dispute.invoice.refresh_from_db()
        disputed = disputed_amount(dispute)
        ended = dunning.end_dispute(dispute, outcome=DisputeOutcome.REJECTED, actor=actor, in_case=True,
                                    resolution=_summary(message, DisputeOutcome.REJECTED), resume_on=resume_on)
        decided.append((ended, disputed))
    _tell(disputes[0].case, decided, actor=actor, message=message)
    return [d for d, _disputed in decided]


def _summary(message: str, outcome) -> str:
    """The dispute's resolution: the agent's words, shortened to what a resolution holds (the whole message is
    the case's reply)."""
    text = message or (str(outcome.label) if outcome else "")
    return text if len(text) <= bounds.REASON_LENGTH else text[:bounds.REASON_LENGTH - 1] + "…"


def _message(message: str) -> str:
    return bounds.clean_text(message or "", field="message", max_length=bounds.NOTE_LENGTH).strip()


# --- telling the customer ------------------------------------------------------------------------------------

UPHELD_TEXT = _("We have upheld your dispute of invoice %(number)s: you disputed %(disputed)s and we have credited "
                "%(upheld)s with credit note %(credit_note)s. The invoice's balance is now %(balance)s.")
PARTLY_UPHELD_TEXT = _("We have upheld your dispute of invoice %(number)s in part: you disputed %(disputed)s and we "
                       "have credited %(upheld)s with credit note %(credit_note)s. The invoice's balance is now "
                       "%(balance)s.")
REJECTED_TEXT = _("We have reviewed your dispute of invoice %(number)s (%(disputed)s disputed) and found the charge "
                  "correct, so we cannot uphold it. The invoice's balance is %(balance)s.")
RESUME_TEXT = _("Collections of the amount still owed resume on %(date)s.")
PAID_TEXT = _("Nothing more is owed on this invoice.")
REFUNDED_TEXT = _("We have upheld your dispute of invoice %(number)s: you disputed %(disputed)s and, as the invoice "
                  "was already paid, we have refunded %(upheld)s to you.")


def decision_text(dispute: Dispute, disputed: Decimal, language: str) -> str:
    """The decision on one dispute as the customer reads it, in the case's language: the invoice, the disputed
    and upheld amounts, the credit note, the new balance and (while anything is owed) when collections resume."""
    invoice = Invoice.objects.get(pk=dispute.invoice_id)
    values = {"number": invoice.number, "disputed": _money(disputed, invoice.currency),
              "upheld": _money(dispute.upheld_amount, invoice.currency),
              "credit_note": dispute.credit_note.number if dispute.credit_note_id else "",
              "balance": _money(invoice.balance, invoice.currency)}
    template = {DisputeOutcome.UPHELD: UPHELD_TEXT, DisputeOutcome.PARTLY_UPHELD: PARTLY_UPHELD_TEXT}.get(
        dispute.outcome, REJECTED_TEXT)
    if dispute.upheld_amount is not None and not dispute.credit_note_id:
        template = REFUNDED_TEXT
    with translation.override(DJANGO_LANGUAGE.get(language, "en")):
        text = str(template) % values
        if invoice.balance > 0 and dispute.resume_on:
            text += " " + str(RESUME_TEXT) % {"date": format_date(dispute.resume_on, language)}
        elif invoice.balance <= 0:
            text += " " + str(PAID_TEXT)
    return text


def _money(value, currency: str) -> str:
    if value is None:
        return "—"
    return f"¥{format_amount(value)}" if currency == "CNY" else f"{currency} {format_amount(value)}"


def _tell(case: Case, decided, *, actor, message: str) -> None:
    """The decision goes to the customer as a public reply on the case, with the agent's own words; once no
    dispute of the case is left open it is the case's resolution (which must reach the customer before the case
    closes)."""
    case = Case.objects.select_related("customer").get(pk=case.pk)
    body = "\n\n".join([*(decision_text(d, disputed, case.language) for d, disputed in decided),
                        *([message] if message else [])])
    if Dispute.objects.filter(case=case, status=HoldStatus.OPEN).exists() or not case.is_active:
        support.reply(case=case, body=body, actor=actor)
    else:
        support.resolve(case=case, body=body, actor=actor)
    _record(case, "dispute_case.decided", actor, reason=_summary(message, None),
            decided=[{**_line(d.invoice, disputed), "outcome": d.outcome,
                      "upheld": str(d.upheld_amount) if d.upheld_amount is not None else None,
                      "credit_note": d.credit_note.number if d.credit_note_id else None,
                      "refund": getattr(d, "refund", None) and d.refund.pk,
                      "resume_on": d.resume_on.isoformat() if d.resume_on else None} for d, disputed in decided])


def _line(invoice: Invoice, amount) -> dict:
    return {"invoice": invoice.number, "amount": str(amount)}


def _record(case: Case, action: str, actor, *, reason: str = "", **after) -> None:
    record(actor=actor, action=action, obj=case, customer=case.customer, after=after,
           reason=bounds.clean_text(reason or "", field="reason", max_length=bounds.REASON_LENGTH))
