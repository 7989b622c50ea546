"""The agents' support desk pages: queues, cases, unmatched mail, the desk's settings and reports."""

from django.urls import path

from .views import support_case, support_mail, support_new_case, support_queue, support_reports

urlpatterns = [
    path("support/", support_queue.support_queue, name="support_queue"),
    path("support/bulk/", support_queue.support_bulk, name="support_bulk"),
    path("support/cases/new/", support_new_case.support_case_new, name="support_case_new"),
    path("support/cases/<int:pk>/", support_case.support_case, name="support_case"),
    path("support/cases/<int:pk>/messages/", support_case.support_case_compose, name="support_case_compose"),
    path("support/cases/<int:pk>/details/", support_case.support_case_details, name="support_case_details"),
    path("support/cases/<int:pk>/assign/", support_case.support_case_assign, name="support_case_assign"),
    path("support/cases/<int:pk>/status/", support_case.support_case_status, name="support_case_status"),
    path("support/cases/<int:pk>/close/", support_case.support_case_close, name="support_case_close"),
    path("support/cases/<int:pk>/merge/", support_case.support_case_merge, name="support_case_merge"),
    path("support/cases/<int:pk>/canned/<int:canned_pk>/", support_case.support_canned, name="support_canned"),
    path("support/attachments/<int:pk>/", support_case.support_attachment, name="support_attachment"),
    path("support/mail/", support_mail.support_mail_list, name="support_mail_list"),
    path("support/mail/<int:pk>/raw/", support_mail.support_mail_raw, name="support_mail_raw"),
    path("support/mail/<int:pk>/file-to-customer/", support_mail.support_mail_file_customer,
         name="support_mail_file_customer"),
    path("support/mail/<int:pk>/file-to-case/", support_mail.support_mail_file_case, name="support_mail_file_case"),
    path("support/mail/<int:pk>/discard/", support_mail.support_mail_discard, name="support_mail_discard"),
    path("support/reports/", support_reports.support_reports, name="support_reports"),  # ?part=...: CSV
]
