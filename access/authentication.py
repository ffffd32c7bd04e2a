"""DRF authentication by API key: `Authorization: Api-Key <key>` (or the `X-Api-Key` header)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from access.services import apikey_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith(f"{self.keyword} "):
            raw_key = header[len(self.keyword) + 1:].strip()
        else:
            raw_key = request.META.get("HTTP_X_API_KEY", "").strip()
        if not raw_key:
            return None
        api_key = apikey_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("the API key is unknown, expired or revoked")
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
