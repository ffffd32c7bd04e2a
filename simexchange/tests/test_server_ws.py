"""Websocket paths and protocol: SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS, combined envelopes, user data, pings."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from simexchange.server import ServerConfig, SimExchange
from simexchange.tests.conftest import API_KEY, SECRET, push_mark, push_quote, seed_prices, signed

pytestmark = pytest.mark.timeout(30)
WAIT_S = 5


async def _listen_key(http: aiohttp.ClientSession, sim: SimExchange, method: str = "POST") -> tuple[int, Any]:
    async with http.request(method, sim.base_url + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": API_KEY}) as resp:
        return resp.status, await resp.json()


async def _recv(ws: aiohttp.ClientWebSocketResponse) -> Any:
    return await asyncio.wait_for(ws.receive_json(), WAIT_S)


async def _private_attached(sim: SimExchange, count: int = 1) -> None:
    for _ in range(200):
        if len(sim.ctx.users.connections()) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("private stream not attached")


@pytest.mark.parametrize("path", ["/ws", "/public/ws/0", "/market/ws/3", "/public/ws", "/market/ws"])
async def test_subscribe_list_unsubscribe_on_every_market_path(
    sim: SimExchange, http: aiohttp.ClientSession, path: str
) -> None:
    async with http.ws_connect(sim.base_url + path) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker", "ethusdt@markPrice@1s"], "id": 1})
        assert await _recv(ws) == {"result": None, "id": 1}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await _recv(ws) == {"result": ["btcusdt@bookTicker", "ethusdt@markPrice@1s"], "id": 2}
        await push_quote(sim, "BTCUSDT", "64002.0", "64002.1")
        payload = await _recv(ws)
        assert (payload["e"], payload["s"], payload["b"], payload["a"]) == (
            "bookTicker",
            "BTCUSDT",
            "64002.00",
            "64002.10",
        )
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 3})
        assert await _recv(ws) == {"result": None, "id": 3}
        await push_quote(sim, "BTCUSDT", "64003.0", "64003.1")
        await push_mark(sim, "ETHUSDT", "3401.00")
        payload = await _recv(ws)
        assert (payload["e"], payload["s"], payload["p"]) == ("markPriceUpdate", "ETHUSDT", "3401.00000000")


async def test_raw_stream_named_in_the_path(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.base_url + "/ws/btcusdt@bookTicker") as ws:
        for _ in range(100):
            if sim.ctx.hub.has_subscribers("btcusdt@bookTicker"):
                break
            await asyncio.sleep(0.01)
        await push_quote(sim, "BTCUSDT", "64004.0", "64004.1")
        payload = await _recv(ws)
        assert payload["e"] == "bookTicker" and payload["b"] == "64004.00"


async def test_combined_stream_wraps_payloads_and_set_property_switches_it(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.base_url + "/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker") as ws:
        await ws.send_json({"method": "GET_PROPERTY", "params": ["combined"], "id": 1})
        assert await _recv(ws) == {"result": True, "id": 1}
        await push_quote(sim, "ETHUSDT", "3401.00", "3401.01")
        message = await _recv(ws)
        assert message["stream"] == "ethusdt@bookTicker" and message["data"]["b"] == "3401.00"
        await ws.send_json({"method": "SET_PROPERTY", "params": ["combined", False], "id": 2})
        assert await _recv(ws) == {"result": None, "id": 2}
        await push_quote(sim, "BTCUSDT", "64005.0", "64005.1")
        assert (await _recv(ws))["e"] == "bookTicker"


async def test_all_market_streams(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.base_url + "/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["!bookTicker", "!markPrice@arr@1s"], "id": 1})
        await _recv(ws)
        await push_quote(sim, "SOLUSDT", "151.00", "151.01")
        assert (await _recv(ws))["s"] == "SOLUSDT"
        await push_mark(sim, "SOLUSDT", "151.00")
        array = await _recv(ws)
        assert isinstance(array, list) and array[0]["e"] == "markPriceUpdate"


async def test_invalid_stream_in_the_url_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(sim.base_url + "/stream?streams=btcusdt@nonsense")
    assert caught.value.status == 400


async def test_server_answers_pings_with_pongs(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.base_url + "/ws", autoping=False) as ws:
        await ws.ping(b"hello")
        message = await asyncio.wait_for(ws.receive(), WAIT_S)
        assert message.type == aiohttp.WSMsgType.PONG and message.data == b"hello"


@pytest.mark.parametrize("template", ["/private/ws?listenKey={key}", "/private/ws/{key}", "/ws/{key}"])
async def test_user_data_arrives_on_every_private_path(
    sim: SimExchange, http: aiohttp.ClientSession, template: str
) -> None:
    _, body = await _listen_key(http, sim)
    async with http.ws_connect(sim.base_url + template.format(key=body["listenKey"])) as ws:
        await _private_attached(sim)
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "newClientOrderId": "PMSp1"}
        status, _, _ = await signed(http, sim, "POST", "/fapi/v1/order", params)
        assert status == 200
        events = [await _recv(ws) for _ in range(3)]
    kinds = sorted((e["e"], e.get("o", {}).get("x") or "") for e in events)
    assert kinds == [("ACCOUNT_UPDATE", ""), ("ORDER_TRADE_UPDATE", "NEW"), ("ORDER_TRADE_UPDATE", "TRADE")]
    assert events[0]["o"]["x"] == "NEW"  # the order is announced before anything else
    fill = next(e for e in events if e.get("o", {}).get("x") == "TRADE")
    assert fill["o"]["c"] == "PMSp1" and fill["o"]["X"] == "FILLED" and fill["o"]["L"] == "64000.10"


async def test_private_stream_with_an_unknown_key_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(sim.base_url + "/private/ws?listenKey=" + "x" * 64)
    assert caught.value.status == 400


async def test_other_accounts_events_are_not_delivered(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    other = sim.create_account(api_key="otherKey", secret="otherSecret", balance="1000")
    _, body = await _listen_key(http, sim)
    async with http.ws_connect(f"{sim.base_url}/private/ws/{body['listenKey']}") as ws:
        await _private_attached(sim)
        params = {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
        status, _, _ = await signed(
            http, sim, "POST", "/fapi/v1/order", params, api_key="otherKey", secret="otherSecret"
        )
        assert status == 200 and other["account_id"] == 2
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.3)


async def test_listen_key_lifecycle(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    status, first = await _listen_key(http, sim)
    assert status == 200
    entry = sim.ctx.listen_keys.lookup(first["listenKey"], sim.ctx.now_ms())
    assert entry is not None
    expires = entry.expires_ms
    await asyncio.sleep(0.01)
    _, again = await _listen_key(http, sim)
    assert again == first  # the active key is returned, not a new one
    status, kept = await _listen_key(http, sim, "PUT")
    assert status == 200 and kept == first and entry.expires_ms > expires
    async with http.ws_connect(f"{sim.base_url}/private/ws/{first['listenKey']}") as ws:
        await _private_attached(sim)
        status, closed = await _listen_key(http, sim, "DELETE")
        assert (status, closed) == (200, {})
        message = await asyncio.wait_for(ws.receive(), WAIT_S)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    status, body = await _listen_key(http, sim, "PUT")
    assert (status, body["code"]) == (400, -1125)
    _, new = await _listen_key(http, sim)
    assert new["listenKey"] != first["listenKey"]


async def test_listen_key_without_api_key_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with http.post(sim.base_url + "/fapi/v1/listenKey") as resp:
        assert (resp.status, (await resp.json())["code"]) == (401, -2014)


async def test_listen_key_expires_after_its_ttl_and_pushes_listen_key_expired(http: aiohttp.ClientSession) -> None:
    config = ServerConfig(
        source=None, api_key=API_KEY, secret=SECRET, listen_key_ttl_ms=300, housekeeping_interval_s=0.05
    )
    async with SimExchange(config) as sim:
        await seed_prices(sim)
        _, body = await _listen_key(http, sim)
        async with http.ws_connect(f"{sim.base_url}/private/ws/{body['listenKey']}") as ws:
            event = await _recv(ws)
        assert event["e"] == "listenKeyExpired" and event["listenKey"] == body["listenKey"]
        status, err = await _listen_key(http, sim, "PUT")
        assert (status, err["code"]) == (400, -1125)
        assert sim.bugs == []


async def test_a_live_feed_drives_quotes_over_the_websocket(http: aiohttp.ClientSession) -> None:
    """The synthetic source through the pacer (10x) reaches subscribers and moves the engine's quote."""
    config = ServerConfig(source="synthetic", symbols=("BTCUSDT",), speed="10", seed=3)
    async with SimExchange(config) as sim, http.ws_connect(sim.base_url + "/ws") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1})
        await _recv(ws)
        payloads = [await _recv(ws) for _ in range(5)]
        assert all(p["e"] == "bookTicker" and Decimal(p["b"]) < Decimal(p["a"]) for p in payloads)
        quote = sim.engine.market("BTCUSDT").quote
        assert quote is not None and quote.update_id >= payloads[-1]["u"]
        assert sim.bugs == []


async def test_connections_are_closed_after_their_maximum_age(http: aiohttp.ClientSession) -> None:
    config = ServerConfig(source=None, max_connection_age_s=0.2, housekeeping_interval_s=0.05)
    async with SimExchange(config) as sim, http.ws_connect(sim.base_url + "/ws") as ws:
        message = await asyncio.wait_for(ws.receive(), WAIT_S)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert sim.ctx.connections == set()
