"""The fapiao pages (staff, and the customers' own in the portal)."""

urlpatterns = []
