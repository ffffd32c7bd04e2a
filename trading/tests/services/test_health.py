"""The engine heartbeat check on the real Redis."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from django.conf import settings

from trading.services import health


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> redis.Redis:
    monkeypatch.setattr(health, "HEARTBEAT_KEY", f"test:heartbeat:{uuid.uuid4().hex}")
    return redis.Redis.from_url(settings.REDIS_URL)


def test_a_fresh_running_heartbeat_reads_as_running(client):
    client.set(health.HEARTBEAT_KEY, json.dumps({"status": "running"}), ex=10)
    assert health.engine_health_check(client=client, publish=lambda *args: None) == "running"
    client.delete(health.HEARTBEAT_KEY)


def test_a_missing_heartbeat_is_stale_and_announced_to_pages(client):
    events: list[tuple[str, str, dict]] = []
    status = health.engine_health_check(client=client, publish=lambda g, t, d: events.append((g, t, d)))
    assert status == "stale" and events == [("engine", "engine_state", {"status": "stale",
                                                                         "reason": "no engine heartbeat"})]


def test_redis_down_reads_as_unknown_without_raising():
    down = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert health.engine_health_check(client=down, publish=lambda *args: None) == "unknown"


def test_the_task_is_registered_under_its_name_and_scheduled_within_its_interval():
    from celery import current_app as app  # the project's app: importing pms_site made it current

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery of trading.tasks
    assert "trading.check_engine_heartbeat" in app.tasks
    entry = app.conf.beat_schedule["engine-heartbeat-check"]
    assert entry["options"]["expires"] <= entry["schedule"].run_every.total_seconds()
