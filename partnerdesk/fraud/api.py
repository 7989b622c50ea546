"""The fraud and misuse API: alerts with their evidence, actions, expected patterns, rules, credit limits, reports."""

from ninja import Router

router = Router(tags=["fraud"])
