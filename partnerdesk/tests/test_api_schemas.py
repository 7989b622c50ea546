"""The API's schemas have distinct names: django-ninja files each under its class name in the OpenAPI document,
so two classes of one name would silently show one's fields for both."""

from ninja import Schema


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_schema_name_is_used_once():
    from partnerdesk.api import api

    api.get_openapi_schema()  # (every router's module imported)
    homes: dict[str, set[str]] = {}
    for schema in _subclasses(Schema):
        if schema.__module__.startswith("partnerdesk."):
            homes.setdefault(schema.__name__, set()).add(schema.__module__)
    assert {name: sorted(mods) for name, mods in homes.items() if len(mods) > 1} == {}


def test_the_openapi_document_names_each_schema_it_uses():
    from partnerdesk.api import api

    components = api.get_openapi_schema()["components"]["schemas"]
    assert "InvoiceReasonIn" in components and "FapiaoImportOut" in components
