"""The opt-in latency trace (/_sim/trace) and the always-on counters of error answers."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from simexchange.__main__ import config_from_args, parse_args
from simexchange.core import EngineConfig, RateLimitConfig
from simexchange.server import ServerConfig, SimExchange
from simexchange.server.runner import engine_config_for
from simexchange.tests.conftest import API_KEY, SECRET, push_quote, seed_prices, signed

pytestmark = pytest.mark.timeout(30)
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.002"}


async def _post(http: aiohttp.ClientSession, sim: SimExchange, path: str, payload: Any) -> Any:
    async with http.post(sim.base_url + path, json=payload) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _get(http: aiohttp.ClientSession, sim: SimExchange, path: str) -> Any:
    async with http.get(sim.base_url + path) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_traced_book_ticker_is_stamped_when_written_to_the_socket(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    await _post(http, sim, "/_sim/trace", {"enabled": True})
    async with http.ws_connect(sim.base_url + "/stream?streams=btcusdt@bookTicker") as ws:
        for _ in range(200):
            if sim.ctx.hub.has_subscribers("btcusdt@bookTicker"):
                break
            await asyncio.sleep(0.01)
        before = time.time_ns()
        await push_quote(sim, "BTCUSDT", "64010.0", "64010.1")
        data = (await asyncio.wait_for(ws.receive_json(), 5))["data"]
        after = time.time_ns()
    quotes = (await _get(http, sim, "/_sim/trace"))["quotes"]
    assert len(quotes) == 1
    symbol, update_id, bid, ask, sent_ns = quotes[0]
    assert (symbol, update_id, bid, ask) == ("BTCUSDT", data["u"], "64010.00", "64010.10")
    assert before <= sent_ns <= after


async def test_order_and_cancel_requests_are_recorded_with_their_arrival_time(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    await _post(http, sim, "/_sim/trace", {"enabled": True})
    before = time.time_ns()
    await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "price": "60000.0", "newClientOrderId": "t2o-1"})
    await signed(http, sim, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "t2o-1"})
    await signed(http, sim, "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "t2o-1"})
    requests = (await _get(http, sim, "/_sim/trace"))["requests"]
    assert [(r["method"], r["price"], r["client_order_id"], r["orig_client_order_id"], r["status"])
            for r in requests] == [("POST", "60000.0", "t2o-1", None, 200), ("DELETE", None, None, "t2o-1", 200)]
    assert all(before <= r["arrived_ns"] <= r["answered_ns"] for r in requests)


async def test_nothing_is_recorded_while_the_trace_is_off(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "price": "60000.0"})
    await push_quote(sim, "BTCUSDT", "64010.0", "64010.1")
    trace = await _get(http, sim, "/_sim/trace")
    assert (trace["enabled"], trace["quotes"], trace["requests"]) == (False, [], [])


async def test_clearing_the_trace_forgets_records_and_counters(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await _post(http, sim, "/_sim/trace", {"enabled": True})
    await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "price": "60000.0"})
    await signed(http, sim, "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"})
    assert await _post(http, sim, "/_sim/trace", {"clear": True}) == {"enabled": True}
    trace = await _get(http, sim, "/_sim/trace")
    assert (trace["requests"], trace["error_answers"]) == ([], {})


async def test_order_rate_rejections_are_counted_even_without_the_trace(http: aiohttp.ClientSession) -> None:
    engine_config = EngineConfig(symbols=engine_config_for(("BTCUSDT",)).symbols,
                                 rate_limits=RateLimitConfig(orders_per_10s=1))
    config = ServerConfig(source=None, symbols=("BTCUSDT",), api_key=API_KEY, secret=SECRET, balance=Decimal(10**6))
    async with SimExchange(config, engine_config) as sim:
        await seed_prices(sim)
        for i in range(3):
            await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "price": str(60000 + i)})
        state = await _get(http, sim, "/_sim/state")
    assert state["error_answers"] == {"429/-1015": 2}


def test_the_command_line_turns_the_trace_on() -> None:
    assert config_from_args(parse_args(["--trace"])).trace is True
    assert config_from_args(parse_args([])).trace is False
