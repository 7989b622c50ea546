from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    name = "partnerdesk.escalations"
    label = "escalations"
    verbose_name = "Escalations to the operator"
