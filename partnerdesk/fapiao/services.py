"""Every change to fapiao records: the buyer's invoicing details of a customer, and per customer invoice its fapiao,
requested here, issued in the tax authority's platform (20-digit number, date), delivered to the buyer, and
reversed by a red-letter fapiao (红字发票) with one of the platform's four reasons.

Each function validates, changes the rows and writes the audit record in the same transaction. A credit note on an
invoice with an issued fapiao asks for its red-letter reversal (on_credit_note_issued, run inside the credit
note's transaction through billing.signals.credit_note_issued). See queries.py for what a reversal takes back.
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.billing.models import CreditNote, Invoice, InvoiceStatus
from partnerdesk.billing.money import ZERO
from partnerdesk.errors import Conflict, InvalidInput, Refusal, status_word

from . import queries
from .models import BuyerDetails, FapiaoRecord, FapiaoStatus, FapiaoType, RedLetterReason

CHINA = queries.CHINA
BUYER_FIELDS = ["fapiao_type", "buyer_name", "credit_code", "address", "phone", "bank", "bank_account", "email"]
SPECIAL_FIELDS = ["address", "phone", "bank", "bank_account"]  # a special VAT invoice (专用发票) carries these too
RECORD_FIELDS = ["status", "fapiao_type", "amount", "tax", "number", "issued_on", "delivered_on", "credit_note",
                 "reversal_reason", "red_letter_number", "reversed_on"]
LENGTHS = {"buyer_name": 200, "address": 300, "phone": 40, "bank": 200, "bank_account": 60, "email": 254}
REQUESTABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)

# The unified social credit code (统一社会信用代码, GB 32100-2015): 17 characters and a check character, from 31
# characters (digits and capitals without I, O, S, V, Z).
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# A digital e-invoice number (数电票号码): 20 digits, the first two the year it was issued.
FAPIAO_NUMBER = re.compile(r"[0-9]{20}")


STATUS_LABELS = dict(FapiaoStatus.choices)


def status_label(value: str):
    return STATUS_LABELS.get(value, value)


# --- checks ---------------------------------------------------------------------------------------------------


def credit_code_check_character(first17: str) -> str:
    """The check character of a unified social credit code's first 17 characters (GB 32100-2015)."""
    total = sum(CREDIT_CODE_CHARS.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> Refusal | None:
    """Why this is not a unified social credit code, or None."""
    if len(code) != 18:
        return Refusal(_("a unified social credit code has 18 characters, not %(count)s"), count=len(code))
    wrong = [ch for ch in code if ch not in CREDIT_CODE_CHARS]
    if wrong:
        return Refusal(_("a unified social credit code has only digits and capital letters other than I, O, S, V "
                         "and Z, not %(character)s"), character=repr(wrong[0]))
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        return Refusal(_("the check character of %(code)s is wrong (the first 17 characters give %(expected)s): "
                         "check the code for a typing error"), code=code, expected=expected)
    return None


def clean_credit_code(value, *, field: str = "credit_code") -> str:
    """The code as stored (capitals, no spaces), or InvalidInput naming what is wrong."""
    code = re.sub(r"[\s-]", "", str(value or "")).upper()
    if not code:
        raise InvalidInput(_("the buyer's unified social credit code is required"), field=field)
    problem = credit_code_problem(code)
    if problem:
        raise InvalidInput(problem, field=field)
    return code


def fapiao_number_problem(number: str, *, issued_on: dt.date | None = None) -> Refusal | None:
    """Why this is not a digital fapiao number (issued on `issued_on`), or None."""
    if re.fullmatch(r"[0-9.]+[eE]\+?[0-9]+", number):
        return Refusal(_("%(number)s is not a fapiao number: a spreadsheet turned it into a rounded figure; "
                         "format the column as text and copy the number again"), number=number)
    if not FAPIAO_NUMBER.fullmatch(number):
        return Refusal(_("a fapiao number has 20 digits, not %(number)s"), number=repr(number))
    if issued_on is not None and number[:2] != f"{issued_on.year % 100:02d}":
        return Refusal(_("fapiao number %(number)s starts with the year %(digits)s, but the fapiao was issued in "
                       "%(year)s"), number=number, digits=number[:2], year=issued_on.year)
    return None


def china_today() -> dt.date:
    return timezone.localdate(timezone=CHINA)


def _check_day(day: dt.date, *, field: str, not_before: dt.date | None = None, before_message=None) -> dt.date:
    if day is None:
        raise InvalidInput(_("the date is required"), field=field)
    bounds.check_date(day, field=field)
    if day > china_today():
        raise InvalidInput(_("%(date)s is in the future"), field=field, date=day.isoformat())
    if not_before is not None and day < not_before:
        raise InvalidInput(before_message, field=field, date=day.isoformat(), earlier=not_before.isoformat())
    return day


def _unused_number(number: str, *, field: str, record: FapiaoRecord | None = None) -> None:
    clash = FapiaoRecord.objects.filter(Q(number=number) | Q(red_letter_number=number))
    if record is not None:
        clash = clash.exclude(pk=record.pk)
    other = clash.select_related("invoice").first()
    if other is not None:
        raise Conflict(_("fapiao number %(number)s is already recorded, for invoice %(invoice)s"), field=field,
                       number=number, invoice=str(other.invoice))


def _reason_code(value, *, field: str = "reason") -> str:
    if value not in RedLetterReason.values:
        raise InvalidInput(_("the red-letter reason must be one of %(codes)s"), field=field,
                           codes=", ".join(RedLetterReason.values))
    return value


def _locked(record: FapiaoRecord) -> FapiaoRecord:
    return FapiaoRecord.objects.select_for_update(of=("self",)).select_related("invoice", "credit_note").get(pk=record.pk)


def fapiao_name(fapiao: FapiaoRecord):
    """The fapiao's number, or (not issued yet) "request #12" in the reader's language."""
    if fapiao.number:
        return fapiao.number
    return lazy(lambda: gettext("request #%(id)s") % {"id": fapiao.pk}, str)()


def _refuse_status(record: FapiaoRecord, allowed: tuple, message) -> None:
    if record.status not in allowed:
        raise Conflict(message, field="status", fapiao=fapiao_name(record),
                       status=lazy(lambda: str(status_label(record.status)).lower(), str)())


def _audit(record_: FapiaoRecord, *, actor, action: str, before: dict | None, reason: str = "") -> None:
    record(actor=actor, action=action, obj=record_, customer=record_.customer, before=before,
           after={**snapshot(record_, RECORD_FIELDS), "invoice": record_.invoice.number}, reason=reason)


# --- the buyer's details --------------------------------------------------------------------------------------


def buyer_details_of(customer) -> BuyerDetails | None:
    return BuyerDetails.objects.filter(customer=customer).first()


@transaction.atomic
def set_buyer_details(customer, *, actor, buyer_name: str, credit_code: str, fapiao_type: str = FapiaoType.GENERAL,
                      address: str = "", phone: str = "", bank: str = "", bank_account: str = "", email: str = "",
                      reason: str = "") -> BuyerDetails:
    """Record what the customer's fapiao must carry (created or replaced). A special VAT invoice needs the
    address, phone, bank and account as well."""
    if fapiao_type not in FapiaoType.values:
        raise InvalidInput(_("the fapiao type must be general or special"), field="fapiao_type")
    values = {"buyer_name": buyer_name, "address": address, "phone": phone, "bank": bank, "bank_account": bank_account,
              "email": email}
    for name, value in values.items():
        values[name] = bounds.clean_text(value, field=name, max_length=LENGTHS[name]).strip()
    if not values["buyer_name"]:
        raise InvalidInput(_("the buyer's name is required (as registered, in full)"), field="buyer_name")
    values["credit_code"] = clean_credit_code(credit_code)
    if fapiao_type == FapiaoType.SPECIAL:
        for name in SPECIAL_FIELDS:
            if not values[name]:
                raise InvalidInput(_("a special VAT invoice (专用发票) needs the buyer's address, phone, bank and "
                                     "account"), field=name)
    if values["bank_account"] and not re.fullmatch(r"[0-9][0-9 -]*", values["bank_account"]):
        raise InvalidInput(_("a bank account number has digits only (spaces may separate them)"), field="bank_account")
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            raise InvalidInput(_("%(email)s is not an email address."), field="email", email=repr(values["email"]))
    details = BuyerDetails.objects.select_for_update().filter(customer=customer).first()
    before = snapshot(details, BUYER_FIELDS) if details else None
    details = details or BuyerDetails(customer=customer)
    details.fapiao_type = fapiao_type
    for name, value in values.items():
        setattr(details, name, value)
    details.updated_by = actor if actor is not None and actor.pk else None
    details.updated_at = timezone.now()
    details.save()
    record(actor=actor, action="fapiao.buyer_details_changed", obj=customer, customer=customer, before=before,
           after=snapshot(details, BUYER_FIELDS), reason=reason)
    return details


# --- requests and records ---------------------------------------------------------------------------------------


@transaction.atomic
def request_fapiao(invoice: Invoice, *, actor, fapiao_type: str | None = None, reason: str = "") -> FapiaoRecord:
    """Ask for a fapiao for what of an issued invoice no fapiao stands for yet: its amount and tax, and the buyer's
    details as they are now (kept on the record: later changes do not alter what was sent)."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer").get(pk=invoice.pk)
    if invoice.status not in REQUESTABLE:
        raise Conflict(_("invoice %(number)s is %(status)s; a fapiao is requested for an issued invoice only"),
                       field="invoice_id", number=str(invoice), status=status_word(InvoiceStatus, invoice.status))
    details = buyer_details_of(invoice.customer)
    if details is None:
        raise InvalidInput(_("record %(customer)s's invoicing details (buyer's name and credit code) first"),
                           field="customer_id", customer=invoice.customer.name)
    fapiao_type = fapiao_type or details.fapiao_type
    if fapiao_type not in FapiaoType.values:
        raise InvalidInput(_("the fapiao type must be general or special"), field="fapiao_type")
    if fapiao_type == FapiaoType.SPECIAL and not all(getattr(details, name) for name in SPECIAL_FIELDS):
        raise InvalidInput(_("a special VAT invoice (专用发票) needs the buyer's address, phone, bank and account"),
                           field="fapiao_type")
    due = queries.uncovered(invoice)
    if due <= 0:
        raise Conflict(_("invoice %(number)s is already covered by its fapiao"), field="invoice_id", number=str(invoice))
    amount, tax = queries.split_tax(invoice, due)
    extra = {name: getattr(details, name) for name in SPECIAL_FIELDS} if fapiao_type == FapiaoType.SPECIAL else {}
    if details.email:
        extra["email"] = details.email
    fapiao = FapiaoRecord.objects.create(
        invoice=invoice, customer=invoice.customer, fapiao_type=fapiao_type, amount=amount, tax=tax,
        buyer_name=details.buyer_name, credit_code=details.credit_code, buyer_extra=extra,
        requested_by=actor if actor is not None and actor.pk else None)
    _audit(fapiao, actor=actor, action="fapiao.requested", before=None, reason=reason)
    return fapiao


@transaction.atomic
def record_issued(fapiao: FapiaoRecord, *, number: str, issued_on: dt.date, actor, reason: str = "") -> FapiaoRecord:
    """The tax platform issued the requested fapiao: its 20-digit number and date."""
    fapiao = _locked(fapiao)
    _refuse_status(fapiao, (FapiaoStatus.REQUESTED,),
                   _("fapiao %(fapiao)s is %(status)s; only a requested fapiao can be recorded as issued"))
    number = str(number or "").strip()
    issued_on = _check_day(issued_on, field="issued_on", not_before=fapiao.invoice.issue_date,
                           before_message=_("the fapiao cannot be issued on %(date)s, before its invoice (%(earlier)s)"))
    problem = fapiao_number_problem(number, issued_on=issued_on)
    if problem:
        raise InvalidInput(problem, field="number")
    _unused_number(number, field="number", record=fapiao)
    before = snapshot(fapiao, RECORD_FIELDS)
    fapiao.number, fapiao.issued_on, fapiao.status = number, issued_on, FapiaoStatus.ISSUED
    try:
        with transaction.atomic():
            fapiao.save()
    except IntegrityError:  # the same number recorded at the same moment by someone else
        raise Conflict(_("fapiao number %(number)s is already recorded"), field="number", number=number)
    _audit(fapiao, actor=actor, action="fapiao.issued", before=before, reason=reason)
    return fapiao


@transaction.atomic
def record_delivered(fapiao: FapiaoRecord, *, delivered_on: dt.date, actor, reason: str = "") -> FapiaoRecord:
    """The buyer received the fapiao (a policy that waits for it starts collections from then)."""
    fapiao = _locked(fapiao)
    _refuse_status(fapiao, (FapiaoStatus.ISSUED,),
                   _("fapiao %(fapiao)s is %(status)s; only an issued fapiao can be recorded as delivered"))
    delivered_on = _check_day(delivered_on, field="delivered_on", not_before=fapiao.issued_on,
                              before_message=_("the fapiao cannot be delivered on %(date)s, before it was issued "
                                               "(%(earlier)s)"))
    before = snapshot(fapiao, RECORD_FIELDS)
    fapiao.delivered_on, fapiao.status = delivered_on, FapiaoStatus.DELIVERED
    fapiao.save()
    _audit(fapiao, actor=actor, action="fapiao.delivered", before=before, reason=reason)
    return fapiao


# --- red-letter reversals -----------------------------------------------------------------------------------------


@transaction.atomic
def request_reversal(fapiao: FapiaoRecord, *, reason_code: str, actor, credit_note: CreditNote | None = None,
                     note: str = "") -> FapiaoRecord:
    """Ask for a red-letter fapiao reversing an issued (or delivered) one, with one of the four reasons."""
    fapiao = _locked(fapiao)
    _reason_code(reason_code)
    _refuse_status(fapiao, (FapiaoStatus.ISSUED, FapiaoStatus.DELIVERED),
                   _("fapiao %(fapiao)s is %(status)s; only an issued or delivered fapiao can be reversed"))
    if credit_note is not None and credit_note.invoice_id != fapiao.invoice_id:
        raise InvalidInput(_("the credit note is for another invoice"), field="credit_note_id")
    note = bounds.clean_text(note, field="note", max_length=bounds.REASON_LENGTH)
    before = snapshot(fapiao, RECORD_FIELDS)
    fapiao.status, fapiao.reversal_reason = FapiaoStatus.REVERSAL_REQUESTED, reason_code
    fapiao.credit_note = credit_note or fapiao.credit_note
    fapiao.reversal_requested_at = timezone.now()
    fapiao.save()
    _audit(fapiao, actor=actor, action="fapiao.reversal_requested", before=before, reason=note)
    return fapiao


@transaction.atomic
def change_reversal_reason(fapiao: FapiaoRecord, *, reason_code: str, actor, note: str = "") -> FapiaoRecord:
    """Finance gives a requested reversal another of the four reasons (before the red-letter fapiao is issued)."""
    fapiao = _locked(fapiao)
    _reason_code(reason_code)
    _refuse_status(fapiao, (FapiaoStatus.REVERSAL_REQUESTED,),
                   _("fapiao %(fapiao)s is %(status)s; only a requested reversal's reason can be changed"))
    note = bounds.clean_text(note, field="note", max_length=bounds.REASON_LENGTH)
    if reason_code == fapiao.reversal_reason:
        return fapiao
    before = snapshot(fapiao, RECORD_FIELDS)
    fapiao.reversal_reason = reason_code
    fapiao.save(update_fields=["reversal_reason"])
    _audit(fapiao, actor=actor, action="fapiao.reversal_reason_changed", before=before, reason=note)
    return fapiao


@transaction.atomic
def record_reversal_done(fapiao: FapiaoRecord, *, red_letter_number: str, reversed_on: dt.date, actor,
                         reason: str = "") -> FapiaoRecord:
    """The tax platform issued the red-letter fapiao: its number and date."""
    fapiao = _locked(fapiao)
    _refuse_status(fapiao, (FapiaoStatus.REVERSAL_REQUESTED,),
                   _("fapiao %(fapiao)s is %(status)s; ask for its red-letter reversal first"))
    number = str(red_letter_number or "").strip()
    reversed_on = _check_day(reversed_on, field="reversed_on", not_before=fapiao.issued_on,
                             before_message=_("the red-letter fapiao cannot be issued on %(date)s, before the fapiao "
                                              "it reverses (%(earlier)s)"))
    problem = fapiao_number_problem(number, issued_on=reversed_on)
    if problem:
        raise InvalidInput(problem, field="red_letter_number")
    _unused_number(number, field="red_letter_number")
    before = snapshot(fapiao, RECORD_FIELDS)
    fapiao.red_letter_number, fapiao.reversed_on, fapiao.status = number, reversed_on, FapiaoStatus.REVERSED
    fapiao.save()
    _audit(fapiao, actor=actor, action="fapiao.reversed", before=before, reason=reason)
    return fapiao


# --- a credit note asks for the reversal ----------------------------------------------------------------------------

# A reason code named in the credit note's reason ("销货退回：退回 5 个席位", "sales_return") chooses the red-letter reason.
_REASON_WORDS = {
    RedLetterReason.ISSUING_ERROR: ("issuing_error", "开票有误", "開票有誤"),
    RedLetterReason.SALES_RETURN: ("sales_return", "销货退回", "銷貨退回"),
    RedLetterReason.SERVICE_TERMINATED: ("service_terminated", "服务终止", "服務終止"),
    RedLetterReason.SALES_DISCOUNT: ("sales_discount", "销售折让", "銷售折讓"),
}


def reason_named_in(text: str) -> str | None:
    """The red-letter reason a credit note's reason names (its code or its Chinese name), if any."""
    for code, words in _REASON_WORDS.items():
        if any(word in (text or "") for word in words):
            return code
    return None


def on_credit_note_issued(credit_note: CreditNote) -> list[FapiaoRecord]:
    """Inside the credit note's transaction: the invoice's issued or delivered fapiao get a red-letter reversal
    requested (a full credit: issuing error; a partial one: sales discount, or the reason its text names), and a
    fapiao only requested is cut to what is still invoiced (withdrawn if nothing is). Returns the fapiao reversed."""
    invoice = credit_note.invoice
    records = list(FapiaoRecord.objects.select_for_update(of=("self",)).filter(invoice=invoice)
                   .select_related("credit_note").order_by("id"))
    if not records:
        return []
    full = queries.invoiced(invoice) <= 0
    code = reason_named_in(credit_note.reason) or (RedLetterReason.ISSUING_ERROR if full
                                                   else RedLetterReason.SALES_DISCOUNT)
    issued = [r for r in records if r.status in (FapiaoStatus.ISSUED, FapiaoStatus.DELIVERED)]
    targets = issued
    if code in queries.PARTIAL_REASONS and not full:
        # One fapiao takes the discount: the latest that is large enough. Else each is reversed whole, and a new
        # one is requested for what is left.
        fitting = [r for r in issued if queries.gross(r) >= credit_note.amount]
        targets = fitting[-1:] or issued
        if not fitting:
            code = RedLetterReason.ISSUING_ERROR
    reversed_ = [request_reversal(r, reason_code=code, actor=None, credit_note=credit_note,
                                  note=f"credit note {credit_note.number}") for r in targets]
    _cut_requests(invoice, [r for r in records if r.status == FapiaoStatus.REQUESTED], reversed_, credit_note)
    return reversed_


def _cut_requests(invoice: Invoice, requested: list[FapiaoRecord], reversed_: list[FapiaoRecord],
                  credit_note: CreditNote) -> None:
    """Requested fapiao (not issued yet) stand for no more than the invoice still invoices once the reversals are
    done: the newest are cut first; one cut to nothing is withdrawn (deleted, with its audit record)."""
    if not requested:
        return
    requested_ids = {r.pk for r in requested}
    others = FapiaoRecord.objects.filter(invoice=invoice).exclude(pk__in=requested_ids).select_related("credit_note")
    after_reversals = sum((queries.gross(r) - queries.reversed_part(r) if r.status == FapiaoStatus.REVERSAL_REQUESTED
                           else queries.standing_amount(r) for r in others), ZERO)
    room = max(ZERO, queries.invoiced(invoice) - after_reversals)
    excess = sum((queries.gross(r) for r in requested), ZERO) - room
    why = f"credit note {credit_note.number}"
    for fapiao in sorted(requested, key=lambda r: r.pk, reverse=True):
        if excess <= 0:
            break
        before = snapshot(fapiao, RECORD_FIELDS)
        cut = min(excess, queries.gross(fapiao))
        excess -= cut
        left = queries.gross(fapiao) - cut
        if left <= 0:
            _audit(fapiao, actor=None, action="fapiao.request_withdrawn", before=before, reason=why)
            fapiao.delete()
            continue
        fapiao.amount, fapiao.tax = queries.split_tax(invoice, left)
        fapiao.save(update_fields=["amount", "tax"])
        _audit(fapiao, actor=None, action="fapiao.request_reduced", before=before, reason=why)
