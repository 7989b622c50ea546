import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerdesk.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402

if not settings.SECRET_KEY:
    # Refuse to serve rather than fail on the first request that needs a signature.
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (PartnerDesk keeps no secret in its code).")
