"""Quote watches: one per group of ≤100 symbols, reconnect with backoff, stale groups resubscribed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trading.marketdata.backoff import Backoff
from trading.marketdata.watch import WatchGroups
from trading.tests.marketdata.fakes import FakeVenue, mark, quote, until
from trading.venues.base import Mark, Quote


@asynccontextmanager
async def running(watches: WatchGroups) -> AsyncIterator[WatchGroups]:
    task = asyncio.create_task(watches.run())
    try:
        yield watches
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def make_watches(venue: FakeVenue, clock, events: list[Quote | Mark] | None = None, **kwargs) -> WatchGroups:
    sink = events if events is not None else []
    return WatchGroups(venue=venue, on_event=sink.append, clock=clock, check_interval_s=3600,
                       backoff=Backoff(base_s=0.01, cap_s=0.02), **kwargs)


async def test_a_250_symbol_demand_opens_three_watches_of_at_most_100_symbols(clock):
    venue = FakeVenue()
    async with running(make_watches(venue, clock)) as watches:
        watches.set_symbols(f"S{i:03d}USDT" for i in range(250))
        await until(lambda: len(venue.open_watches) == 3)
    assert sorted(len(call) for call in venue.watch_calls) == [50, 100, 100]


async def test_events_from_the_venue_reach_the_handler(clock):
    venue, events = FakeVenue(), list[Quote | Mark]()
    async with running(make_watches(venue, clock, events)) as watches:
        watches.set_symbols(["BTCUSDT"])
        await until(lambda: bool(venue.open_watches))
        venue.push(quote("BTCUSDT", "1", "2", 5))
        await until(lambda: bool(events))
    assert events == [quote("BTCUSDT", "1", "2", 5)]


async def test_a_symbol_with_no_tick_for_10_s_gets_its_group_resubscribed(clock):
    venue = FakeVenue()
    async with running(make_watches(venue, clock)) as watches:
        watches.set_symbols(["BTCUSDT", "ETHUSDT"])
        await until(lambda: len(venue.watch_calls) == 1 and bool(venue.open_watches))
        for _ in range(10):  # BTC ticks every second, ETH never does
            clock.advance(1)
            venue.push(mark("BTCUSDT", "100", clock.now_ms()))
            await until(lambda: watches.stats.last_tick_ms.get("BTCUSDT") == clock.now_ms())
            if clock.now_ms() - 1_700_000_000_000 < 10_000:
                assert watches.check_stale() == []
        assert watches.check_stale() == [frozenset({"BTCUSDT", "ETHUSDT"})]
        await until(lambda: len(venue.watch_calls) == 2 and len(venue.open_watches) == 1)
    assert venue.watch_calls[1] == ("BTCUSDT", "ETHUSDT")


async def test_a_symbol_that_never_ticks_is_resubscribed_ever_less_often(clock):
    venue = FakeVenue()
    async with running(make_watches(venue, clock)) as watches:
        watches.set_symbols(["DEADUSDT"])
        await until(lambda: bool(venue.open_watches))
        restarts_at = []
        for second in range(1, 71):
            clock.advance(1)
            if watches.check_stale():
                restarts_at.append(second)
                await until(lambda: len(venue.open_watches) == 1 and len(venue.watch_calls) == len(restarts_at) + 1)
    assert restarts_at == [10, 30, 70]  # 10 s, then 20 s, then 40 s after each restart


async def test_a_broken_watch_reconnects_after_a_backoff(clock):
    venue, events = FakeVenue(), list[Quote | Mark]()
    async with running(make_watches(venue, clock, events)) as watches:
        watches.set_symbols(["BTCUSDT"])
        await until(lambda: bool(venue.open_watches))
        venue.fail(ConnectionError("socket closed"))
        await until(lambda: len(venue.watch_calls) == 2 and bool(venue.open_watches))
        venue.push(quote("BTCUSDT", "1", "2", 5))
        await until(lambda: bool(events))
    assert watches.stats.reconnects == 1


async def test_dropping_a_symbol_restarts_only_its_group(clock):
    venue = FakeVenue()
    async with running(make_watches(venue, clock, max_per_group=2)) as watches:
        watches.set_symbols(["AAAUSDT", "BBBUSDT", "CCCUSDT"])
        await until(lambda: len(venue.open_watches) == 2)
        watches.set_symbols(["AAAUSDT", "BBBUSDT"])
        await until(lambda: len(venue.open_watches) == 1)
    assert venue.watch_calls == [("AAAUSDT", "BBBUSDT"), ("CCCUSDT",)]


def test_backoff_grows_with_jitter_and_stays_under_its_cap():
    backoff = Backoff(base_s=0.5, cap_s=30)
    delays = [backoff.delay(n) for n in range(12)]
    assert 0.25 <= delays[0] <= 0.5
    assert all(15 <= d <= 30 for d in delays[6:])
    assert len({round(backoff.delay(3), 6) for _ in range(20)}) > 1
