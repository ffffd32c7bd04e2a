"""One strategy backtest: bars from klines through the runtime's StrategyRunner (the live signal-to-order path:
context, isolation, rounding, refusals) into the strategy; its orders through the live OrderManager and RiskEngine
to the in-process matching core (algos.backtest.world's composition) on a virtual clock. Tick data: ticks.py.

While the strategy holds a position, each bar is also walked as ticks (open, low/high, high/low, close: the order
simexchange's kline pather uses), so stops and targets trigger at prices the bar really traded. Flat, a bar costs
one on_bar call: the exchange gets a quote only when an order is about to go out.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from algos.backtest.world import SUB_ACCOUNT_ID, BacktestWorld, world_create
from algos.strategies.backtest.chaos import ChaosEvent, ChaosStrategy
from algos.strategies.backtest.data import DataError, bars_load, bars_resample, kline_files, timeframe_ms
from algos.strategies.backtest.registry import strategy_build
from algos.strategies.base import Bar
from algos.strategies.runtime.bars import BarAggregator
from algos.strategies.runtime.guard import RuntimeLimits
from algos.strategies.runtime.runner import StrategyRunner
from risk.domain.breakers import Trip
from risk.domain.limits import SubAccountLimits
from risk.domain.margin import Bracket
from risk.domain.states import Scope, TradingState, algo_scope, sub_account_scope
from risk.engine import MemoryRiskStore, RiskEngine
from simexchange.marketdata import BookTicker
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import FillBooked, FillReport, OrderIntent
from trading.domain.types import OrderType, Side

ZERO = Decimal(0)
STRATEGY_RUN_ID = 1  # the strategy instance's algo-run id: its orders carry it, the risk engine halts its scope
BACKTEST_LIMITS = RuntimeLimits(budget_ms=1000)


class StrategyBacktestError(ValueError):
    """A request the user must change; nothing ran."""


@dataclass(frozen=True)
class StrategyBacktestRequest:
    strategy: str
    data: str  # kline CSV file(s) or folder(s), comma-separated
    symbols: tuple[str, ...] = ()  # empty: every symbol in the data
    params: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    capital: Decimal = Decimal(10_000)
    chaos: tuple[ChaosEvent, ...] = ()
    max_orders_per_minute: int = 60  # the risk engine's order-rate breaker for the strategy
    # The runner's isolation limits. The time budget is wider than live's 50 ms by default: a backtest shares its
    # machine, and a wall-clock budget must not make a replay's trades depend on the machine's load.
    limits: RuntimeLimits = BACKTEST_LIMITS
    risk_limits: bool = True  # the risk engine also enforces the strategy's daily loss and drawdown


@dataclass(frozen=True, slots=True)
class FillRow:
    time_ms: int
    symbol: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal  # gross of the fee
    position_after: Decimal
    decision_price: Decimal  # the mid the strategy decided on: slippage is measured against it
    reason: str


@dataclass(frozen=True, slots=True)
class BreakerRow:
    time_ms: int
    scope: str
    state: str
    trigger: str
    reason: str


@dataclass
class StrategyBacktestResult:
    request: StrategyBacktestRequest
    strategy: Any
    symbols: tuple[str, ...]
    base_timeframe: str
    bars: int  # base-timeframe bars replayed (all symbols)
    bars_delivered: int  # on_bar calls (every timeframe)
    ticks_delivered: int
    first_ms: int
    last_ms: int
    fills: list[FillRow]
    equity_times_ms: array
    equity: array  # floats: charts and return statistics; money figures come from the fills
    exposure_notional: array  # gross notional held after each bar (float)
    breakers: list[BreakerRow]
    denials: list[str]
    dropped: list[str]
    status: str  # ran, failed: ..., halted: ...
    final_equity: Decimal
    load_s: float
    run_s: float


class _Book:
    """Cash, positions and entries of the strategy's sub-account, from booked fills."""

    def __init__(self, capital: Decimal) -> None:
        self.cash = capital  # capital + realized PnL - fees
        self.positions: dict[str, Decimal] = {}
        self.entries: dict[str, Decimal] = {}
        self.last: dict[str, Decimal] = {}

    def equity(self) -> Decimal:
        return self.marked()[0]

    def marked(self) -> tuple[Decimal, Decimal]:
        """Equity (cash + unrealized PnL at the last prices) and gross exposure, in one pass over the positions."""
        equity, gross = self.cash, ZERO
        for symbol, quantity in self.positions.items():
            if quantity:
                last = self.last[symbol]
                equity += quantity * (last - self.entries[symbol])
                gross += abs(quantity) * last
        return equity, gross


