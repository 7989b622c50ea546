"""The payables API (see the app's docstring). Filled in by its area's work."""

from ninja import Router

router = Router(tags=["payables"])
