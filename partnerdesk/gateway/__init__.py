"""The operator gateway: PartnerDesk's only way to the operator's Partner Center API (plus a local simulator)."""

from partnerdesk.gateway.client import (
    OperatorAuthError,
    OperatorConflict,
    OperatorError,
    OperatorGateway,
    OperatorNotFound,
    OperatorRejected,
    OperatorUnavailable,
    get_gateway,
)

__all__ = [
    "OperatorAuthError",
    "OperatorConflict",
    "OperatorError",
    "OperatorGateway",
    "OperatorNotFound",
    "OperatorRejected",
    "OperatorUnavailable",
    "get_gateway",
]
