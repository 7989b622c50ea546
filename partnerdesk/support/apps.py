from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "partnerdesk.support"
    label = "support"
    verbose_name = "Support desk"

    def ready(self):
        from . import signals  # noqa: F401  (a bounced resolution reopens its case)
