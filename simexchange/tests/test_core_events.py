"""User-data events: what each action publishes, and delivery by callback or drain."""

from __future__ import annotations

from simexchange.core.events import AccountUpdate, OrderTradeUpdate, UserEvent
from simexchange.tests.test_core_support import D, Venue


def _kinds(events: list[UserEvent]) -> list[str]:
    return [e.execution_type if isinstance(e, OrderTradeUpdate) else f"ACCOUNT:{e.reason}" for e in events]


def test_a_resting_order_publishes_only_an_order_update_new() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49000.0")
    [event] = venue.engine.events.drain()
    assert isinstance(event, OrderTradeUpdate)
    assert (event.execution_type, event.order.status) == ("NEW", "NEW")


def test_a_filled_market_order_publishes_new_then_the_account_update_and_the_trade() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    assert _kinds(venue.engine.events.drain()) == ["NEW", "ACCOUNT:ORDER", "TRADE"]


def test_a_trade_event_carries_the_fill_the_fee_the_trade_id_and_the_maker_flag() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    trade = venue.fills()[0]
    [user_trade] = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert (trade.last_filled_qty, trade.last_filled_price, trade.commission) == (D("0.010"), D("50000.0"), D("0.25"))
    assert (trade.trade_id, trade.is_maker, trade.order.executed_qty) == (user_trade.trade_id, False, D("0.010"))


def test_a_closing_trade_reports_its_realized_profit() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.quote("50100.0", "50100.1")
    venue.market("SELL", "0.010")
    assert venue.fills()[-1].realized_profit == D("1.0")


def test_the_account_update_of_a_fill_carries_the_wallet_and_the_changed_position() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    [update] = [e for e in venue.engine.events.drain() if isinstance(e, AccountUpdate)]
    assert update.balances[0].wallet_balance == D("9999.75")
    assert [(p.symbol, p.position_amt, p.entry_price) for p in update.positions] == [
        ("BTCUSDT", D("0.010"), D("50000.0"))
    ]


def test_a_cancel_publishes_an_order_update_canceled_and_no_account_update() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    venue.engine.events.drain()
    venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": order.order_id})
    assert _kinds(venue.engine.events.drain()) == ["CANCELED"]


def test_a_modify_publishes_an_amendment() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    venue.engine.events.drain()
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "49001.0"}
    venue.engine.modify_order(venue.account, params)
    [event] = venue.engine.events.drain()
    assert isinstance(event, OrderTradeUpdate)
    assert (event.execution_type, event.order.price) == ("AMENDMENT", D("49001.0"))


def test_an_ioc_remainder_publishes_expired() -> None:
    venue = Venue()
    venue.quote("49999.9", "50000.0", ask_qty="0.005")
    venue.engine.events.drain()
    venue.limit("BUY", "0.010", "50000.0", tif="IOC")
    assert _kinds(venue.engine.events.drain())[-1] == "EXPIRED"


def test_event_times_come_from_the_injected_clock() -> None:
    venue = Venue()
    venue.clock.advance(12_345)
    venue.limit("BUY", "0.010", "49000.0")
    [event] = venue.engine.events.drain()
    assert event.event_time_ms == event.transaction_time_ms == venue.clock()


def test_a_subscriber_for_one_account_receives_only_that_accounts_events() -> None:
    venue = Venue()
    other = venue.engine.create_account(api_key="key-2", secret="secret-2", deposit=D("5000"))
    received: list[UserEvent] = []
    venue.engine.events.subscribe(received.append, account_id=other)
    venue.limit("BUY", "0.010", "49000.0")
    venue.engine.new_order(
        other,
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": "51000",
        },
    )
    assert [e.account_id for e in received] == [other]


def test_an_unsubscribed_callback_receives_nothing_more() -> None:
    venue = Venue()
    received: list[UserEvent] = []
    unsubscribe = venue.engine.events.subscribe(received.append)
    unsubscribe()
    venue.limit("BUY", "0.010", "49000.0")
    assert received == []


def test_drain_for_one_account_leaves_the_other_accounts_events_queued() -> None:
    venue = Venue()
    other = venue.engine.create_account(api_key="key-2", secret="secret-2", deposit=D("5000"))
    venue.limit("BUY", "0.010", "49000.0")
    assert [e.account_id for e in venue.engine.events.drain(venue.account)] == [venue.account]
    assert [e.account_id for e in venue.engine.events.drain()] == [other]


def test_a_fill_caused_by_a_quote_is_both_returned_and_published() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49900.0")
    venue.engine.events.drain()
    returned = venue.quote("49899.0", "49900.0")
    assert list(returned) == venue.engine.events.drain()
