"""One owner per algo: a Redis lease per algo run, held by the engine that runs it and renewed each second.

The owner is the engine's identity (PMS_ENGINE_ID), not its process, so an engine restarted after a crash
takes its own algos back at once while a second engine with another identity is refused until the lease
lapses (LEASE_MS after the owner stopped renewing). Redis down → the lease cannot be checked; the engine
keeps what it runs (commands reach one engine through PostgreSQL anyway) and logs it (DESIGN §5 rule 9).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LEASE_MS = 15_000
REDIS_DOWN = (RedisError, OSError)

# Take the lease when it is free or already ours; either way (re)arm its expiry. Atomic in Redis.
ACQUIRE = """
local holder = redis.call('get', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def lease_key(algo_run_id: int) -> str:
    return f"pms:lease:algo:{algo_run_id}"


@dataclass
class AlgoLease:
    redis: Any  # redis.asyncio client
    owner: str
    lease_ms: int = LEASE_MS

    async def acquire(self, algo_run_id: int) -> bool:
        """True when this engine owns the algo now (or Redis cannot say otherwise)."""
        try:
            return bool(await self.redis.eval(ACQUIRE, 1, lease_key(algo_run_id), self.owner, self.lease_ms))
        except REDIS_DOWN as exc:
            logger.warning("algo %s lease unchecked, Redis unavailable: %s", algo_run_id, exc)
            return True

    async def holder(self, algo_run_id: int) -> str | None:
        raw = await self.redis.get(lease_key(algo_run_id))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def renew(self, algo_run_ids: list[int]) -> list[int]:
        """Re-arm every lease we hold; returns the ids another owner has taken (they must stop here)."""
        lost = []
        for algo_run_id in algo_run_ids:
            try:
                if not await self.redis.eval(ACQUIRE, 1, lease_key(algo_run_id), self.owner, self.lease_ms):
                    lost.append(algo_run_id)
            except REDIS_DOWN:
                return []  # cannot tell; keep running and try again next second
        return lost

    async def release(self, algo_run_id: int) -> None:
        try:
            await self.redis.eval(RELEASE, 1, lease_key(algo_run_id), self.owner)
        except REDIS_DOWN:  # it lapses by itself
            logger.debug("lease %s not released", algo_run_id, exc_info=True)
