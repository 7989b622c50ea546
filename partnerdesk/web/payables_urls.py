"""The payables pages (staff, and the customers' own in the portal)."""

urlpatterns = []
