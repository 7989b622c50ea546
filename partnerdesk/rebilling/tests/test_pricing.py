"""Price rules: the most specific wins; markup, discount, fixed and pass-through; rounding to the fen."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from partnerdesk.audit.models import AuditEntry
from partnerdesk.errors import InvalidInput
from partnerdesk.rebilling.models import PriceRule
from partnerdesk.rebilling.pricing import PriceBook, delete_price_rule, price, set_price_rule


def op_line(quantity, unit_price, charges):
    return SimpleNamespace(quantity=Decimal(quantity), unit_price=Decimal(unit_price), charges=Decimal(charges))


def rule(kind, percent=None, unit_price=None, rounding="half_up"):
    return PriceRule(kind=kind, percent=None if percent is None else Decimal(percent),
                     unit_price=None if unit_price is None else Decimal(unit_price), rounding=rounding)


@pytest.mark.parametrize("the_rule, line, expected", [
    # pass-through: the operator's charges exactly, even where quantity x unit price says otherwise
    (None, op_line("3", "23.10", "69.30"), ("23.10", "69.30")),
    (rule("pass_through"), op_line("0.001234", "0.5", "0.00"), ("0.5", "0.00")),
    # markup on the unit price, then quantity x unit price rounded half-up: 3 x 24.717 = 74.151
    (rule("markup", "7"), op_line("3", "23.10", "69.30"), ("24.717000", "74.15")),
    # half-up: 1 x 10.005 -> 10.01; half-even keeps 10.00; down 10.00; up 10.01
    (rule("markup", "0.05"), op_line("1", "10.00", "10.00"), ("10.005000", "10.01")),
    (rule("markup", "0.05", rounding="half_even"), op_line("1", "10.00", "10.00"), ("10.005000", "10.00")),
    (rule("markup", "0.05", rounding="down"), op_line("1", "10.00", "10.00"), ("10.005000", "10.00")),
    (rule("markup", "0.01", rounding="up"), op_line("1", "10.00", "10.00"), ("10.001000", "10.01")),
    (rule("discount", "10"), op_line("5", "99.99", "499.95"), ("89.991000", "449.96")),
    # a cancellation credit keeps its sign
    (rule("discount", "10"), op_line("-2", "50.00", "-100.00"), ("45.000000", "-90.00")),
    # fixed unit price replaces the operator's
    (rule("fixed", unit_price="30.00"), op_line("4", "23.10", "92.40"), ("30.00", "120.00")),
    # a proration charges a part of quantity x unit price: the rule keeps that part (40/100 of a month)
    (rule("markup", "10"), op_line("10", "10.00", "40.00"), ("11.000000", "44.00")),
    (rule("fixed", unit_price="20.00"), op_line("10", "10.00", "40.00"), ("20.00", "80.00")),
])
def test_price(the_rule, line, expected):
    unit, amount = price(line, the_rule)
    assert (unit, amount) == tuple(Decimal(x) for x in expected)
    assert amount == amount.quantize(Decimal("0.01"))


@pytest.mark.django_db
def test_the_most_specific_rule_wins_and_rules_are_audited(customer_a, customer_b, users):
    finance = users["finance"]
    default = set_price_rule(kind="markup", percent="5", actor=finance)
    offer = set_price_rule(product="CFQ7TTC0LFLX", kind="markup", percent="8", actor=finance)
    mine = set_price_rule(customer=customer_a, kind="discount", percent="3", actor=finance)
    mine_offer = set_price_rule(customer=customer_a, product="CFQ7TTC0LFLX", kind="fixed", unit_price="30",
                                actor=finance)
    book = PriceBook()
    assert book.rule_for(customer_a.pk, "CFQ7TTC0LFLX") == mine_offer
    assert book.rule_for(customer_a.pk, "OTHER") == mine
    assert book.rule_for(customer_b.pk, "CFQ7TTC0LFLX") == offer
    assert book.rule_for(customer_b.pk, "OTHER") == default
    assert PriceBook([]).rule_for(customer_b.pk, "OTHER") is None  # pass-through

    # Setting the same customer + product again changes that rule; nothing else.
    again = set_price_rule(customer=customer_a, product="CFQ7TTC0LFLX", kind="markup", percent="12.5", actor=finance)
    assert again.pk == mine_offer.pk and PriceRule.objects.count() == 4
    again.refresh_from_db()
    assert (again.kind, again.percent, again.unit_price) == ("markup", Decimal("12.5"), None)
    entries = AuditEntry.objects.filter(action="price_rule.saved", object_id=str(again.pk)).order_by("id")
    assert [e.after["kind"] for e in entries] == ["fixed", "markup"] and entries[1].before["kind"] == "fixed"
    assert entries[1].customer_id == customer_a.pk

    delete_price_rule(mine, actor=finance)
    assert PriceBook().rule_for(customer_a.pk, "OTHER") == default
    assert AuditEntry.objects.filter(action="price_rule.deleted", customer=customer_a).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs, field", [
    ({"kind": "markup"}, "percent"),
    ({"kind": "discount", "percent": "100.5"}, "percent"),
    ({"kind": "markup", "percent": "-1"}, "percent"),
    ({"kind": "markup", "percent": 5.0}, "percent"),
    ({"kind": "markup", "percent": "abc"}, "percent"),
    ({"kind": "fixed"}, "unit_price"),
    ({"kind": "fixed", "unit_price": "1.0000001"}, "unit_price"),
    ({"kind": "free"}, "kind"),
    ({"kind": "markup", "percent": "5", "rounding": "sideways"}, "rounding"),
    ({"kind": "markup", "percent": "5", "product": "x" * 101}, "product"),
])
def test_bad_rules_are_refused_naming_the_field(users, kwargs, field):
    with pytest.raises(InvalidInput) as refused:
        set_price_rule(actor=users["finance"], **kwargs)
    assert refused.value.field == field
    assert not PriceRule.objects.exists()
