"""Algo state in Redis with a TTL per kind, saved at most once a second (or at once when significant).

Redis down → the state is kept in memory and re-saved when Redis answers again (DESIGN §5 rule 9).
Keys: pms:chase:{id}, pms:scalper:{id}, pms:trailstop:{id} (24 h) and pms:twap:{id} (12 h).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from core.clock import Clock

logger = logging.getLogger(__name__)

TTL_S = {"chase": 24 * 3600, "scalper": 24 * 3600, "trailstop": 24 * 3600, "twap": 12 * 3600,
         "strategy": 24 * 3600}
SAVE_EVERY_MS = 1_000
REDIS_DOWN = (RedisError, OSError)


def state_key(kind: str, algo_id: int) -> str:
    if kind not in TTL_S:
        raise ValueError(f"unknown algo kind {kind!r}; expected one of {', '.join(sorted(TTL_S))}")
    return f"pms:{kind}:{algo_id}"


@dataclass
class AlgoStateStore:
    """`redis` is a redis.asyncio client. Values are JSON (Decimals as strings, by the caller)."""

    redis: Any
    clock: Clock
    last_saved_ms: dict[str, int] = field(default_factory=dict)
    unsaved: dict[str, dict[str, Any]] = field(default_factory=dict)  # waiting for the throttle or for Redis

    async def save(self, kind: str, algo_id: int, state: dict[str, Any], *, significant: bool = False) -> bool:
        """True when the state reached Redis now; otherwise it is held and flushed later."""
        key = state_key(kind, algo_id)
        self.unsaved[key] = state
        now = self.clock.now_ms()
        if not significant and now - self.last_saved_ms.get(key, -SAVE_EVERY_MS) < SAVE_EVERY_MS:
            return False
        return await self._write(key, kind)

    async def flush(self) -> int:
        """Write every held state (call each second and when Redis comes back); returns how many were written."""
        written = 0
        for key in list(self.unsaved):
            if await self._write(key, key.split(":")[1]):
                written += 1
        return written

    async def load(self, kind: str, algo_id: int) -> dict[str, Any] | None:
        key = state_key(kind, algo_id)
        if key in self.unsaved:  # newer than what Redis holds
            return self.unsaved[key]
        try:
            raw = await self.redis.get(key)
        except REDIS_DOWN as exc:
            logger.warning("algo state unreadable (%s); starting from the database record", exc)
            return None
        return json.loads(raw) if raw is not None else None

    async def delete(self, kind: str, algo_id: int) -> None:
        key = state_key(kind, algo_id)
        self.unsaved.pop(key, None)
        try:
            await self.redis.delete(key)
        except REDIS_DOWN:  # the TTL removes it anyway
            logger.debug("algo state %s not deleted", key, exc_info=True)

    async def _write(self, key: str, kind: str) -> bool:
        state = self.unsaved.get(key)
        if state is None:
            return False
        try:
            await self.redis.set(key, json.dumps(state), ex=TTL_S[kind])
        except REDIS_DOWN as exc:  # keep it in memory, flush() retries
            logger.warning("algo state %s kept in memory: %s", key, exc)
            return False
        self.unsaved.pop(key, None)
        self.last_saved_ms[key] = self.clock.now_ms()
        return True
