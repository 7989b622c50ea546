"""What PartnerDesk accepts from anyone, each bound in one place: ids, amounts, dates and free text.

The API's field types (api_schemas.py), the API's input guard (api_guard.py), the services, the web forms and
the CLI all check against these, so an input that one path refuses is refused by every path, with the same
message, before anything is changed (or sent to the operator).
"""

import datetime as dt
import re
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from partnerdesk.errors import InvalidInput, Refusal

# Database ids are 64-bit (BigAutoField); a larger number names nothing, and SQLite cannot even compare it.
MAX_ID = 2**63 - 1  # (also the bound of any integer in a request body: no column holds more)
# A list's offset: far past any real list, and offset + limit still fits in 64 bits.
MAX_OFFSET = 10**12

# One amount (a payment, a line, a credit limit), and an invoice's total. 12 integer digits and the cents:
# SQLite keeps 15 significant digits of a decimal column, and the money columns (18, 2) keep room for sums.
MAX_AMOUNT = Decimal("999999999999.99")
# An invoice line's quantity: whole seats or metered units with up to 6 decimal places.
MAX_QUANTITY = Decimal("1000000000")
# The documented amount pattern: ASCII digits only (Python's \d would take "١٢٣" and "１２３").
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
SIGNED_AMOUNT_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
QUANTITY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,6})?$"
RATE_PATTERN = r"^[0-9](\.[0-9]{1,4})?$"
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)
_SIGNED_AMOUNT_RE = re.compile(SIGNED_AMOUNT_PATTERN)
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)

# Business dates: invoices, payments, runs, reports. Outside this a date is a typo (or a probe).
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)

# Free text. Names and references are short; reasons and notes are paragraphs; an email body is a page.
NAME_LENGTH = 200
REFERENCE_LENGTH = 120  # the column (billing.Payment.reference)
SEARCH_LENGTH = 200
REASON_LENGTH = 2000
NOTE_LENGTH = 10000
BODY_LENGTH = 50000

# NUL (PostgreSQL cannot store it) and UTF-16 surrogates (no UTF-8 encoding exists for a lone one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


_ID_TEXT = re.compile(r"^[0-9]{1,19}$")


def parse_id(text) -> int | None:
    """The database id a text names (ASCII digits, 1..MAX_ID), or None. Not str.isdigit: "²" is a digit to it."""
    text = str(text or "").strip()
    if not _ID_TEXT.match(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def text_problem(value: str, max_length: int | None = None) -> Refusal | None:
    """Why this text cannot be stored, or None if it can."""
    found = _UNSTORABLE.search(value)
    if found:
        return Refusal(_("the text contains a NUL character") if found.group() == "\x00"
                       else _("the text contains an invalid character"))
    if max_length is not None and len(value) > max_length:
        return Refusal(_("at most %(count)s characters"), count=max_length)
    return None


def clean_text(value, *, field: str, max_length: int = NAME_LENGTH) -> str:
    """Free text a person typed, as stored: refused if unstorable or too long (never cut silently)."""
    value = "" if value is None else str(value)
    problem = text_problem(value, max_length)
    if problem:
        raise InvalidInput(problem, field=field)
    return value


def check_date(value: dt.date | None, *, field: str) -> dt.date | None:
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise InvalidInput(_("the date must be between %(low)s and %(high)s"), field=field, low=str(MIN_DATE),
                           high=str(MAX_DATE))
    return value


def check_amount(value: Decimal, *, field: str) -> Decimal:
    if abs(value) > MAX_AMOUNT:
        raise InvalidInput(_("the amount is too large (at most %(max)s)"), field=field, max=str(MAX_AMOUNT))
    return value


def amount_text_problem(text: str, *, signed: bool = False) -> Refusal | None:
    """Why a typed amount does not follow the documented pattern ("1280.00"), or None."""
    if not (_SIGNED_AMOUNT_RE if signed else _AMOUNT_RE).match(text):
        if re.fullmatch(r"-?[0-9]{13,}(\.[0-9]*)?", text):
            return Refusal(_("the amount is too large (at most %(max)s)"), max=str(MAX_AMOUNT))
        return Refusal(_('give amounts as decimal strings such as "1280.00"'))
    return None


def quantity_text_problem(text: str) -> Refusal | None:
    if not _QUANTITY_RE.match(text):
        return Refusal(_('give quantities as decimal strings such as "12" or "0.5" (at most 6 decimal places)'))
    if Decimal(text) > MAX_QUANTITY:
        return Refusal(_("the quantity is too large (at most %(max)s)"), max=str(MAX_QUANTITY))
    return None
