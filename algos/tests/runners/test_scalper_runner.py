"""ScalperRunner over the in-process matching core: layered chases on both sides, backoff, limits, loss guard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from algos.domain.params import scalper_spec
from algos.runners.scalper import ScalperParams, ScalperRunner
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, Harness, make_harness

D = Decimal


async def start(h: Harness, **overrides: Any) -> ScalperRunner:
    rules = next(r for r in await h.venue.instruments() if r.symbol == "BTCUSDT")
    params = {"symbol": "BTCUSDT", "quantity": "0.030", "layer_count": 3, "base_offset": "5", "max_spread": "50",
              "base_delay_ms": 1000, **overrides}
    spec = scalper_spec(params, rules, D("60000"))
    return ScalperRunner(algo_run_id=5, sub_account_id=ALPHA, manager=h.manager, clock=h.clock,
                         publish=lambda group, kind, data: h.events.append((group, kind, data)),
                         params=ScalperParams(rules=rules, sides=spec.sides, sizes=spec.sizes,
                                              offsets_bps=spec.offsets_bps, base_delay_ms=spec.base_delay_ms,
                                              max_fills_per_minute=spec.max_fills_per_minute,
                                              max_loss_bps=spec.max_loss_bps, max_position=spec.max_position,
                                              reprice_throttle_ms=spec.reprice_throttle_ms,
                                              max_distance_pct=spec.max_distance_pct))


async def quote(h: Harness, runner: ScalperRunner, bid: str, ask: str, seconds: float = 0.6,
                size: str = "10") -> None:
    h.clock.advance(seconds)
    h.quote("BTCUSDT", bid, ask, size=size)
    await h.pump()
    await runner.on_quote(D(bid), D(ask))
    await h.pump()


def resting(h: Harness, side: str) -> list[Any]:
    return sorted((o for o in h.exchange.open_orders(h.account_id) if o.side.lower() == side),
                  key=lambda o: o.price)


async def test_layers_quote_both_sides_at_growing_distances_and_sum_to_the_total_per_side():
    h = await make_harness()
    runner = await start(h, skew="0.5")
    await quote(h, runner, "60000.0", "60000.1")
    buys, sells = resting(h, "buy"), resting(h, "sell")
    assert len(buys) == 3 and len(sells) == 3
    assert sum(o.orig_qty for o in buys) == D("0.030") == sum(o.orig_qty for o in sells)
    # innermost first: buys fall away from the mid, sells rise; positive skew puts more size further out
    assert buys[2].price < D("60000.0") and sells[0].price > D("60000.1")
    assert [o.price for o in reversed(buys)] == sorted((o.price for o in buys), reverse=True)
    assert buys[0].orig_qty > buys[2].orig_qty  # the outermost buy (lowest price) is the largest
    assert all(o.client_order_id.split("_")[1] == "SCL" for o in buys + sells)


async def test_a_filled_layer_backs_off_exponentially_before_quoting_again():
    h = await make_harness()
    runner = await start(h, layer_count=1, sides="long", quantity="0.010", max_position="1")
    await quote(h, runner, "60000.0", "60000.1")
    (buy,) = resting(h, "buy")
    await quote(h, runner, str(buy.price - 10), str(buy.price - D("0.1")), seconds=0.1)  # ask trades through
    assert [kind for _, kind, _ in h.events].count("scalper_filled") == 1
    assert runner.position == D("0.010") and resting(h, "buy") == []
    await quote(h, runner, "60000.0", "60000.1", seconds=0.5)  # inside the 1 s backoff
    assert resting(h, "buy") == []
    await quote(h, runner, "60000.0", "60000.1", seconds=0.6)  # past it: the slot re-arms
    (buy,) = resting(h, "buy")
    await quote(h, runner, str(buy.price - 10), str(buy.price - D("0.1")), seconds=0.1)
    slot = runner.slots[0]
    assert slot.consecutive_fills == 2 and slot.rearm_at_ms - (slot.last_fill_ms or 0) == 2_000  # 2x after the 2nd


async def test_max_fills_per_minute_holds_a_side_for_the_rest_of_the_window():
    h = await make_harness()
    runner = await start(h, layer_count=1, sides="long", quantity="0.010", max_fills_per_minute=1,
                         max_position="1")
    await quote(h, runner, "60000.0", "60000.1")
    (buy,) = resting(h, "buy")
    await quote(h, runner, str(buy.price - 10), str(buy.price - D("0.1")), seconds=0.1)
    await quote(h, runner, "60000.0", "60000.1", seconds=30)  # backoff long over, the minute is not
    assert resting(h, "buy") == []
    await quote(h, runner, "60000.0", "60000.1", seconds=31)
    assert len(resting(h, "buy")) == 1


async def test_a_close_that_would_lose_beyond_max_loss_bps_waits_and_a_profitable_one_books_slot_pnl():
    h = await make_harness()
    runner = await start(h, layer_count=1, quantity="0.010", max_loss_bps="20")
    await quote(h, runner, "60000.0", "60000.1")
    (buy,) = resting(h, "buy")
    await quote(h, runner, str(buy.price - 10), str(buy.price - D("0.1")), seconds=0.1)  # long 0.010
    assert runner.position == D("0.010")
    entry = runner.entry_price
    await quote(h, runner, "59800.0", "59800.1", seconds=2)  # a sell near 59830 loses ~28 bps: held back
    assert resting(h, "sell") == []
    assert any(kind == "scalper_progress" and data["note"] == "blocked" for _, kind, data in h.events)
    await quote(h, runner, "60100.0", "60100.1", seconds=2)  # the sell now closes above the entry
    (sell,) = resting(h, "sell")
    await quote(h, runner, str(sell.price + D("0.1")), str(sell.price + 10), seconds=0.1)  # the bid lifts it
    sell_slot = next(slot for slot in runner.slots if slot.side is Side.SELL)
    assert runner.position == 0
    assert sell_slot.pnl.realized == (sell.price - entry) * D("0.010") > 0
    assert sell_slot.pnl.ema == sell_slot.pnl.realized * D("0.15")


async def test_max_position_keeps_the_inventory_capped():
    h = await make_harness()
    runner = await start(h, layer_count=1, sides="long", quantity="0.010")  # cap = the per-side total
    await quote(h, runner, "60000.0", "60000.1")
    (buy,) = resting(h, "buy")
    await quote(h, runner, str(buy.price - 10), str(buy.price - D("0.1")), seconds=0.1)
    await quote(h, runner, "60000.0", "60000.1", seconds=5)
    assert runner.position == D("0.010") and resting(h, "buy") == []


async def test_stop_cancels_every_layer_and_reports_the_total():
    h = await make_harness()
    runner = await start(h)
    await quote(h, runner, "60000.0", "60000.1")
    assert len(h.exchange.open_orders(h.account_id)) == 6
    await runner.stop()
    await h.pump()
    assert h.exchange.open_orders(h.account_id) == []
    (cancelled,) = [data for _, kind, data in h.events if kind == "scalper_cancelled"]
    assert cancelled["reason"] == "stopped by operator" and cancelled["working"] == 0
