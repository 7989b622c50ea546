from django.urls import path

from .views import (
    audit,
    auth,
    billing,
    collections,
    customer_records,
    customers,
    documents,
    email_templates,
    ledger,
    lists,
    payment_instructions,
    policy_document,
    portal,
    portal_disputes,
    reports,
    search,
    tokens,
    users,
)

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    # staff desk
    path("dashboard/", collections.dashboard, name="dashboard"),
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/import/", customers.customer_import, name="customer_import"),
    path("customers/new/", customer_records.customer_new, name="customer_new"),
    path("customers/<int:pk>/edit/", customer_records.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/deactivate/", customer_records.customer_deactivate, name="customer_deactivate"),
    path("customers/<int:pk>/contacts/new/", customer_records.contact_new, name="contact_new"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/edit/", customer_records.contact_edit, name="contact_edit"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/remove/", customer_records.contact_remove, name="contact_remove"),
    path("customers/<int:pk>/invoices/new/", ledger.invoice_new, name="invoice_new"),
    path("invoices/<int:pk>/edit/", ledger.invoice_edit, name="invoice_edit"),
    path("invoices/<int:pk>/issue/", ledger.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", ledger.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/credit-notes/new/", ledger.credit_note_new, name="credit_note_new"),
    path("payments/<int:pk>/", ledger.payment_detail, name="payment_detail"),
    path("payments/<int:pk>/refund/", ledger.payment_refund, name="payment_refund"),
    path("payments/<int:pk>/reverse/", ledger.payment_reverse, name="payment_reverse"),
    path("payments/<int:pk>/allocations/move/", ledger.allocation_move, name="allocation_move"),
    path("customers/export.csv", customers.customer_list_csv, name="customer_list_csv"),
    path("customers/bulk/", customers.customer_bulk, name="customer_bulk"),
    path("search/", search.search_page, name="search"),
    path("invoices/", lists.invoice_list, name="invoice_list"),
    path("invoices/export.csv", lists.invoice_list_csv, name="invoice_list_csv"),
    path("payments/", lists.payment_list, name="payment_list"),
    path("payments/export.csv", lists.payment_list_csv, name="payment_list_csv"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/sync/", customers.customer_sync, name="customer_sync"),
    path("customers/<int:pk>/payments/new/", billing.payment_new, name="payment_new"),
    path("customers/<int:pk>/statement/", billing.customer_statement, name="customer_statement"),
    path("customers/<int:pk>/subscriptions/<int:sub_pk>/suspend/", customers.subscription_suspend,
         name="subscription_suspend"),
    path("customers/<int:pk>/subscriptions/<int:sub_pk>/reactivate/", customers.subscription_reactivate,
         name="subscription_reactivate"),
    path("customers/<int:pk>/disputes/", collections.dispute_open, name="dispute_open"),
    path("customers/<int:pk>/disputes/<int:dispute_pk>/resolve/", collections.dispute_resolve, name="dispute_resolve"),
    path("customers/<int:pk>/promises/", collections.promise_add, name="promise_add"),
    path("customers/<int:pk>/collections-profile/", collections.collections_profile, name="collections_profile"),
    path("customers/<int:pk>/calls/<int:call_pk>/done/", collections.call_complete, name="call_complete"),
    path("customers/<int:pk>/calls/done/", collections.calls_complete, name="calls_complete"),
    path("customers/<int:pk>/emails/<int:email_pk>/retry/", collections.email_retry, name="email_retry"),
    path("customers/<int:pk>/collections-policy/", policy_document.customer_collections_policy,
         name="customer_collections_policy"),
    path("customers/<int:pk>/collections-policy.pdf", policy_document.customer_collections_policy_pdf,
         name="customer_collections_policy_pdf"),
    path("invoices/<int:pk>/", billing.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>.pdf", documents.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/print/", documents.invoice_print, name="invoice_print"),
    path("customers/<int:pk>/statement.pdf", documents.customer_statement_pdf, name="customer_statement_pdf"),
    path("customers/<int:pk>/statement/print/", documents.customer_statement_print, name="customer_statement_print"),
    path("collections/preview/", collections.collections_preview, name="collections_preview"),
    path("collections/runs/", collections.collections_runs, name="collections_runs"),
    path("collections/runs/start/", collections.collections_run_now, name="collections_run_now"),
    path("collections/runs/<int:pk>/", collections.collections_run_detail, name="collections_run_detail"),
    path("collections/operator-requests/", collections.operator_requests, name="operator_requests"),
    path("collections/operator-requests/retry/", collections.operator_requests_retry, name="operator_requests_retry"),
    path("collections/policies/", collections.policy_list, name="policy_list"),
    path("collections/policies/<int:pk>/", collections.policy_detail, name="policy_detail"),
    path("collections/policies/<int:pk>/edit/", collections.policy_edit, name="policy_edit"),
    path("collections/policies/<int:pk>/copy/", collections.policy_copy, name="policy_copy"),
    path("reports/aging/", reports.aging_report, name="report_aging"),
    path("reports/aging.csv", reports.aging_export, name="report_aging_csv"),
    path("reports/dso.csv", reports.dso_export, name="report_dso_csv"),
    path("reports/collections/", reports.collections_report, name="report_collections"),
    path("reports/collections.csv", reports.collections_export, name="report_collections_csv"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    # settings
    path("settings/email-templates/", email_templates.email_template_list, name="email_template_list"),
    path("settings/email-templates/<str:key>/<str:language>/", email_templates.email_template_edit,
         name="email_template_edit"),
    path("settings/email-templates/<str:key>/<str:language>/reset/", email_templates.email_template_reset,
         name="email_template_reset"),
    path("settings/users/", users.user_list, name="user_list"),
    path("settings/users/invite/", users.user_invite, name="user_invite"),
    path("settings/users/<int:pk>/", users.user_detail, name="user_detail"),
    path("settings/users/<int:pk>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("settings/users/<int:pk>/reactivate/", users.user_reactivate, name="user_reactivate"),
    path("settings/users/<int:pk>/invitation/", users.user_resend_invitation, name="user_resend_invitation"),
    path("settings/teams/", users.team_list, name="team_list"),
    path("settings/teams/<int:pk>/", users.team_detail, name="team_detail"),
    path("settings/teams/<int:pk>/members/", users.team_members, name="team_members"),
    path("customers/<int:pk>/contacts/<int:contact_pk>/portal-invitation/", users.portal_invite, name="portal_invite"),
    # an invited user sets a password (no sign-in: the link is the credential)
    path("invitation/<uidb64>/<token>/", users.invitation_accept, name="invitation_accept"),
    path("settings/payment-instructions/", payment_instructions.payment_instructions, name="payment_instructions"),
    # everyone signed in
    path("account/tokens/", tokens.token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    # customer portal
    path("portal/", portal.portal_home, name="portal_home"),
    path("portal/invoices/", portal.portal_invoices, name="portal_invoices"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice_detail, name="portal_invoice_detail"),
    path("portal/invoices/<int:pk>/dispute/", portal_disputes.portal_invoice_dispute, name="portal_invoice_dispute"),
    path("portal/payments/", portal.portal_payments, name="portal_payments"),
    path("portal/statement/", portal.portal_statement, name="portal_statement"),
    path("portal/invoices/<int:pk>.pdf", documents.portal_invoice_pdf, name="portal_invoice_pdf"),
    path("portal/invoices/<int:pk>/print/", documents.portal_invoice_print, name="portal_invoice_print"),
    path("portal/statement.pdf", documents.portal_statement_pdf, name="portal_statement_pdf"),
    path("portal/statement/print/", documents.portal_statement_print, name="portal_statement_print"),
    path("portal/subscriptions/", portal.portal_subscriptions, name="portal_subscriptions"),
    path("portal/collections-policy/", policy_document.portal_collections_policy, name="portal_collections_policy"),
    path("portal/collections-policy/print/", policy_document.portal_collections_policy_print,
         name="portal_collections_policy_print"),
    path("portal/collections-policy.pdf", policy_document.portal_collections_policy_pdf,
         name="portal_collections_policy_pdf"),
    path("portal/collections-policy/acknowledge/", policy_document.portal_collections_policy_acknowledge,
         name="portal_collections_policy_acknowledge"),
]

# The support desk: the agents' pages and the customers' (each in its own list, kept by its own views).
from .support_desk_urls import urlpatterns as _desk_urls  # noqa: E402
from .support_portal_urls import urlpatterns as _portal_support_urls  # noqa: E402

urlpatterns += _desk_urls + _portal_support_urls

# Re-billing, payables to the operator and fapiao (each in its own list, kept by its own views).
from .fapiao_urls import urlpatterns as _fapiao_urls  # noqa: E402
from .finance_urls import urlpatterns as _finance_urls  # noqa: E402
from .payables_urls import urlpatterns as _payables_urls  # noqa: E402
from .rebilling_urls import urlpatterns as _rebilling_urls  # noqa: E402

urlpatterns += _rebilling_urls + _payables_urls + _fapiao_urls + _finance_urls

# Fraud and misuse monitoring: alerts, their evidence and actions, credit limits and budgets.
from .fraud_urls import urlpatterns as _fraud_urls  # noqa: E402

urlpatterns += _fraud_urls
