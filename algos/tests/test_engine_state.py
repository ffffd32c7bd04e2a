"""AlgoEngine with its Redis state store and lease: pause/resume, saved state, resume after a restart, owners."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from redis import asyncio as aioredis

from algos.engine import AlgoEngine, RunRecord
from algos.lease import AlgoLease
from algos.state_store import AlgoStateStore
from algos.tests.test_engine import FakeTicks, settle
from core.errors import AppError
from trading.engine.order_manager import OrderManager
from trading.tests.engine.harness import ALPHA, Harness, make_harness

D = Decimal


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


def new_id() -> int:
    return uuid.uuid4().int % 10**9


async def engine_for(h: Harness, redis: Any, runs: dict[int, RunRecord], owner: str = "engine-a",
                     manager: OrderManager | None = None) -> tuple[AlgoEngine, FakeTicks, dict[int, str]]:
    ticks, statuses = FakeTicks(), {}

    async def load(algo_run_id: int) -> RunRecord | None:
        return runs.get(algo_run_id)

    async def save(algo_run_id: int, status: str, result: dict[str, Any]) -> None:
        statuses[algo_run_id] = status

    instruments = {rules.symbol: rules for rules in await h.venue.instruments()}
    engine = AlgoEngine(manager=manager or h.manager, ticks=ticks, instruments=instruments, load_run=load,
                        save_run=save, clock=h.clock, state_store=AlgoStateStore(redis=redis, clock=h.clock),
                        lease=AlgoLease(redis=redis, owner=owner),
                        publish=lambda group, kind, data: h.events.append((group, kind, data)))
    ticks.prices.update({"BTCUSDT": D("60000.05"), "ETHUSDT": D("3000.005")})
    return engine, ticks, statuses


async def restart(h: Harness) -> OrderManager:
    """A new engine process: the OrderManager reloads the journal (the memory journal plays PostgreSQL)."""
    manager = OrderManager(venue=h.venue, journal=h.journal, clock=h.clock)
    await manager.load()
    manager.resume()
    h.manager, h.router.manager = manager, manager
    return manager


def runner_of(engine: AlgoEngine, run_id: int) -> Any:
    """A runner as the test knows its kind (the engine holds a union)."""
    return engine.runners[run_id]


def store_of(engine: AlgoEngine) -> AlgoStateStore:
    assert engine.state_store is not None
    return engine.state_store


def booked(h: Harness):
    async def filled(algo_run_id: int) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for order in h.journal.orders.values():
            if order.algo_run_id == algo_run_id:
                totals[order.symbol] = totals.get(order.symbol, D(0)) + order.filled_quantity
        return totals

    return filled


async def push(h: Harness, ticks: FakeTicks, bid: str, ask: str, size: str = "10") -> None:
    h.clock.advance(1)
    h.quote("BTCUSDT", bid, ask, size=size)
    await settle(h)
    ticks.push("BTCUSDT", bid, ask)
    await settle(h)


async def test_a_paused_chase_cancels_its_order_ignores_quotes_and_places_again_on_resume(redis):
    h, run_id = await make_harness(), new_id()
    runs = {run_id: RunRecord(run_id, "chase", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"})}
    engine, ticks, statuses = await engine_for(h, redis, runs)
    await engine.start({"algo_run_id": run_id})
    await push(h, ticks, "60000.0", "60000.1")
    assert len(h.exchange.open_orders(h.account_id)) == 1
    assert (await engine.pause({"algo_run_id": run_id}))["status"] == "paused"
    await settle(h)
    assert h.exchange.open_orders(h.account_id) == [] and statuses[run_id] == "paused"
    await push(h, ticks, "60010.0", "60010.1")
    assert h.exchange.open_orders(h.account_id) == []  # paused: quotes change nothing
    saved = await store_of(engine).load("chase", run_id)
    assert saved is not None and saved["paused"] is True and saved["initial_mid"] == "60000.05"
    await engine.resume({"algo_run_id": run_id})
    await push(h, ticks, "60010.0", "60010.1")
    (working,) = h.exchange.open_orders(h.account_id)
    assert working.price == D("60010.0") and statuses[run_id] == "running"
    await engine.stop({"algo_run_id": run_id})
    assert await redis.get(f"pms:chase:{run_id}") is None  # a finished algo leaves no state behind


async def test_a_restarted_chase_keeps_its_first_mid_so_the_drift_limit_still_holds(redis):
    h, run_id = await make_harness(), new_id()
    record = RunRecord(run_id, "chase", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.030",
                                                "max_distance_pct": "0.05"})
    engine, ticks, _ = await engine_for(h, redis, {run_id: record})
    await engine.start({"algo_run_id": run_id})
    await push(h, ticks, "60000.0", "60000.1")
    h.quote("BTCUSDT", "59995.0", "60000.0", size="0.010")  # 0.010 of the resting buy trades
    await settle(h)
    await engine.tick()  # the throttled save reaches Redis
    # the process dies; the new engine recovers and resumes from Redis with the booked fills as truth
    manager = await restart(h)
    engine2, ticks2, statuses = await engine_for(h, redis, {run_id: record}, manager=manager)
    assert await engine2.resume_all([record], booked(h)) == [run_id]
    await push(h, ticks2, "60010.0", "60010.1")  # mid 60010.05 is within 0.05 % of the first mid 60000.05
    (working,) = h.exchange.open_orders(h.account_id)
    assert working.orig_qty == D("0.020") and working.price == D("60010.0")
    await push(h, ticks2, "60040.0", "60040.1")  # 0.067 % from the FIRST mid: a fresh chase would not cancel
    assert h.exchange.open_orders(h.account_id) == []
    assert "drifted" in str(runner_of(engine2, run_id).outcome)
    await engine2.tick()
    assert statuses[run_id] == "cancelled"


async def test_a_twap_resumed_after_a_crash_between_checkpoint_and_send_keeps_the_total_exact(redis):
    h, run_id = await make_harness(), new_id()
    record = RunRecord(run_id, "twap", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.040",
                                               "lots": 4, "interval_s": 10})
    engine, _, _ = await engine_for(h, redis, {run_id: record})
    await engine.start({"algo_run_id": run_id})
    await engine.tick()  # lot 1 goes out at once
    await settle(h)
    h.clock.advance(14)  # lot 2 is due (10 s ± 30 %), lot 3 not yet (20 s ± 30 %)
    runner = runner_of(engine, run_id)
    sent_before = runner.states[0].sent
    # crash right after the write-ahead checkpoint of lot 2, before its order existed
    real_place = h.manager.place

    async def die(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed")

    h.manager.place = die  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await engine.tick()
    h.manager.place = real_place  # type: ignore[method-assign]
    saved = await store_of(engine).load("twap", run_id)
    assert saved is not None and D(saved["states"][0]["sent"]) > sent_before  # the checkpoint counted lot 2 as sent
    manager = await restart(h)
    engine2, _, statuses = await engine_for(h, redis, {run_id: record}, manager=manager)
    assert await engine2.resume_all([record], booked(h)) == [run_id]
    resumed = runner_of(engine2, run_id)
    assert [lot.at_ms for lot in resumed.legs[0].lots] == [lot.at_ms for lot in runner.legs[0].lots]  # same plan
    for _ in range(40):
        h.clock.advance(1)
        await engine2.tick()
        await settle(h)
    assert statuses[run_id] == "completed"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.040")


async def test_a_paused_twap_moves_its_remaining_lots_later_by_the_pause(redis):
    h, run_id = await make_harness(), new_id()
    record = RunRecord(run_id, "twap", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.030",
                                               "lots": 3, "interval_s": 10})
    engine, _, _ = await engine_for(h, redis, {run_id: record})
    await engine.start({"algo_run_id": run_id})
    await engine.tick()
    runner = runner_of(engine, run_id)
    planned = [lot.at_ms for lot in runner.legs[0].lots]
    await engine.pause({"algo_run_id": run_id})
    h.clock.advance(60)
    await engine.tick()
    assert runner.states[0].sent == D("0.010")  # nothing went out while paused
    await engine.resume({"algo_run_id": run_id})
    assert [lot.at_ms for lot in runner.legs[0].lots] == [planned[0], planned[1] + 60_000, planned[2] + 60_000]


async def test_an_algo_owned_by_another_engine_is_refused_and_its_own_engine_takes_it_back(redis):
    h, run_id = await make_harness(), new_id()
    record = RunRecord(run_id, "chase", ALPHA, {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.010"})
    engine_a, _, _ = await engine_for(h, redis, {run_id: record}, owner="engine-a")
    await engine_a.start({"algo_run_id": run_id})
    engine_b, _, _ = await engine_for(h, redis, {run_id: record}, owner="engine-b")
    with pytest.raises(AppError, match="owned by engine engine-a"):
        await engine_b.start({"algo_run_id": run_id})
    assert await engine_b.resume_all([record], booked(h)) == []
    restarted, _, _ = await engine_for(h, redis, {run_id: record}, owner="engine-a")
    assert await restarted.resume_all([record], booked(h)) == [run_id]  # the same owner after a restart
    await restarted.stop({"algo_run_id": run_id})
    assert await redis.get(f"pms:lease:algo:{run_id}") is None


async def test_a_trail_stop_resumes_with_its_high_water_mark(redis):
    h, run_id = await make_harness(), new_id()
    await h.manager.place(__import__("trading.domain.records", fromlist=["OrderIntent"]).OrderIntent(
        ALPHA, "BTCUSDT", __import__("trading.domain.types", fromlist=["Side"]).Side.BUY,
        __import__("trading.domain.types", fromlist=["OrderType"]).OrderType.MARKET, D("0.010")))
    await settle(h)
    record = RunRecord(run_id, "trail_stop", ALPHA, {"symbol": "BTCUSDT", "trail_pct": "1"})
    engine, ticks, _ = await engine_for(h, redis, {run_id: record})
    await engine.start({"algo_run_id": run_id})
    await push(h, ticks, "61000.0", "61000.2")
    await push(h, ticks, "60800.0", "60800.2")
    await engine.tick()
    manager = await restart(h)
    engine2, ticks2, statuses = await engine_for(h, redis, {run_id: record}, manager=manager)
    await engine2.resume_all([record], booked(h))
    assert runner_of(engine2, run_id).state.extreme == D("61000.1")
    await push(h, ticks2, "60380.0", "60380.2")  # 1 % under the saved high, though above the restart price
    await engine2.tick()
    assert statuses[run_id] == "completed"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0")


async def test_a_basket_trades_every_leg_to_its_exact_total_with_one_combined_progress(redis):
    h, run_id = await make_harness(), new_id()
    record = RunRecord(run_id, "basket", ALPHA, {"lots": 3, "interval_s": 5, "legs": [
        {"symbol": "BTCUSDT", "side": "buy", "quantity": "0.030"},
        {"symbol": "ETHUSDT", "side": "sell", "quantity": "0.300"}]})
    engine, _, statuses = await engine_for(h, redis, {run_id: record})
    await engine.start({"algo_run_id": run_id})
    for _ in range(20):
        h.clock.advance(1)
        await engine.tick()
        await settle(h)
    assert statuses[run_id] == "completed"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.030")
    assert h.journal.positions_by_key[(ALPHA, "ETHUSDT")].quantity == D("-0.300")
    progress = [data["progress"] for _, kind, data in h.events if kind == "twap_progress" and "progress" in data]
    assert progress == sorted(progress) and progress[-1] == 1
