"""exchangeInfo filters and bad request parameters: the right code, Binance's message, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from simexchange.core import ExchangeError
from simexchange.tests.test_core_support import Venue

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "49000.0",
}
MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}


def _without(params: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != key}


Case = tuple[str, dict[str, Any], int, str | None]
FILTER_CASES: list[Case] = [
    ("price off the tick grid", {**LIMIT, "price": "49000.05"}, -1013, "Filter failure: PRICE_FILTER"),
    ("price below minPrice", {**LIMIT, "price": "401.9"}, -1013, "Filter failure: PRICE_FILTER"),
    ("price above maxPrice", {**LIMIT, "side": "SELL", "price": "1246396.70"}, -1013, "Filter failure: PRICE_FILTER"),
    ("quantity off the step", {**LIMIT, "quantity": "0.0105"}, -1013, "Filter failure: LOT_SIZE"),
    ("quantity below minQty", {**LIMIT, "quantity": "0.000"}, -1013, "Filter failure: LOT_SIZE"),
    ("quantity above maxQty", {**LIMIT, "quantity": "1000.001"}, -1013, "Filter failure: LOT_SIZE"),
    ("market quantity above its max", {**MARKET, "quantity": "1000.001"}, -1013, "Filter failure: MARKET_LOT_SIZE"),
    ("buy above mark x 1.05", {**LIMIT, "price": "52500.1"}, -1013, "Filter failure: PERCENT_PRICE"),
    ("sell below mark x 0.95", {**LIMIT, "side": "SELL", "price": "47499.9"}, -1013, "Filter failure: PERCENT_PRICE"),
    (
        "notional below 100",
        {**LIMIT, "quantity": "0.001"},
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only)",
    ),
]

PARAM_CASES: list[Case] = [
    (
        "no symbol",
        _without(LIMIT, "symbol"),
        -1102,
        "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
    ),
    ("unknown symbol", {**LIMIT, "symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
    (
        "no side",
        _without(LIMIT, "side"),
        -1102,
        "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
    ),
    ("bad side", {**LIMIT, "side": "HOLD"}, -1117, "Invalid side."),
    (
        "no type",
        _without(LIMIT, "type"),
        -1102,
        "Mandatory parameter 'type' was not sent, was empty/null, or malformed.",
    ),
    ("bad type", {**LIMIT, "type": "ICEBERG"}, -1116, "Invalid orderType."),
    ("no quantity", _without(LIMIT, "quantity"), -1102, None),
    ("empty quantity", {**LIMIT, "quantity": ""}, -1102, None),
    ("non-numeric quantity", {**LIMIT, "quantity": "ten"}, -1100, None),
    ("negative quantity", {**LIMIT, "quantity": "-1"}, -1100, None),
    ("float quantity", {**LIMIT, "quantity": 0.01}, -1100, None),
    ("limit without price", _without(LIMIT, "price"), -1102, None),
    ("limit without timeInForce", _without(LIMIT, "timeInForce"), -1102, None),
    ("bad timeInForce", {**LIMIT, "timeInForce": "GTD2"}, -1115, "Invalid timeInForce."),
    ("market with a price", {**MARKET, "price": "50000"}, -1106, "Parameter 'price' sent when not required."),
    ("bad reduceOnly", {**LIMIT, "reduceOnly": "maybe"}, -1130, None),
    ("hedge-mode positionSide", {**LIMIT, "positionSide": "LONG"}, -4061, None),
    ("bad newOrderRespType", {**LIMIT, "newOrderRespType": "FULL"}, -1136, None),
]


@pytest.mark.parametrize(
    ("case", "params", "code", "msg"), FILTER_CASES + PARAM_CASES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_bad_order_is_rejected_with_binances_code_and_changes_nothing(
    case: str, params: dict[str, Any], code: int, msg: str | None
) -> None:
    venue = Venue()
    before = venue.state()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.new_order(venue.account, params)
    assert caught.value.code == code, case
    assert msg is None or caught.value.msg == msg
    assert caught.value.http_status == 400
    assert venue.state() == before


def test_a_reduce_only_order_is_exempt_from_the_minimum_notional() -> None:
    venue = Venue()
    venue.market("BUY", "0.003")
    assert venue.market("SELL", "0.001", reduceOnly="true").status == "FILLED"


def test_a_market_order_whose_touch_is_outside_the_percent_price_band_is_rejected_with_4131() -> None:
    venue = Venue()
    venue.quote("52600.0", "52600.1")
    with pytest.raises(ExchangeError) as caught:
        venue.market("BUY", "0.010")
    assert caught.value.code == -4131


def test_the_percent_price_band_is_not_applied_before_a_mark_exists() -> None:
    venue = Venue(market=False)
    assert venue.limit("BUY", "0.010", "60000.0").status == "NEW"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"symbol": "BTCUSDT"}, -1102),
        ({"orderId": 1}, -1102),
        ({"symbol": "XRPUSDT", "orderId": 1}, -1121),
        ({"symbol": "BTCUSDT", "orderId": "1x"}, -1100),
    ],
)
def test_a_bad_cancel_is_rejected_with_binances_code(params: dict[str, Any], code: int) -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.cancel_order(venue.account, params)
    assert caught.value.code == code


@pytest.mark.parametrize("ids", ["[1,", "[]", '["a"]', None])
def test_a_bad_batch_cancel_list_is_rejected_with_1102(ids: str | None) -> None:
    venue = Venue()
    params = {"symbol": "BTCUSDT"} if ids is None else {"symbol": "BTCUSDT", "orderIdList": ids}
    with pytest.raises(ExchangeError) as caught:
        venue.engine.cancel_orders_batch(venue.account, params)
    assert caught.value.code == -1102


def test_an_unknown_account_is_refused_with_2015() -> None:
    venue = Venue()
    with pytest.raises(ExchangeError) as caught:
        venue.engine.new_order(99, LIMIT)
    assert (caught.value.code, caught.value.http_status) == (-2015, 401)
