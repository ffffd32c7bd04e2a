"""The price cascade: memory, then the Redis price cache, then a REST read; a stale price is never returned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis import asyncio as aioredis

from core.clock import Clock
from trading.marketdata.cache import L1, L1Cache
from trading.marketdata.codec import CodecError
from trading.marketdata.redis_bus import REDIS_ERRORS, Keys, price_read
from trading.venues.base import Mark, Quote

log = logging.getLogger(__name__)

T = TypeVar("T")
FetchQuote = Callable[[str], Awaitable[Quote | Mark | None]]
Pick = Callable[[L1, int], T | None]


class PriceCascade:
    """Resolves a fresh value for a symbol through three sources, folding what it finds into the L1 cache."""

    def __init__(self, *, cache: L1Cache, redis: aioredis.Redis, keys: Keys, clock: Clock,
                 fetch_quote: FetchQuote | None, redis_usable: Callable[[], bool], redis_timeout_s: float = 1.0,
                 rest_timeout_s: float = 5.0, rest_retry_after_ms: int = 1_000) -> None:
        self._cache = cache
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._fetch_quote = fetch_quote
        self._redis_usable = redis_usable
        self._redis_timeout_s = redis_timeout_s
        self._rest_timeout_s = rest_timeout_s
        self._rest_retry_after_ms = rest_retry_after_ms
        self._rest_failed_ms: dict[str, int] = {}
        self._rest_locks: dict[str, asyncio.Lock] = {}
        self.hits = {"memory": 0, "redis": 0, "rest": 0, "none": 0}

    async def resolve(self, symbol: str, pick: Pick[T]) -> T | None:
        found = self._from_memory(symbol, pick)
        if found is not None:
            self.hits["memory"] += 1
            return found
        cached = await self._read_redis(symbol)
        if cached is not None and (found := pick(self._cache.merge(cached), self._clock.now_ms())) is not None:
            self.hits["redis"] += 1
            return found
        found = await self._resolve_rest(symbol, pick)
        self.hits["rest" if found is not None else "none"] += 1
        return found

    def _from_memory(self, symbol: str, pick: Pick[T]) -> T | None:
        held = self._cache.get(symbol)
        return pick(held, self._clock.now_ms()) if held is not None else None

    async def _read_redis(self, symbol: str) -> L1 | None:
        if not self._redis_usable():  # known down: do not spend a timeout per call
            return None
        try:
            async with asyncio.timeout(self._redis_timeout_s):
                return await price_read(self._redis, self._keys, symbol)
        except REDIS_ERRORS as exc:
            log.info("price cache read for %s failed: %s", symbol, exc)
        except CodecError as exc:
            log.warning("price cache for %s is malformed: %s", symbol, exc)
        return None

    async def _resolve_rest(self, symbol: str, pick: Pick[T]) -> T | None:
        fetch = self._fetch_quote
        if fetch is None:
            return None
        # One REST read per symbol at a time: callers that waited find the answer in memory.
        async with self._rest_locks.setdefault(symbol, asyncio.Lock()):
            found = self._from_memory(symbol, pick)
            if found is not None:
                return found
            now = self._clock.now_ms()
            if now - self._rest_failed_ms.get(symbol, now - self._rest_retry_after_ms) < self._rest_retry_after_ms:
                return None  # it failed a moment ago; do not hammer the exchange
            event = await self._fetch(fetch, symbol)
            if event is None or event.symbol != symbol:
                self._rest_failed_ms[symbol] = now
                return None
            self._cache.apply(event)
            return self._from_memory(symbol, pick)

    async def _fetch(self, fetch: FetchQuote, symbol: str) -> Quote | Mark | None:
        try:
            async with asyncio.timeout(self._rest_timeout_s):
                return await fetch(symbol)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a REST read failing means "no price": the caller skips the tick
            log.warning("REST price read for %s failed: %s: %s", symbol, type(exc).__name__, exc)
            return None
