"""ASGI entry point; static files are served by the app itself so one process is enough."""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
application = ASGIStaticFilesHandler(get_asgi_application())
