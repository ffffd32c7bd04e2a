"""The feed's outputs: the price-cache throttle (virtual clock) and coalesced pub/sub batches (real Redis)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from trading.marketdata.codec import decode_batch
from trading.marketdata.publish import PriceCacheWriter, QuotePublisher
from trading.marketdata.redis_bus import guarded, price_read
from trading.tests.marketdata.conftest import START_MS
from trading.tests.marketdata.fakes import mark, quote

D = Decimal


async def test_the_price_cache_is_written_at_most_every_500_ms_per_symbol_with_the_latest_value(redis, keys, clock):
    writer = PriceCacheWriter(redis=redis, keys=keys, clock=clock)
    seen: list[Decimal] = []
    for step in range(41):  # a tick every 50 ms for 2 s
        writer.offer(quote("BTCUSDT", str(100 + step), str(101 + step), clock.now_ms()))
        await writer.flush()
        cached = await price_read(redis, keys, "BTCUSDT")
        assert cached is not None and cached.bid is not None
        seen.append(cached.bid)
        clock.advance(0.05)
    assert writer.writes == 5  # at 0, 500, 1000, 1500 and 2000 ms
    assert sorted(set(seen)) == [D(100), D(110), D(120), D(130), D(140)]


async def test_the_throttle_is_per_symbol(redis, keys, clock):
    writer = PriceCacheWriter(redis=redis, keys=keys, clock=clock)
    writer.offer(quote("BTCUSDT", "100", "101", START_MS))
    await writer.flush()
    clock.advance(0.2)
    writer.offer(quote("ETHUSDT", "10", "11", clock.now_ms()))
    writer.offer(quote("BTCUSDT", "102", "103", clock.now_ms()))
    assert await writer.flush() == 1  # ETH's first write; BTC waits for its 500 ms
    clock.advance(0.3)
    assert await writer.flush() == 1
    cached = await price_read(redis, keys, "BTCUSDT")
    assert cached is not None and cached.bid == D("102")


async def test_quote_and_mark_share_the_symbols_cache_hash(redis, keys, clock):
    writer = PriceCacheWriter(redis=redis, keys=keys, clock=clock)
    writer.offer(quote("BTCUSDT", "100", "101", START_MS))
    writer.offer(mark("BTCUSDT", "100.3", START_MS + 1))
    await writer.flush()
    cached = await price_read(redis, keys, "BTCUSDT")
    assert cached is not None and (cached.mid, cached.mark_price) == (D("100.5"), D("100.3"))
    assert 0 < await redis.pttl(keys.price("BTCUSDT")) <= 300_000


async def test_ticks_queued_while_publishing_go_out_as_one_batch_with_only_the_latest_per_symbol(redis, keys):
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.quotes_channel)
    publisher = QuotePublisher(redis=redis, keys=keys)
    for i in range(10):
        publisher.offer(quote("BTCUSDT", str(100 + i), str(101 + i), START_MS + i))
    publisher.offer(mark("BTCUSDT", "100", START_MS))
    publisher.offer(quote("ETHUSDT", "10", "11", START_MS))
    assert await publisher.publish_pending() == 3
    async with asyncio.timeout(5):
        while (message := await guarded(pubsub.get_message(ignore_subscribe_messages=True, timeout=1))) is None:
            pass
    events = decode_batch(message["data"])
    assert {(type(e).__name__, e.symbol) for e in events} == {("Quote", "BTCUSDT"), ("Mark", "BTCUSDT"),
                                                              ("Quote", "ETHUSDT")}
    assert quote("BTCUSDT", "109", "110", START_MS + 9) in events
    await pubsub.aclose()


async def test_each_price_cache_write_adds_the_mid_to_a_bounded_history(redis, keys, clock, monkeypatch):
    from trading.marketdata import redis_bus

    monkeypatch.setattr(redis_bus, "HISTORY_POINTS", 3)
    writer = PriceCacheWriter(redis=redis, keys=keys, clock=clock)
    for step in range(5):
        writer.offer(quote("BTCUSDT", str(100 + step), str(101 + step), clock.now_ms()))
        await writer.flush()
        clock.advance(0.5)
    writer.offer(mark("ETHUSDT", "2000.5", clock.now_ms()))  # no quote yet: the mark stands in
    await writer.flush()

    history = redis_bus.history_parse(await redis.lrange(keys.history("BTCUSDT"), 0, -1))
    assert history == [(START_MS + 1000, D("102.5")), (START_MS + 1500, D("103.5")), (START_MS + 2000, D("104.5"))]
    assert redis_bus.history_parse(await redis.lrange(keys.history("ETHUSDT"), 0, -1)) == [
        (START_MS + 2500, D("2000.5"))]
    assert 0 < await redis.pttl(keys.history("BTCUSDT")) <= redis_bus.HISTORY_TTL_MS


def test_a_malformed_history_point_is_skipped():
    from trading.marketdata.redis_bus import history_parse

    assert history_parse([b"1:100.5", b"garbage", b"2:NaN", "x:1", b"3:abc", b"4:101"]) == [(1, D("100.5")),
                                                                                          (4, D("101"))]
