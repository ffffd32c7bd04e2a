"""ASGI entry point: HTTP (Django; static files served by the app itself, so one process is enough) and the
pages' websockets (Channels), which only accept allowed origins and signed-in sessions."""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pms_site.settings")
from django.conf import settings

# Under ASGI every request runs its sync code in a thread of its own, so a persistent connection per thread
# would pile up (one per request, held for CONN_MAX_AGE) until PostgreSQL refuses clients; opening one per
# request instead costs a connection set-up each time. A pool (psycopg_pool) hands a request an open
# connection and takes it back at the end. The engine and workers keep their persistent connections.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
if os.environ.get("PMS_WEB_DB_POOL"):  # the web server's environment (Procfile) sets it; importers (tests) do not
    settings.DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2, "max_size": int(os.environ["PMS_WEB_DB_POOL"]), "timeout": 10}
django_application = get_asgi_application()  # before anything imports models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from pms_site.fastpath import FastReads  # noqa: E402
from risk.web import RiskConsumer  # noqa: E402
from trading.web.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": FastReads(ASGIStaticFilesHandler(django_application)),  # the hot positions read skips the stack
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter([
        *websocket_urlpatterns, path("ws/risk/", RiskConsumer.as_asgi())]))),
})
