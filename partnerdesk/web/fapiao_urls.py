"""The fapiao pages (staff, and the customers' own in the portal)."""

from django.urls import path

from .views import fapiao

urlpatterns = [
    # staff: the requests and records, finance's actions, the files for the tax platform
    path("fapiao/", fapiao.fapiao_list, name="fapiao_list"),
    path("fapiao/requests/", fapiao.fapiao_request, name="fapiao_request"),
    path("fapiao/<int:pk>/issue/", fapiao.fapiao_issue, name="fapiao_issue"),
    path("fapiao/<int:pk>/deliver/", fapiao.fapiao_deliver, name="fapiao_deliver"),
    path("fapiao/<int:pk>/reversal/", fapiao.fapiao_reversal, name="fapiao_reversal"),
    path("fapiao/<int:pk>/reversal/reason/", fapiao.fapiao_reversal_reason, name="fapiao_reversal_reason"),
    path("fapiao/<int:pk>/reversal/done/", fapiao.fapiao_reversal_done, name="fapiao_reversal_done"),
    path("fapiao/export.csv", fapiao.fapiao_export, name="fapiao_export"),
    path("fapiao/import/", fapiao.fapiao_import, name="fapiao_import"),
    # a customer's invoicing details (reached from the customer's page)
    path("customers/<int:pk>/fapiao/", fapiao.fapiao_buyer_details, name="fapiao_buyer_details"),
    # the portal: the customer's own invoices and their fapiao
    path("portal/fapiao/", fapiao.portal_fapiao, name="portal_fapiao"),
]
