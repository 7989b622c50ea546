"""The API's guard at the door: whatever an operation's schema says, no request reaches a service with text a
database cannot store or an integer no column can hold; and the published OpenAPI states the error answers.

Each field's own bound (length, range, pattern) lives in its schema type (api_schemas.py); this guard is the
net under all of them, for the fields a schema forgot and for the keys of free-form objects.
"""

import json

from django.utils.translation import gettext_lazy as _
from ninja.errors import ValidationError
from ninja.parser import Parser

from partnerdesk import bounds
from partnerdesk.errors import Refusal

ERROR_STATUSES = {
    "400": "Bad request (too many parameters, or a request the rules refuse)",
    "401": "No valid bearer token or session",
    "403": "Not allowed for your role, or the CSRF check failed",
    "404": "Not found, or not yours to see",
    "409": "Conflicts with the current state",
    "413": "The request body is too large",
    "422": "A field is invalid: `field` names it",
    "502": "The operator (Partner Center) refused or could not be reached; nothing was changed",
}


def _problem(value, loc: tuple) -> dict | None:
    """The first unstorable string or out-of-range integer in a parsed JSON value, as a validation error."""
    if isinstance(value, str):
        problem = bounds.text_problem(value)
        return {"loc": loc, "msg": problem, "type": "invalid_text"} if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not -bounds.MAX_ID <= value <= bounds.MAX_ID:
            return {"loc": loc, "msg": Refusal(_("the number is too large")), "type": "int_out_of_range"}
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _problem(key, (*loc, "<key>")) or _problem(item, (*loc, key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _problem(item, (*loc, i))
            if found:
                return found
    return None


class GuardedParser(Parser):
    def parse_body(self, request):
        data = json.loads(request.body)
        found = _problem(data, ("body",))
        if found:
            raise ValidationError([found])
        return data

    def parse_querydict(self, data, list_fields, request):
        for key, values in data.lists():
            for value in [key, *values]:
                problem = bounds.text_problem(value) if isinstance(value, str) else None  # (or an uploaded file)
                if problem:
                    raise ValidationError([{"loc": ("query", key), "msg": problem, "type": "invalid_text"}])
        return super().parse_querydict(data, list_fields, request)


def document_error_answers(schema: dict) -> dict:
    """Every operation can answer these errors, all with the same JSON body (ErrorOut)."""
    from partnerdesk.api_schemas import ErrorOut

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {"description": description, "content": body})
    return schema
