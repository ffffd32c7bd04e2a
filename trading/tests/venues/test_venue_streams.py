"""The ccxt venue's streams: user events with fills, interruptions and resumption, quotes and marks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from simexchange.tests.conftest import push_mark, push_quote
from trading.domain.orders import OrderStatus
from trading.domain.types import Side
from trading.venues.base import AccountEvent, Mark, OrderEvent, Quote, StreamInterrupted, StreamResumed

from .helpers import Drained, eventually, market

pytestmark = pytest.mark.timeout(30)
D = Decimal


async def user_stream(venue: Any, sim: Any) -> Drained:
    events = Drained(venue.watch_user_events())
    await eventually(lambda: sim.state()["connections"]["private"] == 1)
    return events


async def test_a_fill_arrives_as_an_order_event_whose_trade_matches_the_rest_trade(venue: Any, sim: Any) -> None:
    events = await user_stream(venue, sim)
    try:
        await venue.place(market("PMSfill_MKT_1", "0.010"))

        filled = await events.next(OrderEvent, where=lambda e: e.execution_type == "TRADE")
        account = await events.next(AccountEvent)
    finally:
        await events.close()

    trade = filled.trade
    assert trade is not None and filled.order.status is OrderStatus.FILLED
    assert filled.order.client_order_id == "PMSfill_MKT_1" and filled.order.filled_quantity == D("0.010")
    [rest_trade] = await venue.trades_since(symbol="BTCUSDT", since_ms=trade.time_ms - 1)
    assert trade == rest_trade
    assert (trade.side, trade.price, trade.quantity, trade.fee_asset) == (Side.BUY, D("64000.1"), D("0.010"), "USDT")
    assert [(p.symbol, p.quantity) for p in account.positions] == [("BTCUSDT", D("0.010"))]


async def test_a_disconnect_is_reported_then_the_resumption_since_the_last_event(venue: Any, sim: Any) -> None:
    events = await user_stream(venue, sim)
    try:
        await venue.place(market("PMSgap_MKT_1", "0.010"))
        fill = await events.next(OrderEvent, where=lambda e: e.execution_type == "TRADE")
        account = await events.next(AccountEvent)

        await sim.disconnect(path="/private")
        interrupted = await events.next(StreamInterrupted)
        resumed = await events.next(StreamResumed)
        await venue.place(market("PMSgap_MKT_2", "0.010"))
        after = await events.next(OrderEvent, where=lambda e: e.execution_type == "TRADE")
    finally:
        await events.close()

    assert interrupted.reason
    assert resumed.since_ms == max(fill.event_ms, account.event_ms)  # the last event before the gap
    assert after.order.client_order_id == "PMSgap_MKT_2"


async def test_an_expired_listen_key_interrupts_and_a_new_key_resumes(venue: Any, sim: Any) -> None:
    events = await user_stream(venue, sim)
    try:
        sim.expire_listen_keys()
        interrupted = await events.next(StreamInterrupted)
        await events.next(StreamResumed)
        await venue.place(market("PMSkey_MKT_1", "0.010"))
        after = await events.next(OrderEvent, where=lambda e: e.execution_type == "TRADE")
    finally:
        await events.close()

    assert interrupted.reason == "listenKeyExpired"
    assert after.trade is not None


async def test_quotes_and_marks_arrive_as_decimal_values(venue: Any, sim: Any) -> None:
    stream = Drained(venue.watch_quotes(["BTCUSDT"]))
    try:
        await eventually(lambda: sim.state()["connections"]["market"] >= 2)
        await push_quote(sim, "BTCUSDT", "64010.0", "64010.1", "3")
        await push_mark(sim, "BTCUSDT", "64010.05")
        quote = await stream.next(Quote, where=lambda q: q.bid_price == D("64010.0"))
        mark = await stream.next(Mark, where=lambda m: m.mark_price == D("64010.05"))
    finally:
        await stream.close()

    assert (quote.symbol, quote.ask_price, quote.bid_size, quote.ask_size) == ("BTCUSDT", D("64010.1"), D(3), D(3))
    assert quote.mid == D("64010.05")
    assert (mark.symbol, mark.funding_rate) == ("BTCUSDT", D("0.0001")) and mark.next_funding_ms > mark.time_ms


async def test_quotes_resume_after_the_market_socket_drops(venue: Any, sim: Any) -> None:
    stream = Drained(venue.watch_quotes(["BTCUSDT"]))
    try:
        await eventually(lambda: sim.state()["connections"]["market"] >= 2)
        await sim.disconnect(path="/public")
        await sim.disconnect(path="/market")
        await eventually(lambda: sim.state()["connections"]["market"] >= 2)
        await push_quote(sim, "BTCUSDT", "64020.0", "64020.1")
        quote = await stream.next(Quote, where=lambda q: q.bid_price == D("64020.0"))
    finally:
        await stream.close()

    assert quote.ask_price == D("64020.1")