async def _risk_create(world: BacktestWorld, request: StrategyBacktestRequest, strategy: Any) -> RiskEngine:
    tiers = await world.venue.leverage_brackets()
    brackets = {s: tuple(Bracket(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_ratio, t.cum)
                         for t in rows) for s, rows in tiers.items()}
    limits = SubAccountLimits(max_orders_per_minute=request.max_orders_per_minute)
    strategy_limits = getattr(getattr(strategy, "params", None), "limits", None)
    if request.risk_limits and strategy_limits is not None:
        limits = SubAccountLimits(max_orders_per_minute=request.max_orders_per_minute,
                                  max_daily_loss=request.capital * strategy_limits.max_daily_loss_pct / 100,
                                  max_drawdown_pct=strategy_limits.max_drawdown_pct)
    risk = RiskEngine(manager=world.manager, brackets=brackets, instruments=world.instruments,
                      store=MemoryRiskStore(), clock=world.clock)
    risk.load(limits={SUB_ACCOUNT_ID: limits}, global_limits=risk.world.limits, states={},
              wallets={SUB_ACCOUNT_ID: request.capital}, positions=[])
    world.manager.pre_trade = risk
    world.manager.rejection_listeners.append(lambda order: risk.note_rejection(order.sub_account_id,
                                                                                order.algo_run_id))
    return risk


