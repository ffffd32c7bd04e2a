"""Isolation: strategies that raise, overrun their time budget or flood orders are stopped and their runs
failed with the reason, while a well-behaved strategy in the same engine keeps trading."""

from __future__ import annotations

import time
from decimal import Decimal

from algos.strategies.base import BaseStrategy, Signal, SignalKind, Signals, StrategyContext, StrategyInfo, Tick
from algos.strategies.runtime.registry import StrategyRegistry
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, BETA, make_harness

from .helpers import settle, strategy_engine, strategy_run

D = Decimal


class InAndOut(BaseStrategy):
    """Well-behaved: buys the minimum when flat, sells it back when long."""

    info = StrategyInfo("in_and_out", "1")

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        held = ctx.positions.get(tick.symbol, D(0))
        if held > 0:
            return [Signal(tick.symbol, Side.SELL, held, reduce_only=True)]
        return [Signal(tick.symbol, Side.BUY, D("0.002"))]


class Raiser(BaseStrategy):
    info = StrategyInfo("raiser", "1")
    ticks = 0

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self.ticks += 1
        if self.ticks == 3:
            raise ZeroDivisionError("bad maths on the third tick")
        return ()


class Sleeper(BaseStrategy):
    info = StrategyInfo("sleeper", "1")
    ticks = 0

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self.ticks += 1
        if self.ticks == 2:
            time.sleep(0.06)
        return ()


class Flooder(BaseStrategy):
    info = StrategyInfo("flooder", "1")

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        return [Signal(tick.symbol, Side.BUY, D("0.002"), price=tick.bid * D("0.9"), kind=SignalKind.LIMIT)
                for _ in range(50)]


def registry() -> StrategyRegistry:
    reg = StrategyRegistry(modules=(), optional_modules=())
    for cls in (InAndOut, Raiser, Sleeper, Flooder):
        reg.register(cls)
    return reg


async def test_three_misbehaving_strategies_are_stopped_while_a_good_one_keeps_trading():
    h = await make_harness()
    runs = {1: strategy_run(1, ALPHA, "raiser"), 2: strategy_run(2, ALPHA, "sleeper", budget_ms=30),
            3: strategy_run(3, BETA, "flooder"), 4: strategy_run(4, BETA, "in_and_out")}
    engine, ticks, statuses = await strategy_engine(h, runs, registry())
    for algo_run_id in runs:
        assert (await engine.start({"algo_run_id": algo_run_id}))["status"] == "running"
    for step in range(8):
        h.clock.advance(1)
        bid = D("60000.0") + step
        h.quote("BTCUSDT", str(bid), str(bid + D("0.1")))
        ticks.push("BTCUSDT", str(bid), str(bid + D("0.1")))
        await settle(h)
        await engine.tick()
    assert statuses[1][0] == "failed" and "on_tick raised ZeroDivisionError: bad maths" in statuses[1][1]["outcome"]
    assert statuses[2][0] == "failed" and "over its budget of 30 ms" in statuses[2][1]["outcome"]
    assert statuses[3][0] == "failed" and "emitted 50 signals at once" in statuses[3][1]["outcome"]
    assert set(engine.runners) == {4}
    # the flooder never reached the exchange; the good one traded in and out all along
    placed = [o for o in h.journal.orders.values() if o.algo_run_id == 3]
    assert placed == []
    good = engine.runners[4]
    assert good.metrics.trades_closed >= 3 and good.metrics.trades_opened >= 4  # type: ignore[union-attr]
    assert all(o.client_order_id.startswith("PMSbeta0000_STR_") for o in h.journal.orders.values())


async def test_a_failed_strategy_has_its_working_orders_cancelled():
    class RestThenRaise(BaseStrategy):
        info = StrategyInfo("rest_then_raise", "1")
        ticks = 0

        def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
            self.ticks += 1
            if self.ticks == 2:
                raise RuntimeError("boom")
            return [Signal(tick.symbol, Side.BUY, D("0.002"), price=tick.bid - 100, kind="limit")]  # type: ignore[arg-type]

    h = await make_harness()
    reg = StrategyRegistry(modules=(), optional_modules=())
    reg.register(RestThenRaise)
    engine, ticks, statuses = await strategy_engine(h, {5: strategy_run(5, ALPHA, "rest_then_raise")}, reg)
    await engine.start({"algo_run_id": 5})
    ticks.push("BTCUSDT", "60000.0", "60000.1")
    await settle(h)
    assert len(h.exchange.open_orders(h.account_id)) == 1
    ticks.push("BTCUSDT", "60000.0", "60000.1")
    await settle(h)
    assert statuses[5][0] == "failed" and h.exchange.open_orders(h.account_id) == []
