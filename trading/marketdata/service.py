"""MarketDataService: the engine's L1 cache and tick callbacks, fed by the feed over Redis or by the venue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

from core.clock import Clock
from trading.marketdata.backoff import Backoff
from trading.marketdata.cache import L1, STALE_AFTER_MS, L1Cache
from trading.marketdata.cascade import FetchQuote, PriceCascade
from trading.marketdata.codec import CodecError, decode_batch
from trading.marketdata.grouping import require_symbol
from trading.marketdata.redis_bus import DEMAND_TTL_MS, REDIS_ERRORS, Keys, demand_add, guarded
from trading.marketdata.watch import QuoteSource, WatchGroups
from trading.venues.base import Mark, Quote

log = logging.getLogger(__name__)

TickCallback = Callable[[L1], None]
CALLBACK_LOG_EVERY_MS = 10_000


class RedisState(StrEnum):
    UNKNOWN = "unknown"  # starting: assume the feed serves us until proven otherwise
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    stale_after_ms: int = STALE_AFTER_MS
    # A demanded symbol with no tick over Redis for this long is watched directly (feed down or behind).
    feed_silence_ms: int = 5_000
    demand_ttl_ms: int = DEMAND_TTL_MS
    demand_refresh_s: float = 20.0
    fallback_check_s: float = 0.5
    redis_timeout_s: float = 1.0
    redis_backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.2, cap_s=5.0))
    venue_backoff: Backoff | None = None
    rest_timeout_s: float = 5.0


class MarketDataService:
    """One per engine loop. `await run()` (in the engine's TaskGroup) consumes quotes until cancelled.

    Reads: `snapshot`, `cached_price` (memory, sync) and `quote`, `mark`, `price` (the cascade memory → Redis
    → REST, async); none returns a value older than `stale_after_ms`. Ticks: `subscribe(symbol, callback)`.
    Demand: `ensure(symbol)` asks the feed to stream it; while Redis is down the service watches the venue.
    """

    def __init__(self, *, redis: aioredis.Redis, venue: QuoteSource, clock: Clock, keys: Keys | None = None,
                 fetch_quote: FetchQuote | None = None, config: ServiceConfig | None = None) -> None:
        self.config = config or ServiceConfig()
        self.keys = keys or Keys()
        self._redis = redis
        self._clock = clock
        self.cache = L1Cache()
        self._callbacks: dict[str, list[TickCallback]] = {}
        self._demanded: dict[str, int] = {}  # symbol -> since (ms)
        self._redis_state = RedisState.UNKNOWN
        self._started_ms = clock.now_ms()
        self._redis_seen_ms: dict[str, int] = {}
        self._demand_wake = asyncio.Event()
        self.callback_errors = 0
        self._callback_logged_ms: dict[int, int] = {}
        self.direct = WatchGroups(venue=venue, on_event=self._apply, clock=clock, name="engine-direct",
                                  stale_after_ms=self.config.stale_after_ms, backoff=self.config.venue_backoff)
        self.cascade = PriceCascade(cache=self.cache, redis=redis, keys=self.keys, clock=clock,
                                    fetch_quote=fetch_quote, redis_usable=lambda: self._redis_state != RedisState.DOWN,
                                    redis_timeout_s=self.config.redis_timeout_s,
                                    rest_timeout_s=self.config.rest_timeout_s)

    # --- reads ---------------------------------------------------------------------------------------

    def snapshot(self, symbol: str) -> L1 | None:
        """What memory holds, however old (check its times)."""
        return self.cache.get(symbol)

    def cached_price(self, symbol: str) -> Decimal | None:
        """A fresh mid (else mark) from memory only; None rather than a stale price."""
        held = self.cache.get(symbol)
        return held.fresh_price(self._clock.now_ms(), self.config.stale_after_ms) if held else None

    def reference_price(self, symbol: str) -> Decimal | None:
        """The engine's PriceSource: a fresh mark price, else a fresh mid, else None (memory only)."""
        held = self.cache.get(symbol)
        if held is None:
            return None
        now, age = self._clock.now_ms(), self.config.stale_after_ms
        mark = held.fresh_mark(now, age)
        return mark.mark_price if mark is not None else held.fresh_price(now, age)

    def touch_price(self, symbol: str, *, buying: bool) -> Decimal | None:
        """The engine's PriceSource: what a market order would take now (fresh ask to buy, bid to sell)."""
        held = self.cache.get(symbol)
        quote = held.fresh_quote(self._clock.now_ms(), self.config.stale_after_ms) if held else None
        if quote is None:
            return None
        return quote.ask_price if buying else quote.bid_price

    async def price(self, symbol: str) -> Decimal | None:
        """A fresh mid (else mark price) through the cascade; None when no source has a fresh one."""
        age = self.config.stale_after_ms
        return await self.cascade.resolve(symbol, lambda l1, now: l1.fresh_price(now, age))

    async def quote(self, symbol: str) -> Quote | None:
        age = self.config.stale_after_ms
        return await self.cascade.resolve(symbol, lambda l1, now: l1.fresh_quote(now, age))

    async def mark(self, symbol: str) -> Mark | None:
        age = self.config.stale_after_ms
        return await self.cascade.resolve(symbol, lambda l1, now: l1.fresh_mark(now, age))

    # --- ticks and demand ----------------------------------------------------------------------------

    def subscribe(self, symbol: str, callback: TickCallback) -> Callable[[], None]:
        """Call `callback(l1)` on every update of `symbol` (and demand it); returns the unsubscribe."""
        symbol = require_symbol(symbol)
        self._callbacks.setdefault(symbol, []).append(callback)
        self.ensure(symbol)
        return lambda: self.unsubscribe(symbol, callback)

    def unsubscribe(self, symbol: str, callback: TickCallback) -> None:
        callbacks = self._callbacks.get(symbol, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            self._callbacks.pop(symbol, None)

    def ensure(self, *symbols: str) -> None:
        """Keep these symbols streaming: demanded in Redis (refreshed before its TTL) and watched directly
        whenever the feed cannot deliver them."""
        added = [s for s in map(require_symbol, symbols) if s not in self._demanded]
        for symbol in added:
            self._demanded[symbol] = self._clock.now_ms()
        if added:
            self._demand_wake.set()
            self._update_direct()

    def release(self, symbol: str) -> None:
        """Stop demanding a symbol; the Redis entry expires by itself (another process may still want it)."""
        if self._demanded.pop(symbol, None) is not None:
            self._update_direct()

    @property
    def demanded(self) -> frozenset[str]:
        return frozenset(self._demanded)

    @property
    def redis_state(self) -> RedisState:
        return self._redis_state

    @property
    def direct_symbols(self) -> frozenset[str]:
        return self.direct.symbols

    def _apply(self, event: Quote | Mark) -> None:
        updated = self.cache.apply(event)
        if updated is not None:
            self._notify(updated)

    def _notify(self, l1: L1) -> None:
        for callback in tuple(self._callbacks.get(l1.symbol, ())):
            try:
                callback(l1)
            except Exception:  # one broken consumer must not starve the others of ticks
                self.callback_errors += 1
                self._log_callback_error(callback, l1.symbol)

    def _log_callback_error(self, callback: TickCallback, symbol: str) -> None:
        """With its traceback, but at most every 10 s per callback: a broken one fails on every tick."""
        now, key = self._clock.now_ms(), id(callback)
        if now - self._callback_logged_ms.get(key, now - CALLBACK_LOG_EVERY_MS) >= CALLBACK_LOG_EVERY_MS:
            self._callback_logged_ms[key] = now
            log.exception("market data callback %r for %s failed (%d callback failures so far)", callback, symbol,
                          self.callback_errors)

    # --- sources -------------------------------------------------------------------------------------

    def direct_wanted(self) -> set[str]:
        """Demanded symbols the venue must be watched for: all while Redis is down, else the ones Redis
        has been silent about for `feed_silence_ms` (the feed is down or has not picked them up yet).

        After an outage a symbol stays on the direct watch until Redis delivers it again, so the switch
        back leaves no gap even when the feed is slow to return.
        """
        if self._redis_state == RedisState.DOWN:
            return set(self._demanded)
        now, silence, watched = self._clock.now_ms(), self.config.feed_silence_ms, self.direct.symbols
        wanted = set()
        for symbol, since in self._demanded.items():
            seen = self._redis_seen_ms.get(symbol, 0)
            # Watched already: stay until Redis delivers. Not yet: join after a grace since demand or start.
            quiet_since = seen if symbol in watched else max(seen, since, self._started_ms)
            if now - quiet_since >= silence:
                wanted.add(symbol)
        return wanted

    def _update_direct(self) -> None:
        self.direct.set_symbols(self.direct_wanted())

    def on_redis_message(self, payload: bytes | str) -> None:
        try:
            events = decode_batch(payload)
        except CodecError as exc:
            log.warning("skipping a malformed quotes message on %s: %s", self.keys.quotes_channel, exc)
            return
        now = self._clock.now_ms()
        for event in events:
            self._redis_seen_ms[event.symbol] = now
            self._apply(event)

    def _set_redis_state(self, state: RedisState, reason: str = "") -> None:
        if state == self._redis_state:
            return
        previous, self._redis_state = self._redis_state, state
        if state == RedisState.DOWN:
            log.warning("Redis unavailable (%s): watching %d symbols on the venue directly", reason,
                        len(self._demanded))
        elif previous == RedisState.DOWN:
            log.info("Redis is back: quotes from the feed again")
            self._demand_wake.set()  # the demand set may have expired meanwhile
        self._update_direct()

    async def run(self) -> None:
        self._started_ms = self._clock.now_ms()
        async with asyncio.TaskGroup() as task_group:
            task_group.create_task(self.direct.run(), name="md-direct")
            task_group.create_task(self._redis_loop(), name="md-redis")
            task_group.create_task(self._demand_loop(), name="md-demand")
            task_group.create_task(self._fallback_loop(), name="md-fallback")

    async def _redis_loop(self) -> None:
        attempt = 0
        while True:
            try:
                await self._consume_redis()
            except REDIS_ERRORS as exc:
                if self._redis_state != RedisState.DOWN:
                    attempt = 0
                self._set_redis_state(RedisState.DOWN, f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.config.redis_backoff.delay(attempt))
            attempt += 1

    async def _consume_redis(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            async with asyncio.timeout(self.config.redis_timeout_s):
                await guarded(pubsub.subscribe(self.keys.quotes_channel))
            self._set_redis_state(RedisState.UP)
            while True:
                message = await guarded(pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0))
                if message is not None and message.get("type") == "message":
                    self.on_redis_message(message["data"])
        except TimeoutError as exc:
            raise ConnectionError("Redis did not answer the subscribe") from exc
        finally:
            await _close_pubsub(pubsub)

    async def _demand_loop(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.config.demand_refresh_s):
                    await self._demand_wake.wait()
            except TimeoutError:
                pass  # time to refresh the TTLs
            self._demand_wake.clear()
            if self._demanded and self._redis_state != RedisState.DOWN:
                await self._write_demand()

    async def _write_demand(self) -> None:
        try:
            async with asyncio.timeout(self.config.redis_timeout_s):
                await demand_add(self._redis, self.keys, list(self._demanded), now_ms=self._clock.now_ms(),
                                 ttl_ms=self.config.demand_ttl_ms)
        except REDIS_ERRORS as exc:
            # The Redis loop notices the outage and the direct watch covers it; retried on recovery.
            log.info("writing market data demand failed: %s", exc)

    async def _fallback_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.fallback_check_s)
            self._update_direct()


async def _close_pubsub(pubsub: PubSub) -> None:
    try:
        async with asyncio.timeout(1.0):
            await guarded(pubsub.aclose())
    except REDIS_ERRORS as exc:
        log.debug("closing the quotes subscription failed: %s", exc)
