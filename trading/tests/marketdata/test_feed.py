"""The feed worker end to end over a fake venue and a real Redis: demand in, quotes and cache out."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from core.clock import SystemClock
from trading.marketdata.backoff import Backoff
from trading.marketdata.codec import decode_batch
from trading.marketdata.feed import FeedConfig, FeedWorker
from trading.marketdata.redis_bus import demand_add, guarded, make_redis, price_read
from trading.tests.marketdata.fakes import FakeVenue, mark, quote, until

D = Decimal


def make_feed(venue, redis, keys, clock, db_symbols: set[str], **config) -> FeedWorker:
    async def from_database() -> set[str]:
        return set(db_symbols)

    return FeedWorker(venue=venue, redis=redis, clock=clock, database_demand=from_database,
                      config=FeedConfig(keys=keys, demand_refresh_s=0.05,
                                        reconnect_backoff=Backoff(base_s=0.01, cap_s=0.05), **config))


async def next_batch(pubsub) -> list:
    async with asyncio.timeout(5):
        while (message := await guarded(pubsub.get_message(ignore_subscribe_messages=True, timeout=1))) is None:
            pass
    return decode_batch(message["data"])


async def test_the_feed_streams_the_demanded_symbols_publishes_them_and_caches_prices(redis, keys):
    clock, venue, stop = SystemClock(), FakeVenue(), asyncio.Event()
    await demand_add(redis, keys, ["ETHUSDT"], now_ms=clock.now_ms())
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.quotes_channel)
    feed = make_feed(venue, redis, keys, clock, {"BTCUSDT"})
    run = asyncio.create_task(feed.run(stop))
    await until(lambda: venue.watched_symbols() == {"BTCUSDT", "ETHUSDT"})
    now = clock.now_ms()
    venue.push(quote("BTCUSDT", "60000.10", "60000.20", now))
    assert await next_batch(pubsub) == [quote("BTCUSDT", "60000.10", "60000.20", now)]
    venue.push(mark("ETHUSDT", "3000.5", now))
    assert await next_batch(pubsub) == [mark("ETHUSDT", "3000.5", now)]
    stop.set()
    async with asyncio.timeout(5):
        await run
    cached = await price_read(redis, keys, "ETHUSDT")
    assert cached is not None and cached.mark_price == D("3000.5")
    assert venue.open_watches == []  # every watch was closed on the way out
    await pubsub.aclose()


async def test_symbols_that_lose_their_demand_are_unsubscribed(redis, keys):
    clock, venue, stop = SystemClock(), FakeVenue(), asyncio.Event()
    db_symbols = {"BTCUSDT", "ETHUSDT"}
    feed = make_feed(venue, redis, keys, clock, db_symbols)
    run = asyncio.create_task(feed.run(stop))
    await until(lambda: venue.watched_symbols() == {"BTCUSDT", "ETHUSDT"})
    db_symbols.discard("ETHUSDT")
    await until(lambda: venue.watched_symbols() == {"BTCUSDT"})
    stop.set()
    async with asyncio.timeout(5):
        await run


async def test_a_250_symbol_demand_is_watched_on_three_connections(redis, keys):
    clock, venue, stop = SystemClock(), FakeVenue(), asyncio.Event()
    feed = make_feed(venue, redis, keys, clock, {f"S{i:03d}USDT" for i in range(250)})
    run = asyncio.create_task(feed.run(stop))
    await until(lambda: len(venue.open_watches) == 3)
    assert sorted(len(w) for w in venue.open_watches) == [50, 100, 100]
    stop.set()
    async with asyncio.timeout(5):
        await run


async def test_the_feed_keeps_streaming_when_redis_is_unreachable(keys, unused_tcp_port):
    clock, venue, stop = SystemClock(), FakeVenue(), asyncio.Event()
    dead = make_redis(f"redis://127.0.0.1:{unused_tcp_port}/0", timeout_s=0.2)
    feed = make_feed(venue, dead, keys, clock, {"BTCUSDT"}, shutdown_timeout_s=1.0)
    run = asyncio.create_task(feed.run(stop))
    await until(lambda: venue.watched_symbols() == {"BTCUSDT"})
    venue.push(quote("BTCUSDT", "1", "2", clock.now_ms()))
    await until(lambda: feed.watches.stats.events == 1)
    assert not run.done()
    stop.set()
    async with asyncio.timeout(5):
        await run
    await dead.aclose()
