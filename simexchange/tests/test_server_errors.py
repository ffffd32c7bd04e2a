"""Each Binance error code reaches ccxt as the class ccxt raises against the real host (fapi.binance.com)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from simexchange.ccxt_config import copy_linear_error_map
from simexchange.server import SimExchange
from simexchange.tests.conftest import BTC, ETH

pytestmark = pytest.mark.timeout(30)
REAL_HOST_URL = "https://fapi.binance.com/fapi/v1/order"


def real_host_class(status: int, body: str) -> type[Exception]:
    """The exception ccxt raises for this HTTP status and body when the URL is Binance's futures host."""
    reference = ccxt.binanceusdm()
    try:
        reference.handle_errors(status, "", REAL_HOST_URL, "POST", {}, body, json.loads(body), {}, None)
    except Exception as exc:  # the class is what we want
        return type(exc)
    raise AssertionError(f"ccxt raises nothing for {status} {body}")


Scenario = Callable[[Any, SimExchange], Awaitable[Any]]


async def _insufficient_margin(ex: Any, sim: SimExchange) -> Any:
    return await ex.create_order(BTC, "market", "buy", 100)


async def _cancel_unknown(ex: Any, sim: SimExchange) -> Any:
    return await ex.cancel_order("123456", BTC)


async def _fetch_unknown(ex: Any, sim: SimExchange) -> Any:
    return await ex.fetch_order("123456", BTC)


async def _clock_skew(ex: Any, sim: SimExchange) -> Any:
    await sim.add_fault(kind="clock_skew", ms=-30_000)
    return await ex.fetch_balance()


async def _post_only_crosses(ex: Any, sim: SimExchange) -> Any:
    return await ex.create_order(BTC, "limit", "buy", 0.01, 64000.1, {"postOnly": True})


async def _notional_too_small(ex: Any, sim: SimExchange) -> Any:
    return await ex.create_order(BTC, "limit", "buy", 0.001, 60000)


async def _reduce_only_without_position(ex: Any, sim: SimExchange) -> Any:
    return await ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})


async def _duplicate_client_id(ex: Any, sim: SimExchange) -> Any:
    await ex.create_order(BTC, "limit", "buy", 0.01, 60000, {"clientOrderId": "PMSdup_1"})
    return await ex.create_order(BTC, "limit", "buy", 0.01, 60001, {"clientOrderId": "PMSdup_1"})


async def _stop_on_order_endpoint(ex: Any, sim: SimExchange) -> Any:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.01", "stopPrice": "65000"}
    return await ex.fapiPrivatePostOrder(params)


async def _stop_would_trigger(ex: Any, sim: SimExchange) -> Any:
    return await ex.create_order(BTC, "market", "buy", 0.01, None, {"triggerPrice": 63000})


async def _bad_symbol(ex: Any, sim: SimExchange) -> Any:
    return await ex.fapiPrivateGetOpenOrders({"symbol": "NOPEUSDT"})


async def _missing_quantity(ex: Any, sim: SimExchange) -> Any:
    return await ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"})


async def _bad_leverage(ex: Any, sim: SimExchange) -> Any:
    return await ex.set_leverage(101, ETH)


async def _unknown_listen_key(ex: Any, sim: SimExchange) -> Any:
    return await ex.fapiPrivatePutListenKey({"listenKey": "nope" * 16})


async def _rate_limited(ex: Any, sim: SimExchange) -> Any:
    await sim.add_fault(kind="rate_limit", count=1, retry_after_s=30)
    return await ex.fetch_balance()


async def _banned(ex: Any, sim: SimExchange) -> Any:
    await sim.add_fault(kind="rate_limit", count=1, retry_after_s=30)
    with pytest.raises(ccxt.DDoSProtection):
        await ex.fetch_balance()
    return await ex.fetch_balance()


async def _timeout_after_execution(ex: Any, sim: SimExchange) -> Any:
    await sim.add_fault(kind="error_after", path="/fapi/v1/order", code=-1007, count=1)
    return await ex.create_order(BTC, "limit", "buy", 0.01, 60000)


