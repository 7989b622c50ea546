"""Operator invoices as finance reads them off 21Vianet's Partner Center, and China's 2026 calendar loaded."""

import datetime as dt
from decimal import Decimal

import pytest

from partnerdesk.payables.services import OperatorInvoiceInput, record_operator_invoice
from partnerdesk.workdays.services import load_year_from_package


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def operator_invoice(number: str, billing_date: str, amount: str, *, due_date: str | None = None, actor=None):
    """An operator invoice billed on billing_date for the month before it."""
    billed = day(billing_date)
    end = billed.replace(day=1) - dt.timedelta(days=1)
    invoice, created = record_operator_invoice(OperatorInvoiceInput(
        number=number, billing_date=billed, period_start=end.replace(day=1), period_end=end, amount=Decimal(amount),
        due_date=day(due_date) if due_date else None), actor=actor)
    assert created
    return invoice


@pytest.fixture
def calendar_2026(db):
    """The State Council's 2026 schedule (holidays and make-up working days) as the holidays package has it."""
    return load_year_from_package(2026, actor=None, confirm=True)


@pytest.fixture
def finance_people(users):
    """Two finance users with addresses (the fixture's and one more), and finance users who get nothing."""
    from partnerdesk.accounts.models import Role
    from partnerdesk.accounts.services import create_user, deactivate_user

    finance = users["finance"]
    finance.email = "wang.fang@northwind.example.cn"
    finance.save(update_fields=["email"])
    second = create_user(actor=None, username="finance2", password="x", role=Role.FINANCE, validate=False,
                         email="zhao.lei@northwind.example.cn")
    create_user(actor=None, username="finance-no-mail", password="x", role=Role.FINANCE, validate=False)
    gone = create_user(actor=None, username="finance-gone", password="x", role=Role.FINANCE, validate=False,
                       email="gone@northwind.example.cn")
    deactivate_user(gone, actor=None, reason="left")
    admin = users["admin"]
    admin.email = "admin@northwind.example.cn"
    admin.save(update_fields=["email"])
    return [finance, second]
