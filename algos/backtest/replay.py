"""The backtest loop: each market event moves the virtual clock, reaches the matching core, then the algos."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from algos.backtest.world import BacktestWorld
from simexchange.marketdata import BookTicker, MarketEvent, Trade

SECOND_MS = 1000
QuoteHook = Callable[[BookTicker], Awaitable[None]]


@dataclass
class ReplayStats:
    events: int = 0
    quotes: int = 0  # quotes of the traded symbol(s) the algos saw
    first_ms: int | None = None
    last_ms: int | None = None
    stopped_early: bool = False
    times_ms: array = field(default_factory=lambda: array("q"))  # the price series for the chart:
    mids: array = field(default_factory=lambda: array("d"))  # a point whenever the mid changed (floats: plotting)


class Replay:
    """Drives a BacktestWorld through a stream of market events, in event-time order.

    For every event: the virtual clock moves to its time (passing each whole second on the way, where the
    AlgoEngine ticks, as its live timer would); the matching core applies it, so resting orders can fill;
    the user-data events that caused go through the FillRouter; then, for a quote, the algos get it through
    their AlgoEngine subscription. Quotes of symbols the exchange does not list are skipped; a symbol known
    only from trades gets a one-tick quote around each print, so algos can act on trade-only data.
    """

    def __init__(self, world: BacktestWorld, *, symbols: Iterable[str], record_prices: bool = False,
                 before_quote: QuoteHook | None = None, after_quote: QuoteHook | None = None,
                 progress: Callable[[ReplayStats], None] | None = None, progress_every: int = 10_000) -> None:
        self.world = world
        self.symbols = frozenset(symbols)
        self.record_prices = record_prices
        self.before_quote, self.after_quote = before_quote, after_quote
        self.progress, self.progress_every = progress, progress_every
        self.stats = ReplayStats()
        self.stop_requested = False
        self._quoted: set[str] = set()
        self._next_tick_ms: int | None = None
        self._last_mid = float("nan")

    def stop(self) -> None:
        """Ends the replay after the current event (e.g. the algo finished)."""
        self.stop_requested = True

    async def run(self, events: Iterable[MarketEvent] | AsyncIterable[MarketEvent]) -> ReplayStats:
        """Replay to the end of the events or until stop(); a paced (async) stream works too."""
        step = self.step
        if isinstance(events, AsyncIterable):
            async for event in events:
                await step(event)
                if self.stop_requested:
                    break
        else:
            for event in events:
                await step(event)
                if self.stop_requested:
                    break
        stats = self.stats
        stats.stopped_early = self.stop_requested
        stats.last_ms = self.world.clock.now_ms()
        if self.progress is not None:
            self.progress(stats)
        return stats

    async def step(self, event: MarketEvent) -> None:
        world = self.world
        now = event.event_time_ms
        timers = world.engine.timers
        if timers and timers[0][0] <= now:  # e.g. a chase's held reprice
            await world.engine.run_timers_until(now, world.clock.advance_to)
        if self._next_tick_ms is None:
            self._next_tick_ms = (now // SECOND_MS + 1) * SECOND_MS
            self.stats.first_ms = now
        elif now >= self._next_tick_ms:
            await self._seconds_until(now)
        world.clock.advance_to(now)
        self.stats.events += 1
        kind = type(event)
        if kind is BookTicker:
            if event.symbol in self.symbols:
                await self._quote(event)  # type: ignore[arg-type]
                self._quoted.add(event.symbol)
                self._after_quote(event)  # type: ignore[arg-type]
            else:
                world.exchange.on_book_ticker(event)  # type: ignore[arg-type]
        elif kind is Trade:
            await self._on_trade(event)  # type: ignore[arg-type]
        elif world.exchange.on_mark_price(event):  # type: ignore[arg-type]
            await world.pump()
        if not world.venue.no_events_pending():  # e.g. the fills of a market order an algo just sent
            await world.pump()

    def _after_quote(self, quote: BookTicker) -> None:
        stats = self.stats
        stats.quotes += 1
        if self.record_prices:
            self._note_price(quote.event_time_ms, float((quote.bid_price + quote.ask_price) / 2))
        if self.progress is not None and stats.quotes % self.progress_every == 0:
            self.progress(stats)

    async def _on_trade(self, trade: Trade) -> None:
        if self.world.exchange.on_trade(trade):
            await self.world.pump()
        if trade.symbol in self.symbols and trade.symbol not in self._quoted:
            await self._quote(self._quote_around(trade))
            self.stats.quotes += 1
            if self.record_prices:
                self._note_price(trade.event_time_ms, float(trade.price))

    async def _quote(self, quote: BookTicker) -> None:
        world = self.world
        if world.exchange.on_book_ticker(quote):
            await world.pump()  # fills first: an algo decides on this quote knowing what it already got
        if self.before_quote is not None:
            await self.before_quote(quote)
        if world.ticks.push(quote.symbol, quote.bid_price, quote.ask_price, quote.event_time_ms):
            await asyncio.sleep(0)  # other subscribers (a strategy, the risk engine) run as tasks: let them run
        await world.engine.deliver(quote.symbol, quote.bid_price, quote.ask_price)  # the algos, inline
        if self.after_quote is not None:
            await self.after_quote(quote)

    async def _seconds_until(self, now_ms: int) -> None:
        """The AlgoEngine's one-second timer (TWAP lots, reaping finished runners) on the virtual clock."""
        assert self._next_tick_ms is not None  # noqa: S101 - set by the first event
        world = self.world
        if not world.engine.runners:  # nothing to tick: jump over idle gaps in the data
            self._next_tick_ms = (now_ms // SECOND_MS + 1) * SECOND_MS
            return
        while self._next_tick_ms <= now_ms:
            world.clock.advance_to(self._next_tick_ms)
            await world.engine.tick()
            await world.pump()
            self._next_tick_ms += SECOND_MS
            if not world.engine.runners:
                self._next_tick_ms = (now_ms // SECOND_MS + 1) * SECOND_MS

    def _quote_around(self, trade: Trade) -> BookTicker:
        """A one-tick market around a print: at the bid when the aggressor sold, at the ask when it bought."""
        tick = self.world.instruments[trade.symbol].tick_size
        bid, ask = (trade.price, trade.price + tick) if trade.buyer_is_maker else (trade.price - tick, trade.price)
        return BookTicker(trade.symbol, trade.trade_id, bid, trade.quantity, ask, trade.quantity,
                          trade.trade_time_ms, trade.event_time_ms)

    def _note_price(self, now_ms: int, mid: float) -> None:
        if mid != self._last_mid:
            self._last_mid = mid
            self.stats.times_ms.append(now_ms)
            self.stats.mids.append(mid)


def mid_of(quote: BookTicker) -> Decimal:
    return (quote.bid_price + quote.ask_price) / 2
