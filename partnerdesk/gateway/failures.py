"""What PartnerDesk says of each of the gateway's errors: a leaf module (no PartnerDesk imports), so the services
that raise these and the code that reads them back from stored records share it without importing each other."""

from django.utils.translation import gettext_lazy as _

# What PartnerDesk says of each of the gateway's errors (by class name), quoting the operator's answer (`detail`,
# as the gateway wrote it) for support.
OPERATOR_FAILURES = {
    "OperatorConflict": _("The subscription changed at the operator since it was read; try again. (%(detail)s)"),
    "OperatorUnavailable": _("The operator cannot be reached just now; try again later. (%(detail)s)"),
    "OperatorNotFound": _("The operator does not know this customer or subscription. (%(detail)s)"),
    "OperatorAuthError": _("The operator refused PartnerDesk's credentials; check the Partner Center settings. "
                           "(%(detail)s)"),
    "OperatorRejected": _("The operator rejected the request. (%(detail)s)"),
    "OperatorError": _("The operator gave an answer PartnerDesk did not expect. (%(detail)s)"),
}
