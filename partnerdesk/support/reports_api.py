"""The support desk's reports over the API (being written)."""

from ninja import Router

router = Router(tags=["support reports"])
