from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "partnerdesk.disputes"
    label = "disputes"
    verbose_name = "Invoice disputes"
