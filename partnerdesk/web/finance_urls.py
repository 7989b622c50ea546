"""Finance's pages: exposure, margin, leakage and cash flow, with their charts and CSV exports (?part=...)."""

from django.urls import path

from .views import finance

urlpatterns = [
    path("finance/", finance.finance_dashboard, name="finance_dashboard"),
]
