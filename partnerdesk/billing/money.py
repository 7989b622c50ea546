"""Money: Decimal only, quantized to the currency's minor unit. A float never becomes money."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models

# ISO 4217 currencies PartnerDesk bills in, with their minor units. The operator bills in CNY only.
CURRENCIES = {"CNY": 2}
DEFAULT_CURRENCY = "CNY"


def check_currency(code: str) -> str:
    """Return the currency code if PartnerDesk knows it, else raise ValueError."""
    if code not in CURRENCIES:
        raise ValueError(f"unknown currency {code!r}; supported: {', '.join(sorted(CURRENCIES))}")
    return code


def to_money(value, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Parse a Decimal, int or string into money of the currency; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    if isinstance(value, bool):
        raise TypeError("money must not be a bool")
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{value!r} is not an amount of money")
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount of money")
    quantum = Decimal(1).scaleb(-CURRENCIES[check_currency(currency)])
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def has_more_places(value: Decimal, currency: str = DEFAULT_CURRENCY) -> bool:
    """True if the amount has more decimal places than the currency's minor unit."""
    return value != value.quantize(Decimal(1).scaleb(-CURRENCIES[currency]), rounding=ROUND_HALF_UP)


ZERO = Decimal("0.00")


class MoneyField(models.DecimalField):
    """A DecimalField for money that refuses floats on the way in and out of the database."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, float):
            raise ValidationError("money must not be a float", code="float_money")
        return super().to_python(value)

    def get_db_prep_save(self, value, connection):
        if isinstance(value, float):
            raise TypeError(f"{self.name}: money must not be a float")
        return super().get_db_prep_save(value, connection)

    def get_prep_value(self, value):
        if isinstance(value, float):
            raise TypeError(f"{self.name}: money must not be a float")
        return super().get_prep_value(value)
