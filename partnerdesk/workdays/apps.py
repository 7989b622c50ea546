from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "partnerdesk.workdays"
    label = "workdays"
    verbose_name = "Working days"
