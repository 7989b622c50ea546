from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "partnerdesk.dunning"
    label = "dunning"
    verbose_name = "Collections"

    def ready(self):
        from . import signals  # noqa: F401  (reactivation when a payment clears the overdue balance)
