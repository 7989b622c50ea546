from django.urls import path

from .views import audit, auth, billing, customers, portal, tokens

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    # staff desk
    path("customers/", customers.customer_list, name="customer_list"),
    path("customers/import/", customers.customer_import, name="customer_import"),
    path("customers/<int:pk>/", customers.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/sync/", customers.customer_sync, name="customer_sync"),
    path("customers/<int:pk>/payments/new/", billing.payment_new, name="payment_new"),
    path("customers/<int:pk>/statement/", billing.customer_statement, name="customer_statement"),
    path("customers/<int:pk>/subscriptions/<int:sub_pk>/suspend/", customers.subscription_suspend,
         name="subscription_suspend"),
    path("customers/<int:pk>/subscriptions/<int:sub_pk>/reactivate/", customers.subscription_reactivate,
         name="subscription_reactivate"),
    path("invoices/<int:pk>/", billing.invoice_detail, name="invoice_detail"),
    path("audit/", audit.audit_list, name="audit_list"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    # everyone signed in
    path("account/tokens/", tokens.token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    # customer portal
    path("portal/", portal.portal_home, name="portal_home"),
    path("portal/invoices/", portal.portal_invoices, name="portal_invoices"),
    path("portal/invoices/<int:pk>/", portal.portal_invoice_detail, name="portal_invoice_detail"),
    path("portal/payments/", portal.portal_payments, name="portal_payments"),
    path("portal/statement/", portal.portal_statement, name="portal_statement"),
    path("portal/subscriptions/", portal.portal_subscriptions, name="portal_subscriptions"),
]
