"""Market data end to end over real sockets: simulated exchange → ccxt venue → feed → Redis → engine service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from core.clock import SYSTEM_CLOCK
from trading.marketdata.cache import L1
from trading.marketdata.feed import FeedConfig, FeedWorker
from trading.marketdata.redis_bus import guarded, make_redis, price_read
from trading.marketdata.service import MarketDataService, RedisState
from trading.tests.marketdata.fakes import quoting, until, until_async

pytestmark = pytest.mark.timeout(60)
D = Decimal
@contextlib.asynccontextmanager
async def background(coro: Any) -> AsyncIterator[asyncio.Task[Any]]:
    task = asyncio.create_task(coro)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_quote_on_the_exchange_reaches_an_engine_callback_through_the_feed_and_redis(
        sim, make_venue, redis, keys):
    async def no_database_demand() -> set[str]:
        return set()

    feed = FeedWorker(venue=make_venue(), redis=redis, clock=SYSTEM_CLOCK, database_demand=no_database_demand,
                      config=FeedConfig(keys=keys, demand_refresh_s=0.1))
    engine_venue = make_venue()
    service = MarketDataService(redis=redis, venue=engine_venue, clock=SYSTEM_CLOCK, keys=keys)
    received: list[L1] = []
    service.subscribe("ETHUSDT", received.append)  # demands it: the feed subscribes
    stop = asyncio.Event()
    async with background(feed.run(stop)), background(service.run()), quoting(sim, "ETHUSDT", "3401.25", "3401.26"):
        await until(lambda: any(l1.bid == D("3401.25") for l1 in received), timeout_s=20)
        assert service.redis_state == RedisState.UP and service.direct_symbols == frozenset()
        assert service.cached_price("ETHUSDT") == D("3401.255")

        async def cached_ask_is_right() -> bool:
            cached = await guarded(price_read(redis, keys, "ETHUSDT"))
            return cached is not None and cached.ask == D("3401.26")

        await until_async(cached_ask_is_right)
        stop.set()


async def test_with_redis_unreachable_the_engine_takes_quotes_straight_from_the_exchange(
        sim, make_venue, keys, unused_tcp_port):
    dead = make_redis(f"redis://127.0.0.1:{unused_tcp_port}/0", timeout_s=0.2)
    service = MarketDataService(redis=dead, venue=make_venue(), clock=SYSTEM_CLOCK, keys=keys)
    received: list[L1] = []
    service.subscribe("SOLUSDT", received.append)
    async with background(service.run()), quoting(sim, "SOLUSDT", "151.10", "151.11"):
        await until(lambda: any(l1.bid == D("151.10") for l1 in received), timeout_s=20)
        assert service.redis_state == RedisState.DOWN
        assert await service.price("SOLUSDT") == D("151.105")
    await dead.aclose()
