from django.apps import AppConfig


class FapiaoConfig(AppConfig):
    name = "partnerdesk.fapiao"
    label = "fapiao"
    verbose_name = "Fapiao (China VAT invoice) records"
