from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "partnerdesk.billing"
    label = "billing"

    def ready(self):
        from . import documents  # noqa: F401  (registers the invoice PDF as an email attachment)
