"""MarketDataService reads: never a stale price; the cascade memory → Redis → REST; isolated callbacks."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from trading.marketdata.cache import L1
from trading.marketdata.codec import encode_batch
from trading.marketdata.redis_bus import price_write
from trading.marketdata.service import MarketDataService
from trading.tests.marketdata.conftest import START_MS
from trading.tests.marketdata.fakes import FakeVenue, mark, quote
from trading.venues.base import Mark, Quote

D = Decimal


class FakeRest:
    def __init__(self, answer: Quote | Mark | None = None, error: Exception | None = None) -> None:
        self.answer, self.error, self.calls = answer, error, 0

    async def __call__(self, symbol: str) -> Quote | Mark | None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.answer


def make_service(redis, keys, clock, rest: FakeRest | None = None) -> MarketDataService:
    return MarketDataService(redis=redis, venue=FakeVenue(), clock=clock, keys=keys, fetch_quote=rest)


async def test_a_fresh_price_comes_from_memory_without_asking_redis_or_rest(redis, keys, clock):
    rest = FakeRest()
    service = make_service(redis, keys, clock, rest)
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
    clock.advance(9.9)
    assert await service.price("BTCUSDT") == D("101")
    assert service.cached_price("BTCUSDT") == D("101")
    assert (service.cascade.hits["memory"], rest.calls) == (1, 0)


async def test_a_price_older_than_10_s_is_not_returned(redis, keys, clock):
    service = make_service(redis, keys, clock, FakeRest(answer=quote("BTCUSDT", "90", "92", START_MS - 500)))
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
    clock.advance(10.001)
    assert service.cached_price("BTCUSDT") is None
    assert await service.price("BTCUSDT") is None  # REST answered, but with a 10.001 s old book
    snapshot = service.snapshot("BTCUSDT")
    assert snapshot is not None and snapshot.bid == D("100")  # still visible, with its time, for display


async def test_a_stale_memory_falls_back_to_the_redis_price_cache(redis, keys, clock):
    rest = FakeRest()
    service = make_service(redis, keys, clock, rest)
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
    clock.advance(30)
    await price_write(redis, keys, [L1("BTCUSDT", quote("BTCUSDT", "110", "112", clock.now_ms() - 2_000))])
    assert await service.price("BTCUSDT") == D("111")
    assert service.cached_price("BTCUSDT") == D("111")  # what Redis had is now in memory
    assert (service.cascade.hits["redis"], rest.calls) == (1, 0)


async def test_with_memory_and_redis_stale_the_price_comes_from_rest(redis, keys, clock):
    clock.advance(60)
    rest = FakeRest(answer=mark("BTCUSDT", "120.5", clock.now_ms()))
    service = make_service(redis, keys, clock, rest)
    await price_write(redis, keys, [L1("BTCUSDT", quote("BTCUSDT", "110", "112", clock.now_ms() - 20_000))])
    assert await service.price("BTCUSDT") == D("120.5")
    assert await service.price("BTCUSDT") == D("120.5")
    assert (service.cascade.hits["rest"], service.cascade.hits["memory"], rest.calls) == (1, 1, 1)


async def test_a_failing_rest_read_gives_none_and_is_not_retried_at_once(redis, keys, clock):
    rest = FakeRest(error=ConnectionError("exchange down"))
    service = make_service(redis, keys, clock, rest)
    assert await service.price("BTCUSDT") is None
    assert await service.price("BTCUSDT") is None
    clock.advance(1)
    assert await service.price("BTCUSDT") is None
    assert rest.calls == 2


async def test_quote_and_mark_reads_each_need_their_own_part_fresh(redis, keys, clock):
    service = make_service(redis, keys, clock)
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS),
                                           mark("BTCUSDT", "101", START_MS + 8_000)]))
    clock.advance(12)
    assert await service.quote("BTCUSDT") is None
    assert await service.mark("BTCUSDT") == mark("BTCUSDT", "101", START_MS + 8_000)
    assert await service.price("BTCUSDT") == D("101")


def test_a_failing_callback_is_logged_and_the_others_still_get_the_tick(redis, keys, clock, caplog):
    service = make_service(redis, keys, clock)
    received: list[L1] = []

    def broken(l1: L1) -> None:
        raise RuntimeError("bug in one algo")

    service.subscribe("BTCUSDT", broken)
    service.subscribe("BTCUSDT", received.append)
    with caplog.at_level(logging.ERROR):
        service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
        service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "103", START_MS + 1)]))
    assert [l1.ask for l1 in received] == [D("102"), D("103")]
    assert service.callback_errors == 2
    assert [r.exc_info[1].args for r in caplog.records if r.exc_info and r.exc_info[1]] == [("bug in one algo",)]


def test_an_unsubscribed_callback_gets_no_more_ticks_and_subscribing_demands_the_symbol(redis, keys, clock):
    service = make_service(redis, keys, clock)
    received: list[L1] = []
    unsubscribe = service.subscribe("BTCUSDT", received.append)
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
    unsubscribe()
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "103", START_MS + 1)]))
    assert len(received) == 1
    assert service.demanded == {"BTCUSDT"}


@pytest.mark.parametrize("payload", [b"garbage", b'[{"e": "q", "s": "BTCUSDT", "b": 1}]'])
def test_a_malformed_message_is_skipped(redis, keys, clock, payload):
    service = make_service(redis, keys, clock)
    service.on_redis_message(payload)
    service.on_redis_message(encode_batch([quote("BTCUSDT", "100", "102", START_MS)]))
    assert service.cached_price("BTCUSDT") == D("101")


def test_demand_is_kept_in_exchange_form_and_junk_is_refused(redis, keys, clock):
    service = make_service(redis, keys, clock)
    service.ensure("ethusdt")
    with pytest.raises(ValueError, match="not a symbol"):
        service.ensure("ETH/USDT")
    assert service.demanded == {"ETHUSDT"}
