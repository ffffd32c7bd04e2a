"""The feed worker: stream the demanded symbols from the venue, publish them on Redis, keep the price cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from redis import asyncio as aioredis

from core.clock import Clock
from trading.marketdata.backoff import Backoff
from trading.marketdata.cache import STALE_AFTER_MS
from trading.marketdata.demand import redis_demand
from trading.marketdata.grouping import MAX_SYMBOLS_PER_GROUP
from trading.marketdata.publish import CACHE_WRITE_INTERVAL_MS, PriceCacheWriter, QuotePublisher
from trading.marketdata.redis_bus import REDIS_ERRORS, Keys
from trading.marketdata.watch import QuoteSource, WatchGroups
from trading.venues.base import Mark, Quote

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    keys: Keys = field(default_factory=Keys)
    max_symbols_per_connection: int = MAX_SYMBOLS_PER_GROUP
    stale_after_ms: int = STALE_AFTER_MS
    cache_interval_ms: int = CACHE_WRITE_INTERVAL_MS
    demand_refresh_s: float = 3.0
    stale_check_s: float = 1.0
    reconnect_backoff: Backoff | None = None
    shutdown_timeout_s: float = 5.0


class FeedWorker:
    """`await FeedWorker(...).run(stop)` streams until `stop` is set, then flushes the cache and returns.

    `database_demand` is a coroutine function returning the symbols the database wants (the command wraps
    the sync ORM query); the Redis demand set is read here. A failing source keeps its last answer.
    """

    def __init__(self, *, venue: QuoteSource, redis: aioredis.Redis, clock: Clock,
                 database_demand: Callable[[], Awaitable[set[str]]], config: FeedConfig | None = None) -> None:
        self.config = config or FeedConfig()
        self._redis = redis
        self._clock = clock
        self._database_demand = database_demand
        self.publisher = QuotePublisher(redis=redis, keys=self.config.keys)
        self.cache_writer = PriceCacheWriter(redis=redis, keys=self.config.keys, clock=clock,
                                             interval_ms=self.config.cache_interval_ms)
        self.watches = WatchGroups(venue=venue, on_event=self._on_event, clock=clock, name="feed",
                                   max_per_group=self.config.max_symbols_per_connection,
                                   stale_after_ms=self.config.stale_after_ms,
                                   backoff=self.config.reconnect_backoff, check_interval_s=self.config.stale_check_s)
        self._db_symbols: set[str] = set()
        self._redis_symbols: set[str] = set()

    def _on_event(self, event: Quote | Mark) -> None:
        self.publisher.offer(event)
        self.cache_writer.offer(event)

    async def refresh_demand(self) -> set[str]:
        """Re-read both demand sources and resize the subscriptions; the symbols now wanted."""
        try:
            self._db_symbols = await self._database_demand()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database restarting must not stop the quotes: keep the last answer
            log.warning("reading demand from the database failed; keeping %d symbols", len(self._db_symbols),
                        exc_info=True)
        try:
            self._redis_symbols = await redis_demand(self._redis, self.config.keys, now_ms=self._clock.now_ms())
        except REDIS_ERRORS as exc:
            log.warning("reading %s failed (%s); keeping %d symbols", self.config.keys.demand, exc,
                        len(self._redis_symbols))
        wanted = self._db_symbols | self._redis_symbols
        self.watches.set_symbols(wanted)
        return wanted

    async def _demand_loop(self) -> None:
        while True:
            await self.refresh_demand()
            await asyncio.sleep(self.config.demand_refresh_s)

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as task_group:
            tasks = [task_group.create_task(coro, name=f"feed-{name}") for name, coro in (
                ("watches", self.watches.run()), ("publisher", self.publisher.run()),
                ("cache", self.cache_writer.run()), ("demand", self._demand_loop()))]
            await stop.wait()
            log.info("feed stopping")
            for task in tasks:
                task.cancel()
        await self._final_flush()

    async def _final_flush(self) -> None:
        """Leave the cache and subscribers with the last prices seen; Redis being down only costs that."""
        try:
            async with asyncio.timeout(self.config.shutdown_timeout_s):
                await self.publisher.publish_pending()
                await self.cache_writer.flush(force=True)
        except REDIS_ERRORS as exc:
            log.warning("final flush of quotes skipped: %s", exc)
