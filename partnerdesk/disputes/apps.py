from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "partnerdesk.disputes"
    label = "disputes"
    verbose_name = "Invoice disputes"

    def ready(self):
        from . import signals  # noqa: F401  (a new case from email that disputes an invoice)
