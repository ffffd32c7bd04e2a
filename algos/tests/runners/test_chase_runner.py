"""ChaseRunner over the in-process matching core: reprices, fills and cancels through the OrderManager."""

from __future__ import annotations

from decimal import Decimal

from algos.domain.chase import ChaseParams, StalkMode
from algos.runners.chase import ChaseRunner
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, Harness, make_harness

D = Decimal


async def start_chase(h: Harness, mode: StalkMode = StalkMode.MAINTAIN, max_distance: str = "2") -> ChaseRunner:
    rules = next(r for r in await h.venue.instruments() if r.symbol == "BTCUSDT")
    params = ChaseParams(side=Side.BUY, quantity=D("0.010"), rules=rules, stalk_mode=mode,
                         max_distance_pct=D(max_distance))
    return ChaseRunner(algo_run_id=None, sub_account_id=ALPHA, params=params, manager=h.manager, clock=h.clock,
                       publish=lambda group, kind, data: h.events.append((group, kind, data)))


async def quote(h: Harness, runner: ChaseRunner, bid: str, ask: str) -> None:
    h.clock.advance(1)  # past the 500 ms reprice throttle
    h.quote("BTCUSDT", bid, ask)
    await h.pump()
    await runner.on_quote(D(bid), D(ask))
    await h.pump()


async def test_a_maintained_chase_follows_the_bid_with_one_working_order_then_fills():
    h = await make_harness()
    runner = await start_chase(h)
    await quote(h, runner, "60000.0", "60000.1")
    await quote(h, runner, "60010.0", "60010.1")
    await quote(h, runner, "60020.0", "60020.1")
    (working,) = h.exchange.open_orders(h.account_id)
    assert working.price == D("60020.0") and runner.reprices == 2
    await quote(h, runner, "60010.0", "60019.0")  # the ask comes down through the resting buy
    kinds = [kind for _, kind, _ in h.events]
    assert runner.outcome == "filled" and "chase_filled" in kinds
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.010")
    assert h.exchange.open_orders(h.account_id) == []


async def test_a_trailing_buy_chase_follows_the_bid_down_but_not_up():
    h = await make_harness()
    runner = await start_chase(h, StalkMode.TRAIL)
    await quote(h, runner, "60000.0", "60000.1")
    await quote(h, runner, "59990.0", "60000.5")  # the bid falls, the ask stays above the resting buy
    await quote(h, runner, "60030.0", "60030.1")
    (working,) = h.exchange.open_orders(h.account_id)
    assert working.price == D("59990.0") and runner.reprices == 1


async def test_a_chase_cancels_itself_when_the_mid_drifts_beyond_its_distance():
    h = await make_harness()
    runner = await start_chase(h, max_distance="0.05")
    await quote(h, runner, "60000.0", "60000.1")
    await quote(h, runner, "60100.0", "60100.1")  # +0.17 %
    cancelled = [data for _, kind, data in h.events if kind == "chase_cancelled"]
    assert runner.outcome is not None and runner.outcome.startswith("cancelled")
    assert cancelled and "0.05" in cancelled[0]["reason"]
    assert h.exchange.open_orders(h.account_id) == []


async def test_stopping_a_chase_cancels_its_working_order():
    h = await make_harness()
    runner = await start_chase(h)
    await quote(h, runner, "60000.0", "60000.1")
    await runner.stop()
    await h.pump()
    assert h.exchange.open_orders(h.account_id) == [] and runner.outcome == "cancelled: stopped by operator"
