"""Binance payloads to Decimal value types: order events (fills, liquidations), account updates, filters."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading.domain.orders import OrderStatus
from trading.domain.types import OrderType, Side
from trading.venues.ccxt_parse import (
    account_event,
    limits_from_exchange_info,
    order_event,
    order_from_rest,
)
from trading.venues.ccxt_stream import StreamBroken, decode_user_message

D = Decimal
FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "binance-usdm-fixtures"

TRADE_EVENT: dict[str, Any] = {
    "e": "ORDER_TRADE_UPDATE", "T": 1568879465651, "E": 1568879465653,
    "o": {"s": "BTCUSDT", "c": "PMSa1b2c3d4_LMT_9", "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.002",
          "p": "7100.50", "ap": "7100.50", "sp": "0", "x": "TRADE", "X": "PARTIALLY_FILLED", "i": 8886774,
          "l": "0.001", "z": "0.001", "L": "7100.50", "N": "USDT", "n": "0.01000000", "T": 1568879465651,
          "t": 12345678, "m": True, "R": False, "ot": "LIMIT", "ps": "BOTH", "rp": "12.34"},
}


def fixture(relative: str) -> Any:
    path = FIXTURES / relative
    if not path.exists():
        pytest.skip(f"fixture data not available: {path}")
    data = json.loads(path.read_text())
    return data.get("data", data) if "stream" in data else data


def test_a_trade_event_carries_the_fill_with_every_field() -> None:
    event = order_event(TRADE_EVENT)

    assert event.execution_type == "TRADE" and event.event_ms == 1568879465653
    assert (event.order.status, event.order.filled_quantity, event.order.average_price) == (
        OrderStatus.PARTIALLY_FILLED, D("0.001"), D("7100.50"))
    trade = event.trade
    assert trade is not None
    assert (trade.trade_key, trade.client_order_id, trade.exchange_order_id) == (
        "BTCUSDT:12345678", "PMSa1b2c3d4_LMT_9", "8886774")
    assert (trade.side, trade.price, trade.quantity, trade.fee, trade.fee_asset) == (
        Side.BUY, D("7100.50"), D("0.001"), D("0.01000000"), "USDT")
    assert (trade.is_maker, trade.realized_pnl, trade.time_ms) == (True, D("12.34"), 1568879465651)


def test_a_new_event_has_no_trade() -> None:
    message = {**TRADE_EVENT, "o": {**TRADE_EVENT["o"], "x": "NEW", "X": "NEW", "l": "0", "z": "0", "ap": "0"}}

    event = order_event(message)

    assert event.trade is None and event.order.status is OrderStatus.NEW and event.order.average_price is None


@pytest.mark.parametrize("name", ["order_update_adl.json", "order_update_insurance.json"])
def test_liquidation_and_adl_fills_reported_as_calculated_carry_the_trade(name: str) -> None:
    event = order_event(fixture(f"rust_futures/user_data_json/{name}"))

    assert event.execution_type == "CALCULATED" and event.trade is not None and event.trade.quantity > 0
    assert event.order.status is OrderStatus.FILLED  # NEW_ADL / NEW_INSURANCE with the whole quantity filled


def test_a_zero_quantity_liquidation_report_has_no_trade() -> None:
    event = order_event(fixture("py_ws_messages/ws_futures_order_update_liquidation_zero_qty.json"))

    assert event.trade is None and event.order.client_order_id.startswith("autoclose-")


def test_every_order_update_fixture_parses() -> None:
    folders = [FIXTURES / "rust_futures" / "user_data_json", FIXTURES / "py_ws_messages"]
    if not all(f.exists() for f in folders):
        pytest.skip("fixture data not available")
    parsed = 0
    for path in sorted(p for f in folders for p in f.glob("*.json")):
        data = json.loads(path.read_text())
        data = data.get("data", data) if "stream" in data else data
        if data.get("e") in ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"):
            assert decode_user_message(data) is not None, path.name
            parsed += 1
    assert parsed >= 10


def test_an_account_update_lists_balances_and_changed_positions() -> None:
    event = account_event(fixture("rust_futures/user_data_json/account_update.json"))

    assert event.reason == "ORDER" and event.event_ms == 1564745798939
    assert [(b.asset, b.wallet_balance) for b in event.balances] == [("USDT", D("122624.12345678"))]
    assert [(p.quantity, p.entry_price) for p in event.positions] == [(D(0), D(0)), (D(20), D("6563.6")),
                                                                     (D(-10), D("6563.8"))]


def test_listen_key_expired_breaks_the_stream_and_other_events_are_ignored() -> None:
    with pytest.raises(StreamBroken):
        decode_user_message({"e": "listenKeyExpired", "E": 1})
    assert decode_user_message({"e": "TRADE_LITE", "E": 1}) is None
    assert decode_user_message({"stream": "k", "data": TRADE_EVENT}) is not None


def test_a_rest_order_with_every_status() -> None:
    info = {"orderId": 7, "symbol": "ETHUSDT", "status": "EXPIRED_IN_MATCH", "clientOrderId": "x", "price": "0",
            "avgPrice": "0.00", "origQty": "1.000", "executedQty": "0.000", "type": "MARKET", "side": "SELL",
            "reduceOnly": True, "updateTime": 5}

    order = order_from_rest(info)

    assert (order.status, order.order_type, order.side, order.price, order.reduce_only, order.updated_ms) == (
        OrderStatus.EXPIRED, OrderType.MARKET, Side.SELL, None, True, 5)


def test_rate_limits_are_read_by_interval() -> None:
    limits = limits_from_exchange_info([
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 1, "limit": 50},
    ])

    assert (limits.request_weight_per_minute, limits.orders_per_10s, limits.orders_per_minute) == (6000, 300, 1200)
    assert limits.extra == {"ORDERS_1000": 50}
