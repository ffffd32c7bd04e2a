"""The feed's two outputs: coalesced pub/sub batches and the throttled price-cache hashes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis import asyncio as aioredis

from core.clock import Clock
from trading.marketdata.backoff import Backoff
from trading.marketdata.cache import L1Cache
from trading.marketdata.codec import encode_batch
from trading.marketdata.redis_bus import REDIS_ERRORS, Keys, guarded, price_write
from trading.venues.base import Mark, Quote

log = logging.getLogger(__name__)

CACHE_WRITE_INTERVAL_MS = 500


class QuotePublisher:
    """Publishes what arrived since the last message as one batch; per symbol and kind only the latest.

    Lossy by design: while Redis is slow or down, newer ticks replace older ones instead of queueing.
    """

    def __init__(self, *, redis: aioredis.Redis, keys: Keys, backoff: Backoff | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._redis = redis
        self._channel = keys.quotes_channel
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self._sleep = sleep
        self._pending: dict[tuple[bool, str], Quote | Mark] = {}
        self._wake = asyncio.Event()
        self.published_messages = 0
        self.published_events = 0

    def offer(self, event: Quote | Mark) -> None:
        self._pending[(isinstance(event, Quote), event.symbol)] = event
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish everything pending in one message; the number of events sent."""
        if not self._pending:
            return 0
        batch, self._pending = list(self._pending.values()), {}
        await guarded(self._redis.publish(self._channel, encode_batch(batch)))
        self.published_messages += 1
        self.published_events += len(batch)
        return len(batch)

    async def run(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.publish_pending()
                attempt = 0
            except REDIS_ERRORS as exc:
                delay = self._backoff.delay(attempt)
                attempt += 1
                log.warning("publishing quotes to %s failed (%s); retrying in %.2f s", self._channel, exc, delay)
                await self._sleep(delay)


class PriceCacheWriter:
    """Writes `pms:md:price:{symbol}` at most once per interval per symbol, always with the latest value."""

    def __init__(self, *, redis: aioredis.Redis, keys: Keys, clock: Clock,
                 interval_ms: int = CACHE_WRITE_INTERVAL_MS, backoff: Backoff | None = None,
                 flush_every_s: float = 0.1, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._interval_ms = interval_ms
        self._backoff = backoff or Backoff(base_s=0.2, cap_s=5.0)
        self._flush_every_s = flush_every_s
        self._sleep = sleep
        self._latest = L1Cache()
        self._dirty: set[str] = set()
        self._written_ms: dict[str, int] = {}
        self.writes = 0

    def offer(self, event: Quote | Mark) -> None:
        if self._latest.apply(event) is not None:
            self._dirty.add(event.symbol)

    async def flush(self, *, force: bool = False) -> int:
        """Write the symbols whose interval has passed (all pending ones if forced); the number written.

        Redis errors propagate; the symbols stay pending.
        """
        now = self._clock.now_ms()
        due = [s for s in self._dirty
               if force or now - self._written_ms.get(s, now - self._interval_ms) >= self._interval_ms]
        if not due:
            return 0
        await price_write(self._redis, self._keys, [l1 for s in due if (l1 := self._latest.get(s)) is not None])
        for symbol in due:
            self._written_ms[symbol] = now
        self._dirty.difference_update(due)
        self.writes += len(due)
        return len(due)

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                await self.flush()
                attempt = 0
                await self._sleep(self._flush_every_s)
            except REDIS_ERRORS as exc:
                delay = self._backoff.delay(attempt)
                attempt += 1
                log.warning("writing the price cache failed (%s); retrying in %.2f s", exc, delay)
                await self._sleep(delay)
