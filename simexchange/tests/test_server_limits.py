"""Request-weight and order-count headers, the real limits (429, then 418 with Retry-After), and signatures."""

from __future__ import annotations

import json
from decimal import Decimal

import aiohttp
import pytest

from simexchange.core import EngineConfig, RateLimitConfig
from simexchange.server import ServerConfig, SimExchange
from simexchange.server.auth import sign, split_signature, verify_signature
from simexchange.server.runner import engine_config_for
from simexchange.tests.conftest import API_KEY, SECRET, seed_prices, signed

pytestmark = pytest.mark.timeout(30)
ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.01",
    "price": "60000",
}


def _counts(headers: dict[str, str]) -> tuple[int, int, int]:
    return (
        int(headers["X-MBX-USED-WEIGHT-1M"]),
        int(headers["X-MBX-ORDER-COUNT-10S"]),
        int(headers["X-MBX-ORDER-COUNT-1M"]),
    )


async def test_headers_count_weight_and_orders(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    _, _, headers = await signed(http, sim, "GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    weight, orders_10s, orders_1m = _counts(headers)
    assert (orders_10s, orders_1m) == (0, 0)
    _, _, headers = await signed(http, sim, "GET", "/fapi/v1/openOrders")
    assert _counts(headers) == (weight + 40, 0, 0)  # 40 without a symbol
    _, placed, headers = await signed(http, sim, "POST", "/fapi/v1/order", ORDER)
    assert _counts(headers) == (weight + 40, 1, 1)  # a new order costs no IP weight
    ref = {"symbol": "BTCUSDT", "orderId": placed["orderId"], "side": "BUY", "quantity": "0.02", "price": "60001"}
    _, _, headers = await signed(http, sim, "PUT", "/fapi/v1/order", ref)
    assert _counts(headers) == (weight + 41, 2, 2)  # a modify counts as an order
    _, _, headers = await signed(
        http, sim, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    )
    assert _counts(headers) == (weight + 42, 2, 2)  # a cancel costs weight only
    batch = json.dumps([{**ORDER, "price": str(59000 + i)} for i in range(3)])
    _, _, headers = await signed(http, sim, "POST", "/fapi/v1/batchOrders", {"batchOrders": batch})
    assert _counts(headers) == (weight + 47, 5, 5)


async def test_error_replies_carry_the_headers_too(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    status, _, headers = await signed(http, sim, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "1"})
    assert status == 400 and _counts(headers)[0] >= 1


async def test_exceeding_request_weight_gives_429_then_an_ip_ban(http: aiohttp.ClientSession) -> None:
    limits = RateLimitConfig(request_weight_per_minute=5, ban_after_violations=1, ban_seconds=120)
    engine_config = EngineConfig(symbols=engine_config_for(("BTCUSDT",)).symbols, rate_limits=limits)
    config = ServerConfig(source=None, symbols=("BTCUSDT",), api_key=API_KEY, secret=SECRET)
    async with SimExchange(config, engine_config) as sim:
        statuses = []
        for _ in range(8):
            async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
                statuses.append((resp.status, resp.headers.get("Retry-After")))
        assert [s for s, _ in statuses[:5]] == [200] * 5
        assert statuses[5][0] == 429 and int(statuses[5][1] or 0) >= 1
        assert statuses[6] == (418, "120")
        assert statuses[7][0] == 418
        assert sim.bugs == []


async def test_exceeding_the_order_rate_gives_1015(http: aiohttp.ClientSession) -> None:
    limits = RateLimitConfig(orders_per_10s=2)
    engine_config = EngineConfig(symbols=engine_config_for(("BTCUSDT",)).symbols, rate_limits=limits)
    config = ServerConfig(source=None, symbols=("BTCUSDT",), api_key=API_KEY, secret=SECRET, balance=Decimal(10**6))
    async with SimExchange(config, engine_config) as sim:
        await seed_prices(sim)
        codes = []
        for i in range(3):
            _, body, _ = await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "price": str(60000 + i)})
            codes.append(body.get("code"))
        assert codes == [None, None, -1015]
        assert len(sim.engine.open_orders(1)) == 2


def test_signature_is_checked_over_query_plus_body() -> None:
    query, body = "symbol=BTCUSDT&timestamp=1", "side=BUY&quantity=1"
    good = sign(SECRET, query + body)
    verify_signature(SECRET, query, f"{body}&signature={good}")
    verify_signature(SECRET, f"{query}&signature={good.upper()}", body)  # hex is case-insensitive
    assert split_signature("signature=abc&a=1", "") == ("a=1", "abc")
    with pytest.raises(Exception, match="-1022"):
        verify_signature(SECRET, query, f"side=SELL&quantity=1&signature={good}")
