"""The API's desk fixtures, plus a client authenticated by an API key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from access.services import apikey_issue
from core.clock import SYSTEM_CLOCK
from trading.tests.api.conftest import _fresh_throttle_history, client_for, desk

__all__ = ["_fresh_throttle_history", "client_for", "desk"]


@pytest.fixture
def key_client() -> Callable[..., APIClient]:
    def make(user: User, scopes: list[str], days: int = 30) -> APIClient:
        _, raw = apikey_issue(user=user, name="bot", scopes=scopes,
                              expires_at=SYSTEM_CLOCK.now() + timedelta(days=days), actor="test")
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        return client

    return make
