"""The /_sim control API over HTTP: accounts, deposits, manual trades, market events, feed and state."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from simexchange.server import ServerConfig, SimExchange
from simexchange.tests.conftest import API_KEY, signed

pytestmark = pytest.mark.timeout(30)


async def _post(http: aiohttp.ClientSession, sim: SimExchange, path: str, payload: Any) -> Any:
    async with http.post(sim.base_url + path, json=payload) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_create_an_account_deposit_and_trade_with_its_keys(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    created = await _post(http, sim, "/_sim/accounts", {"api_key": "deskB", "secret": "deskBsecret", "balance": "500"})
    assert created == {"account_id": 2, "api_key": "deskB", "secret": "deskBsecret"}
    deposit = await _post(http, sim, "/_sim/accounts/2/deposit", {"amount": "250.5"})
    assert deposit["account_id"] == 2 and Decimal(deposit["wallet"]) == Decimal("750.5")
    status, balances, _ = await signed(http, sim, "GET", "/fapi/v2/balance", api_key="deskB", secret="deskBsecret")
    assert status == 200 and Decimal(balances[0]["balance"]) == Decimal("750.5")


async def test_generated_credentials_work(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    created = await _post(http, sim, "/_sim/accounts", {"balance": "10"})
    assert len(created["api_key"]) == 64 and len(created["secret"]) == 64
    status, _, _ = await signed(
        http, sim, "GET", "/fapi/v3/account", api_key=created["api_key"], secret=created["secret"]
    )
    assert status == 200


async def test_manual_trade_uses_a_foreign_client_id_and_reaches_the_user_stream(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    async with http.post(sim.base_url + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": API_KEY}) as resp:
        key = (await resp.json())["listenKey"]
    async with http.ws_connect(f"{sim.base_url}/private/ws/{key}") as ws:
        for _ in range(100):
            if sim.ctx.users.connections():
                break
            await asyncio.sleep(0.01)
        order = await _post(
            http, sim, "/_sim/trade", {"account_id": 1, "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.002"}
        )
        assert order["clientOrderId"].startswith("web_") and order["status"] == "FILLED"
        first = await asyncio.wait_for(ws.receive_json(), 5)
    assert first["e"] == "ORDER_TRADE_UPDATE" and first["o"]["c"] == order["clientOrderId"]
    status, trades, _ = await signed(http, sim, "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert status == 200 and [(t["side"], t["qty"], t["price"]) for t in trades] == [("SELL", "0.002", "64000.00")]


async def test_manual_trade_rejection_is_reported_not_raised(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    reply = await _post(
        http, sim, "/_sim/trade", {"account_id": 1, "symbol": "BTCUSDT", "side": "BUY", "quantity": "100"}
    )
    assert reply["code"] == -2019


async def test_market_events_drive_the_engine(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await _post(
        http, sim, "/_sim/market", {"type": "bookTicker", "symbol": "ETHUSDT", "bid": "3500.00", "ask": "3500.01"}
    )
    await _post(http, sim, "/_sim/market", {"type": "markPrice", "symbol": "ETHUSDT", "mark": "3500.00"})
    await _post(http, sim, "/_sim/market", {"type": "trade", "symbol": "ETHUSDT", "price": "3500.00"})
    market = sim.engine.market("ETHUSDT")
    assert market.quote is not None and market.quote.bid_price == Decimal("3500.00")
    assert market.mark_price == Decimal("3500.00") and market.last_price == Decimal("3500.00")
    async with http.get(sim.base_url + "/fapi/v1/premiumIndex?symbol=ETHUSDT") as resp:
        assert (await resp.json())["markPrice"] == "3500.00000000"
    async with http.get(sim.base_url + "/fapi/v1/ticker/bookTicker?symbol=ETHUSDT") as resp:
        assert (await resp.json())["bidPrice"] == "3500.00"


async def test_state_reports_accounts_faults_and_connections(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="latency", ms=1, path="/fapi/v1/ping")
    async with http.get(sim.base_url + "/_sim/state") as resp:
        state = await resp.json()
    assert state["accounts"] == [{"account_id": 1, "api_key": API_KEY, "wallet": "100000"}]
    assert [f["kind"] for f in state["faults"]] == ["latency"]
    assert state["feed"] is None and state["bugs"] == 0
    async with http.delete(sim.base_url + "/_sim/faults") as resp:
        assert await resp.json() == {"cleared": True}
    assert sim.faults.active() == []


async def test_feed_can_be_paused_and_resumed(http: aiohttp.ClientSession) -> None:
    config = ServerConfig(source="synthetic", symbols=("BTCUSDT",), speed="20", start_feed=False)
    async with SimExchange(config) as sim:
        await asyncio.sleep(0.2)
        assert sim.feed is not None and sim.feed.processed == 0
        assert await _post(http, sim, "/_sim/feed", {"paused": False}) == {"paused": False}
        for _ in range(100):
            if sim.feed.processed:
                break
            await asyncio.sleep(0.02)
        assert sim.feed.processed > 0
        assert await _post(http, sim, "/_sim/feed", {"paused": True}) == {"paused": True}
        assert sim.bugs == []
