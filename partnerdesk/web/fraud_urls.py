"""Fraud and misuse monitoring's pages: alerts with their evidence and actions, rules, credit limits and budgets."""

from django.urls import path

from .views import fraud

urlpatterns = [
    path("fraud/", fraud.fraud_alerts, name="fraud_alerts"),
    path("fraud/alerts/<int:pk>/", fraud.fraud_alert, name="fraud_alert"),
    path("fraud/alerts/<int:pk>/<slug:action>/", fraud.fraud_alert_action, name="fraud_alert_action"),
    path("fraud/patterns/<int:pk>/remove/", fraud.fraud_pattern_remove, name="fraud_pattern_remove"),
    path("fraud/rules/", fraud.fraud_rules, name="fraud_rules"),
    path("fraud/rules/save/", fraud.fraud_rule_set, name="fraud_rule_set"),
    path("fraud/rules/<int:pk>/remove/", fraud.fraud_rule_remove, name="fraud_rule_remove"),
    path("fraud/settings/", fraud.fraud_settings, name="fraud_settings"),
    path("fraud/reports/", fraud.fraud_report, name="fraud_report"),
    path("fraud/customers/<int:pk>/limits/", fraud.fraud_limits, name="fraud_limits"),
    path("fraud/customers/<int:pk>/limits/set/", fraud.fraud_limit_set, name="fraud_limit_set"),
    path("fraud/limits/<int:pk>/remove/", fraud.fraud_limit_remove, name="fraud_limit_remove"),
    # the customer's own, in the portal
    path("portal/limits/", fraud.portal_limits, name="portal_limits"),
]
