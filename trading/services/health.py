"""Is the engine alive? Read from the heartbeat it writes to Redis every two seconds."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from django.conf import settings

from trading.events import Publisher, event_publish

logger = logging.getLogger(__name__)
HEARTBEAT_KEY = "pms:engine:heartbeat"


def engine_health_check(*, client: Any = None, publish: Publisher = event_publish) -> str:
    """"running", "paused" or "stale" (no heartbeat within its TTL); a stale engine is announced to pages."""
    client = client or redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        raw = client.get(HEARTBEAT_KEY)
    except redis.RedisError:
        logger.warning("engine heartbeat unreadable: Redis is down")
        return "unknown"
    if raw is None:
        logger.warning("engine heartbeat missing: the engine is down or stalled")
        publish("engine", "engine_state", {"status": "stale", "reason": "no engine heartbeat"})
        return "stale"
    state = json.loads(raw)
    return "running" if state.get("status") == "running" else "paused"
