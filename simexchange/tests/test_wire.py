"""Rendered JSON has the keys and value types of Binance's (fixtures in ../shared/data/binance-usdm-fixtures)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from simexchange import wire
from simexchange.core import ExchangeError, MatchingEngine
from simexchange.core.events import AccountUpdate, OrderTradeUpdate
from simexchange.marketdata import BookTicker, MarkPrice, Trade
from simexchange.tests.test_core_support import START_MS, D, Venue

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "binance-usdm-fixtures"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"Binance fixtures not found at {FIXTURES}")

# Keys in the fixtures that come from Binance's documentation examples but not from live captures
# (../shared/data/PROVENANCE.md lists the captured fields) or that belong to order types we do not serve.
DOC_ONLY_STREAM_KEYS = {"st", "ps"}
TRAILING_STOP_KEYS = {"activatePrice", "priceRate"}


def fixture(relative: str) -> Any:
    data = json.loads((FIXTURES / relative).read_text())
    return data["data"] if isinstance(data, dict) and "stream" in data and "data" in data else data


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list is described by its first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def assert_same_shape(
    rendered: dict[str, Any],
    expected: dict[str, Any],
    *,
    drop: frozenset[str] | set[str] = frozenset(),
    add: frozenset[str] | set[str] = frozenset(),
) -> None:
    assert set(rendered) == (set(expected) - drop) | add
    for key in set(rendered) & set(expected):
        if isinstance(expected[key], list) and not expected[key]:
            assert isinstance(rendered[key], list), key
        else:
            assert shape(rendered[key]) == shape(expected[key]), key


@pytest.fixture
def venue() -> Venue:
    venue = Venue()
    venue.market("BUY", "0.010")
    venue.limit("BUY", "0.010", "49000.0")
    return venue


def specs(engine: MatchingEngine) -> dict[str, Any]:
    return wire.specs_by_symbol(engine.symbols)


def test_exchange_info_has_binances_top_level_shape() -> None:
    engine = Venue().engine
    rendered = wire.exchange_info(engine.symbols, engine.config.rate_limits, START_MS)
    expected = fixture("py_http_responses/http_futures_market_exchange_info.json")
    assert set(rendered) == set(expected)
    assert shape(rendered["rateLimits"]) == shape(expected["rateLimits"])
    assert shape(rendered["assets"]) == shape(expected["assets"])


def test_exchange_info_symbols_and_filters_have_binances_shape() -> None:
    engine = Venue().engine
    rendered = wire.exchange_info(engine.symbols, engine.config.rate_limits, START_MS)["symbols"][0]
    expected = fixture("py_http_responses/http_futures_market_exchange_info.json")["symbols"][0]
    assert_same_shape(
        {k: v for k, v in rendered.items() if k != "filters"}, {k: v for k, v in expected.items() if k != "filters"}
    )
    expected_filters = {f["filterType"]: f for f in expected["filters"]}
    assert [f["filterType"] for f in rendered["filters"]] == list(expected_filters)
    for rendered_filter in rendered["filters"]:
        assert shape(rendered_filter) == shape(expected_filters[rendered_filter["filterType"]])


def test_exchange_info_serves_the_configured_rate_limits_and_symbols() -> None:
    engine = Venue().engine
    rendered = wire.exchange_info(engine.symbols, engine.config.rate_limits, START_MS)
    assert [s["symbol"] for s in rendered["symbols"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert [r["limit"] for r in rendered["rateLimits"]] == [2400, 1200, 300]
    assert rendered["symbols"][0]["filters"][0]["tickSize"] == "0.10"


def test_an_order_result_has_binances_shape(venue: Venue) -> None:
    [view] = venue.engine.open_orders(venue.account)
    rendered = wire.order(view, venue.engine.spec("BTCUSDT"))
    assert_same_shape(rendered, fixture("rust_futures/http_json/order_response.json"))
    assert (rendered["price"], rendered["origQty"], rendered["executedQty"]) == ("49000.00", "0.010", "0.000")


def test_open_and_all_orders_rows_have_binances_shape(venue: Venue) -> None:
    rows = wire.orders(venue.engine.all_orders(venue.account, {"symbol": "BTCUSDT"}), specs(venue.engine))
    expected = fixture("py_http_responses/http_futures_account_orders.json")[0]
    newer = {"priceMatch", "selfTradePreventionMode", "goodTillDate"}  # fields Binance added after the fixture
    for row in rows:
        assert_same_shape(row, expected, drop=TRAILING_STOP_KEYS, add=newer)


def test_batch_results_mix_orders_and_error_bodies(venue: Venue) -> None:
    [view] = venue.engine.open_orders(venue.account)
    rendered = wire.batch_results([view, ExchangeError(-2019, "Margin is insufficient.")], specs(venue.engine))
    assert rendered[1] == {"code": -2019, "msg": "Margin is insufficient."}
    assert rendered[0]["orderId"] == view.order_id


def test_a_user_trade_has_binances_shape(venue: Venue) -> None:
    [trade] = venue.engine.user_trades(venue.account, {"symbol": "BTCUSDT"})
    rendered = wire.user_trade(trade, venue.engine.spec("BTCUSDT"))
    assert_same_shape(rendered, fixture("py_http_responses/http_futures_account_trades.json")[1])


def test_position_risk_v2_has_binances_shape(venue: Venue) -> None:
    view = venue.engine.positions(venue.account, "BTCUSDT")[0]
    rendered = wire.position_risk_v2(view, venue.engine.spec("BTCUSDT"))
    assert_same_shape(rendered, fixture("rust_futures/http_json/position_risk.json")[0])
    assert rendered["positionAmt"] == "0.010"


# No fixture holds a v3 position, a v3 account, a leverage change or a bracket table: these are the
# response examples of Binance's documentation (developers.binance.com, USDS-M futures), abridged.
POSITION_RISK_V3 = {
    "symbol": "ADAUSDT", "positionSide": "BOTH", "positionAmt": "30", "entryPrice": "0.385",
    "breakEvenPrice": "0.385077", "markPrice": "0.41047590", "unRealizedProfit": "0.76427700",
    "liquidationPrice": "0", "isolatedMargin": "0", "notional": "12.31427700", "marginAsset": "USDT",
    "isolatedWallet": "0", "initialMargin": "0.61571385", "maintMargin": "0.08004280",
    "positionInitialMargin": "0.61571385", "openOrderInitialMargin": "0", "adl": 2, "bidNotional": "0",
    "askNotional": "0", "updateTime": 1720736417660,
}  # fmt: skip
ACCOUNT_V3_POSITION = {
    "symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "1.000", "unrealizedProfit": "0.00000000",
    "isolatedMargin": "0.00000000", "notional": "0", "isolatedWallet": "0", "initialMargin": "0",
    "maintMargin": "0", "updateTime": 0,
}  # fmt: skip
LEVERAGE_CHANGE = {"leverage": 21, "maxNotionalValue": "1000000", "symbol": "BTCUSDT"}
LEVERAGE_BRACKET: dict[str, Any] = {
    "symbol": "ETHUSDT",
    "brackets": [
        {
            "bracket": 1,
            "initialLeverage": 75,
            "notionalCap": 10000,
            "notionalFloor": 0,
            "maintMarginRatio": 0.0065,
            "cum": 0.0,
        }
    ],
}


def test_position_risk_v3_has_binances_shape(venue: Venue) -> None:
    view = venue.engine.positions(venue.account, "BTCUSDT", active_only=True)[0]
    assert_same_shape(wire.position_risk_v3(view, venue.engine.spec("BTCUSDT")), POSITION_RISK_V3)


def test_account_v2_has_binances_shape(venue: Venue) -> None:
    rendered = wire.account_v2(venue.engine.account(venue.account), specs(venue.engine))
    assert_same_shape(rendered, fixture("rust_futures/http_json/account_info_v2.json"))
    assert len(rendered["positions"]) == 3


def test_account_v3_has_binances_shape_and_lists_only_open_positions(venue: Venue) -> None:
    rendered = wire.account_v3(venue.engine.account(venue.account), specs(venue.engine))
    v2 = fixture("rust_futures/http_json/account_info_v2.json")
    v3_top = {k: v for k, v in v2.items() if k.startswith("total") or k in ("availableBalance", "maxWithdrawAmount")}
    assert_same_shape({k: v for k, v in rendered.items() if k not in ("assets", "positions")}, v3_top)
    assert shape(rendered["assets"]) == shape(v2["assets"])
    assert [p["symbol"] for p in rendered["positions"]] == ["BTCUSDT"]
    assert_same_shape(rendered["positions"][0], ACCOUNT_V3_POSITION)


def test_balance_has_binances_shape(venue: Venue) -> None:
    [row] = wire.balance(venue.engine.account(venue.account))
    assert_same_shape(row, fixture("rust_futures/http_json/balance.json")[0])


def test_a_leverage_change_has_binances_shape(venue: Venue) -> None:
    rendered = wire.leverage_change(venue.engine.set_leverage(venue.account, "BTCUSDT", 21))
    assert_same_shape(rendered, LEVERAGE_CHANGE)


def test_leverage_brackets_have_binances_shape() -> None:
    engine = Venue().engine
    [rendered] = wire.leverage_brackets(engine.leverage_brackets("ETHUSDT"))
    assert set(rendered) == {"symbol", "brackets"}
    assert set(rendered["brackets"][1]) == set(LEVERAGE_BRACKET["brackets"][0])
    assert rendered["brackets"][1]["maintMarginRatio"] == 0.0065
    assert isinstance(rendered["brackets"][0]["notionalCap"], int)


def test_an_order_trade_update_for_a_fill_has_binances_shape() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    [fill] = venue.fills()
    rendered = wire.order_trade_update(fill, venue.engine.spec("BTCUSDT"))
    expected = fixture("rust_futures/user_data_json/order_update_trade.json")
    assert set(rendered) == set(expected)
    # AP and cr are pushed for trailing stops only; pm and gtd are newer than the fixture.
    assert_same_shape(rendered["o"], expected["o"], drop={"AP", "cr"}, add={"pm", "gtd"})
    assert (rendered["o"]["x"], rendered["o"]["X"], rendered["o"]["l"], rendered["o"]["N"]) == (
        "TRADE",
        "FILLED",
        "0.010",
        "USDT",
    )


def test_an_order_trade_update_without_a_fill_omits_the_commission() -> None:
    venue = Venue()
    venue.limit("BUY", "0.010", "49000.0")
    [event] = venue.engine.events.drain()
    assert isinstance(event, OrderTradeUpdate)
    rendered = wire.order_trade_update(event, venue.engine.spec("BTCUSDT"))
    expected = fixture("rust_futures/user_data_json/order_update_new.json")["o"]
    assert_same_shape(rendered["o"], expected, drop={"AP", "cr", "N", "n"}, add={"pm", "gtd"})


def test_an_account_update_has_binances_shape() -> None:
    venue = Venue()
    venue.market("BUY", "0.010")
    [update] = [e for e in venue.engine.events.drain() if isinstance(e, AccountUpdate)]
    rendered = wire.user_event(update, specs(venue.engine))
    assert_same_shape(rendered, fixture("rust_futures/user_data_json/account_update.json"))
    assert rendered["a"]["P"][0]["pa"] == "0.010"


def test_a_book_ticker_payload_has_binances_shape() -> None:
    ticker = BookTicker("BTCUSDT", 7, D("50000.0"), D("1.5"), D("50000.1"), D("2"), START_MS, START_MS + 1)
    rendered = wire.book_ticker(ticker, Venue(market=False).engine.spec("BTCUSDT"))
    assert_same_shape(
        rendered, fixture("rust_futures/market_data_json/book_ticker_stream.json"), drop=DOC_ONLY_STREAM_KEYS
    )


def test_a_mark_price_payload_has_binances_shape() -> None:
    mark = MarkPrice("BTCUSDT", D("50000.12"), D("50001"), D("50000.5"), D("0.0001"), START_MS + 1000, START_MS)
    assert_same_shape(
        wire.mark_price_update(mark),
        fixture("rust_futures/market_data_json/mark_price_stream.json"),
        drop=DOC_ONLY_STREAM_KEYS,
    )


def test_a_trade_payload_has_binances_shape() -> None:
    trade = Trade("BTCUSDT", 11, D("50000.0"), D("0.004"), True, START_MS, START_MS + 1)
    rendered = wire.trade(trade, Venue(market=False).engine.spec("BTCUSDT"))
    # The live captures (PROVENANCE.md) carry "X"; the documentation example lacks it.
    assert_same_shape(rendered, fixture("rust_futures/market_data_json/trade_stream.json"), add={"X"})


def test_an_agg_trade_payload_has_binances_shape() -> None:
    trade = Trade("BTCUSDT", 11, D("50000.0"), D("0.004"), True, START_MS, START_MS + 1)
    rendered = wire.agg_trade(trade, Venue(market=False).engine.spec("BTCUSDT"))
    assert_same_shape(
        rendered, fixture("rust_futures/market_data_json/agg_trade_stream.json"), drop=DOC_ONLY_STREAM_KEYS
    )


def test_rest_book_ticker_and_premium_index_have_binances_shape() -> None:
    spec = Venue(market=False).engine.spec("BTCUSDT")
    ticker = BookTicker("BTCUSDT", 7, D("50000.0"), D("1.5"), D("50000.1"), D("2"), START_MS, START_MS + 1)
    mark = MarkPrice("BTCUSDT", D("50000.12"), D("50001"), D("50000.5"), D("0.0001"), START_MS + 1000, START_MS)
    assert_same_shape(
        wire.book_ticker_rest(ticker, spec), fixture("py_http_responses/http_futures_market_book_ticker.json")
    )
    assert_same_shape(wire.premium_index(mark), fixture("py_http_responses/http_futures_market_premium_index.json"))


def test_an_error_renders_as_code_and_msg() -> None:
    assert wire.error(ExchangeError(-1121, "Invalid symbol.")) == {"code": -1121, "msg": "Invalid symbol."}


def test_fixed_point_text_never_uses_exponent_notation() -> None:
    assert wire.fixed(Decimal("0E-10"), 8) == "0.00000000"
    assert wire.fixed(Decimal("1E+3"), 2) == "1000.00"
