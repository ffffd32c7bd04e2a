"""Who may call an endpoint: a signed-in operator, or an API key holding the endpoint's scope."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from access.models import ApiKey, Scope


def required_scope(request: Request, view: Any) -> str:
    """A view names the scope of its writes (`write_scope`); reads need `read`."""
    if request.method in permissions.SAFE_METHODS:
        return Scope.READ.value
    return str(getattr(view, "write_scope", Scope.TRADE.value))


class HasScope(permissions.BasePermission):
    message = "this API key lacks the scope this endpoint needs"

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiKey):
            scope = required_scope(request, view)
            self.message = f"this API key lacks the {scope!r} scope this endpoint needs"
            return scope in request.auth.scopes
        return True  # a signed-in operator holds every scope; grants limit what they reach
