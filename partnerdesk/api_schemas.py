"""Field types shared by the API schemas of every app."""

from typing import Annotated

from pydantic import StrictInt, StrictStr, WithJsonSchema

# Money arrives as a decimal string (or a whole number); a JSON float is refused before it reaches a service.
Amount = Annotated[
    StrictStr | StrictInt,
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1280.00"]}),
]
