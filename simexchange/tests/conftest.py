"""Shared fixtures for the simulated exchange's server tests: an in-process server on 127.0.0.1, ccxt clients."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import yarl

from simexchange.marketdata import BookTicker, MarkPrice
from simexchange.server import ServerConfig, SimExchange

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIXTURES_DIR = DATA_DIR / "binance-usdm-fixtures"
CAPTURES_DIR = DATA_DIR / "binance-usdm-ws"
API_KEY = "simTestKey01"
SECRET = "simTestSecret01"
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
SEED_QUOTES = {
    "BTCUSDT": ("64000.0", "64000.1", "64000.05"),
    "ETHUSDT": ("3400.00", "3400.01", "3400.00"),
    "SOLUSDT": ("150.00", "150.01", "150.00"),
}


def load_fixture(relative: str) -> Any:
    """A Binance message fixture from ../shared/data; the test is skipped when the data is absent."""
    path = FIXTURES_DIR / relative
    if not path.exists():
        pytest.skip(f"fixture data not available: {path} (../shared/data is absent)")
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "stream" in data and "data" in data:
        return data["data"]
    return data


async def push_quote(sim: SimExchange, symbol: str, bid: str, ask: str, qty: str = "5") -> None:
    now = sim.ctx.now_ms()
    await sim.push(BookTicker(symbol, now, Decimal(bid), Decimal(qty), Decimal(ask), Decimal(qty), now, now))


async def push_mark(sim: SimExchange, symbol: str, mark: str) -> None:
    now = sim.ctx.now_ms()
    value = Decimal(mark)
    await sim.push(MarkPrice(symbol, value, value, value, Decimal("0.0001"), now + 3_600_000, now))


async def seed_prices(sim: SimExchange) -> None:
    for symbol, (bid, ask, mark) in SEED_QUOTES.items():
        await push_quote(sim, symbol, bid, ask)
        await push_mark(sim, symbol, mark)


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    """A server without a price source (tests push prices), one account funded with 100000 USDT."""
    config = ServerConfig(source=None, api_key=API_KEY, secret=SECRET, balance=Decimal("100000"))
    async with SimExchange(config) as server:
        await seed_prices(server)
        yield server
        assert server.bugs == [], "the server hit its -1000 catch-all:\n" + "\n".join(server.bugs)


@pytest.fixture
async def exchange(sim: SimExchange) -> AsyncIterator[Any]:
    """Unmodified ccxt.pro.binanceusdm pointed at the server, with the futures error map copied."""
    import ccxt.pro as ccxtpro

    from simexchange.ccxt_config import copy_linear_error_map

    config = sim.ccxt_config()
    config["enableRateLimit"] = False  # ccxt's client-side throttle only slows the tests down
    ex = ccxtpro.binanceusdm(config)
    copy_linear_error_map(ex)
    try:
        await ex.load_markets()
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def sign_query(params: dict[str, Any], secret: str = SECRET) -> str:
    query = urlencode(params)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


async def signed(
    http: aiohttp.ClientSession,
    sim: SimExchange,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    api_key: str = API_KEY,
    secret: str = SECRET,
    in_body: bool = False,
) -> tuple[int, Any, dict[str, str]]:
    """A signed Binance request made by hand; returns (status, parsed JSON, headers)."""
    query = sign_query({**(params or {}), "timestamp": sim.ctx.now_ms()}, secret)
    headers = {"X-MBX-APIKEY": api_key}
    url = sim.base_url + path
    if in_body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with http.request(method, url, data=query, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None), dict(resp.headers)
    async with http.request(method, yarl.URL(f"{url}?{query}", encoded=True), headers=headers) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def assert_shape(actual: Any, expected: Any, *, optional: frozenset[str] = frozenset(), where: str = "$") -> None:
    """Every key of the fixture is present with the same JSON type (recursively; lists by their first item).

    `optional` names fixture keys (anywhere in the tree) that Binance sends only in some cases (trailing-stop
    fields, documentation-only extras such as `st`); extra keys in `actual` are allowed.
    """
    if expected is None:
        return  # a null in a fixture says nothing about the type
    assert _json_type(actual) == _json_type(expected), f"{where}: {actual!r} is not a {_json_type(expected)}"
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key not in actual:
                assert key in optional, f"{where}: key {key!r} missing (have {sorted(actual)})"
                continue
            assert_shape(actual[key], value, optional=optional, where=f"{where}.{key}")
    elif isinstance(expected, list) and expected and actual:
        assert_shape(actual[0], expected[0], optional=optional, where=f"{where}[0]")
