from django.apps import AppConfig


class RebillingConfig(AppConfig):
    name = "partnerdesk.rebilling"
    label = "rebilling"
    verbose_name = "Re-billing from the operator's reconciliation files"