async def _server_error(ex: Any, sim: SimExchange) -> Any:
    await sim.add_fault(kind="error_before", path="/fapi/v3/account", status=503, count=1)
    return await ex.fetch_balance()


SCENARIOS: list[tuple[str, int, int, Scenario, type[Exception]]] = [
    ("margin insufficient", 400, -2019, _insufficient_margin, ccxt.InsufficientFunds),
    ("cancel unknown order", 400, -2011, _cancel_unknown, ccxt.OrderNotFound),
    ("query unknown order", 400, -2013, _fetch_unknown, ccxt.OrderNotFound),
    ("timestamp ahead of server", 400, -1021, _clock_skew, ccxt.InvalidNonce),
    ("post-only would take", 400, -5022, _post_only_crosses, ccxt.InvalidOrder),
    ("notional below minimum", 400, -4164, _notional_too_small, ccxt.InvalidOrder),
    ("reduce-only rejected", 400, -2022, _reduce_only_without_position, ccxt.InvalidOrder),
    ("duplicate client id", 400, -4116, _duplicate_client_id, ccxt.InvalidOrder),
    ("stop on the order endpoint", 400, -4120, _stop_on_order_endpoint, ccxt.InvalidOrder),
    ("stop would trigger", 400, -2021, _stop_would_trigger, ccxt.OrderImmediatelyFillable),
    ("unknown symbol", 400, -1121, _bad_symbol, ccxt.BadSymbol),
    ("missing parameter", 400, -1102, _missing_quantity, ccxt.BadRequest),
    ("leverage out of range", 400, -4028, _bad_leverage, ccxt.BadRequest),
    ("unknown listenKey", 400, -1125, _unknown_listen_key, ccxt.AuthenticationError),
    ("429 too many requests", 429, -1003, _rate_limited, ccxt.DDoSProtection),
    ("418 IP ban", 418, -1003, _banned, ccxt.DDoSProtection),
    ("-1007 after execution", 408, -1007, _timeout_after_execution, ccxt.RequestTimeout),
    ("5xx", 503, -1001, _server_error, ccxt.OperationFailed),
]


@pytest.mark.parametrize(
    ("status", "code", "scenario", "family"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
async def test_error_code_raises_the_real_hosts_ccxt_class(
    exchange: Any, sim: SimExchange, status: int, code: int, scenario: Scenario, family: type[Exception]
) -> None:
    with pytest.raises(ccxt.BaseError) as caught:
        await scenario(exchange, sim)
    body = exchange.last_http_response
    assert json.loads(body)["code"] == code
    expected = real_host_class(status, body)
    assert type(caught.value) is expected
    assert isinstance(caught.value, family)


async def test_without_the_copied_map_futures_codes_raise_plain_exchange_error(sim: SimExchange) -> None:
    """Why copy_linear_error_map exists: ccxt picks the futures map by the URL host."""
    ex = ccxtpro.binanceusdm({**sim.ccxt_config(), "enableRateLimit": False})
    try:
        with pytest.raises(ccxt.ExchangeError) as caught:
            await ex.create_order(BTC, "market", "buy", 100)
        assert type(caught.value) is ccxt.ExchangeError
        copy_linear_error_map(ex)
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order(BTC, "market", "buy", 100)
    finally:
        await ex.close()


async def test_wrong_secret_is_an_authentication_error(sim: SimExchange) -> None:
    config = {**sim.ccxt_config(), "secret": "not-the-secret", "enableRateLimit": False}
    ex = ccxtpro.binanceusdm(config)
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await ex.fetch_balance()
    finally:
        await ex.close()


async def test_unknown_api_key_is_an_authentication_error(sim: SimExchange) -> None:
    config = {**sim.ccxt_config(), "apiKey": "unknownKey", "enableRateLimit": False}
    ex = ccxtpro.binanceusdm(config)
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await ex.fetch_balance()
    finally:
        await ex.close()
