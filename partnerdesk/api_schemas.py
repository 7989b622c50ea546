"""Field types shared by the API schemas of every app."""

from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema


def _money_input(value):
    # A JSON float would carry binary rounding into the ledger: only strings and whole numbers are money.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('give amounts as decimal strings such as "1280.00"')
    return str(value)


Amount = Annotated[
    str,
    BeforeValidator(_money_input),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1280.00"]}),
]
