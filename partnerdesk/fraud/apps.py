from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "partnerdesk.fraud"
    label = "fraud"
    verbose_name = "Fraud and misuse monitoring"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (detection after each reconciliation import)
