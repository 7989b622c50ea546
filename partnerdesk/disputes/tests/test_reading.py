"""Reading a dispute out of a customer's email: the wording, the invoice numbers, the money figure."""

from decimal import Decimal

import pytest

from partnerdesk.disputes.mail import invoice_numbers, money_figure, read_dispute, reads_as_dispute


@pytest.mark.parametrize("text", [
    "我们对发票 INV-2026-000123 有异议，多收了 ¥1,200.00。",
    "發票 INV-2026-000123 金額有誤，請處理爭議。",
    "发票INV-2026-000123金额有误",
    "We dispute invoice INV-2026-000123: we were overcharged.",
    "Invoice INV-2026-000123 has an incorrect charge for 5 seats.",
    "We were charged twice on INV 2026 000123.",
])
def test_dispute_wording_in_each_language(text):
    reading = read_dispute(text)
    assert reading is not None and reading.invoice_numbers == ("INV-2026-000123",)


@pytest.mark.parametrize("text", [
    "请问发票 INV-2026-000123 什么时候到期？金额 ¥1,200.00 可以分期吗？",
    "請問發票 INV-2026-000123 的付款帳號是多少？",
    "Could you send a copy of invoice INV-2026-000123? Our AP team needs it.",
    "Is there a discount for paying INV-2026-000123 early?",
])
def test_a_plain_billing_question_is_not_a_dispute(text):
    assert read_dispute(text) is None


def test_dispute_wording_without_an_invoice_number_is_no_dispute_of_an_invoice():
    assert reads_as_dispute("这个月的账单有误")
    assert read_dispute("这个月的账单有误") is None


@pytest.mark.parametrize(("text", "amount"), [
    ("多收了 ¥1,200.00", "1200.00"),
    ("多收了 ￥１２００", "1200.00"),  # full-width, as Chinese input methods type it
    ("多收了1200元", "1200.00"),
    ("多收了 1,200.50 元", "1200.50"),
    ("overcharged by RMB 1,200", "1200.00"),
    ("overcharged by CNY 1200.50", "1200.50"),
    ("多收了人民币300元", "300.00"),
    ("we dispute 300 yuan of it", "300.00"),
])
def test_money_figures(text, amount):
    assert money_figure(text) == Decimal(amount)


def test_an_invoice_number_or_a_seat_count_is_no_money_figure():
    assert money_figure("发票 INV-2026-000123 多算了 5 个席位") is None
    assert invoice_numbers("INV-2026-000123 and inv_2026_000124, INV-2026-000123") == (
        "INV-2026-000123", "INV-2026-000124")


def test_the_figure_comes_with_the_reading():
    reading = read_dispute("We dispute invoice INV-2026-000123: overcharged by ¥300.00.")
    assert reading.amount == Decimal("300.00")
    assert read_dispute("We dispute invoice INV-2026-000123.").amount is None
