from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "partnerdesk.notifications"
    label = "notifications"
    verbose_name = "Email"

    def ready(self):
        from . import tasks  # noqa: F401  (enqueues its task when the services ask for work)
