"""The re-billing pages (staff): reconciliation files, unmatched lines, price rules, a period's drafts."""

from django.urls import path

from .views import rebilling

urlpatterns = [
    path("rebilling/", rebilling.rebilling_files, name="rebilling_files"),
    path("rebilling/files/upload/", rebilling.rebilling_file_upload, name="rebilling_file_upload"),
    path("rebilling/files/<int:pk>/", rebilling.rebilling_file, name="rebilling_file"),
    path("rebilling/files/<int:pk>/replace/", rebilling.rebilling_file_replace, name="rebilling_file_replace"),
    path("rebilling/unmatched/", rebilling.rebilling_unmatched, name="rebilling_unmatched"),
    path("rebilling/unmatched/map/", rebilling.rebilling_map, name="rebilling_map"),
    path("rebilling/price-rules/", rebilling.rebilling_price_rules, name="rebilling_price_rules"),
    path("rebilling/price-rules/new/", rebilling.rebilling_price_rule_new, name="rebilling_price_rule_new"),
    path("rebilling/price-rules/<int:pk>/edit/", rebilling.rebilling_price_rule_edit, name="rebilling_price_rule_edit"),
    path("rebilling/price-rules/<int:pk>/delete/", rebilling.rebilling_price_rule_delete,
         name="rebilling_price_rule_delete"),
    path("rebilling/periods/", rebilling.rebilling_period, name="rebilling_period"),
    path("rebilling/periods/generate/", rebilling.rebilling_generate, name="rebilling_generate"),
    path("rebilling/periods/issue/", rebilling.rebilling_issue, name="rebilling_issue"),
    path("rebilling/drafts/<int:pk>/", rebilling.rebilling_draft, name="rebilling_draft"),
    path("rebilling/drafts/<int:pk>/adjustments/", rebilling.rebilling_adjustment, name="rebilling_adjustment"),
]
