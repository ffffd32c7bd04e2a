"""Order entry and lifecycle: placing each type, cancel, query, modify, batches, reduce-only."""

from __future__ import annotations

import dataclasses

import pytest

from simexchange.core import DepthModel, EngineConfig, ExchangeError
from simexchange.core.symbols import DEFAULT_SYMBOLS
from simexchange.tests.test_core_support import D, Venue


def with_depth(depth: DepthModel) -> EngineConfig:
    return EngineConfig(symbols=tuple(dataclasses.replace(spec, depth=depth) for spec in DEFAULT_SYMBOLS))


def test_a_limit_buy_below_the_ask_rests_as_new() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    assert order.status == "NEW"
    assert [o.order_id for o in venue.engine.open_orders(venue.account)] == [order.order_id]


def test_a_market_buy_fills_at_the_ask() -> None:
    venue = Venue()
    order = venue.market("BUY", "0.010")
    assert (order.status, order.executed_qty, order.avg_price) == ("FILLED", D("0.010"), D("50000.0"))


def test_a_marketable_limit_buy_fills_at_the_touch_not_at_its_limit() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "50100.0")
    assert (order.status, order.avg_price) == ("FILLED", D("50000.0"))


def test_a_market_order_larger_than_the_touch_walks_one_tick_per_level() -> None:
    venue = Venue()
    venue.quote("49999.9", "50000.0", ask_qty="0.5")
    venue.engine.events.drain()
    venue.market("BUY", "1.2")
    assert [(f.last_filled_price, f.last_filled_qty) for f in venue.fills()] == [
        (D("50000.0"), D("0.5")),
        (D("50000.1"), D("0.5")),
        (D("50000.2"), D("0.2")),
    ]


def test_the_depth_model_level_size_and_spacing_are_configurable() -> None:
    venue = Venue(with_depth(DepthModel(level_step_ticks=2, level_qty=D("0.1"))))
    venue.quote("49999.9", "50000.0", ask_qty="0.5")
    venue.engine.events.drain()
    venue.market("BUY", "0.7")
    assert [(f.last_filled_price, f.last_filled_qty) for f in venue.fills()] == [
        (D("50000.0"), D("0.5")),
        (D("50000.2"), D("0.1")),
        (D("50000.4"), D("0.1")),
    ]


def test_a_marketable_limit_stops_walking_at_its_limit_and_rests_the_rest() -> None:
    venue = Venue()
    venue.quote("49999.9", "50000.0", ask_qty="0.5")
    order = venue.limit("BUY", "2.000", "50000.1")
    assert (order.status, order.executed_qty) == ("PARTIALLY_FILLED", D("1.0"))
    assert venue.engine.book("BTCUSDT").best_buy == D("50000.1")


def test_an_ioc_limit_expires_what_it_cannot_fill() -> None:
    venue = Venue()
    venue.quote("49999.9", "50000.0", ask_qty="0.5")
    order = venue.limit("BUY", "1.000", "50000.0", tif="IOC")
    assert (order.status, order.executed_qty) == ("EXPIRED", D("0.5"))
    assert venue.engine.open_orders(venue.account) == []


def test_a_fok_limit_that_cannot_fill_entirely_is_rejected_with_5021() -> None:
    venue = Venue()
    venue.quote("49999.9", "50000.0", ask_qty="0.5")
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "1.000", "50000.0", tif="FOK")
    assert caught.value.code == -5021
    assert venue.state() == before


def test_a_fok_limit_that_can_fill_fills_entirely() -> None:
    venue = Venue()
    order = venue.limit("BUY", "1.000", "50000.0", tif="FOK")
    assert (order.status, order.executed_qty) == ("FILLED", D("1.000"))


def test_a_post_only_order_that_would_take_is_rejected_with_5022() -> None:
    venue = Venue()
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.010", "50000.0", tif="GTX")
    assert caught.value.code == -5022
    assert venue.state() == before


def test_a_post_only_order_that_would_not_take_rests() -> None:
    venue = Venue()
    assert venue.limit("BUY", "0.010", "49999.9", tif="GTX").status == "NEW"


def test_a_market_order_without_a_quote_is_rejected_with_2020() -> None:
    venue = Venue(market=False)
    with pytest.raises(ExchangeError) as caught:
        venue.market("BUY", "0.010")
    assert caught.value.code == -2020


def test_cancel_removes_a_resting_order() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    cancelled = venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": order.order_id})
    assert cancelled.status == "CANCELED"
    assert venue.engine.open_orders(venue.account) == []
    assert venue.engine.book("BTCUSDT").buys == []


