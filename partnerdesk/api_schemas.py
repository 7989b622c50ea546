"""Field types shared by the API schemas of every app: each carries its bound from partnerdesk.bounds, so the
published OpenAPI states it and an input outside it is a 422 naming the field."""

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from ninja import Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from partnerdesk import bounds
from partnerdesk.errors import Refusal

# The validators raise ValueError(Refusal(...)): the API's error handler renders it in the client's language.


def _money_input(signed: bool):
    def check(value):
        # A JSON float would carry binary rounding into the ledger: only strings and whole numbers are money.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(Refusal(_('give amounts as decimal strings such as "1280.00"')))
        problem = bounds.amount_text_problem(str(value), signed=signed)
        if problem:
            raise ValueError(problem)
        return str(value)
    return check


def _quantity_input(value):
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(Refusal(_('give quantities as decimal strings such as "12" or "0.5" (at most 6 decimal places)')))
    problem = bounds.quantity_text_problem(str(value))
    if problem:
        raise ValueError(problem)
    return str(value)


def _date_in_range(value: dt.date) -> dt.date:
    if not bounds.MIN_DATE <= value <= bounds.MAX_DATE:
        raise ValueError(Refusal(_("the date must be between %(low)s and %(high)s"), low=str(bounds.MIN_DATE),
                                 high=str(bounds.MAX_DATE)))
    return value


def _storable(max_length: int):
    def check(value: str) -> str:
        problem = bounds.text_problem(value, max_length)
        if problem:
            raise ValueError(problem)
        return value
    return check


Amount = Annotated[str, BeforeValidator(_money_input(signed=False)),
                   WithJsonSchema({"type": "string", "pattern": bounds.AMOUNT_PATTERN, "examples": ["1280.00"]})]
SignedAmount = Annotated[str, BeforeValidator(_money_input(signed=True)),
                         WithJsonSchema({"type": "string", "pattern": bounds.SIGNED_AMOUNT_PATTERN, "examples": ["-100.00"]})]
Quantity = Annotated[str, BeforeValidator(_quantity_input),
                     WithJsonSchema({"type": "string", "pattern": bounds.QUANTITY_PATTERN, "examples": ["12"]})]
Rate = Annotated[str, Field(pattern=bounds.RATE_PATTERN, examples=["0.06"])]

# A business date (2000-01-01 to 2099-12-31).
BusinessDate = Annotated[dt.date, AfterValidator(_date_in_range)]

# Ids and other integers, bounded so that no database is asked about a number it cannot hold.
Id = Annotated[int, Field(ge=1, le=bounds.MAX_ID)]
Days = Annotated[int, Field(ge=0, le=3650)]
Year = Annotated[int, Field(ge=bounds.MIN_DATE.year, le=bounds.MAX_DATE.year)]


def Text(max_length: int = bounds.NAME_LENGTH, min_length: int = 0):  # noqa: N802  (a type, read like one)
    """Free text: storable (no NUL, no lone surrogate) and at most max_length characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_storable(max_length))]


Name = Text(bounds.NAME_LENGTH)
Reference = Text(bounds.REFERENCE_LENGTH)
Reason = Text(bounds.REASON_LENGTH)
Note = Text(bounds.NOTE_LENGTH)
Search = Text(bounds.SEARCH_LENGTH)
Code = Text(40)  # a status, a kind, a method, a language: checked against its choices by the service


class ErrorItem(Schema):
    field: str
    message: str
    type: str


class RowErrorOut(Schema):
    file: str = ""
    row: int
    column: str
    message: str


class ErrorOut(Schema):
    """Every error answer: `detail` for people (in the client's language), `code` and `field` for programs."""

    detail: str
    code: str
    field: str | None = None
    file: str | None = None  # (a CSV import: the file the errors are in)
    errors: list[ErrorItem | RowErrorOut] | None = None


class Pagination(LimitOffsetPagination):
    """limit/offset with both ends bounded: an offset past 64 bits is a 422, not a database overflow."""

    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=bounds.MAX_OFFSET)
