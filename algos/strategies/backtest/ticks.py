"""Strategy backtests over ticks: recorded websocket captures or Binance bookTicker / aggTrades CSVs drive the
StrategyRunner quote by quote (bars aggregated by the runner, as live); orders meet the recorded book."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from algos.backtest.world import world_create
from algos.strategies.backtest.chaos import ChaosStrategy
from algos.strategies.backtest.registry import strategy_build
from algos.strategies.backtest.run import (
    StrategyBacktest,
    StrategyBacktestError,
    StrategyBacktestRequest,
    StrategyBacktestResult,
    _risk_create,
)
from algos.strategies.base import TradePrint
from simexchange.marketdata import BookTicker, MarketEvent, Trade
from simexchange.sources import source_from_spec
from simexchange.sources.discovery import find_data_files

SAMPLE_MS = 60_000  # equity is sampled once a minute (the report's return statistics use this period)
SAMPLE_TIMEFRAME = "1m"
TICK_KINDS = ("capture", "bookTicker", "aggTrades")
ZERO = Decimal(0)


def tick_data(request: StrategyBacktestRequest) -> bool:
    """Whether the request's data is tick level (captures, bookTicker, aggTrades) rather than klines."""
    try:
        found = find_data_files(request.data, request.symbols)
    except (FileNotFoundError, ValueError, OSError):
        return False  # the kline path reports what is wrong with the data
    return bool(found) and all(item.kind in TICK_KINDS for item in found)


class TickBacktest(StrategyBacktest):
    synthetic_touch = False

    def __init__(self, request: StrategyBacktestRequest, strategy: Any, world: Any, risk: Any,
                 events: Iterable[MarketEvent]) -> None:
        super().__init__(request, strategy, world, risk, {}, [], 0)
        self.events = events
        self.quotes = 0
        self._wanted_symbols = frozenset(self.runner.symbols)
        aggregate, due = self.runner.bars.on_price, self.runner.bars.close_due

        def counted_price(symbol: str, price: Decimal, ts_ms: int, volume: Decimal = ZERO) -> list[Any]:
            closed = aggregate(symbol, price, ts_ms, volume)
            self.bars_delivered += len(closed)
            return closed

        def counted_due(now_ms: int) -> list[Any]:
            closed = due(now_ms)
            self.bars_delivered += len(closed)
            return closed

        self.runner.bars.on_price = counted_price  # type: ignore[method-assign]
        self.runner.bars.close_due = counted_due  # type: ignore[method-assign]

    async def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        world = self.world
        next_sample = 0
        for index, event in enumerate(self.events):
            if self.stopped:
                break
            if isinstance(event, BookTicker) and event.symbol in self._wanted_symbols:
                await self._book_ticker(event)
            elif isinstance(event, Trade) and event.symbol in self._wanted_symbols:
                await self._trade(event)
            else:
                continue
            now = world.clock.now_ms()
            if now >= next_sample:
                self._sample(now)
                next_sample = now - now % SAMPLE_MS + SAMPLE_MS
            if progress is not None and index % 20_000 == 0:
                progress(index, 0)
        if not self.stopped:
            await self.runner.on_clock()  # the last bars close on time
            await self._after()
        await self._finish()

    def _advance(self, event_ms: int) -> None:
        clock = self.world.clock
        clock.advance_to(max(event_ms, clock.now_ms()))

    async def _book_ticker(self, quote: BookTicker) -> None:
        world, symbol = self.world, quote.symbol
        self._advance(quote.event_time_ms)
        if self._halts and world.clock.now_ms() >= self._halts[0]:
            await self._manual_halt(self._halts.pop(0))
        if world.exchange.on_book_ticker(quote):
            await world.pump()  # resting orders fill first: the strategy decides knowing what it already got
        world.ticks.note(symbol, quote.bid_price, quote.ask_price, quote.event_time_ms)
        mid = (quote.bid_price + quote.ask_price) / 2
        self.book.last[symbol] = mid
        if self.book.positions.get(symbol):
            self.risk.on_quote(symbol, mark=mid)
        self.ticks_delivered += 1
        await self.runner.on_quote(quote.bid_price, quote.ask_price, symbol=symbol)
        await self._after()

    async def _trade(self, trade: Trade) -> None:
        self._advance(trade.event_time_ms)
        if self.world.exchange.on_trade(trade):
            await self.world.pump()
        self.book.last.setdefault(trade.symbol, trade.price)
        await self.runner.on_trade(TradePrint(trade.symbol, trade.price, trade.quantity, trade.buyer_is_maker,
                                              trade.event_time_ms))
        await self._after()


def _first_time(source: Iterable[MarketEvent], symbols: tuple[str, ...]) -> int:
    for event in source:
        if isinstance(event, BookTicker | Trade) and event.symbol in symbols:
            return event.event_time_ms
    raise StrategyBacktestError("the data holds no quote or trade of the strategy's symbols")


async def tick_backtest_run(request: StrategyBacktestRequest, *, progress: Callable[[int, int], None] | None = None,
                            started: float | None = None) -> StrategyBacktestResult:
    started = time.perf_counter() if started is None else started
    try:
        found = find_data_files(request.data, request.symbols)
        symbols = request.symbols or tuple(dict.fromkeys(item.symbol for item in found))
        source = source_from_spec(request.data, symbols, derive_marks=False)
        first_ms = _first_time(source, symbols)
    except (FileNotFoundError, ValueError, OSError) as exc:
        if isinstance(exc, StrategyBacktestError):
            raise
        raise StrategyBacktestError(f"cannot replay {request.data!r}: {exc}") from None
    strategy: Any = strategy_build(request.strategy, symbols, request.params, seed=request.seed)
    if any(e.kind in ("flood", "raise") for e in request.chaos):
        strategy = ChaosStrategy(strategy, request.chaos)
    world = await world_create(start_ms=first_ms, record_events=False)
    unknown = [symbol for symbol in symbols if symbol not in world.instruments]
    if unknown:
        raise StrategyBacktestError(f"the in-process exchange does not list {', '.join(unknown)}")
    risk = await _risk_create(world, request, strategy)
    backtest = TickBacktest(request, strategy, world, risk, source)
    loaded = time.perf_counter()
    await backtest.run(progress)
    finished = time.perf_counter()
    await risk.close()
    return StrategyBacktestResult(
        request, strategy, symbols, SAMPLE_TIMEFRAME, backtest.bars_delivered, backtest.bars_delivered,
        backtest.ticks_delivered, first_ms, world.clock.now_ms(), backtest.fills, backtest._equity_times,
        backtest._equity, backtest._exposure, backtest.breakers, backtest.denials, backtest.dropped, backtest.status,
        backtest.book.equity(), loaded - started, finished - loaded)
