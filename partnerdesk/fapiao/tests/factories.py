"""Small factories for the fapiao tests: a customer with its invoicing details and an invoice with 6% VAT."""

import datetime as dt
from decimal import Decimal

from partnerdesk.billing.services import LineInput, create_invoice
from partnerdesk.fapiao.services import set_buyer_details

# Real codes (their check characters are right): the tests' buyers.
CODE_A = "91350100M000100Y43"
CODE_B = "91110000802100433B"


def with_buyer(customer, *, code=CODE_A, special=False, name=None):
    extra = {"address": "上海市浦东新区世纪大道 100 号", "phone": "021-5555 0100", "bank": "招商银行上海分行",
             "bank_account": "1219 0123 4567 890"} if special else {}
    return set_buyer_details(customer, actor=None, buyer_name=name or f"{customer.name}有限公司", credit_code=code,
                             fapiao_type="special" if special else "general", email="fapiao@buyer.example.cn",
                             **extra)


def vat_invoice(customer, amount="1000.00", *, rate="0.06", issue_date=dt.date(2026, 10, 1), issue=True):
    """An invoice of `amount` before tax at `rate` VAT (1,000.00 + 60.00 = 1,060.00 by default)."""
    return create_invoice(customer=customer, actor=None, issue=issue, issue_date=issue_date, notify_customer=False,
                          lines=[LineInput(description="Microsoft 365 E3 席位", quantity=Decimal("1"),
                                           unit_price=Decimal(amount), tax_rate=Decimal(rate))])
