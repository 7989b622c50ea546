"""Price rules: how the partner prices an operator line to its customer (issue 15, item 3).

The most specific rule wins: the customer's rule for the offer or meter, the customer's rule, the default rule
for the offer or meter, the default rule; with none, pass-through. A markup or discount percentage applies to
the operator's unit price, a fixed unit price replaces it, pass-through keeps it. The amount is quantity x unit
price rounded to the fen by the rule's rounding (half-up unless set); for pass-through it is the operator's own
charges exactly, so pass-through invoices reconcile to the fen with the operator's.
"""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from partnerdesk import bounds
from partnerdesk.audit.services import record, snapshot
from partnerdesk.errors import Conflict, InvalidInput

from .models import PriceKind, PriceRule, Rounding

FEN = Decimal("0.01")
UNIT = Decimal("0.000001")  # the operator's unit prices carry six places
HUNDRED = Decimal("100")
MAX_MARKUP = Decimal("1000")  # percent: ten times the operator's price is a typo, not a price
ROUNDINGS = {Rounding.HALF_UP: ROUND_HALF_UP, Rounding.HALF_EVEN: ROUND_HALF_EVEN,
             Rounding.UP: ROUND_UP, Rounding.DOWN: ROUND_DOWN}  # up/down: away from / toward zero, credits alike
RULE_FIELDS = ["customer", "product", "kind", "percent", "unit_price", "rounding", "note"]


def _decimal(value, *, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise InvalidInput(_("give the number as a decimal string, not a float"), field=field)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("%(value)s is not a number"), field=field, value=repr(value)) from None
    if not number.is_finite():
        raise InvalidInput(_("%(value)s is not a number"), field=field, value=repr(value))
    return number


def _checked(kind, percent, unit_price, rounding) -> tuple[Decimal | None, Decimal | None]:
    if kind not in PriceKind.values:
        raise InvalidInput(_("Unknown price rule %(kind)s."), field="kind", kind=str(kind))
    if rounding not in Rounding.values:
        raise InvalidInput(_("Unknown rounding %(rounding)s."), field="rounding", rounding=str(rounding))
    percent = _decimal(percent, field="percent")
    unit_price = _decimal(unit_price, field="unit_price")
    if kind in (PriceKind.MARKUP, PriceKind.DISCOUNT):
        if percent is None:
            raise InvalidInput(_("Give the percentage."), field="percent")
        if percent != percent.quantize(Decimal("0.0001")):
            raise InvalidInput(_("A percentage has at most four decimal places."), field="percent")
        top = MAX_MARKUP if kind == PriceKind.MARKUP else HUNDRED
        if percent < 0 or percent > top:
            raise InvalidInput(_("The percentage must be between 0 and %(top)s."), field="percent", top=str(top))
        return percent, None
    if kind == PriceKind.FIXED:
        if unit_price is None:
            raise InvalidInput(_("Give the unit price."), field="unit_price")
        if unit_price < 0 or unit_price > bounds.MAX_AMOUNT:
            raise InvalidInput(_("The unit price must be between 0 and %(top)s."), field="unit_price",
                               top=str(bounds.MAX_AMOUNT))
        if unit_price != unit_price.quantize(UNIT):
            raise InvalidInput(_("A unit price has at most six decimal places."), field="unit_price")
        return None, unit_price
    return None, None  # pass-through: the operator's price


def set_price_rule(*, customer=None, product: str = "", kind: str, percent=None, unit_price=None,
                   rounding: str = Rounding.HALF_UP, note: str = "", actor) -> PriceRule:
    """Create the rule for this customer (None: every customer) and offer or meter ("": all), or change it."""
    product = bounds.clean_text((product or "").strip(), field="product", max_length=100)
    note = bounds.clean_text(note or "", field="note", max_length=200)
    percent, unit_price = _checked(kind, percent, unit_price, rounding)
    with transaction.atomic():
        rule = PriceRule.objects.select_for_update().filter(customer=customer, product=product).first()
        before = snapshot(rule, RULE_FIELDS) if rule else None
        if rule is None:
            rule = PriceRule(customer=customer, product=product, created_by=actor if getattr(actor, "pk", None) else None)
        rule.kind, rule.percent, rule.unit_price, rule.rounding, rule.note = kind, percent, unit_price, rounding, note
        try:
            with transaction.atomic():
                rule.save()
        except IntegrityError:  # another request created the same rule a moment ago
            raise Conflict(_("A price rule for this customer and product already exists."), field="product") from None
        after = snapshot(rule, RULE_FIELDS)
        if after != before:
            record(actor=actor, action="price_rule.saved", obj=rule, customer=customer, before=before, after=after)
    return rule


def delete_price_rule(rule: PriceRule, *, actor) -> None:
    """Remove a rule: its lines fall back to the next most specific rule at the next generation."""
    with transaction.atomic():
        before = snapshot(rule, RULE_FIELDS)
        customer = rule.customer
        record(actor=actor, action="price_rule.deleted", obj=rule, customer=customer, before=before)
        rule.delete()


class PriceBook:
    """Every rule, loaded once, to find the one that applies to a line (generation prices thousands of lines)."""

    def __init__(self, rules=None):
        rules = PriceRule.objects.all() if rules is None else rules
        self.rules = {(r.customer_id, r.product): r for r in rules}

    def rule_for(self, customer_id, product: str) -> PriceRule | None:
        """The most specific rule for this customer and offer or meter, or None (pass-through)."""
        get = self.rules.get
        return get((customer_id, product)) or get((customer_id, "")) or get((None, product)) or get((None, ""))


def price(line, rule: PriceRule | None) -> tuple[Decimal, Decimal]:
    """(unit price, amount) of an operator line to the customer under the rule (None: pass-through)."""
    if rule is None or rule.kind == PriceKind.PASS_THROUGH:
        return line.unit_price, line.charges
    mode = ROUNDINGS.get(rule.rounding, ROUND_HALF_UP)
    operator_unit = line.unit_price
    if rule.kind == PriceKind.FIXED:
        unit = rule.unit_price
        factor = unit / operator_unit if operator_unit else None
    else:
        sign = 1 if rule.kind == PriceKind.MARKUP else -1
        factor = 1 + sign * rule.percent / HUNDRED
        unit = (operator_unit * factor).quantize(UNIT, rounding=ROUND_HALF_UP)
    # A proration or a cancellation credit charges a part of quantity x unit price: keep that part.
    plain = (line.quantity * operator_unit).quantize(FEN, rounding=ROUND_HALF_UP) == line.charges
    if plain or factor is None:
        amount = (line.quantity * unit).quantize(FEN, rounding=mode)
    else:
        amount = (line.charges * factor).quantize(FEN, rounding=mode)
    return unit, amount
