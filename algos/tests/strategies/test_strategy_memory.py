"""Refusals name their symbol and order; a strategy's memory survives a restart (snapshot in the runner's saved
state, restored on resume): a resumed ensemble keeps its open trade's exits."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from algos.engine import AlgoEngine, RunRecord
from algos.lease import AlgoLease
from algos.state_store import AlgoStateStore
from algos.strategies.base import BaseStrategy, RiskBreach, Signal, Signals, StrategyContext, StrategyInfo, Tick
from algos.strategies.ensemble.strategy import EnsembleStrategy, _Trade
from algos.strategies.runtime.registry import StrategyRegistry
from algos.strategies.runtime.runner import StrategyRunner
from algos.tests.test_engine import FakeTicks
from trading.domain.instruments import InstrumentRules
from trading.domain.records import OrderIntent
from trading.domain.types import Side
from trading.engine.hooks import Denial
from trading.engine.order_manager import OrderManager
from trading.tests.engine.harness import ALPHA, Harness, make_harness

from .helpers import settle

D = Decimal
RULES = {s: InstrumentRules(s, D("0.1"), D("0.001"), D("0.001"), D(1000), D(5)) for s in ("BTCUSDT", "SOLUSDT")}


def pending(symbol: str) -> _Trade:
    return _Trade(symbol, 1, 0, D(100), 0.8, "trending_up", "NY", "normal", ("trend",))


def ctx() -> StrategyContext:
    return StrategyContext(1, D(10000), {}, {}, RULES)


# -- refusals name their symbol -------------------------------------------------------------------------------
class Once(BaseStrategy):
    info = StrategyInfo("once", "1")
    breaches: list[RiskBreach]

    def on_tick(self, ctx: StrategyContext, tick: Tick) -> Signals:
        self.breaches = getattr(self, "breaches", [])
        return [] if self.breaches else [Signal("BTCUSDT", Side.BUY, D("0.002"))]

    def on_risk_breach(self, ctx: StrategyContext, breach: RiskBreach) -> Signals:
        self.breaches.append(breach)
        return ()


async def test_a_refused_order_reaches_the_strategy_with_its_symbol():
    class DenyAll:
        def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
            return Denial("max position notional reached", "position_notional")

    h = await make_harness()
    h.manager.pre_trade = DenyAll()
    strategy = Once(["BTCUSDT"])
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    runner = StrategyRunner(algo_run_id=3, sub_account_id=ALPHA, strategy=strategy, manager=h.manager,
                            instruments=instruments, clock=h.clock)
    await runner.on_quote(D("60000.0"), D("60000.1"))
    await runner.on_quote(D("60000.0"), D("60000.1"))
    (breach,) = strategy.breaches
    assert (breach.state, breach.symbol, breach.code) == ("denied", "BTCUSDT", "position_notional")
    assert breach.client_order_id == ""  # refused before it got an id: nothing reached the exchange


def test_a_refusal_drops_only_the_pending_entry_of_its_symbol():
    strategy = EnsembleStrategy(["BTCUSDT", "SOLUSDT"])
    strategy._trades = {"BTCUSDT": pending("BTCUSDT"), "SOLUSDT": pending("SOLUSDT")}
    strategy.on_risk_breach(ctx(), RiskBreach("algo 1", "denied", "too big", 1, symbol="SOLUSDT"))
    assert set(strategy._trades) == {"BTCUSDT"}


def test_a_refusal_without_a_symbol_still_drops_every_pending_entry():
    strategy = EnsembleStrategy(["BTCUSDT", "SOLUSDT"])
    strategy._trades = {"BTCUSDT": pending("BTCUSDT"), "SOLUSDT": pending("SOLUSDT")}
    strategy.on_risk_breach(ctx(), RiskBreach("algo 1", "denied", "too big", 1))
    assert strategy._trades == {}


# -- memory ----------------------------------------------------------------------------------------------------
def holding() -> EnsembleStrategy:
    """An ensemble with a filled long BTC entry at 60,000 (ATR 100: stop 59,850) and one closed trade learned."""
    from algos.strategies.base import StrategyFill

    strategy = EnsembleStrategy(["BTCUSDT"])
    strategy._trades["BTCUSDT"] = pending("BTCUSDT")
    strategy.on_fill(ctx(), StrategyFill("BTCUSDT", Side.BUY, D(60000), D("0.010"), D("0.24"), 5))
    strategy.guard.note_entry(5)
    strategy.weights.learn(("trend",), True)
    return strategy


def test_the_ensemble_memory_is_json_and_restores_the_open_trade_and_its_exit_plan():
    before = holding()
    saved = json.loads(json.dumps(before.snapshot()))
    after = EnsembleStrategy(["BTCUSDT"])

    after.restore(saved)

    plan_before, plan_after = before._trades["BTCUSDT"].plan, after._trades["BTCUSDT"].plan
    assert plan_before is not None and plan_after is not None
    assert (plan_after.stop, plan_after.take_profits, plan_after.remaining) == \
        (plan_before.stop, plan_before.take_profits, plan_before.remaining) == (D(59850), plan_before.take_profits,
                                                                              D("0.010"))
    assert after.weights.performance == before.weights.performance
    assert after.guard.entries_last_hour(10) == 1
    tick = Tick("BTCUSDT", D(59840), D("59840.1"), 10)
    assert [(s.side, s.quantity, s.reduce_only) for s in after.on_tick(ctx(), tick)] == \
        [(Side.SELL, D("0.010"), True)]


def test_memory_of_another_version_is_refused():
    with pytest.raises(ValueError, match="ensemble memory version 9 is not 1"):
        EnsembleStrategy(["BTCUSDT"]).restore({"version": 9})


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


async def engine_for(h: Harness, redis: Any, runs: dict[int, RunRecord]) -> tuple[AlgoEngine, FakeTicks]:
    async def load(algo_run_id: int) -> RunRecord | None:
        return runs.get(algo_run_id)

    async def save(algo_run_id: int, status: str, result: dict[str, Any]) -> None:
        return None

    ticks = FakeTicks()
    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    engine = AlgoEngine(manager=h.manager, ticks=ticks, instruments=instruments, load_run=load, save_run=save,
                        clock=h.clock, state_store=AlgoStateStore(redis=redis, clock=h.clock),
                        lease=AlgoLease(redis=redis, owner="engine-memory-test"), strategies=StrategyRegistry())
    ticks.prices.update({"BTCUSDT": D("60000.05")})
    return engine, ticks


async def test_a_resumed_ensemble_keeps_its_exits(redis):
    h, run_id = await make_harness(), uuid.uuid4().int % 10**9
    runs = {run_id: RunRecord(run_id, "strategy", ALPHA, {"strategy": "ensemble", "symbols": "BTCUSDT",
                                                          "equity": "10000"})}
    engine, _ = await engine_for(h, redis, runs)
    await engine.start({"algo_run_id": run_id})
    runner = engine.runners[run_id]
    assert isinstance(runner, StrategyRunner) and isinstance(runner.strategy, EnsembleStrategy)
    h.quote("BTCUSDT", "60000.0", "60000.1")
    runner.mids["BTCUSDT"] = D("60000.05")
    runner.strategy._trades["BTCUSDT"] = pending("BTCUSDT")  # the ensemble decided to buy; the runner sends it
    await runner._execute([Signal("BTCUSDT", Side.BUY, D("0.010"), reason="ensemble buy")])
    await settle(h)
    plan = runner.strategy._trades["BTCUSDT"].plan
    assert plan is not None and plan.stop == D("59850.1")  # entry 60,000.1 (the ask) - 1.5 x ATR 100
    await engine.tick()  # the engine saves the runner's state (significant after a fill)

    manager = OrderManager(venue=h.venue, journal=h.journal, clock=h.clock)  # a new engine process
    await manager.load()
    manager.resume()
    h.manager, h.router.manager = manager, manager
    resumed_engine, ticks = await engine_for(h, redis, runs)

    async def filled(algo_run_id: int) -> dict[str, Decimal]:
        return {"BTCUSDT": D("0.010")}

    assert await resumed_engine.resume_all(list(runs.values()), filled) == [run_id]
    resumed = resumed_engine.runners[run_id]
    assert isinstance(resumed, StrategyRunner) and resumed.strategy is not runner.strategy
    assert "memory restored" in resumed.log
    h.clock.advance(1)
    h.quote("BTCUSDT", "59800.0", "59800.1")
    ticks.push("BTCUSDT", "59800.0", "59800.1")  # through the stop
    await settle(h)
    exits = [o for o in h.journal.orders.values() if o.algo_run_id == run_id and o.side is Side.SELL]
    assert [(o.quantity, o.reduce_only) for o in exits] == [(D("0.010"), True)]
    await resumed_engine.stop({"algo_run_id": run_id})
