"""Fault injection: each fault does what it says, scoped by path and count, switchable over HTTP and in Python."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import pytest

from simexchange.server import SimExchange
from simexchange.tests.conftest import API_KEY, BTC, signed

pytestmark = pytest.mark.timeout(30)
WAIT_S = 5


@pytest.fixture
async def private_ws(sim: SimExchange, http: aiohttp.ClientSession) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.post(sim.base_url + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": API_KEY}) as resp:
        key = (await resp.json())["listenKey"]
    async with http.ws_connect(f"{sim.base_url}/private/ws?listenKey={key}") as ws:
        for _ in range(100):
            if sim.ctx.users.connections():
                break
            await asyncio.sleep(0.01)
        yield ws


async def _events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        message = await asyncio.wait_for(ws.receive(), WAIT_S)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        out.append(json.loads(message.data))
    return out


async def _no_more(ws: aiohttp.ClientWebSocketResponse, within_s: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.receive(), within_s)


async def _limit_order(http: aiohttp.ClientSession, sim: SimExchange, price: str = "60000", cid: str = "") -> Any:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
    params["price"] = price
    if cid:
        params["newClientOrderId"] = cid
    return await signed(http, sim, "POST", "/fapi/v1/order", params)


def _open_orders(sim: SimExchange) -> list[Any]:
    return sim.engine.open_orders(1)


async def test_latency_delays_only_the_matching_path(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="latency", path="/fapi/v1/time", ms=300)
    started = time.monotonic()
    async with http.get(sim.base_url + "/fapi/v1/time") as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert resp.status == 200
    assert time.monotonic() - started < 0.3


async def test_drop_response_executes_then_gives_the_client_a_network_error(exchange: Any, sim: SimExchange) -> None:
    await sim.add_fault(kind="drop_response", path="/fapi/v1/order", method="POST", count=1)
    with pytest.raises(ccxt.NetworkError):
        await exchange.create_order(BTC, "limit", "buy", 0.01, 60000, {"clientOrderId": "PMSdrop_1"})
    assert [o.client_order_id for o in _open_orders(sim)] == ["PMSdrop_1"]
    again = await exchange.create_order(BTC, "limit", "buy", 0.01, 60001, {"clientOrderId": "PMSdrop_2"})
    assert again["status"] == "open"  # count=1: the fault is used up


async def test_error_after_5xx_leaves_the_order_placed(exchange: Any, sim: SimExchange) -> None:
    await sim.add_fault(kind="error_after", path="/fapi/v1/order", method="POST", status=502, count=1)
    with pytest.raises(ccxt.BaseError):
        await exchange.create_order(BTC, "limit", "buy", 0.01, 60000, {"clientOrderId": "PMS5xx_1"})
    assert [o.client_order_id for o in _open_orders(sim)] == ["PMS5xx_1"]


async def test_error_after_1007_is_a_request_timeout_with_the_order_placed(exchange: Any, sim: SimExchange) -> None:
    await sim.add_fault(kind="error_after", path="/fapi/v1/order", code=-1007, count=1)
    with pytest.raises(ccxt.RequestTimeout):
        await exchange.create_order(BTC, "market", "buy", 0.01, None, {"clientOrderId": "PMS1007_1"})
    positions = sim.engine.positions(1, "BTCUSDT")
    assert positions[0].position_amt == Decimal("0.01")


async def test_error_before_rejects_without_executing(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="error_before", path="/fapi/v1/order", code=-1015, status=429, msg="Too many new orders.")
    status, body, _ = await _limit_order(http, sim)
    assert (status, body["code"]) == (429, -1015)
    assert _open_orders(sim) == []


async def test_rate_limit_answers_429_then_418_with_retry_after(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="rate_limit", count=1, retry_after_s=7, ban_s=90)
    async with http.get(sim.base_url + "/fapi/v1/time") as resp:
        assert (resp.status, (await resp.json())["code"], resp.headers["Retry-After"]) == (429, -1003, "7")
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert (resp.status, (await resp.json())["code"], resp.headers["Retry-After"]) == (418, -1003, "90")
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert resp.status == 418 and int(resp.headers["Retry-After"]) <= 90
    sim.clear_faults()
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert resp.status == 200


async def test_clock_skew_moves_server_time_and_ccxt_recovers_after_resync(exchange: Any, sim: SimExchange) -> None:
    await sim.add_fault(kind="clock_skew", ms=-20_000)
    server_time = await exchange.fetch_time()
    assert server_time < exchange.milliseconds() - 15_000
    with pytest.raises(ccxt.InvalidNonce):
        await exchange.fetch_balance()
    await exchange.load_time_difference()
    assert (await exchange.fetch_balance())["USDT"]["total"] == 100000.0


async def test_reject_orders_rejects_a_share_and_leaves_them_off_the_book(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    await sim.add_fault(kind="reject_orders", probability=0.5)
    codes = []
    for i in range(20):
        _, body, _ = await _limit_order(http, sim, price=str(60000 + i))
        codes.append(body.get("code"))
    rejected = codes.count(-1008)
    assert 0 < rejected < 20
    assert len(_open_orders(sim)) == 20 - rejected


async def test_reject_orders_applies_per_item_inside_a_batch(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="reject_orders", count=1, code=-2010, msg="Order was rejected.", status=400)
    item = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
    batch = [{**item, "price": str(60000 + i)} for i in range(3)]
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(batch)})
    assert status == 200
    assert [r.get("code") for r in body] == [-2010, None, None]
    assert len(_open_orders(sim)) == 2


async def test_user_events_duplicated(
    sim: SimExchange, http: aiohttp.ClientSession, private_ws: aiohttp.ClientWebSocketResponse
) -> None:
    await sim.add_fault(kind="ud_duplicate", count=1)
    await _limit_order(http, sim, cid="PMSdupev_1")
    first, second = await _events(private_ws, 2)
    assert first == second and first["e"] == "ORDER_TRADE_UPDATE" and first["o"]["c"] == "PMSdupev_1"
    await _no_more(private_ws)


async def test_user_events_reordered(
    sim: SimExchange, http: aiohttp.ClientSession, private_ws: aiohttp.ClientWebSocketResponse
) -> None:
    await sim.add_fault(kind="ud_reorder", count=1)
    await _limit_order(http, sim, cid="PMSord_1")
    await _limit_order(http, sim, price="60001", cid="PMSord_2")
    events = await _events(private_ws, 2)
    assert [e["o"]["c"] for e in events] == ["PMSord_2", "PMSord_1"]


async def test_reordered_event_is_released_when_nothing_overtakes_it(
    sim: SimExchange, http: aiohttp.ClientSession, private_ws: aiohttp.ClientWebSocketResponse
) -> None:
    await sim.add_fault(kind="ud_reorder", count=1)
    await _limit_order(http, sim, cid="PMSheld_1")
    (event,) = await _events(private_ws, 1)
    assert event["o"]["c"] == "PMSheld_1"


async def test_user_events_dropped_but_the_order_exists(
    sim: SimExchange, http: aiohttp.ClientSession, private_ws: aiohttp.ClientWebSocketResponse
) -> None:
    await sim.add_fault(kind="ud_drop", event="ORDER_TRADE_UPDATE", count=1)
    await _limit_order(http, sim, cid="PMSlost_1")
    await _no_more(private_ws)
    assert [o.client_order_id for o in _open_orders(sim)] == ["PMSlost_1"]
    await _limit_order(http, sim, price="60001", cid="PMSseen_2")
    (event,) = await _events(private_ws, 1)
    assert event["o"]["c"] == "PMSseen_2"
    assert sim.state()["user_events"]["dropped"] == 1


async def test_ws_disconnect_closes_matching_sockets_only(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with (
        http.ws_connect(sim.base_url + "/public/ws/0") as public,
        http.ws_connect(sim.base_url + "/market/ws/0") as market,
    ):
        await public.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1})
        await public.receive_json()
        result = await sim.add_fault(kind="ws_disconnect", path="/public")
        assert result == {"executed": True, "closed": 1}
        message = await asyncio.wait_for(public.receive(), WAIT_S)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await market.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert await asyncio.wait_for(market.receive_json(), WAIT_S) == {"result": [], "id": 2}


async def test_listen_key_expired_is_pushed_and_ends_delivery(
    sim: SimExchange, http: aiohttp.ClientSession, private_ws: aiohttp.ClientWebSocketResponse
) -> None:
    result = await sim.add_fault(kind="listen_key_expired")
    assert result == {"executed": True, "expired": 1}
    (event,) = await _events(private_ws, 1)
    assert event["e"] == "listenKeyExpired" and isinstance(event["E"], int) and event["listenKey"]
    await _limit_order(http, sim, cid="PMSafter_1")
    await _no_more(private_ws)
    async with http.put(sim.base_url + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": API_KEY}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1125)
    async with http.post(sim.base_url + "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": API_KEY}) as resp:
        assert (await resp.json())["listenKey"] != event["listenKey"]


async def test_fault_count_limits_how_often_it_fires(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    await sim.add_fault(kind="error_before", path="/fapi/v1/time", status=503, count=2)
    statuses = []
    for _ in range(3):
        async with http.get(sim.base_url + "/fapi/v1/time") as resp:
            statuses.append(resp.status)
    assert statuses == [503, 503, 200]
    assert sim.faults.active() == []


async def test_faults_switch_at_run_time_over_the_control_endpoint(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    async with http.post(sim.base_url + "/_sim/faults", json={"kind": "error_before", "path": "/fapi/v1/ping"}) as r:
        created = await r.json()
        assert r.status == 200 and created["kind"] == "error_before" and created["id"] >= 1
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert resp.status == 503
    async with http.get(sim.base_url + "/_sim/faults") as resp:
        assert [f["id"] for f in (await resp.json())["faults"]] == [created["id"]]
    async with http.delete(f"{sim.base_url}/_sim/faults/{created['id']}") as resp:
        assert (await resp.json()) == {"removed": True}
    async with http.get(sim.base_url + "/fapi/v1/ping") as resp:
        assert resp.status == 200


async def test_bad_fault_definitions_are_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    for bad in ({"kind": "explode"}, {"kind": "latency", "ms": "fast"}, {"kind": "latency", "bogus": 1}, [1]):
        async with http.post(sim.base_url + "/_sim/faults", json=bad) as resp:
            assert resp.status == 400 and "error" in await resp.json()
    async with http.post(sim.base_url + "/_sim/faults", data=b"{not json") as resp:
        assert resp.status == 400
    assert sim.faults.active() == []
