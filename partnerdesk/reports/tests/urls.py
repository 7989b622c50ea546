"""The site's URLs with the reports routes mounted under /api/v1/, for the API tests of this app.

Until partnerdesk/api.py registers the reports router itself, the tests mount it on an API that shares
the main API's authentication and error handlers; once it is registered there, the site's URLs are used.
"""

from django.urls import path
from ninja import NinjaAPI

from partnerdesk.api import api as main_api
from partnerdesk.reports.api import router
from partnerdesk.urls import urlpatterns as site_urlpatterns

if any(r is router for _, r in main_api._routers):
    urlpatterns = site_urlpatterns
else:
    reports_api = NinjaAPI(title="PartnerDesk API (reports, tests)", auth=main_api.auth, urls_namespace="reports_tests")
    reports_api._exception_handlers.update(main_api._exception_handlers)
    reports_api.add_router("", router)
    urlpatterns = [path("api/v1/", reports_api.urls), *site_urlpatterns]
