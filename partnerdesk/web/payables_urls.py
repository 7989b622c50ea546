"""The payables pages: the partner's invoices from 21Vianet, its payments to it, its standing, finance's settings
(staff only; customers never see them)."""

from django.urls import path

from .views import payables

urlpatterns = [
    path("payables/", payables.payables_invoices, name="payables_invoices"),
    path("payables/invoices/new/", payables.payables_invoice_new, name="payables_invoice_new"),
    path("payables/invoices/<int:pk>/", payables.payables_invoice, name="payables_invoice"),
    path("payables/invoices/<int:pk>/edit/", payables.payables_invoice_edit, name="payables_invoice_edit"),
    path("payables/invoices/<int:pk>/payments/", payables.payables_payment_new, name="payables_payment_new"),
    path("payables/settings/", payables.payables_settings, name="payables_settings"),
]
