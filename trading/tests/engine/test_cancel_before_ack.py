"""A cancel asked while the placement is unanswered must not overtake the order: it goes out once the
exchange has answered, so a halt or a stop never leaves a late-arriving order working."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from trading.domain.client_ids import OrderOrigin
from trading.domain.orders import OrderStatus
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.tests.engine.harness import ALPHA, make_harness
from trading.venues.base import OrderRequest, WriteOutcome

D = Decimal


async def test_an_order_cancelled_before_its_placement_is_answered_ends_cancelled_on_the_exchange():
    h = await make_harness()
    gate = asyncio.Event()
    place = h.venue.place

    async def slow_place(request: OrderRequest) -> WriteOutcome:
        await gate.wait()  # the request is on its way; the answer has not come back
        return await place(request)

    h.venue.place = slow_place  # type: ignore[method-assign]
    placing = asyncio.create_task(h.manager.place(OrderIntent(
        ALPHA, "BTCUSDT", Side.BUY, OrderType.LIMIT, D("0.010"), D("59000.0"), origin=OrderOrigin.LMT)))
    await asyncio.sleep(0)
    (cid,) = list(h.manager.live)
    assert h.manager.live[cid].order.status is OrderStatus.PENDING_SUBMIT
    cancelled = await h.manager.cancel_all(sub_account_id=ALPHA)  # e.g. a HALTED sub-account
    assert [result.ok for result in cancelled] == [True]
    gate.set()
    await placing
    for _ in range(5):
        await asyncio.sleep(0)
        await h.pump()
    assert h.exchange.open_orders(h.account_id) == []
    assert cid not in h.manager.live and h.journal.orders[cid].status is OrderStatus.CANCELED
