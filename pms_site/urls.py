"""URL routes."""

from django.contrib import admin
from django.urls import include, path

from pms_site import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("risk.api")),
    path("api/v1/", include("trading.api.urls")),
    path("", include("risk.web")),
    path("", include("trading.web.urls")),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", health.metrics),
]
