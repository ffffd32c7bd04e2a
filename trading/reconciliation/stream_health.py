"""Is the engine's user-data stream healthy? Read from the engine heartbeat; a lost stream is announced."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from trading.events import Publisher, event_publish
from trading.reconciliation.guard import redis_client
from trading.services.health import HEARTBEAT_KEY, engine_health_check

logger = logging.getLogger(__name__)


def user_stream_health_check(*, client: Any = None, publish: Publisher = event_publish) -> str:
    """"connected", "lost" (the engine paused for its stream: pages show stale) or the engine's own state."""
    client = client or redis_client()
    engine = engine_health_check(client=client, publish=publish)
    if engine != "paused":
        return engine if engine != "running" else "connected"
    try:
        state = json.loads(client.get(HEARTBEAT_KEY) or b"{}")
    except (redis.RedisError, OSError, ValueError):
        return "unknown"
    reason = str(state.get("paused_reason") or "")
    if "stream" not in reason:
        return "connected"
    logger.warning("user-data stream lost: %s", reason)
    publish("engine", "engine_state", {"stream": "stale", "reason": reason})
    return "lost"
