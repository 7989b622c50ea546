"""The customers' side of the desk: their cases in the portal, the signed answer link from emails, and the
published support information (portal, public, and the administrator's page that writes it)."""

from django.urls import path

from .views import support_answer, support_information, support_portal

urlpatterns = [
    path("portal/support/", support_portal.portal_support, name="portal_support"),
    path("portal/support/new/", support_portal.portal_support_new, name="portal_support_new"),
    path("portal/support/information/", support_information.portal_support_information,
         name="portal_support_information"),
    path("portal/support/<int:pk>/", support_portal.portal_support_case, name="portal_support_case"),
    path("portal/support/<int:pk>/reply/", support_portal.portal_support_reply, name="portal_support_reply"),
    path("portal/support/<int:pk>/confirm/", support_portal.portal_support_confirm, name="portal_support_confirm"),
    path("portal/support/<int:pk>/reopen/", support_portal.portal_support_reopen, name="portal_support_reopen"),
    path("portal/support/<int:pk>/score/", support_portal.portal_support_score, name="portal_support_score"),
    path("portal/support/<int:pk>/files/<int:attachment_pk>/", support_portal.portal_support_attachment,
         name="portal_support_attachment"),
    # no sign-in: the signed link of a resolution email, and the published information
    path("support/answer/<str:token>/", support_answer.support_answer, name="support_answer"),
    path("support/information/", support_information.support_information, name="support_information"),
    # settings (administrators)
    path("settings/support-information/", support_information.support_information_edit,
         name="support_information_edit"),
]
