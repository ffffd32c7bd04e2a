"""Bad input gets a Binance-style error with the right code and status, and changes nothing."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import aiohttp
import pytest
import yarl

from simexchange.server import SimExchange
from simexchange.tests.conftest import API_KEY, sign_query, signed

pytestmark = pytest.mark.timeout(30)
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
ORDER["price"] = "60000"


def snapshot(sim: SimExchange) -> Any:
    """Everything a bad request must not change."""
    engine = sim.engine
    return (
        [(o.order_id, o.status, o.price, o.orig_qty) for o in engine.open_orders(1)],
        engine.ledger_totals(1),
        len(engine.user_trades(1, {"symbol": "BTCUSDT"})),
        [(p.symbol, p.position_amt, p.leverage) for p in engine.positions(1)],
        sorted(sim.ctx.listen_keys._by_key),
    )


@pytest.fixture
async def resting(sim: SimExchange, http: aiohttp.ClientSession) -> Any:
    """One resting order so that "unchanged" covers an existing order too."""
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "PMSrest_1"})
    assert status == 200
    return body


BAD_ORDERS: list[tuple[str, dict[str, Any], int]] = [
    ("no symbol", {k: v for k, v in ORDER.items() if k != "symbol"}, -1102),
    ("no quantity", {k: v for k, v in ORDER.items() if k != "quantity"}, -1102),
    ("no price on a limit", {k: v for k, v in ORDER.items() if k != "price"}, -1102),
    ("quantity not a number", {**ORDER, "quantity": "abc"}, -1100),
    ("price in exponent form", {**ORDER, "price": "6e4"}, -1100),
    ("negative quantity", {**ORDER, "quantity": "-1"}, -1100),
    ("unknown symbol", {**ORDER, "symbol": "DOGEUSDT"}, -1121),
    ("bad side", {**ORDER, "side": "HOLD"}, -1117),
    ("bad type", {**ORDER, "type": "ICEBERG"}, -1116),
    ("bad time in force", {**ORDER, "timeInForce": "DAY"}, -1115),
    ("reduceOnly not a boolean", {**ORDER, "reduceOnly": "maybe"}, -1130),
    ("price off the tick grid", {**ORDER, "price": "60000.05"}, -1013),
    ("client id with illegal characters", {**ORDER, "newClientOrderId": "bad id!"}, -4015),
    ("stop type on the order endpoint", {**ORDER, "type": "STOP_MARKET", "stopPrice": "65000"}, -4120),
]


@pytest.mark.parametrize(("params", "code"), [c[1:] for c in BAD_ORDERS], ids=[c[0] for c in BAD_ORDERS])
async def test_bad_new_order_is_refused_and_changes_nothing(
    sim: SimExchange, http: aiohttp.ClientSession, resting: Any, params: dict[str, Any], code: int
) -> None:
    before = snapshot(sim)
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/order", params)
    assert (status, body["code"]) == (400, code) and isinstance(body["msg"], str) and body["msg"]
    assert snapshot(sim) == before


async def test_oversized_batch_is_refused_whole(sim: SimExchange, http: aiohttp.ClientSession, resting: Any) -> None:
    before = snapshot(sim)
    batch = json.dumps([{**ORDER, "price": str(59000 + i)} for i in range(6)])
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/batchOrders", {"batchOrders": batch})
    assert (status, body["code"]) == (400, -4082)
    assert snapshot(sim) == before


@pytest.mark.parametrize("batch", ["[{not json", '{"symbol": "BTCUSDT"}', "[1, 2]", '[{"a": [1]}]'])
async def test_malformed_batch_json_is_refused(sim: SimExchange, http: aiohttp.ClientSession, batch: str) -> None:
    before = snapshot(sim)
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/batchOrders", {"batchOrders": batch})
    assert (status, body["code"]) == (400, -1130)
    assert snapshot(sim) == before


async def test_empty_batch_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    status, body, _ = await signed(http, sim, "POST", "/fapi/v1/batchOrders", {"batchOrders": "[]"})
    assert (status, body["code"]) == (400, -4082)


async def test_batch_cancel_of_more_than_ten_is_refused(
    sim: SimExchange, http: aiohttp.ClientSession, resting: Any
) -> None:
    before = snapshot(sim)
    ids = json.dumps([resting["orderId"], *range(1, 11)])
    params = {"symbol": "BTCUSDT", "orderIdList": ids}
    status, body, _ = await signed(http, sim, "DELETE", "/fapi/v1/batchOrders", params)
    assert (status, body["code"]) == (400, -4032)
    assert snapshot(sim) == before


async def test_bad_signature_is_refused(sim: SimExchange, http: aiohttp.ClientSession, resting: Any) -> None:
    before = snapshot(sim)
    query = sign_query({**ORDER, "timestamp": sim.ctx.now_ms()}, secret="wrong")
    url = yarl.URL(f"{sim.base_url}/fapi/v1/order?{query}", encoded=True)
    async with http.post(url, headers={"X-MBX-APIKEY": API_KEY}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1022)
    assert snapshot(sim) == before


async def test_tampered_parameters_fail_the_signature(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    query = sign_query({**ORDER, "timestamp": sim.ctx.now_ms()}).replace("quantity=0.01", "quantity=1")
    url = yarl.URL(f"{sim.base_url}/fapi/v1/order?{query}", encoded=True)
    async with http.post(url, headers={"X-MBX-APIKEY": API_KEY}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1022)
    assert sim.engine.open_orders(1) == []


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, -2014), ({"X-MBX-APIKEY": "has spaces"}, 401, -2014), ({"X-MBX-APIKEY": "unknownKey"}, 401, -2015)],
    ids=["missing key", "malformed key", "unknown key"],
)
async def test_bad_api_key_is_refused(
    sim: SimExchange, http: aiohttp.ClientSession, headers: dict[str, str], status: int, code: int
) -> None:
    query = sign_query({**ORDER, "timestamp": sim.ctx.now_ms()})
    url = yarl.URL(f"{sim.base_url}/fapi/v1/order?{query}", encoded=True)
    async with http.post(url, headers=headers) as resp:
        assert (resp.status, (await resp.json())["code"]) == (status, code)
    assert sim.engine.open_orders(1) == []


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"timestamp": "now"}, -1102),
        ({"timestamp": "1000"}, -1021),
        ({"recvWindow": "70000"}, -1131),
        ({"recvWindow": "soon"}, -1100),
        ({"signature": ""}, -1102),
    ],
    ids=["timestamp not a number", "stale timestamp", "recvWindow too large", "recvWindow not a number", "unsigned"],
)
async def test_bad_timing_parameters_are_refused(
    sim: SimExchange, http: aiohttp.ClientSession, extra: dict[str, str], code: int
) -> None:
    params = {**ORDER, "timestamp": str(sim.ctx.now_ms()), **{k: v for k, v in extra.items() if k != "signature"}}
    query = sign_query(params) if "signature" not in extra else sign_query(params).split("&signature=")[0]
    url = yarl.URL(f"{sim.base_url}/fapi/v1/order?{query}", encoded=True)
    async with http.post(url, headers={"X-MBX-APIKEY": API_KEY}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, code)
    assert sim.engine.open_orders(1) == []


@pytest.mark.parametrize(
    ("method", "path", "params", "code"),
    [
        ("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "abc"}, -1100),
        ("GET", "/fapi/v1/order", {"symbol": "BTCUSDT"}, -1102),
        ("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "999"}, -2011),
        ("PUT", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "999", "side": "BUY"}, -1102),
        ("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "ten"}, -1102),
        ("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": "0"}, -4028),
        ("GET", "/fapi/v1/openOrders", {"symbol": "btc usdt"}, -1100),
        ("GET", "/fapi/v3/positionRisk", {"symbol": "XYZUSDT"}, -1121),
        ("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "limit": "many"}, -1100),
        ("POST", "/fapi/v1/algoOrder", {"algoType": "OCO", "symbol": "BTCUSDT"}, -1130),
        ("POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY"}, -1102),
        ("DELETE", "/fapi/v1/algoOrder", {"algoId": "5"}, -2011),
    ],
)
async def test_bad_parameters_on_other_endpoints_are_refused(
    sim: SimExchange, http: aiohttp.ClientSession, resting: Any, method: str, path: str, params: Any, code: int
) -> None:
    before = snapshot(sim)
    status, body, _ = await signed(http, sim, method, path, params)
    assert (status, body["code"]) == (400, code)
    assert snapshot(sim) == before


async def test_body_that_is_not_utf8_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    headers = {"X-MBX-APIKEY": API_KEY, "Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(sim.base_url + "/fapi/v1/order", data=b"symbol=\xff\xfe", headers=headers) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1100)


async def test_oversized_body_is_refused(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    headers = {"X-MBX-APIKEY": API_KEY, "Content-Type": "application/x-www-form-urlencoded"}
    body = b"a=" + b"x" * (2 * 1024 * 1024)
    async with http.post(sim.base_url + "/fapi/v1/order", data=body, headers=headers) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1101)
    assert sim.engine.open_orders(1) == []


async def test_unknown_path_is_a_404_with_a_binance_body(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.base_url + "/fapi/v9/nothing") as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == -5000
    async with http.patch(sim.base_url + "/fapi/v1/order") as resp:
        assert resp.status == 404


async def test_random_garbage_never_reaches_the_catch_all(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    """A seeded fuzz over order parameters: every answer is a 200 or a Binance 4xx, never -1000."""
    rng = random.Random(7)
    values = ["", "0", "-1", "1e3", "NaN", "inf", "0.01", "60000", "BTCUSDT", "BUY", "LIMIT", "GTX", "true", "x" * 40]
    values += ["\u00e9", "[]", "{}", "null", "99999999999999999999999", "0.0000000000000000000001"]
    keys = ["symbol", "side", "type", "timeInForce", "quantity", "price", "reduceOnly", "newClientOrderId", "orderId"]
    statuses = set()
    for _ in range(150):
        params = {key: rng.choice(values) for key in rng.sample(keys, rng.randint(0, len(keys)))}
        method = rng.choice(["POST", "PUT", "GET", "DELETE"])
        status, body, _ = await signed(http, sim, method, "/fapi/v1/order", params)
        statuses.add(status)
        assert status == 200 or (400 <= status < 500 and body["code"] not in (-1000, None)), (params, body)
    assert sim.bugs == []
    assert statuses <= {200, 400}


async def test_control_endpoints_refuse_bad_input(sim: SimExchange, http: aiohttp.ClientSession) -> None:
    cases = [
        ("/_sim/accounts", {"balance": 1.5}),
        ("/_sim/accounts", {"balance": "lots"}),
        ("/_sim/accounts", {"api_key": API_KEY}),
        ("/_sim/accounts/abc/deposit", {"amount": "1"}),
        ("/_sim/accounts/99/deposit", {"amount": "1"}),
        ("/_sim/trade", {"account_id": "one", "symbol": "BTCUSDT"}),
        ("/_sim/market", {"type": "bookTicker", "symbol": "BTCUSDT", "bid": "x", "ask": "1"}),
        ("/_sim/feed", {"paused": True}),
    ]
    before = snapshot(sim)
    for path, payload in cases:
        async with http.post(sim.base_url + path, json=payload) as resp:
            assert resp.status == 400, (path, await resp.text())
            assert "error" in await resp.json()
    assert snapshot(sim) == before


async def test_malformed_websocket_messages_get_errors_and_the_socket_stays_usable(
    sim: SimExchange, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(sim.base_url + "/public/ws/0") as ws:
        cases = [
            ("{not json", 3),
            ("[1,2]", 2),
            ('{"method": "DANCE", "id": 1}', 2),
            ('{"method": "SUBSCRIBE", "params": "btcusdt@bookTicker", "id": 2}', 1),
            ('{"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 3}', 2),
            ('{"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": -4}', 2),
            ('{"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 5}', 1),
            ('{"method": "GET_PROPERTY", "params": ["colour"], "id": 6}', 0),
        ]
        for text, code in cases:
            await ws.send_str(text)
            reply = await asyncio.wait_for(ws.receive_json(), 5)
            assert reply["error"]["code"] == code, (text, reply)
        await ws.send_bytes(b"\x00\x01")
        assert (await asyncio.wait_for(ws.receive_json(), 5))["error"]["code"] == 3
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 9})
        assert await asyncio.wait_for(ws.receive_json(), 5) == {"result": [], "id": 9}
