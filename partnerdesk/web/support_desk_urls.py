"""The agents' support desk pages: queues, cases, unmatched mail, the desk's settings and reports."""

from django.urls import path

from .views import (
    escalation_reports,
    escalation_settings,
    support_case,
    support_disputes,
    support_escalations,
    support_mail,
    support_new_case,
    support_queue,
    support_reports,
    support_stuck,
)

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
    # A case opened for an operator request that keeps failing: try it again, or cancel it.
    path("support/stuck-requests/<int:pk>/retry/", support_stuck.support_stuck_retry, name="support_stuck_retry"),
    path("support/stuck-requests/<int:pk>/cancel/", support_stuck.support_stuck_cancel, name="support_stuck_cancel"),
    path("support/cases/<int:pk>/merge/", support_case.support_case_merge, name="support_case_merge"),
    path("support/cases/<int:pk>/canned/<int:canned_pk>/", support_case.support_canned, name="support_canned"),
    path("support/cases/<int:pk>/disputes/", support_disputes.support_dispute_add, name="support_dispute_add"),
    path("support/cases/<int:pk>/disputes/uphold/", support_disputes.support_dispute_uphold, name="support_dispute_uphold"),
    path("support/cases/<int:pk>/disputes/reject/", support_disputes.support_dispute_reject, name="support_dispute_reject"),
    # Escalation to 21Vianet from a case: escalate, the portal's reference, the operator's answers, our notes, closed.
    path("support/cases/<int:pk>/escalations/", support_escalations.support_escalate, name="support_escalate"),
    path("support/service-requests/<int:pk>/reference/", support_escalations.support_escalation_reference,
         name="support_escalation_reference"),
    path("support/service-requests/<int:pk>/answers/", support_escalations.support_escalation_answer,
         name="support_escalation_answer"),
    path("support/service-requests/<int:pk>/notes/", support_escalations.support_escalation_note,
         name="support_escalation_note"),
    path("support/service-requests/<int:pk>/close/", support_escalations.support_escalation_close,
         name="support_escalation_close"),
    path("support/attachments/<int:pk>/", support_case.support_attachment, name="support_attachment"),
    path("support/mail/", support_mail.support_mail_list, name="support_mail_list"),
    path("support/mail/<int:pk>/raw/", support_mail.support_mail_raw, name="support_mail_raw"),
    path("support/mail/<int:pk>/file-to-customer/", support_mail.support_mail_file_customer,
         name="support_mail_file_customer"),
    path("support/mail/<int:pk>/file-to-case/", support_mail.support_mail_file_case, name="support_mail_file_case"),
    path("support/mail/<int:pk>/discard/", support_mail.support_mail_discard, name="support_mail_discard"),
    path("support/reports/", support_reports.support_reports, name="support_reports"),  # ?part=...: CSV
    path("support/reports/escalations/", escalation_reports.escalation_reports, name="escalation_reports"),  # ?part=: CSV
    path("settings/escalations/", escalation_settings.escalation_settings, name="escalation_settings"),
]
