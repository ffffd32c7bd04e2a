"""An instant fill counts as exposure from its REST answer on, before the stream books it (RELIABILITY #14).

Between a market order's REST answer (FILLED: the order leaves the live set) and its booking from the
user-data stream, neither the live set nor the position shows it; a second order in that window must still
see the first one's exposure.
"""

from __future__ import annotations

from decimal import Decimal

from risk.domain.limits import SubAccountLimits
from risk.tests.test_engine import market, record_requests, with_risk
from trading.domain.types import Side
from trading.tests.engine.harness import ALPHA, make_harness

D = Decimal


async def test_a_second_entry_before_the_first_fill_is_booked_is_denied_by_the_position_limit():
    h = await make_harness()
    await with_risk(h, {ALPHA: SubAccountLimits(max_position_notional=D(1000))}, {ALPHA: D(10000)})
    sent = record_requests(h)
    first = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))  # 600 USDT: filled at once, not booked
    assert first.ok and first.client_order_id not in h.manager.live
    assert h.manager.unbooked_fills(ALPHA) == {"BTCUSDT": D("0.010")}
    second = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))  # would make 1,200 USDT
    assert not second.ok and second.code == "position_notional"
    assert len(sent) == 1
    await h.pump()  # the stream books the first fill: the gap closes, the position carries it
    assert h.manager.unbooked_fills(ALPHA) == {}
    assert h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.010")
    third = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    assert not third.ok and third.code == "position_notional"  # now from the booked position
    reduce = await h.manager.place(market(ALPHA, Side.SELL, "0.010"))
    assert reduce.ok


async def test_a_fill_booked_before_its_order_update_leaves_no_phantom_exposure():
    h = await make_harness()
    await with_risk(h, {ALPHA: SubAccountLimits(max_position_notional=D(1000))}, {ALPHA: D(10000)})
    placed = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    await h.pump()
    assert placed.ok and h.manager.unbooked_fills(ALPHA) == {}
    await h.manager.place(market(ALPHA, Side.SELL, "0.010"))
    await h.pump()
    assert h.manager.unbooked_fills(ALPHA) == {} and h.manager._fill_gaps == {}
