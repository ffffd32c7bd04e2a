"""URL routes."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults

from pms_site import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("risk.api")),
    path("api/v1/", include("trading.api.urls")),
    path("", include("risk.web")),
    path("", include("algos.web")),
    path("", include("trading.web.urls")),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("metrics", health.metrics),
]


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """No route: the API answers in its own error shape ({code, message, detail}), pages with the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": f"no API route {request.path}", "detail": {}},
                            status=404)
    return defaults.page_not_found(request, exception or Exception("not found"))


handler404: Any = not_found
