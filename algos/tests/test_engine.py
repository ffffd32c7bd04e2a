"""AlgoEngine: start and stop commands, quotes to runners, TWAP ticks, run records kept up to date."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from algos.engine import AlgoEngine, RunRecord
from core.errors import AppError
from trading.marketdata.cache import L1
from trading.tests.engine.harness import ALPHA, Harness, make_harness
from trading.venues.base import Quote

D = Decimal


class FakeTicks:
    """The MarketDataService's surface, driven by hand."""

    def __init__(self) -> None:
        self.callbacks: dict[str, list[Callable[[Any], None]]] = {}
        self.prices: dict[str, Decimal] = {}

    def subscribe(self, symbol: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        self.callbacks.setdefault(symbol, []).append(callback)
        return lambda: self.callbacks[symbol].remove(callback)

    def reference_price(self, symbol: str) -> Decimal | None:
        return self.prices.get(symbol)

    def cached_price(self, symbol: str) -> Decimal | None:
        return self.prices.get(symbol)

    def push(self, symbol: str, bid: str, ask: str) -> None:
        self.prices[symbol] = (D(bid) + D(ask)) / 2
        for callback in list(self.callbacks.get(symbol, [])):
            callback(L1(symbol, quote=Quote(symbol, D(bid), D("5"), D(ask), D("5"), 0)))


async def make_engine(h: Harness, runs: dict[int, RunRecord]) -> tuple[AlgoEngine, FakeTicks, dict[int, str]]:
    ticks, statuses = FakeTicks(), {}

    async def load(algo_run_id: int) -> RunRecord | None:
        return runs.get(algo_run_id)

    async def save(algo_run_id: int, status: str, result: dict[str, Any]) -> None:
        statuses[algo_run_id] = status

    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    engine = AlgoEngine(manager=h.manager, ticks=ticks, instruments=instruments, load_run=load, save_run=save,
                        clock=h.clock)
    return engine, ticks, statuses


async def settle(h: Harness) -> None:
    import asyncio

    for _ in range(5):
        await asyncio.sleep(0)
        await h.pump()


async def test_a_started_chase_places_on_the_first_quote_and_stops_on_command():
    h = await make_harness()
    runs = {7: RunRecord(7, "chase", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"})}
    engine, ticks, statuses = await make_engine(h, runs)
    ticks.prices["BTCUSDT"] = D("60000.05")
    assert (await engine.start({"algo_run_id": 7}))["status"] == "running"
    ticks.push("BTCUSDT", "60000.0", "60000.1")
    await settle(h)
    assert len(h.exchange.open_orders(h.account_id)) == 1 and statuses[7] == "running"
    await engine.stop({"algo_run_id": 7})
    await settle(h)
    assert h.exchange.open_orders(h.account_id) == [] and statuses[7] == "cancelled"


async def test_a_started_twap_completes_on_ticks_and_its_run_is_marked_completed():
    h = await make_harness()
    runs = {8: RunRecord(8, "twap", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.020", "lots": 2,
                                             "interval_s": 5})}
    engine, ticks, statuses = await make_engine(h, runs)
    ticks.prices["BTCUSDT"] = D("60000.05")
    await engine.start({"algo_run_id": 8})
    for _ in range(15):
        h.clock.advance(1)
        await engine.tick()
        await settle(h)
    assert statuses[8] == "completed" and 8 not in engine.runners
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.020")


async def test_an_algo_whose_parameters_fail_in_the_engine_is_marked_failed():
    h = await make_harness()
    runs = {9: RunRecord(9, "trail_stop", ALPHA, {"symbol": "BTCUSDT", "trail_pct": "1"})}  # no position
    engine, _, statuses = await make_engine(h, runs)
    with pytest.raises(AppError, match="has none in this symbol"):
        await engine.start({"algo_run_id": 9})
    assert statuses[9] == "failed"


async def test_after_a_restart_a_chase_resumes_on_its_remainder_with_one_working_order():
    h = await make_harness()
    record = RunRecord(11, "chase", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.030"})
    engine, ticks, _ = await make_engine(h, {11: record})
    ticks.prices["BTCUSDT"] = D("60000.05")
    await engine.start({"algo_run_id": 11})
    ticks.push("BTCUSDT", "60000.0", "60000.1")
    await settle(h)
    h.quote("BTCUSDT", "59995.0", "60000.0", size="0.010")  # 0.010 of the resting buy trades
    await settle(h)
    # The engine dies here; a new one loads the journal, recovers, then resumes the algo.
    from trading.engine.order_manager import OrderManager

    manager = OrderManager(venue=h.venue, journal=h.journal, clock=h.clock)
    await manager.load()
    manager.resume()
    h.manager, h.router.manager = manager, manager
    engine2, ticks2, statuses = await make_engine(h, {11: record})
    ticks2.prices["BTCUSDT"] = D("60000.05")

    async def filled(algo_run_id: int) -> dict[str, Decimal]:
        return {"BTCUSDT": sum((o.filled_quantity for o in h.journal.orders.values()
                                if o.algo_run_id == algo_run_id), D(0))}

    assert await engine2.resume_all([record], filled) == [11]
    ticks2.push("BTCUSDT", "59995.0", "60000.0")
    await settle(h)
    (working,) = h.exchange.open_orders(h.account_id)
    assert working.orig_qty == D("0.020") and statuses[11] == "running"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.010")
