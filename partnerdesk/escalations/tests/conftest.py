"""An agent's case of customer A, and the partner's own contact for service requests."""

import pytest

from partnerdesk.escalations.targets import settings_row
from partnerdesk.support import services as support

PARTNER_CONTACT = {"contact_name": "王芳", "contact_email": "escalations@northwind.example.cn",
                   "contact_phone": "+86 21 5555 0100"}


@pytest.fixture
def partner_contact(db):
    row = settings_row()
    for field, value in PARTNER_CONTACT.items():
        setattr(row, field, value)
    row.save()
    return row


@pytest.fixture
def agent(users):
    agent = users["billing_agent"]
    agent.email, agent.first_name, agent.last_name = "li.na@northwind.example.cn", "Na", "Li"
    agent.save(update_fields=["email", "first_name", "last_name"])
    return agent


@pytest.fixture
def case(customer_a, agent, partner_contact):
    """Customer A's question about a doubled invoice, logged by phone and worked by the agent."""
    return support.open_case(customer=customer_a, subject="11 月发票重复扣费", description="同一张发票扣了两次款。",
                             actor=agent, channel="phone", requester_contact=customer_a.contacts.get(),
                             assignee=agent)
