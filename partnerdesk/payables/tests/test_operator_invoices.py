"""Recording and correcting operator invoices, paying them, and finance's settings: validated, audited."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from partnerdesk.audit.labels import object_name
from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import Conflict, InvalidInput
from partnerdesk.payables import services
from partnerdesk.payables.models import FinanceSettings, OperatorPayment

from .conftest import day, operator_invoice

pytestmark = pytest.mark.django_db


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def test_an_invoice_is_due_net_30_and_recorded_once(users):
    invoice = operator_invoice("21V-202610-0001", "2026-11-01", "8000.00", actor=users["finance"])
    assert (invoice.due_date, invoice.due_date_set, invoice.status) == (day("2026-12-01"), False, "unpaid")
    [entry] = entries("operator_invoice.recorded")
    assert (entry.actor_label, entry.object_repr, entry.after["amount"]) == ("finance1", "21V-202610-0001", "8000.00")
    # The same figures again (a second file of the same invoice, say) change nothing; other figures are refused.
    same = services.OperatorInvoiceInput(number="21V-202610-0001", billing_date=day("2026-11-01"),
                                         period_start=day("2026-10-01"), period_end=day("2026-10-31"),
                                         amount=Decimal("8000.00"))
    assert services.record_operator_invoice(same, actor=None) == (invoice, False)
    with pytest.raises(Conflict) as refused:
        services.record_operator_invoice(services.OperatorInvoiceInput(**{**same.__dict__, "amount": Decimal("1")}),
                                         actor=None)
    assert refused.value.field == "number"
    with pytest.raises(InvalidInput) as refused:
        services.record_operator_invoice(services.OperatorInvoiceInput(**{**same.__dict__, "number": "X-0",
                                                                          "amount": Decimal("0")}), actor=None)
    assert refused.value.field == "amount"
    assert len(entries("operator_invoice.recorded")) == 1


def test_finance_sets_the_due_date_and_puts_it_back_audited(users):
    invoice = operator_invoice("21V-202610-0002", "2026-11-01", "8000.00")
    invoice = services.update_operator_invoice(invoice, actor=users["finance"], due_date=day("2026-12-15"),
                                               reason="21Vianet agreed to 15 December")
    assert (invoice.due_date, invoice.due_date_set) == (day("2026-12-15"), True)
    [entry] = entries("operator_invoice.updated")
    assert entry.before == {"due_date": "2026-12-01", "due_date_set": False}
    assert entry.after == {"due_date": "2026-12-15", "due_date_set": True}
    assert (entry.reason, entry.actor_label) == ("21Vianet agreed to 15 December", "finance1")
    # A set due date stays when the billing date is corrected; net 30 follows the billing date.
    invoice = services.update_operator_invoice(invoice, actor=users["finance"], billing_date=day("2026-11-02"))
    assert invoice.due_date == day("2026-12-15")
    invoice = services.update_operator_invoice(invoice, actor=users["finance"], due_date=None, reason="back to net 30")
    assert (invoice.due_date, invoice.due_date_set) == (day("2026-12-02"), False)
    # Nothing changed: nothing recorded.
    services.update_operator_invoice(invoice, actor=users["finance"], due_date=None, notes="")
    assert len(entries("operator_invoice.updated")) == 3
    with pytest.raises(InvalidInput) as refused:
        services.update_operator_invoice(invoice, actor=users["finance"], due_date=day("2026-10-01"))
    assert refused.value.field == "due_date" and "before the billing date" in str(refused.value)
    with pytest.raises(InvalidInput) as refused:
        services.update_operator_invoice(invoice, actor=users["finance"], number="X")
    assert refused.value.field == "number"


def test_payments_move_the_status_and_an_over_payment_is_refused(users):
    invoice = operator_invoice("21V-202610-0003", "2026-10-01", "10000.00")
    finance = users["finance"]
    first = services.record_operator_payment(invoice, amount="4000.00", paid_on=day("2026-10-20"), actor=finance,
                                             reference="ICBC-20261020-01")
    assert first.created
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_on) == ("partially_paid", Decimal("4000.00"), None)
    with pytest.raises(InvalidInput) as refused:
        services.record_operator_payment(invoice, amount="6000.01", paid_on=day("2026-11-02"), actor=finance)
    assert refused.value.field == "amount" and "6000.00" in str(refused.value)
    # Paid in full on the date of the payment that completed it, even when recorded before an earlier one.
    services.record_operator_payment(invoice, amount="5000.00", paid_on=day("2026-11-05"), actor=finance)
    services.record_operator_payment(invoice, amount="1000.00", paid_on=day("2026-10-25"), actor=finance)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.paid_on) == ("paid", Decimal("10000.00"), day("2026-11-05"))
    with pytest.raises(Conflict):
        services.record_operator_payment(invoice, amount="1.00", paid_on=day("2026-11-06"), actor=finance)
    recorded = entries("operator_invoice.payment_recorded")
    assert len(recorded) == 3 and recorded[-1].after["status"] == "paid" and recorded[0].before["status"] == "unpaid"
    assert recorded[0].after["reference"] == "ICBC-20261020-01" and recorded[0].object_repr == "21V-202610-0003"


@pytest.mark.parametrize("change, field, words", [
    ({"amount": "0"}, "amount", "greater than zero"),
    ({"amount": "-5.00"}, "amount", "greater than zero"),
    ({"amount": "1.005"}, "amount", "decimal strings"),
    ({"paid_on": dt.date(2026, 11, 25)}, "paid_on", "future"),  # the suite's today is 24 November 2026
    ({"paid_on": dt.date(2026, 9, 30)}, "paid_on", "billing date"),
])
def test_a_payment_that_cannot_be_right_is_refused(users, change, field, words):
    invoice = operator_invoice("21V-202610-0004", "2026-10-01", "10000.00")
    with pytest.raises(InvalidInput) as refused:
        services.record_operator_payment(invoice, actor=users["finance"],
                                         **{"amount": "100.00", "paid_on": day("2026-10-10"), **change})
    assert refused.value.field == field and words in str(refused.value)
    assert not OperatorPayment.objects.exists() and not entries("operator_invoice.payment_recorded")


def test_the_same_idempotency_key_records_one_payment(users):
    invoice = operator_invoice("21V-202610-0005", "2026-10-01", "10000.00")
    other = operator_invoice("21V-202610-0006", "2026-10-01", "500.00")
    args = {"amount": "2500.00", "paid_on": day("2026-10-15"), "actor": users["finance"], "idempotency_key": "k-1"}
    first = services.record_operator_payment(invoice, **args)
    again = services.record_operator_payment(invoice, **args)
    assert first.created and not again.created and again.payment == first.payment
    with pytest.raises(Conflict) as refused:
        services.record_operator_payment(invoice, **{**args, "amount": "2500.01"})
    assert refused.value.field == "idempotency_key"
    with pytest.raises(Conflict):
        services.record_operator_payment(other, **{**args, "amount": "500.00"})
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("2500.00") and OperatorPayment.objects.count() == 1


def test_the_amount_cannot_go_below_what_was_paid(users):
    invoice = operator_invoice("21V-202610-0007", "2026-10-01", "10000.00")
    services.record_operator_payment(invoice, amount="6000.00", paid_on=day("2026-10-15"), actor=users["finance"])
    with pytest.raises(InvalidInput) as refused:
        services.update_operator_invoice(invoice, actor=users["finance"], amount="5999.99")
    assert refused.value.field == "amount"
    # Corrected down to what was paid: the invoice is paid, on the day of its last payment.
    invoice = services.update_operator_invoice(invoice, actor=users["finance"], amount="6000.00",
                                               reason="credit from 21Vianet")
    assert (invoice.status, invoice.paid_on) == ("paid", day("2026-10-15"))


def test_finance_settings_refuse_a_late_charge_above_the_contracts(users):
    row = services.update_finance_settings(actor=users["finance"], late_charge_monthly_rate="0.0125",
                                           warn_days_before_due=7, delinquent_after_days=45,
                                           reconciliation_tolerance="0.05", reason="new legal maximum")
    assert (row.late_charge_monthly_rate, row.warn_days_before_due, row.delinquent_after_days,
            row.reconciliation_tolerance) == (Decimal("0.0125"), 7, 45, Decimal("0.05"))
    [entry] = entries("finance_settings.updated")
    assert entry.before["late_charge_monthly_rate"] == "0.0150" and entry.after["late_charge_monthly_rate"] == "0.0125"
    assert entry.reason == "new legal maximum"
    with translation.override("en"):
        assert object_name(entry.object_type, entry.object_repr) == "finance settings"  # as the audit log shows it
    for values, field in [({"late_charge_monthly_rate": "0.0151"}, "late_charge_monthly_rate"),
                          ({"late_charge_monthly_rate": "-0.01"}, "late_charge_monthly_rate"),
                          ({"late_charge_monthly_rate": "0.00001"}, "late_charge_monthly_rate"),
                          ({"late_charge_monthly_rate": "lots"}, "late_charge_monthly_rate"),
                          ({"warn_days_before_due": 61}, "warn_days_before_due"),
                          ({"delinquent_after_days": -1}, "delinquent_after_days"),
                          ({"reconciliation_tolerance": "-1.00"}, "reconciliation_tolerance"),
                          ({"currency": "USD"}, "currency")]:
        with pytest.raises(InvalidInput) as refused:
            services.update_finance_settings(actor=users["finance"], **values)
        assert refused.value.field == field, values
    assert "1.5%" in str(pytest.raises(InvalidInput, services.update_finance_settings, actor=None,
                                       late_charge_monthly_rate="0.02").value)
    assert FinanceSettings.objects.get().late_charge_monthly_rate == Decimal("0.0125")
    assert len(entries("finance_settings.updated")) == 1
