"""TwapRunner and TrailStopRunner over the in-process matching core."""

from __future__ import annotations

import random
from decimal import Decimal

from algos.domain.trail_stop import TrailParams
from algos.domain.twap import TwapLeg, twap_plan
from algos.runners.trail_stop import TrailStopRunner
from algos.runners.twap import TwapRunner
from trading.domain.client_ids import OrderOrigin
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import Denial, EventSink
from trading.tests.engine.harness import ALPHA, Harness, make_harness

D = Decimal
MID = {"BTCUSDT": D("60000.05")}


def record(h: Harness) -> EventSink:
    return lambda group, kind, data: h.events.append((group, kind, data))


async def twap(h: Harness, total: str = "0.050", lots: int = 5) -> TwapRunner:
    rules = next(r for r in await h.venue.instruments() if r.symbol == "BTCUSDT")
    plan = twap_plan(D(total), lots, 10_000, h.clock.now_ms(), rules, D("60000"), random.Random(7))
    leg = TwapLeg("BTCUSDT", Side.BUY, tuple(plan))
    return TwapRunner(algo_run_id=None, sub_account_id=ALPHA, legs=[leg], manager=h.manager, clock=h.clock,
                      publish=record(h))


async def run_to_end(h: Harness, runner: TwapRunner, seconds: int = 80) -> None:
    for _ in range(seconds):
        h.clock.advance(1)
        await runner.on_tick(MID)
        await h.pump()


async def test_a_twap_sends_its_lots_as_market_orders_and_the_total_is_exact():
    h = await make_harness()
    runner = await twap(h)
    await run_to_end(h, runner)
    assert runner.outcome == "completed"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.050")
    assert sum(1 for o in h.journal.orders.values() if o.origin is OrderOrigin.TWP) >= 2
    assert any(kind == "twap_completed" for _, kind, _ in h.events)


async def test_a_refused_lot_is_sent_again_so_the_total_stays_exact():
    h = await make_harness()
    refusals = {"left": 2}

    class RefuseTwice:
        def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
            if refusals["left"]:
                refusals["left"] -= 1
                return Denial("order rate limit reached")
            return None

    h.manager.pre_trade = RefuseTwice()
    runner = await twap(h)
    await run_to_end(h, runner)
    assert runner.outcome == "completed"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.050")


async def test_a_trail_stop_closes_the_long_after_a_retrace_from_its_high():
    h = await make_harness()
    await h.manager.place(OrderIntent(ALPHA, "BTCUSDT", Side.BUY, OrderType.MARKET, D("0.020"),
                                      origin=OrderOrigin.MKT))
    await h.pump()
    runner = TrailStopRunner(algo_run_id=None, sub_account_id=ALPHA, symbol="BTCUSDT",
                             params=TrailParams(position_side=Side.BUY, trail_pct=D("1")), manager=h.manager,
                             publish=record(h))
    for bid in ("60000.0", "60500.0", "61000.0", "60500.0"):  # 0.8 % off the high: holds
        h.quote("BTCUSDT", bid, str(D(bid) + D("0.1")))
        await runner.on_quote(D(bid), D(bid) + D("0.1"))
    assert runner.outcome is None
    h.quote("BTCUSDT", "60300.0", "60300.1")  # 1.15 % off the high: triggers
    await runner.on_quote(D("60300.0"), D("60300.1"))
    await h.pump()
    assert runner.outcome == "triggered"
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == 0
    assert any(kind == "trail_stop_triggered" for _, kind, _ in h.events)