def test_cancelling_an_unknown_order_answers_2011() -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": 42})
    assert (caught.value.code, caught.value.msg) == (-2011, "Unknown order sent.")


def test_cancelling_a_filled_order_answers_2011() -> None:
    venue = Venue()
    order = venue.market("BUY", "0.010")
    with pytest.raises(ExchangeError) as caught:
        venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": order.order_id})
    assert caught.value.code == -2011


def test_querying_an_unknown_order_answers_2013() -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.query_order(venue.account, {"symbol": "BTCUSDT", "origClientOrderId": "nope"})
    assert (caught.value.code, caught.value.msg) == (-2013, "Order does not exist.")


def test_an_order_can_be_queried_by_its_client_order_id() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0", newClientOrderId="pms-1")
    found = venue.engine.query_order(venue.account, {"symbol": "BTCUSDT", "origClientOrderId": "pms-1"})
    assert found.order_id == order.order_id


def test_a_duplicate_open_client_order_id_is_rejected_with_4116() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49000.0", newClientOrderId="pms-1")
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.010", "48000.0", newClientOrderId="pms-1")
    assert (caught.value.code, caught.value.msg) == (-4116, "clientOrderId is duplicated")
    assert venue.state() == before


def test_the_client_order_id_of_a_filled_order_can_be_reused() -> None:
    venue = Venue()
    venue.market("BUY", "0.010", newClientOrderId="pms-1")
    assert venue.market("BUY", "0.010", newClientOrderId="pms-1").status == "FILLED"


@pytest.mark.parametrize("client_id", ["has space", "x" * 37, "emoji🙂", "semi;colon"])
def test_a_client_order_id_outside_binances_pattern_is_rejected_with_4015(client_id: str) -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.010", "49000.0", newClientOrderId=client_id)
    assert caught.value.code == -4015


@pytest.mark.parametrize(
    "order_type", ["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]
)
def test_conditional_order_types_are_sent_to_the_algo_endpoint_with_4120(order_type: str) -> None:
    venue = Venue()
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": order_type, "quantity": "0.010", "stopPrice": "45000"}
    with pytest.raises(ExchangeError) as caught:
        venue.engine.new_order(venue.account, params)
    assert caught.value.code == -4120


def test_order_and_trade_ids_increase_monotonically() -> None:
    venue = Venue()
    first = venue.market("BUY", "0.010")
    second = venue.limit("BUY", "0.010", "49000.0")
    third = venue.market("SELL", "0.010")
    assert first.order_id < second.order_id < third.order_id
    trade_ids = [t.trade_id for t in venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})]
    assert trade_ids == sorted(trade_ids) and len(set(trade_ids)) == 2


def test_modify_changes_price_and_quantity_and_keeps_both_ids() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0", newClientOrderId="pms-1")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.020", "price": "49100.0"}
    modified = venue.engine.modify_order(venue.account, params)
    assert (modified.order_id, modified.client_order_id) == (order.order_id, "pms-1")
    assert (modified.price, modified.orig_qty, modified.status) == (D("49100.0"), D("0.020"), "NEW")


def test_a_modified_order_loses_its_queue_priority() -> None:
    venue = Venue()
    first = venue.limit("BUY", "0.010", "49000.0")
    second = venue.limit("BUY", "0.010", "49000.0")
    params = {"symbol": "BTCUSDT", "orderId": first.order_id, "side": "BUY", "quantity": "0.011", "price": "49000.0"}
    venue.engine.modify_order(venue.account, params)
    assert [o.order_id for o in venue.engine.book("BTCUSDT").buys] == [second.order_id, first.order_id]


def test_modifying_a_post_only_order_across_the_book_cancels_it() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0", tif="GTX")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "50000.0"}
    modified = venue.engine.modify_order(venue.account, params)
    assert modified.status == "CANCELED"
    assert venue.position_amt() == 0


def test_modifying_a_gtc_order_across_the_book_fills_it_as_taker() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "50001.0"}
    modified = venue.engine.modify_order(venue.account, params)
    assert (modified.status, modified.avg_price) == ("FILLED", D("50000.0"))


def test_modifying_to_the_same_price_and_quantity_answers_5027() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "49000.0"}
    with pytest.raises(ExchangeError) as caught:
        venue.engine.modify_order(venue.account, params)
    assert caught.value.code == -5027


def test_modifying_an_order_that_is_no_longer_open_answers_2013() -> None:
    venue = Venue()
    order = venue.market("BUY", "0.010")
    params = {"symbol": "BTCUSDT", "orderId": order.order_id, "side": "BUY", "quantity": "0.010", "price": "49000.0"}
    with pytest.raises(ExchangeError) as caught:
        venue.engine.modify_order(venue.account, params)
    assert caught.value.code == -2013


