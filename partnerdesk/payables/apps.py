from django.apps import AppConfig


class PayablesConfig(AppConfig):
    name = "partnerdesk.payables"
    label = "payables"
    verbose_name = "Payables to the operator"
