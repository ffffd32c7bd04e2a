"""Resting orders filling from quotes and trades, taker fills, fees and average-cost realized PnL."""

from __future__ import annotations

from decimal import Decimal

from simexchange.core import EngineConfig
from simexchange.tests.test_core_support import D, Venue


def test_a_resting_buy_fills_at_its_limit_as_maker_when_the_ask_reaches_it() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49900.0")
    venue.engine.events.drain()
    venue.quote("49899.0", "49900.0")
    [fill] = venue.fills()
    assert (fill.last_filled_price, fill.last_filled_qty, fill.is_maker) == (D("49900.0"), D("0.010"), True)
    assert venue.order(order.order_id).status == "FILLED"


def test_a_resting_buy_fills_at_its_limit_even_when_the_ask_gaps_through_it() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49900.0")
    venue.engine.events.drain()
    venue.quote("49799.0", "49800.0")
    assert [f.last_filled_price for f in venue.fills()] == [D("49900.0")]


def test_an_ask_at_the_limit_fills_no_more_than_its_displayed_size() -> None:
    venue = Venue()
    order = venue.limit("BUY", "1.000", "49900.0")
    venue.quote("49899.0", "49900.0", ask_qty="0.300")
    assert (venue.order(order.order_id).status, venue.order(order.order_id).executed_qty) == (
        "PARTIALLY_FILLED",
        D("0.300"),
    )


def test_an_ask_through_the_limit_fills_the_whole_order() -> None:
    venue = Venue()
    order = venue.limit("BUY", "1.000", "49900.0")
    venue.quote("49898.0", "49899.0", ask_qty="0.300")
    assert venue.order(order.order_id).executed_qty == D("1.000")


def test_a_resting_sell_fills_when_the_bid_reaches_it() -> None:
    venue = Venue()
    order = venue.limit("SELL", "0.010", "50100.0")
    venue.quote("50100.0", "50100.1")
    assert venue.order(order.order_id).status == "FILLED"
    assert venue.position_amt() == D("-0.010")


def test_a_quote_that_reaches_no_resting_order_fills_nothing_and_returns_no_events() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49900.0")
    venue.limit("SELL", "0.010", "50100.0")
    assert venue.quote("49950.0", "50050.0") == ()


def test_a_trade_printing_at_a_resting_buys_price_fills_up_to_the_printed_size() -> None:
    venue = Venue()
    order = venue.limit("BUY", "1.000", "49900.0")
    venue.trade("49900.0", "0.250")
    assert venue.order(order.order_id).executed_qty == D("0.250")


def test_a_trade_printing_through_a_resting_sell_fills_it_completely_at_its_limit() -> None:
    venue = Venue()
    order = venue.limit("SELL", "1.000", "50100.0")
    venue.engine.events.drain()
    venue.trade("50100.5", "0.001")
    fills = venue.fills()
    assert venue.order(order.order_id).status == "FILLED"
    assert {f.last_filled_price for f in fills} == {D("50100.0")}


def test_a_trade_away_from_resting_orders_fills_nothing() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49900.0")
    assert venue.trade("49950.0", "5") == ()


def test_orders_at_one_price_fill_in_time_priority() -> None:
    venue = Venue()
    first = venue.limit("BUY", "0.010", "49900.0")
    second = venue.limit("BUY", "0.010", "49900.0")
    venue.quote("49899.0", "49900.0", ask_qty="0.015")
    assert venue.order(first.order_id).executed_qty == D("0.010")
    assert venue.order(second.order_id).executed_qty == D("0.005")


def test_the_better_priced_order_fills_first() -> None:
    venue = Venue()
    low = venue.limit("BUY", "0.010", "49800.0")
    high = venue.limit("BUY", "0.010", "49900.0")
    venue.quote("49799.0", "49800.0", ask_qty="0.005")
    assert venue.order(high.order_id).executed_qty == D("0.010")
    assert venue.order(low.order_id).executed_qty == D("0.005")


def test_a_taker_pays_the_taker_fee_on_the_notional() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    [trade] = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert (trade.commission, trade.commission_asset, trade.maker) == (D("0.25000000"), "USDT", False)


def test_a_maker_pays_the_maker_fee_on_the_notional() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49900.0")
    venue.quote("49899.0", "49900.0")
    [trade] = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert (trade.commission, trade.maker) == (D("0.09980000"), True)


def test_fee_rates_are_configurable() -> None:
    venue = Venue(EngineConfig(maker_fee_rate=Decimal("-0.0001"), taker_fee_rate=Decimal("0.001")))
    venue.market("BUY", "0.010")
    [trade] = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert trade.commission == D("0.50000000")


def test_realized_pnl_uses_the_average_cost_of_the_position() -> None:
    venue = Venue(deposit="100000")
    venue.quote("49999.9", "50000.0")
    venue.market("BUY", "0.010")
    venue.quote("51999.9", "52000.0")
    venue.mark("52000")
    venue.market("BUY", "0.010")
    venue.quote("53000.0", "53000.1")
    venue.market("SELL", "0.010")
    trades = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert trades[-1].realized_pnl == D("20.00000000")  # (53000 - 51000) x 0.010
    assert venue.engine.positions(venue.account, "BTCUSDT")[0].entry_price == D("51000")


def test_selling_more_than_a_long_flips_to_a_short_at_the_fill_price() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.quote("50100.0", "50100.1")
    venue.market("SELL", "0.030")
    [position] = venue.engine.positions(venue.account, "BTCUSDT")
    trades = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    assert (position.position_amt, position.entry_price) == (D("-0.020"), D("50100.0"))
    assert trades[-1].realized_pnl == D("1.00000000")  # only the closing 0.010 realizes


def test_closing_a_position_resets_its_entry_price() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.market("SELL", "0.010")
    [position] = venue.engine.positions(venue.account, "BTCUSDT")
    assert (position.position_amt, position.entry_price) == (0, 0)


def test_the_wallet_moves_by_realized_pnl_minus_fees() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.quote("50100.0", "50100.1")
    venue.market("SELL", "0.010")
    assert venue.wallet() == D("10000") + D("1.0") - D("0.25") - D("0.250500")


def test_the_break_even_price_of_a_long_includes_the_opening_fee() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    [position] = venue.engine.positions(venue.account, "BTCUSDT")
    assert position.break_even_price == D("50025")  # 50000 + 0.25 / 0.010
