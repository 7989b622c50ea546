"""Template filter of the re-billing pages: quantities, unit prices and percentages as the operator writes them."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain_number(value) -> str:
    """Decimal("12.500000") -> "12.5", Decimal("100") -> "100" (no trailing zeros, never an exponent)."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, Decimal):
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
