"""The misbehaving strategies against the real RiskEngine and OrderManager over the in-process matching core:
each is stopped by a limit, a breaker or its own isolation; nothing beyond a limit reaches the exchange, and
a TWAP on another sub-account completes as if nothing happened."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from algos.engine import AlgoEngine, RunRecord
from algos.strategies.runtime.registry import StrategyRegistry
from algos.strategies.runtime.wiring import breaker_tap
from risk.domain.limits import SubAccountLimits
from risk.domain.states import Scope, ScopeKind, algo_scope
from risk.engine import MemoryRiskStore, RiskEngine
from risk.tests.test_engine import with_risk
from trading.tests.engine.harness import ALPHA, BETA, Harness, make_harness

from .helpers import settle, strategy_engine, strategy_run

D = Decimal
# Runtime flood limits out of the way: the risk engine is what must act.
LOOSE: dict[str, Any] = {"max_signals_per_callback": 1000, "max_signals_per_minute": 100_000}


async def desk(limits: SubAccountLimits, runs: dict[int, RunRecord]
               ) -> tuple[Harness, AlgoEngine, Any, dict[int, tuple[str, dict[str, Any]]], RiskEngine,
                          MemoryRiskStore]:
    h = await make_harness()
    risk, store, _ = await with_risk(h, {ALPHA: limits}, {ALPHA: D(100000), BETA: D(100000)})
    engine, ticks, statuses = await strategy_engine(h, runs, StrategyRegistry())

    async def stop_algos(scope: Scope) -> None:  # as algos/risk_wiring.py does in the engine process
        if scope.kind is ScopeKind.ALGO:
            if scope.key in engine.runners:
                await engine.stop({"algo_run_id": scope.key, "reason": f"circuit breaker: {scope} halted"})
        else:
            await engine.stop_all(sub_account_id=scope.key if scope.kind is ScopeKind.SUB_ACCOUNT else None,
                                  reason=f"circuit breaker: {scope} halted")

    risk.stop_algos = stop_algos
    risk.publish = breaker_tap(h.manager.publish, engine)
    runs[90] = RunRecord(90, "twap", BETA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.020", "lots": 4,
                                            "interval_s": 2})
    for algo_run_id in runs:
        await engine.start({"algo_run_id": algo_run_id})
    return h, engine, ticks, statuses, risk, store


SPREAD = D("0.1")


async def step(h: Harness, engine: AlgoEngine, ticks: Any, risk: RiskEngine, symbol: str, bid: Decimal,
               spread: Decimal = SPREAD) -> None:
    h.clock.advance(1)
    h.quote(symbol, str(bid), str(bid + spread))
    risk.on_quote(symbol, bid=bid, ask=bid + spread)
    ticks.push(symbol, str(bid), str(bid + spread))
    await settle(h)
    await engine.tick()
    await risk.settle()
    await settle(h)


def sent_by(h: Harness, algo_run_id: int) -> list[Any]:
    """Orders that reached the exchange (a venue answer), not those refused before leaving."""
    return [o for o in h.journal.orders.values() if o.algo_run_id == algo_run_id and o.exchange_order_id]


async def finish_twap(h: Harness, engine: AlgoEngine, ticks: Any, risk: RiskEngine,
                      statuses: dict[int, tuple[str, dict[str, Any]]]) -> None:
    for _ in range(12):
        await step(h, engine, ticks, risk, "BTCUSDT", D("60000.0"))
    assert statuses[90][0] == "completed"
    assert h.journal.positions_by_key[(BETA, "BTCUSDT")].quantity == D("0.020")


async def test_runaway_is_halted_at_its_order_rate_with_no_order_beyond_its_limits():
    limits = SubAccountLimits(max_open_orders=5, max_orders_per_minute=10)
    h, engine, ticks, statuses, risk, store = await desk(limits, {1: strategy_run(1, ALPHA, "runaway", **LOOSE)})
    await step(h, engine, ticks, risk, "BTCUSDT", D("60000.0"))
    assert len(sent_by(h, 1)) == 5  # max open orders; the rest refused before leaving
    assert [(scope, trip.kind.value) for scope, trip in store.trips] == [(algo_scope(1), "order_rate")]
    assert statuses[1][0] == "cancelled" and statuses[1][1]["outcome"] == "cancelled: circuit breaker: algo 1 halted"
    assert h.exchange.open_orders(h.account_id) == []  # HALTED cancelled the five resting orders
    await finish_twap(h, engine, ticks, risk, statuses)
    assert len(sent_by(h, 1)) == 5


async def test_risk_ignorant_doubling_down_never_exceeds_its_position_limit_and_is_halted():
    limits = SubAccountLimits(max_position_notional=D(1000))
    h, engine, ticks, statuses, risk, store = await desk(limits, {2: strategy_run(2, ALPHA, "risk_ignorant")})
    for _ in range(15):
        await step(h, engine, ticks, risk, "BTCUSDT", D("60000.0"))
        if 2 not in engine.runners:
            break
    position = h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity
    assert position * D("60000.1") <= D(1000) and position == D("0.010")
    assert store.trips and store.trips[0][1].kind.value == "rejection_storm"
    assert 2 not in engine.runners and statuses[2][0] == "cancelled"
    runner_log = statuses[2][1]["metrics"]
    assert runner_log["refused"] >= 10
    await finish_twap(h, engine, ticks, risk, statuses)


async def test_volatility_amplifier_chasing_moves_is_capped_by_the_position_limit():
    limits = SubAccountLimits(max_position_notional=D(2000))
    h, engine, ticks, statuses, risk, _ = await desk(limits, {3: strategy_run(3, ALPHA, "volatility_amplifier")})
    price = D("60000.0")
    for _ in range(6):
        await step(h, engine, ticks, risk, "BTCUSDT", price)
        price = (price * D("1.011")).quantize(D("0.1"))
    position = h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity
    assert position == D("0.004") + D("0.008") + D("0.016")  # the 0.032 chase would cross 2,000 USDT
    assert position * price < D(2000)
    assert engine.runners[3].metrics.refused >= 1  # type: ignore[union-attr]
    await finish_twap(h, engine, ticks, risk, statuses)


async def test_correlation_breaker_shorts_eth_on_btc_rises_until_the_eth_limit():
    limits = SubAccountLimits(max_position_notional=D(500))
    run = strategy_run(4, ALPHA, "correlation_breaker", symbols="BTCUSDT,ETHUSDT")
    h, engine, ticks, statuses, risk, _ = await desk(limits, {4: run})
    price = D("60000.0")
    for _ in range(6):
        await step(h, engine, ticks, risk, "BTCUSDT", price)
        price += 50
    eth = h.journal.positions_by_key[(ALPHA, "ETHUSDT")].quantity
    assert eth == D("-0.150")  # three 0.05 shorts; a fourth would be 600 USDT of ETH
    assert (ALPHA, "BTCUSDT") not in h.journal.positions_by_key
    await finish_twap(h, engine, ticks, risk, statuses)


async def test_slow_leak_fails_under_isolation_as_its_error_rate_grows():
    h, engine, ticks, statuses, risk, _ = await desk(SubAccountLimits(), {5: strategy_run(5, ALPHA, "slow_leak")})
    for _ in range(40):
        await step(h, engine, ticks, risk, "BTCUSDT", D("60000.0"))
        if 5 not in engine.runners:
            break
    assert statuses[5][0] == "failed" and "slow leak: failure after" in statuses[5][1]["outcome"]
    assert statuses[5][1]["metrics"]["trades_closed"] >= 1
    await finish_twap(h, engine, ticks, risk, statuses)
