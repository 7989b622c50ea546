from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "partnerdesk.escalations"
    label = "escalations"
    verbose_name = "Escalations to the operator"

    def ready(self):
        from . import (
            signals,  # noqa: F401  (a public reply tells the customer of a closed operator request)
            tasks,  # noqa: F401  (opens a case when collections gives an operator request up)
        )
