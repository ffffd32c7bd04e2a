"""StrategyRunner: runs one strategy instance — ticks, closed bars, fills and refusals in; orders out.

The strategy only returns signals; the runner rounds each to the instrument's step and tick, drops what is
below the minimum order (with the reason in the run's log) and places the rest through the OrderManager,
where the pre-trade risk check applies. Callbacks run one at a time from a queue (quotes coalesce per
symbol, latest wins; bars, fills and refusals are each delivered), every one under the isolation guard: a
strategy that raises, overruns its budget or floods signals is failed with the reason and sends nothing
more; the engine then cancels its working orders and records the run as failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from algos.strategies.base import (
    Bar,
    RiskBreach,
    Signal,
    SignalKind,
    Strategy,
    StrategyContext,
    StrategyFill,
    Tick,
    TradePrint,
)
from algos.strategies.runtime.bars import BarAggregator
from algos.strategies.runtime.guard import CallbackGuard, RuntimeLimits, StrategyFault
from algos.strategies.runtime.metrics import StrategyMetrics
from core.clock import SYSTEM_CLOCK, Clock, datetime_to_ms
from core.money import Rounding, round_down_to_step, round_to_tick
from trading.domain.client_ids import OrderOrigin
from trading.domain.instruments import InstrumentRules
from trading.domain.positions import Fill
from trading.domain.records import FillReport, JournaledOrder, OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import EventSink, discard_events
from trading.engine.order_manager import OrderManager
from trading.events import account_group

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
PROGRESS_INTERVAL_MS = 1_000
LOG_SIZE = 50

Callback = tuple[str, Any]  # (callback name, its argument)


class StrategyRunner:
    kind = "strategy"

    def __init__(self, *, algo_run_id: int | None, sub_account_id: int, strategy: Strategy,
                 manager: OrderManager, instruments: Mapping[str, InstrumentRules], clock: Clock = SYSTEM_CLOCK,
                 publish: EventSink = discard_events, limits: RuntimeLimits | None = None,
                 equity: Decimal = ZERO, timer: Callable[[], float] = time.perf_counter) -> None:
        self.algo_run_id, self.sub_account_id = algo_run_id, sub_account_id
        self.strategy, self.manager, self.clock, self.publish = strategy, manager, clock, publish
        self.symbols: tuple[str, ...] = tuple(strategy.symbols())
        if not self.symbols:
            raise ValueError(f"strategy {strategy.info.name!r} names no symbols")
        unknown = [symbol for symbol in self.symbols if symbol not in instruments]
        if unknown:
            raise ValueError(f"unknown symbol(s) {', '.join(unknown)}")
        self.instruments = {symbol: instruments[symbol] for symbol in self.symbols}
        self.bars = BarAggregator(self.symbols, tuple(strategy.timeframes()))
        self.guard = CallbackGuard(limits or RuntimeLimits(), timer=timer)
        self.metrics = StrategyMetrics(starting_equity=equity)
        self.mids: dict[str, Decimal] = {}
        self.outcome: str | None = None
        self.paused = False
        self.significant = False
        self.log: deque[str] = deque(maxlen=LOG_SIZE)
        self.note_listener: Callable[[str], None] | None = None  # backtests keep every note (drops) for the report
        self.current_signal: Signal | None = None  # the signal whose order is being placed (backtests: its reason)
        self._queue: deque[Callback] = deque()
        self._latest_ticks: dict[str, Tick] = {}
        self._refusals: list[RiskBreach] = []  # delivered after the next callback that is not itself a refusal
        self._seen: dict[str, tuple[Decimal, Decimal]] = {}  # client id -> (quantity, notional) told so far
        self._busy = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_progress_ms: int | None = None

    @property
    def symbol(self) -> str:
        return self.symbols[0]

    @property
    def live(self) -> bool:
        return self.outcome is None and not self.paused

    # -- inputs ------------------------------------------------------------------------------------
    async def on_quote(self, bid: Decimal, ask: Decimal, *, symbol: str | None = None) -> None:
        if self.outcome is not None:
            return
        symbol = symbol or self.symbol
        now = self.clock.now_ms()
        mid = (bid + ask) / 2
        self.mids[symbol] = mid
        if self.paused:
            return
        closed = self.bars.on_price(symbol, mid, now)
        if closed:
            self._queue.extend(("on_bar", bar) for bar in closed)
        self._latest_ticks[symbol] = Tick(symbol, bid, ask, now)
        await self._drain()

    async def on_bar(self, bar: Bar) -> None:
        """A closed bar from recorded klines (backtests); live bars are aggregated from quotes."""
        if self.outcome is not None:
            return
        self.mids[bar.symbol] = bar.close
        if not self.paused:
            self._queue.append(("on_bar", bar))
            await self._drain()

    async def on_trade(self, trade: TradePrint) -> None:
        if self.live:
            self._queue.append(("on_trade", trade))
            await self._drain()

    async def on_clock(self) -> None:
        """The engine's timer: bars of a quiet market close on time; progress is published."""
        if self.live:
            self._queue.extend(("on_bar", bar) for bar in self.bars.close_due(self.clock.now_ms()))
            await self._drain()
        self._progress()

    async def on_risk_state(self, scope: str, state: str, reason: str) -> None:
        """A circuit breaker changed the trading state of a scope this strategy trades in."""
        if self.live:
            self._queue.append(("on_risk_breach", RiskBreach(scope, state, reason, self.clock.now_ms())))
            await self._drain()

    # -- lifecycle ---------------------------------------------------------------------------------
    async def stop(self, reason: str = "stopped by operator") -> None:
        if self.outcome is None:
            self.outcome = f"cancelled: {reason}"
            self.significant = True
            self._note(f"stopped: {reason}")
            self._progress(force=True)

    async def pause(self) -> None:
        """Nothing is called or sent until resume; working orders are cancelled."""
        if not self.paused:
            self.paused, self.significant = True, True
            self._queue.clear()
            self._latest_ticks.clear()
            await self._cancel_working()
            self._progress(force=True)

    async def resume(self) -> None:
        if self.paused:
            self.paused, self.significant = False, True
            self._progress(force=True)

    def fail(self, reason: str) -> None:
        if self.outcome is None:
            self.outcome = f"failed: {reason}"
            self.significant = True
            self._note(f"failed: {reason}")
            logger.warning("strategy run %s failed: %s", self.algo_run_id, reason)
            self._event("strategy_failed", {"reason": reason})
            self._progress(force=True)

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        info = self.strategy.info
        saved = {"strategy": info.name, "version": info.version, "paused": self.paused,
                 "metrics": self.metrics.as_dict(), "log": list(self.log)[-10:]}
        memory = self._strategy_memory()
        if memory is not None:
            saved["memory"] = memory
        return saved

    def restore(self, saved: dict[str, Any]) -> None:
        """Metrics, the paused flag and the strategy's own memory (its optional `restore`) survive a restart.
        Memory a strategy cannot take back fails the run with the reason rather than trading without it."""
        if saved.get("metrics"):
            self.metrics = StrategyMetrics.from_dict(saved["metrics"])
        self.paused = bool(saved.get("paused", False))
        self.log.extend(saved.get("log", []))
        memory, restore = saved.get("memory"), getattr(self.strategy, "restore", None)
        if memory is None or restore is None:
            return
        if saved.get("strategy") != self.strategy.info.name:
            self._note(f"memory of {saved.get('strategy')!r} not restored into {self.strategy.info.name!r}")
            return
        try:
            restore(memory)
        except Exception as exc:  # the strategy's fault: its run fails with the reason, the engine carries on
            self.fail(f"restore raised {type(exc).__name__}: {exc}")
        else:
            self._note("memory restored")

    def _strategy_memory(self) -> dict[str, Any] | None:
        """The strategy's optional `snapshot()`, checked to be JSON data (it goes to the algo state store)."""
        snapshot = getattr(self.strategy, "snapshot", None)
        if snapshot is None or self.outcome is not None:
            return None
        try:
            memory = snapshot()
            json.dumps(memory)
        except Exception as exc:  # a strategy whose memory cannot be saved is failed, not silently forgetful
            self.fail(f"snapshot raised {type(exc).__name__}: {exc}")
            return None
        if not isinstance(memory, dict):
            self.fail(f"snapshot returned {type(memory).__name__}, not a dict")
            return None
        return memory

    def status(self) -> dict[str, Any]:
        info = self.strategy.info
        state = "running" if self.outcome is None and not self.paused else ("paused" if self.outcome is None
                                                                              else self.outcome)
        return {"algo_run_id": self.algo_run_id, "strategy": info.name, "version": info.version,
                "symbols": list(self.symbols), "status": state, **self.metrics.as_dict(),
                "unrealized": str(self.metrics.unrealized(self.mids)), "note": self.log[-1] if self.log else ""}

    # -- the callback loop -------------------------------------------------------------------------
    async def _drain(self) -> None:
        """One callback at a time; a quote arriving meanwhile replaces the waiting one of its symbol."""
        if self._busy:
            return
        self._busy = True
        queue, ticks = self._queue, self._latest_ticks
        try:
            while (queue or ticks) and self.outcome is None and not self.paused:
                if queue:
                    name, argument = queue.popleft()
                else:
                    symbol = next(iter(ticks))
                    name, argument = "on_tick", ticks.pop(symbol)
                await self._dispatch(name, argument)
        finally:
            self._busy = False
        if self.publish is not discard_events:
            self._progress()

    async def _dispatch(self, name: str, argument: Any) -> None:
        metrics = self.metrics
        metrics.cycles += 1
        now = self.clock.now_ms()
        try:
            signals = self.guard.call(name, getattr(self.strategy, name), self._context(now), argument, now_ms=now)
        except StrategyFault as fault:
            self.fail(fault.reason)
            return
        if signals:
            metrics.signals += len(signals)
            await self._execute(signals)
        if self._refusals and name != "on_risk_breach":
            # Refusals reach the strategy after the callback that caused them; refusals of what it does about
            # them wait for the next ordinary callback, so no strategy can loop on its own refusals in one event.
            self._queue.extendleft(("on_risk_breach", breach) for breach in reversed(self._refusals))
            self._refusals = []

    def _context(self, now_ms: int) -> StrategyContext:
        manager, sub_account_id, metrics = self.manager, self.sub_account_id, self.metrics
        of, symbols = manager.positions.of, self.symbols
        if len(symbols) == 1:
            positions = {symbols[0]: of(sub_account_id, symbols[0])}
        else:
            positions = {symbol: of(sub_account_id, symbol) for symbol in symbols}
        working = 0
        if manager.live:
            algo_run_id = self.algo_run_id
            working = sum(1 for live in manager.live.values() if live.order.algo_run_id == algo_run_id
                          and live.order.sub_account_id == sub_account_id)
        return StrategyContext(now_ms, metrics.equity(self.mids), positions, metrics.entry_prices(), self.instruments,
                               working)

    # -- signals to orders -------------------------------------------------------------------------
    async def _execute(self, signals: Sequence[Signal]) -> None:
        for signal in signals:
            if not self.live:
                return
            if signal.kind == SignalKind.CANCEL_ALL:
                await self.manager.cancel_all(sub_account_id=self.sub_account_id, symbol=signal.symbol,
                                              algo_run_id=self.algo_run_id)
                continue
            intent = self._intent(signal)
            if intent is None:
                continue
            self.current_signal = signal
            result = await self.manager.place(intent, on_fill=self._on_order_fill, on_done=self._on_order_done)
            self.current_signal = None
            self.significant = True
            if result.ok:
                self.metrics.orders += 1
            else:
                self.metrics.refused += 1
                self._note(f"{signal.side.value} {intent.quantity} {signal.symbol} refused: {result.reason}")
                self._refusals.append(RiskBreach(f"algo {self.algo_run_id}", "denied", result.reason,
                                                 self.clock.now_ms(), code=result.code, symbol=signal.symbol,
                                                 client_order_id=result.client_order_id or ""))

    def _intent(self, signal: Signal) -> OrderIntent | None:
        rules = self.instruments.get(signal.symbol)
        if rules is None:
            return self._drop(signal, f"{signal.symbol} is not one of the strategy's symbols "
                                      f"({', '.join(self.symbols)})")
        if not isinstance(signal.quantity, Decimal) or not signal.quantity.is_finite() or signal.quantity <= 0:
            return self._drop(signal, f"quantity must be a positive Decimal, got {signal.quantity!r}")
        quantity = round_down_to_step(signal.quantity, rules.step_size)
        if quantity < rules.min_qty or quantity <= 0:
            return self._drop(signal, f"{signal.quantity} rounds to {quantity}, below the minimum {rules.min_qty}")
        if quantity > rules.max_qty:
            return self._drop(signal, f"{quantity} is above the maximum order {rules.max_qty}")
        if signal.kind not in (SignalKind.MARKET, SignalKind.LIMIT):
            return self._drop(signal, f"unknown signal kind {signal.kind!r}")
        price: Decimal | None = None
        if signal.kind == SignalKind.LIMIT:
            if not isinstance(signal.price, Decimal) or not signal.price.is_finite() or signal.price <= 0:
                return self._drop(signal, f"a limit signal needs a positive Decimal price, got {signal.price!r}")
            price = round_to_tick(signal.price, rules.tick_size,
                                  Rounding.DOWN if signal.side is Side.BUY else Rounding.UP)
        reference = price if price is not None else self.mids.get(signal.symbol)
        if not signal.reduce_only and reference is not None and quantity * reference < rules.min_notional:
            return self._drop(signal, f"{quantity} {signal.symbol} is worth {quantity * reference:.2f}, below "
                                      f"the minimum order value {rules.min_notional}")
        return OrderIntent(self.sub_account_id, signal.symbol, signal.side,
                           OrderType.LIMIT if price is not None else OrderType.MARKET, quantity, price,
                           reduce_only=signal.reduce_only, origin=OrderOrigin.STR, algo_run_id=self.algo_run_id)

    def _drop(self, signal: Signal, reason: str) -> OrderIntent | None:
        self.metrics.dropped += 1
        self._note(f"signal {signal.side.value} {signal.quantity} {signal.symbol} dropped: {reason}")
        return None

    async def _cancel_working(self) -> None:
        await self.manager.cancel_all(sub_account_id=self.sub_account_id, algo_run_id=self.algo_run_id)

    # -- fills -------------------------------------------------------------------------------------
    def _on_order_fill(self, order: JournaledOrder, report: FillReport) -> None:
        quantity, notional = self._seen.get(order.client_order_id, (ZERO, ZERO))
        self._seen[order.client_order_id] = (quantity + report.quantity, notional + report.quantity * report.price)
        self._fill(StrategyFill(report.symbol, report.side, report.price, report.quantity, report.fee,
                                datetime_to_ms(report.executed_at), order.client_order_id), report.trade_key)

    def _on_order_done(self, order: JournaledOrder) -> None:
        """An order that filled before the fill events could reach it (an immediate market fill): the rest
        of its fills, from the order's cumulative quantity and average price (fee not known here: 0)."""
        quantity, notional = self._seen.pop(order.client_order_id, (ZERO, ZERO))
        remainder = order.filled_quantity - quantity
        if remainder <= 0:
            return
        average = order.average_price or self.mids.get(order.symbol)
        if average is None:
            return
        price = (average * order.filled_quantity - notional) / remainder
        self._fill(StrategyFill(order.symbol, order.side, price, remainder, ZERO, self.clock.now_ms(),
                                order.client_order_id), f"{order.client_order_id}:done")

    def _fill(self, fill: StrategyFill, trade_key: str) -> None:
        self.metrics.on_fill(Fill(trade_key, fill.symbol, fill.side, fill.price, fill.quantity, fill.fee))
        self.significant = True
        if self.outcome is not None:
            return
        self._queue.append(("on_fill", fill))
        if self._busy:
            return  # the callback loop running now delivers it before it returns
        task = asyncio.get_running_loop().create_task(self._drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events ------------------------------------------------------------------------------------
    def _note(self, message: str) -> None:
        self.log.append(message)
        if self.note_listener is not None:
            self.note_listener(message)
        logger.debug("strategy run %s: %s", self.algo_run_id, message)

    def _progress(self, *, force: bool = False) -> None:
        if self.publish is discard_events:
            return  # nobody listens (backtests): not even the status is built
        now = self.clock.now_ms()
        if not force and self._last_progress_ms is not None and now - self._last_progress_ms < PROGRESS_INTERVAL_MS:
            return
        self._last_progress_ms = now
        self._event("strategy_progress", self.status())

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        self.publish(account_group(self.sub_account_id), kind, {"algo_run_id": self.algo_run_id, **data})
