"""The `predmarket` strategy: the lag detector's signal (0.5-point edge) traded on the exchange leg, held to the
window's end; a shadow bet on the simulated window venue; registered, runnable live and in backtests."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from algos.strategies.backtest.run import StrategyBacktestRequest, strategy_backtest_run
from algos.strategies.base import Signal, StrategyContext, Tick
from algos.strategies.predmarket.strategy import PredictionMarketLag
from algos.strategies.runtime.registry import StrategyError, StrategyRegistry
from trading.domain.instruments import InstrumentRules
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, make_harness

from .helpers import settle, strategy_engine, strategy_run

D = Decimal
FLAT = D(0)
RULES = {"BTCUSDT": InstrumentRules("BTCUSDT", D("0.1"), D("0.001"), D("0.001"), D(1000), D(100))}
KLINES_1M = Path("/work/shared/data/binance-usdm-klines/BTCUSDT-1m.csv")
FAST = {"window_s": 120, "lag_s": 30, "volatility_pct_per_minute": "0.2"}  # a two-minute window market


def ctx(now_ms: int, held: Decimal = FLAT) -> StrategyContext:
    return StrategyContext(now_ms, D(10000), {"BTCUSDT": held}, {}, RULES)


def rally(strategy: PredictionMarketLag, *, start: int = 0, seconds: int = 80, held: Decimal = FLAT) -> list[Signal]:
    """Flat for a minute, then +0.4 % over the next 20 s, a tick a second; every signal it produced."""
    signals: list[Signal] = []
    for second in range(seconds + 1):
        now = start + second * 1000
        price = D(100000) if second <= 60 else D(100000) * (1 + D("0.004") * min(second - 60, 20) / 20)
        signals += strategy.on_tick(ctx(now, held), Tick("BTCUSDT", price - D("0.05"), price + D("0.05"), now))
    return signals


def test_a_lagging_window_market_after_a_rally_buys_the_exchange_leg_once():
    strategy = PredictionMarketLag(["BTCUSDT"], **FAST)
    signals = rally(strategy)
    assert len(signals) == 1  # one trade per window, however long the edge lasts
    entry = signals[0]
    assert (entry.side, entry.quantity, entry.reduce_only) == (Side.BUY, D("0.002"), False)
    assert "predmarket up" in entry.reason and "over 0.50" in entry.reason
    assert strategy.last_signal is not None and strategy.last_signal.edge >= 0.005
    assert len(strategy.shadow_bets) == 1 and strategy.shadow_bets[0][0].outcome == "up"


def test_an_edge_below_the_threshold_trades_nothing():
    strategy = PredictionMarketLag(["BTCUSDT"], **FAST, edge_threshold="0.5")
    assert rally(strategy) == [] and strategy.shadow_bets == []


def test_the_position_is_closed_when_the_window_ends_and_the_shadow_bet_settles():
    strategy = PredictionMarketLag(["BTCUSDT"], **FAST)
    rally(strategy)
    window = strategy.trade_window
    assert window is not None
    exits = strategy.on_tick(ctx(window.end_ms, D("0.002")), Tick("BTCUSDT", D(100400), D("100400.1"), window.end_ms))
    assert [(s.side, s.quantity, s.reduce_only, s.reason) for s in exits] == \
        [(Side.SELL, D("0.002"), True, "predmarket: window ended")]
    assert strategy.shadow_bets == [] and strategy.shadow_pnl > 0  # the price stayed above the strike: UP won


@pytest.mark.parametrize(("parameters", "message"), [
    ({"edge_threshold": "-1"}, "edge_threshold must be within"),
    ({"venue": "polymarket"}, "unknown window venue 'polymarket'; known: simulated"),
    ({"quantity": "abc"}, "quantity must be a number"),
    ({"colour": "red"}, "unknown predmarket parameters colour"),
])
def test_bad_parameters_are_refused_by_the_registry_with_what_to_change(parameters, message):
    with pytest.raises(StrategyError, match=message):
        StrategyRegistry().create("predmarket", ["BTCUSDT"], parameters)


async def test_predmarket_runs_live_as_a_strategy_run_and_trades_through_the_order_manager():
    h = await make_harness()
    run = strategy_run(7, ALPHA, "predmarket", parameters={**FAST, "sample_ms": 0, "timeframe": ""})
    engine, ticks, _ = await strategy_engine(h, {7: run}, StrategyRegistry())
    assert (await engine.start({"algo_run_id": 7}))["status"] == "running"
    for second in range(81):
        h.clock.advance(1)
        bid = D("60000.0") if second <= 60 else D("60000.0") + D(12) * min(second - 60, 20)
        h.quote("BTCUSDT", str(bid), str(bid + D("0.1")))
        ticks.push("BTCUSDT", str(bid), str(bid + D("0.1")))
        await settle(h)
    orders = [o for o in h.journal.orders.values() if o.algo_run_id == 7]
    assert len(orders) == 1 and orders[0].side is Side.BUY and orders[0].client_order_id.startswith("PMSalpha")
    assert "_STR_" in orders[0].client_order_id and 7 in engine.runners


@pytest.mark.skipif(not KLINES_1M.exists(), reason="../shared/data BTCUSDT-1m klines are not on this machine")
def test_a_backtest_with_the_simulated_window_venue_enters_on_edges_and_exits_at_window_ends(tmp_path):
    data = tmp_path / "BTCUSDT-1m.csv"
    data.write_text("\n".join(KLINES_1M.read_text(encoding="utf-8").splitlines()[:721]) + "\n", encoding="utf-8")
    request = StrategyBacktestRequest("predmarket", str(data), seed=3)

    first, second = (asyncio.run(strategy_backtest_run(request)) for _ in range(2))

    assert first.status == "ran" and first.fills
    entries = [f for f in first.fills if f.reason.startswith("predmarket up") or f.reason.startswith("predmarket down")]
    exits = [f for f in first.fills if f.reason == "predmarket: window ended"]
    assert entries and len(exits) >= len(entries) - 1  # the last may be flattened by the end of the data
    assert all(exit.time_ms % 900_000 == 899_999 for exit in exits)  # on the bar that ends the 15-minute window
    assert first.strategy.signals_seen == len(entries)
    assert [(f.time_ms, f.side, f.price) for f in first.fills] == [(f.time_ms, f.side, f.price) for f in second.fills]
