"""How many order syncs in a row found a database-open order absent from the exchange (Redis, memory fallback)."""

from __future__ import annotations

import logging
from typing import Any

import redis

logger = logging.getLogger(__name__)
MISSES_TTL_S = 86_400


class MissCounter:
    """Counts per client id; while Redis is down the counts live in this process (a worker restart resets them)."""

    _memory: dict[tuple[str, str], int] = {}  # the process-wide fallback, shared on purpose

    def __init__(self, client: Any, account: str) -> None:
        self._client, self._account = client, account
        self._key = f"pms:recon:{account}:order_misses"

    def add(self, client_order_id: str) -> int:
        try:
            count = int(self._client.hincrby(self._key, client_order_id, 1))
            self._client.expire(self._key, MISSES_TTL_S)
            return count
        except (redis.RedisError, OSError):
            key = (self._account, client_order_id)
            self._memory[key] = self._memory.get(key, 0) + 1
            return self._memory[key]

    def clear(self, client_order_ids: list[str]) -> None:
        if not client_order_ids:
            return
        for client_order_id in client_order_ids:
            self._memory.pop((self._account, client_order_id), None)
        try:
            self._client.hdel(self._key, *client_order_ids)
        except (redis.RedisError, OSError):
            logger.warning("order miss counts not cleared in Redis (down)")
