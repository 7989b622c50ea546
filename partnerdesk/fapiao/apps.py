from django.apps import AppConfig


class FapiaoConfig(AppConfig):
    name = "partnerdesk.fapiao"
    label = "fapiao"
    verbose_name = "Fapiao (China VAT invoice) records"

    def ready(self):
        from . import signals  # noqa: F401  (a credit note asks for the red-letter reversal of its invoice's fapiao)
