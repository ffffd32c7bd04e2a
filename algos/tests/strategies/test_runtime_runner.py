"""StrategyRunner over the real OrderManager and the in-process matching core: bars, rounding, refusals,
fills and metrics, pause/resume, snapshot/restore, progress events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from algos.strategies.base import (
    Bar,
    BaseStrategy,
    RiskBreach,
    Signal,
    SignalKind,
    Signals,
    StrategyContext,
    StrategyFill,
    StrategyInfo,
    Tick,
)
from algos.strategies.runtime.bars import BarAggregator, timeframe_ms
from algos.strategies.runtime.runner import StrategyRunner
from trading.domain.records import OrderIntent
from trading.domain.types import Side
from trading.engine.hooks import Denial
from trading.tests.engine.harness import ALPHA, Harness, make_harness

from .helpers import settle

D = Decimal
MINUTE = 60_000


class Scripted(BaseStrategy):
    """Returns the signals queued for its next tick; records every callback."""

    info = StrategyInfo("scripted", "3")

    def __init__(self, symbols: Any = ("BTCUSDT",), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.next: list[Signal] = []
        self.on_breach: list[Signal] = []
        self.calls: list[tuple[str, Any]] = []

    def timeframes(self) -> tuple[str, ...]:
        return ("1m",)

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self.calls.append(("tick", tick))
        signals, self.next = self.next, []
        return signals

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        self.calls.append(("bar", bar))
        return ()

    def on_fill(self, ctx: StrategyContext, fill: StrategyFill) -> Signals:
        self.calls.append(("fill", fill))
        return ()

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        self.calls.append(("breach", breach))
        return list(self.on_breach)


async def runner_for(h: Harness, strategy: BaseStrategy, **extra: Any) -> StrategyRunner:
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    return StrategyRunner(algo_run_id=7, sub_account_id=ALPHA, strategy=strategy, manager=h.manager,
                          instruments=instruments, clock=h.clock, publish=h.manager.publish, equity=D("10000"),
                          **extra)


def calls(strategy: Scripted, kind: str) -> list[Any]:
    return [argument for name, argument in strategy.calls if name == kind]


def test_bars_close_on_the_next_window_or_when_the_clock_passes_their_end():
    bars = BarAggregator(("BTCUSDT",), ("1m", "5m"))
    start = 1_700_000_100_000  # the start of a 5-minute window
    for offset, price in ((0, "10"), (10_000, "12"), (20_000, "9"), (59_999, "11")):
        assert bars.on_price("BTCUSDT", D(price), start + offset) == []
    (closed,) = bars.on_price("BTCUSDT", D("13"), start + MINUTE)
    assert (closed.timeframe, closed.open, closed.high, closed.low, closed.close) == ("1m", 10, 12, 9, 11)
    assert (closed.open_time_ms, closed.close_time_ms) == (start, start + MINUTE - 1)
    assert [bar.timeframe for bar in bars.close_due(start + 2 * MINUTE)] == ["1m"]
    assert [bar.timeframe for bar in bars.close_due(start + 5 * MINUTE)] == ["5m"]
    assert timeframe_ms("15m") == 900_000


def test_a_malformed_timeframe_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="timeframe must look like"):
        timeframe_ms("15 minutes")


async def test_signals_are_rounded_down_to_the_step_and_sub_minimum_ones_dropped_with_a_reason():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.0029")),  # rounds to 0.002
                     Signal("BTCUSDT", Side.BUY, D("0.0009")),  # below the minimum quantity
                     Signal("BTCUSDT", Side.BUY, D("0.001"), SignalKind.LIMIT, D("59990.17"))]  # tick 0.10, 60 USDT
    await runner.on_quote(D("60000.0"), D("60000.1"))
    await settle(h)
    orders = sorted(h.journal.orders.values(), key=lambda o: o.client_order_id)
    assert [(o.quantity, o.origin.value, o.algo_run_id) for o in orders] == [(D("0.002"), "STR", 7)]
    assert runner.metrics.dropped == 2
    assert "0.0009 rounds to 0.000, below the minimum 0.001" in runner.log[0]
    assert "worth 59.99, below the minimum order value 100" in runner.log[1]


async def test_a_limit_price_is_rounded_to_the_tick_on_the_passive_side():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.002"), SignalKind.LIMIT, D("59000.19")),
                     Signal("BTCUSDT", Side.SELL, D("0.002"), SignalKind.LIMIT, D("61000.01"))]
    await runner.on_quote(D("60000.0"), D("60000.1"))
    assert sorted(o.price or D(0) for o in h.journal.orders.values()) == [D("59000.1"), D("61000.1")]


async def test_a_refusal_reaches_the_strategy_after_its_callback_and_its_reaction_waits_for_the_next_one():
    class DenyAll:
        def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
            return Denial("max open orders 0 reached", "open_orders")

    h = await make_harness()
    h.manager.pre_trade = DenyAll()
    strategy = Scripted()
    strategy.on_breach = [Signal("BTCUSDT", Side.BUY, D("0.004"))]  # doubles down: refused again
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.002"))]
    await runner.on_quote(D("60000.0"), D("60000.1"))
    (breach,) = calls(strategy, "breach")
    assert (breach.state, breach.code, breach.reason) == ("denied", "open_orders", "max open orders 0 reached")
    assert runner.metrics.refused == 2  # the entry and the reaction; the reaction's refusal is held back
    await runner.on_quote(D("60000.0"), D("60000.1"))
    assert len(calls(strategy, "breach")) == 2 and runner.metrics.refused == 3


async def test_fills_reach_the_strategy_and_a_round_trip_counts_as_a_win_or_a_loss():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.010"))]
    await runner.on_quote(D("60000.0"), D("60000.1"))
    await settle(h)
    h.quote("BTCUSDT", "60100.0", "60100.1")
    strategy.next = [Signal("BTCUSDT", Side.SELL, D("0.010"), reduce_only=True)]
    await runner.on_quote(D("60100.0"), D("60100.1"))
    await settle(h)
    fills = calls(strategy, "fill")
    assert [(f.side, f.quantity, f.price) for f in fills] == [(Side.BUY, D("0.010"), D("60000.1")),
                                                              (Side.SELL, D("0.010"), D("60100.0"))]
    m = runner.metrics
    assert (m.trades_opened, m.trades_closed, m.wins, m.losses) == (1, 1, 1, 0)
    assert m.pnl == D("0.999") and m.peak_balance == D("10000.999") and m.max_drawdown == 0
    assert D(runner.status()["pnl"]) == D("0.999")


async def test_pause_cancels_working_orders_and_stops_callbacks_until_resume():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.002"), SignalKind.LIMIT, D("59000"))]
    await runner.on_quote(D("60000.0"), D("60000.1"))
    assert len(h.exchange.open_orders(h.account_id)) == 1
    await runner.pause()
    await settle(h)
    await runner.on_quote(D("60000.0"), D("60000.1"))
    assert h.exchange.open_orders(h.account_id) == [] and len(calls(strategy, "tick")) == 1
    await runner.resume()
    await runner.on_quote(D("60000.0"), D("60000.1"))
    assert len(calls(strategy, "tick")) == 2


async def test_bars_are_delivered_before_the_tick_that_closed_them_and_on_the_clock_when_quiet():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    await runner.on_quote(D("60000.0"), D("60000.2"))
    h.clock.advance(60)
    await runner.on_quote(D("60010.0"), D("60010.2"))
    assert [name for name, _ in strategy.calls] == ["tick", "bar", "tick"]
    h.clock.advance(60)
    await runner.on_clock()
    bars = calls(strategy, "bar")
    assert [bar.close for bar in bars] == [D("60000.1"), D("60010.1")]


async def test_the_snapshot_restores_metrics_and_the_paused_flag_and_progress_is_published():
    h = await make_harness()
    strategy = Scripted()
    runner = await runner_for(h, strategy)
    strategy.next = [Signal("BTCUSDT", Side.BUY, D("0.010"))]
    await runner.on_quote(D("60000.0"), D("60000.1"))
    await settle(h)
    await runner.pause()
    again = await runner_for(h, Scripted())
    again.restore(runner.snapshot())
    assert again.paused and again.metrics.as_dict() == runner.metrics.as_dict()
    progress = [data for _, kind, data in h.events if kind == "strategy_progress"]
    assert progress[-1]["status"] == "paused" and progress[-1]["strategy"] == "scripted"
    assert progress[-1]["trades_opened"] == 1 and progress[-1]["version"] == "3"
