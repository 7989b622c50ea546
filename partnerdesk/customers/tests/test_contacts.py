"""A customer's contacts: several per customer, a role each, exactly one primary billing contact; audited."""

import pytest
from django.db import IntegrityError, transaction

from partnerdesk.audit.models import AuditEntry
from partnerdesk.conftest import make_customer
from partnerdesk.customers.models import BillingContact
from partnerdesk.customers.services import add_contact, remove_contact, update_contact
from partnerdesk.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def test_a_new_customer_s_contact_is_its_primary_billing_contact(customer_a):
    contact = customer_a.contacts.get()
    assert contact.is_primary and contact.kind == "billing"
    assert customer_a.primary_contact == contact


def test_contacts_with_roles_language_and_time_zone(customer_a):
    tech = add_contact(customer_a, actor=None, name="张伟", email="zw@contoso.cn", kind="technical",
                       language="en", time_zone="Asia/Taipei", reason="new IT lead")
    assert (tech.kind, tech.language, tech.time_zone, tech.is_primary) == ("technical", "en", "Asia/Taipei", False)
    billing = add_contact(customer_a, actor=None, name="Li Na", email="ln@contoso.cn")
    assert billing.language == customer_a.language and billing.time_zone == customer_a.time_zone
    assert customer_a.contacts.count() == 3
    assert customer_a.contacts.filter(is_primary=True).count() == 1
    entry = AuditEntry.objects.filter(action="contact.added").first()
    assert entry.customer_id == customer_a.pk and entry.after["email"] == "ln@contoso.cn"


def test_the_first_billing_contact_of_a_customer_without_one_becomes_primary(db):
    customer = make_customer("Northwind 深圳", contact=None)
    tech = add_contact(customer, actor=None, name="Ops", email="ops@nw.cn", kind="technical")
    billing = add_contact(customer, actor=None, name="AP", email="ap@nw.cn")
    assert not tech.is_primary and billing.is_primary


def test_an_agent_corrects_a_contact_s_email_and_the_audit_keeps_both(customer_a):
    contact = customer_a.contacts.get()
    old = contact.email
    update_contact(contact, actor=None, email="billing@contoso.cn", reason="typo")
    contact.refresh_from_db()
    assert contact.email == "billing@contoso.cn"
    entry = AuditEntry.objects.get(action="contact.updated")
    assert entry.before["email"] == old and entry.after["email"] == "billing@contoso.cn" and entry.reason == "typo"


def test_making_another_contact_primary_moves_the_role(customer_a):
    first = customer_a.contacts.get()
    second = add_contact(customer_a, actor=None, name="Li Na", email="ln@contoso.cn")
    update_contact(second, actor=None, is_primary=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_primary and not first.is_primary


def test_the_primary_cannot_be_unset_removed_or_made_technical(customer_a):
    primary = customer_a.contacts.get()
    add_contact(customer_a, actor=None, name="Li Na", email="ln@contoso.cn")
    with pytest.raises(Conflict):
        update_contact(primary, actor=None, is_primary=False)
    with pytest.raises(Conflict):
        update_contact(primary, actor=None, kind="technical")
    with pytest.raises(Conflict):
        remove_contact(primary, actor=None)
    tech = add_contact(customer_a, actor=None, name="Ops", email="ops@contoso.cn", kind="technical")
    with pytest.raises(InvalidInput):
        update_contact(tech, actor=None, is_primary=True)
    assert customer_a.contacts.filter(is_primary=True).get() == primary


def test_bad_input_names_the_field(customer_a):
    contact = customer_a.contacts.get()
    for fields, field in [({"email": "not-an-email"}, "email"), ({"name": " "}, "name"), ({"kind": "boss"}, "kind"),
                          ({"language": "fr"}, "language"), ({"time_zone": "Mars/Base"}, "time_zone")]:
        with pytest.raises(InvalidInput) as exc:
            update_contact(contact, actor=None, **fields)
        assert exc.value.field == field


def test_removing_a_contact_is_audited(customer_a):
    other = add_contact(customer_a, actor=None, name="Li Na", email="ln@contoso.cn")
    remove_contact(other, actor=None, reason="left the company")
    assert not BillingContact.objects.filter(pk=other.pk).exists()
    entry = AuditEntry.objects.get(action="contact.removed")
    assert entry.before["email"] == "ln@contoso.cn" and entry.reason == "left the company"


def test_the_database_refuses_two_primaries(customer_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingContact.objects.create(customer=customer_a, name="X", email="x@contoso.cn", is_primary=True)


def test_contacts_through_the_api(api_client, tokens, customer_a, customer_b):
    agent = api_client.as_(tokens["billing_agent"])
    resp = agent.post(f"/customers/{customer_a.pk}/contacts", {"name": "王芳", "email": "wf@contoso.cn",
                                                               "kind": "technical", "language": "zh-TW"})
    assert resp.status_code == 201, resp.content
    contact_id = resp.json()["id"]
    resp = agent.patch(f"/customers/{customer_a.pk}/contacts/{contact_id}", {"email": "wang.fang@contoso.cn"})
    assert resp.status_code == 200 and resp.json()["email"] == "wang.fang@contoso.cn"
    resp = agent.patch(f"/customers/{customer_a.pk}/contacts/{contact_id}", {"email": "nope"})
    assert resp.status_code == 422 and resp.json()["field"] == "email"
    # The contact is A's: under B's id it is not found.
    assert agent.patch(f"/customers/{customer_b.pk}/contacts/{contact_id}", {"phone": "1"}).status_code == 404
    assert agent.delete(f"/customers/{customer_a.pk}/contacts/{contact_id}").status_code == 200
    assert not BillingContact.objects.filter(pk=contact_id).exists()
