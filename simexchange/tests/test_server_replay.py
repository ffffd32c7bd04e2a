"""Replaying recorded captures over the websocket reproduces the recorded bookTicker sequence exactly."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import aiohttp
import pytest

from simexchange.server import ServerConfig, SimExchange
from simexchange.tests.conftest import CAPTURES_DIR

pytestmark = pytest.mark.timeout(60)
FILES = ("btcusdt_20240718.gz", "btcusdt_20240719.gz")


def recorded_book_tickers() -> list[dict[str, Any]]:
    paths = [CAPTURES_DIR / name for name in FILES]
    missing = [p for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"capture data not available: {missing} (../shared/data is absent)")
    payloads = []
    for path in paths:
        with gzip.open(path, "rt") as lines:
            for line in lines:
                if '"btcusdt@bookTicker"' in line[:80]:
                    payloads.append(json.loads(line.split(" ", 1)[1])["data"])
    return payloads


async def _receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Any]:
    received: list[Any] = []
    while len(received) < count:
        message = await asyncio.wait_for(ws.receive(), 10)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        received.append(json.loads(message.data))
    return received


async def test_replay_at_max_speed_reproduces_every_recorded_book_ticker() -> None:
    expected = recorded_book_tickers()
    assert len(expected) == 52260
    source = ",".join(str(CAPTURES_DIR / name) for name in FILES)
    config = ServerConfig(source=source, symbols=("BTCUSDT",), speed="max", start_feed=False)
    async with SimExchange(config) as sim, aiohttp.ClientSession() as http:
        async with http.ws_connect(sim.base_url + "/public/ws/0") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1})
            assert await asyncio.wait_for(ws.receive_json(), 5) == {"result": None, "id": 1}
            sim.resume_feed()
            received = await _receive(ws, len(expected))
        assert sim.feed is not None
        await asyncio.wait_for(sim.feed.finished.wait(), 10)
        assert sim.bugs == []
    mismatches = [i for i, (got, want) in enumerate(zip(received, expected, strict=True)) if got != want]
    first = mismatches[0] if mismatches else None
    assert mismatches == [], f"first mismatch at {first}: {received[first or 0]} != {expected[first or 0]}"


async def test_combined_stream_replay_wraps_each_payload_in_its_stream_name() -> None:
    expected = recorded_book_tickers()[:500]
    source = str(CAPTURES_DIR / FILES[0])
    config = ServerConfig(source=source, symbols=("BTCUSDT",), speed="max", start_feed=False)
    async with (
        SimExchange(config) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(sim.base_url + "/stream?streams=btcusdt@bookTicker") as ws,
    ):
        sim.resume_feed()
        received = await _receive(ws, len(expected))
    assert [m["stream"] for m in received] == ["btcusdt@bookTicker"] * len(expected)
    assert [m["data"] for m in received] == expected
