"""Email in that disputes an invoice: does a message read as a dispute, of which invoice, for how much.

`read_dispute` is a pure function of the text; `dispute_from_message` turns a new case from the desk's email in
into a dispute case when the message reads as one (support's mail filing calls it after opening the case).
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from partnerdesk.billing.money import to_money
from partnerdesk.errors import DomainError
from partnerdesk.support.services import add_event

# Words a customer disputes a charge with, in zh-CN, zh-TW and English. A question about an invoice ("when is it
# due?", "please send a copy") has none of them.
_DISPUTE_WORDS = re.compile(
    r"异议|異議|争议|爭議|有误|有誤|多收|多扣|重复收费|重複收費|申诉|申訴"
    r"|\bdisput(?:e|ed|es|ing)\b|\bincorrect(?:ly)?\s+(?:charge|charged|billed|amount)|\bover-?charg(?:e|ed|ing)\b"
    r"|\bover-?bill(?:ed|ing)\b|\b(?:charged|billed)\s+twice\b|\bwrong\s+amount\b",
    re.IGNORECASE)
_INVOICE_NUMBER = re.compile(r"(?<![A-Za-z0-9])INV[\s\-_—]?([0-9]{4})[\s\-_—]?([0-9]{6})(?![0-9])", re.IGNORECASE)
_FIGURE = r"([0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{1,2})?|[0-9]+(?:\.[0-9]{1,2})?)"
# A money figure: a currency before it (¥1,200.00, RMB 1,200, CNY 1200.50, 人民币1200) or after it (1200元, 1200 RMB).
_MONEY = re.compile(
    r"(?:(?:¥|RMB|CNY|人民币|人民幣)\s*" + _FIGURE + r"(?![0-9]))"
    r"|(?:(?<![0-9.,])" + _FIGURE + r"\s*(?:元|圆|圓|块|塊|yuan\b|RMB\b|CNY\b))",
    re.IGNORECASE)


@dataclass(frozen=True)
class DisputeReading:
    """What a message disputes: the invoice numbers it names and the money figure it gives (None: none given)."""

    invoice_numbers: tuple[str, ...]
    amount: Decimal | None


def _normal(text: str) -> str:
    # NFKC folds full-width digits, ￥ and the full-width comma into their plain forms.
    return unicodedata.normalize("NFKC", text or "")


def reads_as_dispute(text: str) -> bool:
    """True if the text uses dispute wording (异议, 爭議, overcharged ...)."""
    return bool(_DISPUTE_WORDS.search(_normal(text)))


def invoice_numbers(text: str) -> tuple[str, ...]:
    """The invoice numbers the text names (INV-2026-000123, inv 2026 000123 ...), normalised, in order."""
    found = (f"INV-{year}-{seq}" for year, seq in _INVOICE_NUMBER.findall(_normal(text)))
    return tuple(dict.fromkeys(found))


def money_figure(text: str) -> Decimal | None:
    """The first money figure the text names, as CNY (¥1,200.00, 1200元, RMB 1,200 ...), or None."""
    for match in _MONEY.finditer(_normal(text)):
        figure = (match.group(1) or match.group(2)).replace(",", "")
        try:
            amount = to_money(figure)
        except (ValueError, InvalidOperation):
            continue
        if amount > 0:
            return amount
    return None


def read_dispute(text: str) -> DisputeReading | None:
    """The dispute a message makes, or None if it does not read as one (no dispute wording, or no invoice)."""
    if not reads_as_dispute(text):
        return None
    numbers = invoice_numbers(text)
    if not numbers:
        return None
    return DisputeReading(invoice_numbers=numbers, amount=money_figure(text))


@transaction.atomic
def dispute_from_message(case, text: str) -> list:
    """A new case from email in that reads as a dispute of the customer's open invoices becomes a dispute case:
    type invoice_dispute, linked to the invoices, one dispute each for the figure named (capped at the open
    balance; with no figure, or several invoices, the open balance). Returns the disputes opened."""
    from partnerdesk.billing.models import Invoice

    from .services import dispute_in_case

    reading = read_dispute(text)
    if reading is None or not case.is_active:
        return []
    invoices = [i for i in Invoice.objects.filter(customer=case.customer, number__in=reading.invoice_numbers)
                .order_by("number") if i.is_open and i.balance > 0 and not i.disputes.filter(status="open").exists()]
    disputes = []
    for invoice in invoices:
        amount = invoice.balance
        if reading.amount is not None and len(invoices) == 1:
            amount = min(reading.amount, invoice.balance)
        try:
            disputes.append(dispute_in_case(case, invoice, amount, actor=None, reason=text[:2000] or case.subject,
                                            channel="email"))
        except DomainError as exc:  # (its own savepoint rolled back) the mail stays filed; the agent sees why
            add_event(case, f"Not opened as a dispute of {invoice.number}: {exc}")
    return disputes