class StrategyBacktest:
    """The composition around one StrategyRunner: the data moves the virtual clock and hands the runner bars (klines)
    or quotes (ticks); the runner does what it does live (context, isolation, rounding, orders through the
    OrderManager and the RiskEngine, fills and refusals back to the strategy)."""

    synthetic_touch = True  # klines: an order meets a one-tick market at its decision price (ticks: the recorded book)

    def __init__(self, request: StrategyBacktestRequest, strategy: Any, world: BacktestWorld, risk: RiskEngine,
                 series: dict[str, list[Bar]], timeline: list[Bar], base_ms: int) -> None:
        self.request, self.strategy, self.world, self.risk = request, strategy, world, risk
        self.series, self.timeline, self.base_ms = series, timeline, base_ms
        self.runner = StrategyRunner(algo_run_id=STRATEGY_RUN_ID, sub_account_id=SUB_ACCOUNT_ID, strategy=strategy,
                                     manager=world.manager, instruments=world.instruments, clock=world.clock,
                                     limits=request.limits, equity=request.capital)
        self.runner.note_listener = self._note
        if base_ms:  # klines: the bars come from the data, ticks inside a bar must not make bars of their own
            self.runner.bars = BarAggregator(self.runner.symbols, ())
        self.book = _Book(request.capital)
        self.fills: list[FillRow] = []
        self.breakers: list[BreakerRow] = []
        self.denials: list[str] = []
        self.dropped: list[str] = []
        self.status = "ran"
        self.wanted = frozenset(strategy.timeframes())
        self._band_of: Callable[[str], tuple[Decimal, Decimal] | None] | None = getattr(strategy, "quiet_band", None)
        self._tick_sizes = {symbol: rules.tick_size for symbol, rules in world.instruments.items()}
        self.stopped = False
        self.bars = self.bars_delivered = self.ticks_delivered = 0
        self._told = 0  # breakers the runner has heard of
        self._dirty = False  # an order went out or a breaker moved since _after last ran
        self._sent = 0  # orders and refusals the risk engine has settled
        self._decision: dict[str, tuple[Decimal, str]] = {}  # symbol -> (mid decided on, reason) of the last order
        self._equity_times: array = array("q")
        self._equity: array = array("d")
        self._exposure: array = array("d")
        self._reject_windows = [(e.at_ms, e.until_ms) for e in request.chaos if e.kind == "reject"]
        self._halts = sorted(e.at_ms for e in request.chaos if e.kind == "halt")
        self._hook_journal()
        self._hook_orders()
        self._hook_faults()
        self._hook_trips()

    def _note(self, message: str) -> None:
        if " dropped: " in message:
            self.dropped.append(f"{self.world.clock.now_ms()} {message}")

    # -- composition hooks --------------------------------------------------------------------------
    def _hook_journal(self) -> None:
        book_many = self.world.journal.fill_book_many

        async def booking(reports: list[FillReport]) -> list[FillBooked | None]:
            results = await book_many(reports)
            for report, booked in zip(reports, results, strict=True):
                if booked is not None and booked.sub_account_id == SUB_ACCOUNT_ID:
                    self.risk.on_fill(booked)
                    self._note_fill(report, booked)
            return results

        self.world.journal.fill_book_many = booking  # type: ignore[method-assign]

    def _note_fill(self, report: FillReport, booked: FillBooked) -> None:
        book, position = self.book, booked.position
        book.cash += booked.change.realized_pnl - booked.change.fee
        book.positions[report.symbol] = position.quantity
        book.entries[report.symbol] = position.average_entry
        decision, reason = self._decision.get(report.symbol, (report.price, ""))
        self.fills.append(FillRow(self.world.clock.now_ms(), report.symbol, report.side.value, report.price,
                                  report.quantity, booked.change.fee, booked.change.realized_pnl, position.quantity,
                                  decision, reason))

    def _hook_orders(self) -> None:
        """Each of the runner's orders meets a one-tick market at the price it decided on, and its fills come back
        through the FillRouter at once (the in-process exchange answers before the next event)."""
        manager, world, runner = self.world.manager, self.world, self.runner
        place = manager.place

        async def placing(intent: OrderIntent, **callbacks: Any) -> Any:
            self._dirty = True
            if intent.algo_run_id == STRATEGY_RUN_ID:
                price = runner.mids.get(intent.symbol) or self.book.last.get(intent.symbol)
                if price is not None:
                    if self.synthetic_touch:
                        self._quote(intent.symbol, price, world.clock.now_ms())
                    signal = runner.current_signal
                    self._decision[intent.symbol] = (price, signal.reason if signal is not None else "")
            result = await place(intent, **callbacks)
            if not result.ok and intent.algo_run_id == STRATEGY_RUN_ID:
                self.denials.append(f"{world.clock.now_ms()} {intent.symbol} {intent.side.value} {intent.quantity}: "
                                    f"{result.reason}")
            elif result.ok:
                await world.pump()
            return result

        manager.place = placing  # type: ignore[method-assign]

    def _hook_faults(self) -> None:
        if not self._reject_windows:
            return
        venue = self.world.venue
        place = venue.place
        from trading.venues.base import Rejected

        async def faulty(request: Any) -> Any:
            now = self.world.clock.now_ms()
            if any(start <= now < end for start, end in self._reject_windows):
                return Rejected("Margin is insufficient. (chaos: injected exchange fault)", -2019)
            return await place(request)

        venue.place = faulty  # type: ignore[method-assign]

    def _hook_trips(self) -> None:
        trip = self.risk.trip

        def recording(scope: Scope, what: Trip) -> bool:
            moved = trip(scope, what)
            if moved:
                self._dirty = True
                self.breakers.append(BreakerRow(self.world.clock.now_ms(), str(scope), what.state.value,
                                                what.kind.value, what.reason))
            return moved

        self.risk.trip = recording  # type: ignore[method-assign,assignment]

    # -- the loop -----------------------------------------------------------------------------------
    async def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        clock, base, runner, wanted = self.world.clock, self.base_ms, self.runner, self.wanted
        total = len(self.timeline)
        last_sample = -1
        for index, bar in enumerate(self.timeline):
            if self.stopped:
                break
            close_ms = bar.close_time_ms
            if close_ms + 1 - bar.open_time_ms == base:
                await self._base_bar(bar)
            else:
                clock.advance_to(close_ms)
            if bar.timeframe in wanted and not self.stopped:
                self.bars_delivered += 1
                await runner.on_bar(bar)
                if not self._settled():
                    await self._after()
            if close_ms != last_sample:
                last_sample = close_ms
                self._sample(close_ms)
            if progress is not None and index % 2000 == 0:
                progress(index, total)
        await self._finish()
        if progress is not None:
            progress(total, total)

    async def _base_bar(self, bar: Bar) -> None:
        """The finest bar: the clock, the price, and (holding) the path as ticks and the risk engine's mark."""
        book, symbol = self.book, bar.symbol
        self.bars += 1
        if self._halts and bar.open_time_ms >= self._halts[0]:
            await self._manual_halt(self._halts.pop(0))
        if not book.positions.get(symbol):
            self.world.clock.advance_to(bar.close_time_ms)
            book.last[symbol] = bar.close
            return
        quiet = self._quiet(bar)
        if not quiet:
            await self._walk(bar)
        self.world.clock.advance_to(bar.close_time_ms)
        book.last[symbol] = bar.close
        self.risk.on_quote(symbol, mark=bar.close)
        if not quiet:
            await self._tick(symbol, bar.close)

    def _quiet(self, bar: Bar) -> bool:
        """The strategy says no tick inside this bar's range would do anything: skip walking it."""
        band_of = self._band_of
        band = band_of(bar.symbol) if band_of is not None else None
        return band is not None and band[0] < bar.low and bar.high + self._tick_sizes[bar.symbol] < band[1]

    def _tick_size(self, symbol: str) -> Decimal:
        return self._tick_sizes[symbol]

    async def _walk(self, bar: Bar) -> None:
        """The bar's path before its close, as ticks: open, then low and high in the order the candle implies."""
        points = (bar.open, bar.low, bar.high) if bar.close > bar.open else (bar.open, bar.high, bar.low)
        span = bar.close_time_ms - bar.open_time_ms
        for step, price in enumerate(points):
            if self.stopped or not self.book.positions.get(bar.symbol):
                return
            self.world.clock.advance_to(bar.open_time_ms + span * step // 3)
            self.book.last[bar.symbol] = price
            await self._tick(bar.symbol, price)

    async def _tick(self, symbol: str, price: Decimal) -> None:
        """A quote a tick wide above `price`: the runner's on_tick sees its mid. Not sent when the strategy says a
        price inside its quiet band changes nothing (the band is asked again at every point of the path, as each
        tick may have moved it)."""
        band_of = self._band_of
        if band_of is not None:
            band = band_of(symbol)
            if band is not None and band[0] < price and price + self._tick_sizes[symbol] < band[1]:
                return
        self.ticks_delivered += 1
        await self.runner.on_quote(price, price + self._tick_sizes[symbol], symbol=symbol)
        if not self._settled():
            await self._after()

    def _settled(self) -> bool:
        """Nothing for _after to do: no order or refusal since it last ran, no new breaker, the runner running."""
        return not self._dirty and (self.runner.outcome is None or self.stopped)

    async def _after(self) -> None:
        """After each event: the risk engine settles what was sent; its breakers reach the runner as they would live
        (HALTED on the strategy's scope stops it); a runner that failed the strategy ends the backtest."""
        runner = self.runner
        self._dirty = False
        sent = runner.metrics.orders + runner.metrics.refused
        if sent != self._sent:
            self._sent = sent
            await self.risk.settle()
        while self._told < len(self.breakers):
            row = self.breakers[self._told]
            self._told += 1
            ours = row.scope in (str(algo_scope(STRATEGY_RUN_ID)), str(sub_account_scope(SUB_ACCOUNT_ID)))
            if ours or row.scope.startswith("global"):
                await runner.on_risk_state(row.scope, row.state.upper(), row.reason)
            if ours and row.state == TradingState.HALTED.value and not self.stopped:
                self.status = f"halted by the risk engine: {row.reason}"
                self.stopped = True
                await runner.stop(f"halted by the risk engine: {row.reason}")
        if runner.outcome is not None and not self.stopped:
            self.status, self.stopped = runner.outcome, True

    def _sample(self, now_ms: int) -> None:
        """Equity and gross exposure after a bar, as floats: the series feed the charts and the ratios (Sharpe,
        drawdown); the report's money figures come from the book's Decimals."""
        equity, gross = self.book.marked()
        self._equity_times.append(now_ms)
        self._equity.append(float(equity))
        self._exposure.append(float(gross))

    def _quote(self, symbol: str, price: Decimal, now: int) -> None:
        """The touch an order meets: a one-tick market at the decision price (the kline pather's convention)."""
        rules = self.world.instruments[symbol]
        tick = rules.tick_size
        bid = (price / tick).quantize(Decimal(1), rounding=ROUND_DOWN) * tick
        ask = bid + tick
        size = Decimal(1000) * rules.step_size.max(rules.min_qty)  # deep enough that a strategy's order walks no level
        self.world.exchange.on_book_ticker(BookTicker(symbol, now, bid, size, ask, size, now, now))
        self.world.ticks.note(symbol, bid, ask, now)

    async def _manual_halt(self, at_ms: int) -> None:
        self.world.clock.advance_to(max(at_ms, self.world.clock.now_ms()))
        self.risk.manual_trip(algo_scope(STRATEGY_RUN_ID), TradingState.HALTED, "chaos: kill switch")
        await self._after()

    async def _finish(self) -> None:
        """At the end of the data, open positions are closed at the last price, as an operator would (no algo id:
        a halted strategy's position is still flattened)."""
        for symbol, quantity in list(self.book.positions.items()):
            if not quantity:
                continue
            price = self.book.last[symbol]
            self._quote(symbol, price, self.world.clock.now_ms())
            self._decision[symbol] = (price, "end of the data: flatten")
            side = Side.SELL if quantity > 0 else Side.BUY
            result = await self.world.manager.place(OrderIntent(SUB_ACCOUNT_ID, symbol, side, OrderType.MARKET,
                                                                abs(quantity), reduce_only=True,
                                                                origin=OrderOrigin.MKT))
            if not result.ok:
                self.denials.append(f"end of the data: flatten {symbol} refused: {result.reason}")
        await self.world.manager.cancel_all(sub_account_id=SUB_ACCOUNT_ID)
        await self.world.pump()
        await self.risk.settle()
        if not self.stopped:
            await self.runner.stop("end of the data")
        self._sample(self.world.clock.now_ms())


def series_load(request: StrategyBacktestRequest) -> tuple[dict[str, list[Bar]], str]:
    """Base bars per symbol, all of one timeframe."""
    series: dict[str, list[Bar]] = {}
    for path in kline_files(request.data):
        bars = bars_load(path)
        symbol = bars[0].symbol
        if request.symbols and symbol not in request.symbols:
            continue
        if symbol in series:
            raise DataError(f"two kline files for {symbol}: give one file per symbol")
        series[symbol] = bars
    missing = [symbol for symbol in request.symbols if symbol not in series]
    if missing:
        raise DataError(f"no klines for {', '.join(missing)} in {request.data!r}")
    if not series:
        raise DataError(f"no klines for the requested symbols in {request.data!r}")
    timeframes = {bars[0].timeframe for bars in series.values()}
    if len(timeframes) > 1:
        raise DataError(f"kline files of different timeframes ({', '.join(sorted(timeframes))}): give one timeframe")
    return series, timeframes.pop()


def series_derive(strategy: Any, series: dict[str, list[Bar]], base: str) -> list[list[Bar]]:
    """The base bars and every coarser timeframe the strategy wants, each series handed to its optional `preload`."""
    base_ms = timeframe_ms(base)
    all_series: list[list[Bar]] = list(series.values())  # base bars always: they move the clock and the ticks
    for timeframe in strategy.timeframes():
        size = timeframe_ms(timeframe)
        if size < base_ms or size % base_ms:
            raise StrategyBacktestError(f"the strategy wants {timeframe} bars; the data is {base}: give "
                                        f"klines of {timeframe} or finer")
        for symbol, bars in series.items():
            derived = bars if size == base_ms else bars_resample(bars, timeframe)
            if size != base_ms:
                all_series.append(derived)
            if hasattr(strategy, "preload"):
                strategy.preload(symbol, timeframe, derived)
    return all_series


def timeline_build(bars_by_series: Iterable[list[Bar]], base_ms: int) -> list[Bar]:
    """Every bar in close-time order; at one close time, finer timeframes first (the 5m bar before the 15m)."""
    bars = [bar for series in bars_by_series for bar in series]
    bars.sort(key=lambda b: (b.close_time_ms, b.close_time_ms - b.open_time_ms, b.symbol))
    return bars


async def strategy_backtest_run(request: StrategyBacktestRequest, *,
                                progress: Callable[[int, int], None] | None = None) -> StrategyBacktestResult:
    """Check and load everything, then replay; raises StrategyBacktestError before anything ran when it is bad."""
    started = time.perf_counter()
    if request.capital <= 0:
        raise StrategyBacktestError(f"capital must be positive, got {request.capital}")
    from algos.strategies.backtest.ticks import tick_backtest_run, tick_data

    if tick_data(request):
        return await tick_backtest_run(request, progress=progress, started=started)
    try:
        series, base = series_load(request)
    except DataError as exc:
        raise StrategyBacktestError(str(exc)) from None
    strategy: Any = strategy_build(request.strategy, tuple(series), request.params, seed=request.seed)
    if any(e.kind in ("flood", "raise") for e in request.chaos):
        strategy = ChaosStrategy(strategy, request.chaos)
    base_ms = timeframe_ms(base)
    all_series = series_derive(strategy, series, base)
    world = await world_create(start_ms=min(bars[0].open_time_ms for bars in series.values()), record_events=False)
    unknown = [symbol for symbol in series if symbol not in world.instruments]
    if unknown:
        raise StrategyBacktestError(f"the in-process exchange does not list {', '.join(unknown)}")
    risk = await _risk_create(world, request, strategy)
    backtest = StrategyBacktest(request, strategy, world, risk, series, timeline_build(all_series, base_ms), base_ms)
    loaded = time.perf_counter()
    await backtest.run(progress)
    finished = time.perf_counter()
    await risk.close()
    return StrategyBacktestResult(
        request, strategy, tuple(series), base, backtest.bars, backtest.bars_delivered, backtest.ticks_delivered,
        min(b[0].open_time_ms for b in series.values()), world.clock.now_ms(), backtest.fills,
        backtest._equity_times, backtest._equity, backtest._exposure, backtest.breakers, backtest.denials,
        backtest.dropped, backtest.status, backtest.book.equity(), loaded - started, finished - loaded)


def symbols_parse(text: str | Sequence[str] | None) -> tuple[str, ...]:
    if not text:
        return ()
    parts = text.split(",") if isinstance(text, str) else list(text)
    return tuple(part.strip().upper() for part in parts if part.strip())
