"""OrderManager and fill routing over the in-process matching core (RELIABILITY #2, #3, #5, #12)."""

from __future__ import annotations

from decimal import Decimal

from trading.domain.client_ids import OrderOrigin, client_id_parse
from trading.domain.orders import OrderStatus
from trading.domain.records import OrderIntent
from trading.domain.types import OrderType, Side
from trading.engine.hooks import Denial
from trading.engine.order_manager import OrderManager
from trading.venues.base import Ambiguous, OrderEvent, OrderRequest, WriteOutcome

from .harness import ALPHA, BETA, HOUSE, Harness, make_harness

D = Decimal


def market(sub: int, side: Side, qty: str, *, reduce_only: bool = False) -> OrderIntent:
    return OrderIntent(sub, "BTCUSDT", side, OrderType.MARKET, D(qty), reduce_only=reduce_only,
                       origin=OrderOrigin.MKT)


def record_requests(h: Harness) -> list[OrderRequest]:
    """Every request the venue is asked to place, in order (the venue still places them)."""
    sent: list[OrderRequest] = []
    place = h.venue.place

    async def recording(request: OrderRequest) -> WriteOutcome:
        sent.append(request)
        return await place(request)

    h.venue.place = recording  # type: ignore[method-assign]
    return sent


def limit(sub: int, side: Side, qty: str, price: str) -> OrderIntent:
    return OrderIntent(sub, "BTCUSDT", side, OrderType.LIMIT, D(qty), D(price))


async def test_a_market_order_fills_and_books_the_position_with_fees():
    h = await make_harness()
    result = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    await h.pump()
    position = h.journal.positions_by_key[(ALPHA, "BTCUSDT")]
    assert result.ok and client_id_parse(result.client_order_id or "") is not None
    assert position.quantity == D("0.010") and position.average_entry == D("60000.1")
    assert position.fees == D("0.010") * D("60000.1") * D("0.0005")
    assert h.journal.orders[result.client_order_id].status is OrderStatus.FILLED  # type: ignore[index]


async def test_opposite_sub_accounts_close_without_reduce_only_rejections_and_sum_to_the_exchange():
    h = await make_harness()
    await h.manager.place(market(ALPHA, Side.BUY, "0.020"))
    await h.manager.place(market(BETA, Side.SELL, "0.010"))
    await h.pump()
    h.quote("BTCUSDT", "61000.0", "61000.1")
    # beta closes its short with a buy: it reduces beta but raises the exchange's net long
    close = await h.manager.place(market(BETA, Side.BUY, "0.010", reduce_only=True))
    await h.pump()
    alpha = h.journal.positions_by_key[(ALPHA, "BTCUSDT")]
    beta = h.journal.positions_by_key[(BETA, "BTCUSDT")]
    assert close.ok, close.reason
    assert (alpha.quantity, beta.quantity) == (D("0.020"), D("0"))
    assert beta.realized_pnl == (D("60000.0") - D("61000.1")) * D("0.010")
    assert h.exchange_position("BTCUSDT") == alpha.quantity + beta.quantity


async def test_a_reduce_only_order_that_reduces_the_exchange_net_goes_out_reduce_only():
    h = await make_harness()
    sent = record_requests(h)
    await h.manager.place(market(ALPHA, Side.BUY, "0.020"))
    await h.pump()
    await h.manager.place(market(ALPHA, Side.SELL, "0.010", reduce_only=True))
    assert [request.reduce_only for request in sent] == [False, True]


async def test_a_reduce_only_order_with_nothing_to_reduce_is_refused_before_sending():
    h = await make_harness()
    result = await h.manager.place(market(ALPHA, Side.SELL, "0.010", reduce_only=True))
    assert not result.ok and "nothing to reduce" in result.reason
    assert h.journal.orders == {}


async def test_a_replayed_fill_event_is_booked_once():
    h = await make_harness()
    await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    events = h.venue.drain_user_events()
    for event in events + events:  # the stream replays everything
        await h.router.handle(event)
    trades = [e for e in events if isinstance(e, OrderEvent) and e.trade is not None]
    assert trades and h.journal.positions_by_key[(ALPHA, "BTCUSDT")].quantity == D("0.010")
    assert len(h.journal.fills) == len(trades)


async def test_a_filled_event_before_new_leaves_the_order_filled():
    h = await make_harness()
    h.quote("BTCUSDT", "60000.0", "60000.1")
    await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59990.0"))
    h.quote("BTCUSDT", "59980.0", "59980.1")  # the ask trades through the resting buy
    events = h.venue.drain_user_events()
    for event in reversed(events):
        await h.router.handle(event)
    (order,) = h.journal.orders.values()
    assert order.status is OrderStatus.FILLED and order.filled_quantity == D("0.010")
    assert h.manager.live == {}


async def test_an_ambiguous_place_that_was_executed_is_resolved_by_query_without_a_second_order():
    h = await make_harness()
    place = h.venue.place

    async def timeout_after_executing(request: OrderRequest) -> WriteOutcome:
        await place(request)
        return Ambiguous("timeout")

    h.venue.place = timeout_after_executing  # type: ignore[method-assign]
    result = await h.manager.place(market(ALPHA, Side.BUY, "0.010"))
    assert result.status is OrderStatus.UNKNOWN
    await h.pump()
    await h.manager.close()
    assert h.journal.orders[result.client_order_id].status is OrderStatus.FILLED  # type: ignore[index]
    assert len(h.exchange.open_orders(h.account_id)) == 0
    assert len(h.exchange.all_orders(h.account_id, {"symbol": "BTCUSDT"})) == 1