def test_batch_place_returns_orders_and_errors_in_request_order() -> None:
    venue = Venue()
    good = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.010"}
    results = venue.engine.new_orders_batch(
        venue.account, [{**good, "price": "49000.0"}, {**good, "price": "49000.05"}, {**good, "price": "48000.0"}]
    )
    assert [type(r).__name__ for r in results] == ["OrderView", "ExchangeError", "OrderView"]
    assert isinstance(results[1], ExchangeError) and results[1].code == -1013


def test_a_batch_of_more_than_five_orders_is_rejected_whole_and_changes_nothing() -> None:
    venue = Venue()
    item = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": "49000.0",
    }
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.new_orders_batch(venue.account, [item] * 6)
    assert caught.value.code == -4082
    assert venue.state() == before


def test_batch_cancel_returns_cancelled_orders_and_errors() -> None:
    venue = Venue()
    order = venue.limit("BUY", "0.010", "49000.0")
    results = venue.engine.cancel_orders_batch(
        venue.account, {"symbol": "BTCUSDT", "orderIdList": f"[{order.order_id}, 7]"}
    )
    assert [getattr(r, "status", None) for r in results] == ["CANCELED", None]
    assert isinstance(results[1], ExchangeError) and results[1].code == -2011


def test_cancel_all_cancels_every_open_order_of_the_symbol() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49000.0")
    venue.limit("SELL", "0.010", "51000.0")
    cancelled = venue.engine.cancel_all_orders(venue.account, {"symbol": "BTCUSDT"})
    assert len(cancelled) == 2 and venue.engine.open_orders(venue.account) == []


def test_a_reduce_only_order_without_a_position_is_rejected_with_2022() -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.market("SELL", "0.010", reduceOnly="true")
    assert (caught.value.code, caught.value.msg) == (-2022, "ReduceOnly Order is rejected.")


def test_a_reduce_only_order_on_the_side_of_the_position_is_rejected_with_2022() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    with pytest.raises(ExchangeError) as caught:
        venue.market("BUY", "0.010", reduceOnly="true")
    assert caught.value.code == -2022


def test_a_reduce_only_market_order_fills_only_up_to_the_position() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    order = venue.market("SELL", "0.050", reduceOnly="true")
    assert (order.executed_qty, order.status) == (D("0.010"), "EXPIRED")
    assert venue.position_amt() == 0


def test_resting_reduce_only_orders_expire_when_the_position_closes() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    take_profit = venue.limit("SELL", "0.010", "51000.0", reduceOnly="true")
    venue.market("SELL", "0.010")
    assert venue.order(take_profit.order_id).status == "EXPIRED"


def test_an_account_may_not_hold_more_than_the_symbols_open_order_limit() -> None:
    venue = Venue(deposit="100000000")
    for i in range(200):
        venue.limit("BUY", "0.010", str(D("40000.0") + i))
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.010", "39000.0")
    assert caught.value.code == -2025


def test_symbols_are_configurable() -> None:
    sol_only = EngineConfig(symbols=tuple(spec for spec in DEFAULT_SYMBOLS if spec.symbol == "SOLUSDT"))
    venue = Venue(sol_only, market=False)
    assert [spec.symbol for spec in venue.engine.symbols] == ["SOLUSDT"]
    with pytest.raises(ExchangeError) as caught:
        venue.limit("BUY", "0.010", "49000.0")
    assert caught.value.code == -1121


def test_a_symbol_without_a_bracket_table_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="BTCUSDT"):
        Venue(EngineConfig(brackets={}))


def test_with_a_history_bound_only_the_latest_closed_orders_and_trades_stay_queryable() -> None:
    venue = Venue(EngineConfig(history_kept=2), deposit="1000000")
    cancelled = [venue.limit("BUY", "0.010", "49000.0") for _ in range(3)]
    for order in cancelled:
        venue.engine.cancel_order(venue.account, {"symbol": "BTCUSDT", "orderId": order.order_id})
    resting = venue.limit("BUY", "0.010", "48000.0")
    for _ in range(3):
        venue.market("BUY", "0.010")
    with pytest.raises(ExchangeError):
        venue.order(cancelled[2].order_id)  # pushed out by the three market orders that filled since
    assert venue.order(resting.order_id).status == "NEW"  # an open order is never forgotten
    assert len(venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})) == 2
    assert len(venue.engine.all_orders(venue.account, {"symbol": "BTCUSDT"})) == 3  # two closed, one open
