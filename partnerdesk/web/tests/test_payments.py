"""Recording a payment from the customer page."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from partnerdesk.audit.models import AuditEntry
from partnerdesk.billing.models import Payment
from partnerdesk.billing.services import customer_balance

from .factories import client_for


def pay(client, customer, **data):
    form = {"amount": "1000.00", "received_on": "2026-03-10", "method": "bank_transfer", "reference": "ICBC-0001",
            "idempotency_key": "", **data}
    return client.post(reverse("payment_new", args=[customer.pk]), form, follow=True)


def test_form_renders_with_a_fresh_idempotency_key_each_time(people, acme, invoices):
    c = client_for(people["billing_agent"])
    first = c.get(reverse("payment_new", args=[acme.pk]))
    second = c.get(reverse("payment_new", args=[acme.pk]))
    assert first.status_code == 200
    assert first.context["form"]["idempotency_key"].value() != second.context["form"]["idempotency_key"].value()
    assert invoices["acme_old"].number in first.content.decode()


def test_recording_a_payment_lowers_the_balance_and_is_audited(people, acme, invoices):
    agent = people["billing_agent"]
    assert customer_balance(acme) == 3500
    response = pay(client_for(agent), acme, amount="1,200.50")
    assert response.redirect_chain[-1][0] == reverse("customer_detail", args=[acme.pk])
    body = response.content.decode()
    assert "Payment of ¥1,200.50 recorded. New balance: ¥2,299.50." in body
    assert customer_balance(acme) == 2299.50
    entry = AuditEntry.objects.get(action="payment.recorded")
    assert entry.actor == agent and entry.customer == acme
    invoices["acme_old"].refresh_from_db()
    assert invoices["acme_old"].status == "paid"  # oldest due first


def test_a_double_submit_records_one_payment(people, acme, invoices):
    c = client_for(people["collections"])
    pay(c, acme, idempotency_key="form-123")
    response = pay(c, acme, idempotency_key="form-123")
    assert Payment.objects.filter(customer=acme).count() == 1
    assert "already recorded" in response.content.decode()
    assert customer_balance(acme) == 2500


def test_a_bad_amount_is_a_form_error_and_writes_nothing(people, acme, invoices):
    c = client_for(people["billing_agent"])
    for amount, message in [("abc", "Enter an amount such as 1234.50."),
                            ("-5", "The amount must be greater than zero."),
                            ("0", "The amount must be greater than zero."),
                            ("10.001", "CNY amounts have at most 2 decimal places.")]:
        response = pay(c, acme, amount=amount)
        assert response.status_code == 200
        assert response.redirect_chain == []
        assert message in response.content.decode(), amount
    assert not Payment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="payment.").exists()


def test_a_refusal_from_the_service_lands_on_its_field(people, acme):
    future = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = pay(client_for(people["finance"]), acme, received_on=future)
    assert response.status_code == 200
    assert response.context["form"].errors["received_on"] == ["A payment cannot be received in the future."]  # as a sentence
    assert not Payment.objects.exists()


def test_a_payment_dated_a_mistyped_year_is_refused(people, acme):
    response = pay(client_for(people["finance"]), acme, received_on="1990-11-02")
    assert response.context["form"].errors["received_on"] == [
        "A payment received more than a year ago cannot be recorded."]
    assert not Payment.objects.exists()
    a_year_ago = (timezone.localdate() - dt.timedelta(days=365)).isoformat()  # late, but still recordable
    assert pay(client_for(people["finance"]), acme, received_on=a_year_ago).redirect_chain
    assert Payment.objects.get().received_on.isoformat() == a_year_ago


def test_the_same_bank_reference_again_is_asked_about_before_it_is_recorded(people, acme):
    c = client_for(people["finance"])
    assert pay(c, acme, reference="ICBC-7788").redirect_chain
    again = pay(c, acme, reference="icbc-7788", amount="500.00")
    assert not again.redirect_chain and Payment.objects.count() == 1  # not recorded: asked first
    assert again.context["form"].errors["reference"] == [
        "This customer already has a payment with this reference: ¥1,000.00 received on 2026-03-10. Is this the same money?"]
    assert "It is a different payment: record it anyway" in again.content.decode()
    confirmed = pay(c, acme, reference="icbc-7788", amount="500.00", record_anyway="on")
    assert confirmed.redirect_chain and Payment.objects.count() == 2
    # Another customer's reference, and a form sent twice, are not asked about.
    assert pay(c, acme, reference="ICBC-9999").redirect_chain
    form = {"reference": "CMB-1", "idempotency_key": "k-1"}
    assert pay(c, acme, **form).redirect_chain and pay(c, acme, **form).redirect_chain
    assert Payment.objects.filter(reference="CMB-1").count() == 1
    zh = pay(client_for(people["finance"], language="zh-hans"), acme, reference="ICBC-7788").content.decode()
    assert "该客户已有一笔相同参考号的收款" in zh and "这是另一笔款项，仍然记录" in zh


def test_service_refusals_are_translated(people, acme):
    future = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    response = pay(client_for(people["finance"], language="zh-hans"), acme, received_on=future)
    assert "收款日期不能晚于今天" in response.content.decode()


def test_a_payment_on_an_account_with_nothing_open_becomes_credit(people, acme):
    body = pay(client_for(people["admin"]), acme, amount="88.00").content.decode()
    assert "New balance: -¥88.00" in body
    assert "In credit" in body