async def test_an_ambiguous_place_that_never_arrived_is_proven_absent_after_the_receive_window():
    h = await make_harness()

    async def lost(request: OrderRequest) -> WriteOutcome:
        return Ambiguous("connection reset before sending")

    h.venue.place = lost  # type: ignore[method-assign]
    result = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    live = h.manager.live[result.client_order_id]  # type: ignore[index]
    assert not await h.manager._query_and_apply(live)  # too early to call it absent
    h.clock.advance(6)
    assert await h.manager._query_and_apply(live)
    assert h.journal.orders[result.client_order_id].status is OrderStatus.REJECTED  # type: ignore[index]
    await h.manager.close()


async def test_a_fill_of_an_order_nobody_here_placed_goes_to_the_house_with_an_alert():
    h = await make_harness()
    h.exchange.new_order(h.account_id, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET",
                                        "quantity": "0.005", "newClientOrderId": "manual-desk-trade"})
    await h.pump()
    assert h.journal.positions_by_key[(HOUSE, "BTCUSDT")].quantity == D("0.005")
    assert any(kind == "risk_alert" and data["kind"] == "external_fill" for _, kind, data in h.events)


async def test_a_pre_trade_denial_sends_nothing_and_publishes_order_rejected():
    h = await make_harness()

    class DenyAll:
        def check(self, intent: OrderIntent, *, reference_price: Decimal | None) -> Denial | None:
            return Denial("max position notional 50,000 USDT would be exceeded: 61,240")

    h.manager.pre_trade = DenyAll()
    result = await h.manager.place(market(ALPHA, Side.BUY, "1.000"))
    assert not result.ok and "50,000" in result.reason
    assert h.exchange.all_orders(h.account_id, {"symbol": "BTCUSDT"}) == []
    assert any(kind == "order_rejected" for _, kind, _ in h.events)


async def test_a_bad_order_is_refused_with_the_reason_and_nothing_is_sent():
    h = await make_harness()
    result = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "60000.05"))
    assert not result.ok and "tick size" in result.reason
    assert h.exchange.all_orders(h.account_id, {"symbol": "BTCUSDT"}) == []


async def test_while_paused_no_order_leaves_but_cancels_still_go():
    h = await make_harness()
    working = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    h.manager.pause("user-data stream lost")
    refused = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    cancelled = await h.manager.cancel(working.client_order_id or "")
    assert not refused.ok and refused.code == "paused"
    assert cancelled.ok and h.exchange.open_orders(h.account_id) == []


async def test_replace_cancels_then_places_the_remainder_under_a_new_client_id():
    h = await make_harness()
    first = await h.manager.place(limit(ALPHA, Side.BUY, "0.010", "59000.0"))
    second = await h.manager.replace(first.client_order_id or "", price=D("59100.0"))
    await h.pump()
    assert second.ok and second.client_order_id != first.client_order_id
    (open_order,) = h.exchange.open_orders(h.account_id)
    assert open_order.client_order_id == second.client_order_id and open_order.price == D("59100.0")
    assert h.journal.orders[first.client_order_id].status is OrderStatus.CANCELED  # type: ignore[index]


async def test_place_many_sends_batches_and_keeps_each_outcome():
    h = await make_harness()
    intents = [limit(ALPHA, Side.BUY, "0.010", f"{59000 + i}.0") for i in range(6)]
    intents.insert(3, limit(ALPHA, Side.BUY, "0.010", "59000.05"))  # off tick: refused before sending
    results = await h.manager.place_many(intents)
    assert [r.ok for r in results] == [True, True, True, False, True, True, True]
    assert len(h.exchange.open_orders(h.account_id)) == 6


async def test_a_close_against_an_exchange_position_that_disagrees_is_flagged_and_sent_without_reduce_only():
    h = await make_harness()
    sent = record_requests(h)
    await h.manager.place(market(ALPHA, Side.BUY, "0.020"))
    await h.pump()
    h.manager.exchange_positions["BTCUSDT"] = D("0.005")  # the exchange says something else
    result = await h.manager.place(market(ALPHA, Side.SELL, "0.010", reduce_only=True))
    assert result.ok and sent[-1].reduce_only is False
    assert any(kind == "risk_alert" and data["kind"] == "desync" for _, kind, data in h.events)


async def test_after_a_restart_an_order_journaled_but_never_sent_is_proven_absent_and_closed():
    h = await make_harness()
    order = await h.journal.order_open(limit(ALPHA, Side.BUY, "0.010", "59000.0"), reference_price=None)
    restarted = OrderManager(venue=h.venue, journal=h.journal, clock=h.clock)
    await restarted.load()  # the crash happened between the row's commit and the request
    h.router.manager = restarted
    await h.router.recover(since_ms=0)
    live = restarted.live[order.client_order_id]
    assert not await restarted._query_and_apply(live)  # within the receive window: not yet proven
    h.clock.advance(6)
    assert await restarted._query_and_apply(live)
    assert h.journal.orders[order.client_order_id].status is OrderStatus.REJECTED
    await restarted.close()
