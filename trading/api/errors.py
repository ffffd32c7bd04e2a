"""Every API error as {code, message, detail}: one shape for bad input, refusals, auth and throttling."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import AppError, NotFound


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "detail": detail if detail is not None else {}}


def _first_message(detail: Any, path: str = "") -> str:
    """The first validation message, prefixed with the field it is about ("quantity: must be positive")."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            return _first_message(value, field)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], path)
    return f"{path}: {detail}" if path else str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, NotFound):
        return Response(error_body(exc.code, exc.user_message, exc.detail), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, AppError):
        return Response(error_body(exc.code, exc.user_message, exc.detail), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("not found")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)  # keep the reason ("only staff may ...")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django logs it and answers 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        response.data = error_body("throttled", f"too many writes; retry in {exc.wait or 1:.0f}s",
                                   {"retry_after_s": exc.wait})
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = error_body(codes if isinstance(codes, str) else "error", str(exc.detail))
    return response
