"""WSGI entry point (management tooling; the served app is ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
application = get_wsgi_application()
