from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "partnerdesk.gateway"
    verbose_name = "Operator gateway"
