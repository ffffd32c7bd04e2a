"""RELIABILITY #7 for quotes: with Redis down the engine watches the venue itself, and switches back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import urlparse

import pytest

from core.clock import SystemClock
from trading.marketdata.backoff import Backoff
from trading.marketdata.cache import L1
from trading.marketdata.codec import encode_batch
from trading.marketdata.redis_bus import guarded, make_redis
from trading.marketdata.service import MarketDataService, RedisState, ServiceConfig
from trading.tests.marketdata.fakes import FakeVenue, TcpProxy, quote, until, until_async

D = Decimal
FAST = ServiceConfig(feed_silence_ms=400, fallback_check_s=0.05, redis_timeout_s=0.5,
                     redis_backoff=Backoff(base_s=0.05, cap_s=0.1), venue_backoff=Backoff(base_s=0.01, cap_s=0.05))


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[TcpProxy]:
    target = urlparse(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.open()
    yield proxy
    await proxy.close()


@contextlib.asynccontextmanager
async def running(service: MarketDataService) -> AsyncIterator[MarketDataService]:
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def feed_publishing(redis, keys, symbol: str, bid: str) -> AsyncIterator[None]:
    """Stands in for the feed worker: publishes a quote for `symbol` every 20 ms."""
    clock = SystemClock()

    async def publish() -> None:
        while True:
            now = clock.now_ms()
            await guarded(redis.publish(keys.quotes_channel, encode_batch([quote(symbol, bid, str(D(bid) + 1), now)])))
            await asyncio.sleep(0.02)

    task = asyncio.create_task(publish())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def through(proxy: TcpProxy, redis_url: str) -> str:
    """The test Redis (same database number) reached through the proxy."""
    database = urlparse(redis_url).path or "/0"
    return f"redis://127.0.0.1:{proxy.port}{database}"


async def test_with_redis_unreachable_the_service_watches_the_venue_and_still_delivers_quotes(keys, unused_tcp_port):
    venue, clock, received = FakeVenue(), SystemClock(), list[L1]()
    dead = make_redis(f"redis://127.0.0.1:{unused_tcp_port}/0", timeout_s=0.2)
    service = MarketDataService(redis=dead, venue=venue, clock=clock, keys=keys, config=FAST)
    service.subscribe("BTCUSDT", received.append)
    async with running(service):
        await until(lambda: venue.watched_symbols() == {"BTCUSDT"})
        assert service.redis_state == RedisState.DOWN
        venue.push(quote("BTCUSDT", "100", "101", clock.now_ms()))
        await until(lambda: bool(received))
        assert await service.price("BTCUSDT") == D("100.5")
    await dead.aclose()


async def test_when_redis_returns_the_service_switches_back_to_the_feed(redis, redis_url, keys, proxy):
    venue, clock, received = FakeVenue(), SystemClock(), list[L1]()
    await proxy.close()  # Redis is down when the engine starts
    client = make_redis(through(proxy, redis_url), timeout_s=0.2)
    service = MarketDataService(redis=client, venue=venue, clock=clock, keys=keys, config=FAST)
    service.subscribe("BTCUSDT", received.append)
    async with running(service):
        await until(lambda: venue.watched_symbols() == {"BTCUSDT"})
        await proxy.open()
        await until(lambda: service.redis_state == RedisState.UP)
        assert venue.watched_symbols() == {"BTCUSDT"}  # kept until the feed delivers: no gap

        async def demanded_again() -> bool:  # the feed is asked for it again
            return await guarded(redis.zscore(keys.demand, "BTCUSDT")) is not None

        await until_async(demanded_again)
        async with feed_publishing(redis, keys, "BTCUSDT", "200"):
            await until(lambda: not venue.open_watches)
            await until(lambda: any(l1.bid == D("200") for l1 in received))
    await client.aclose()


async def test_when_redis_goes_away_mid_stream_the_venue_takes_over(redis, redis_url, keys, proxy):
    venue, clock, received = FakeVenue(), SystemClock(), list[L1]()
    client = make_redis(through(proxy, redis_url), timeout_s=0.2)
    service = MarketDataService(redis=client, venue=venue, clock=clock, keys=keys, config=FAST)
    service.subscribe("BTCUSDT", received.append)
    async with running(service), feed_publishing(redis, keys, "BTCUSDT", "200"):
        await until(lambda: any(l1.bid == D("200") for l1 in received))
        assert venue.open_watches == []
        await proxy.close()
        await until(lambda: venue.watched_symbols() == {"BTCUSDT"})
        assert service.redis_state == RedisState.DOWN
        venue.push(quote("BTCUSDT", "300", "301", clock.now_ms() + 1_000))
        await until(lambda: received[-1].bid == D("300"))
    await client.aclose()


async def test_a_symbol_the_feed_never_delivers_is_watched_directly_although_redis_is_up(redis, keys):
    venue, clock = FakeVenue(), SystemClock()
    service = MarketDataService(redis=redis, venue=venue, clock=clock, keys=keys, config=FAST)
    service.ensure("BTCUSDT")
    async with running(service):
        await until(lambda: service.redis_state == RedisState.UP)
        await until(lambda: venue.watched_symbols() == {"BTCUSDT"})  # after feed_silence_ms of nothing
        venue.push(quote("BTCUSDT", "100", "101", clock.now_ms()))
        await until(lambda: isinstance(service.snapshot("BTCUSDT"), L1))
