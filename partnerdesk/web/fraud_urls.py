"""Fraud and misuse monitoring's pages: alerts with their evidence and actions, rules, credit limits and budgets."""

urlpatterns = []
