from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "partnerdesk.finance"
    label = "finance"
    verbose_name = "Finance: exposure, leakage and cash flow"
