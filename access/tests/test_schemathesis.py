"""schemathesis against the OpenAPI schema, in-process over WSGI with an API key holding every scope:
no server error, and every response (status, content type, body) conforms to the schema. Bounded: a few
examples per operation, so the whole run stays well under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from access.services import apikey_issue
from core.clock import SYSTEM_CLOCK
from trading.models import AlgoRun

MAX_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db: None) -> Iterator[None]:
    # As Django's test client does: a request must not close the connection that holds the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def staff_key(desk: dict[str, Any], settings: Any) -> str:
    """A staff operator of alpha (engine control is reachable too) with a running algo, and a key with every scope."""
    settings.PMS_API_WRITE_RATE = "100000/min"  # the fuzzer writes fast; throttling has its own test
    user = User.objects.create_user("sam", password="sam-password-1", is_staff=True)
    desk["alpha"].operators.add(user)
    AlgoRun.objects.create(kind="chase", sub_account=desk["alpha"], status="running",
                           parameters={"symbol": "BTCUSDT", "side": "buy", "quantity": "0.01"})
    _, raw = apikey_issue(user=user, name="fuzz", scopes=["read", "trade", "algos", "risk", "engine"],
                          expires_at=SYSTEM_CLOCK.now() + timedelta(days=1), actor="test")
    return raw


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())  # no database access


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_answers_as_its_schema_says(case: Any, staff_key: str) -> None:
    case.call_and_validate(headers={"X-Api-Key": staff_key}, checks=CHECKS)
