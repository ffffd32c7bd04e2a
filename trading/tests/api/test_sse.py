"""The Server-Sent Events stream, read through the real ASGI app: scoped to grants, keep-alives, clean disconnect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.asgi import get_asgi_application
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


class SseClient:
    """A minimal ASGI HTTP client that keeps the response open, reads events, then disconnects."""

    def __init__(self, path: str, query: str = "", cookie: str = "") -> None:
        self.headers = [(b"host", b"testserver")] + ([(b"cookie", cookie.encode())] if cookie else [])
        self.scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query.encode(), "headers": self.headers,
            "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()
        self.buffer = ""

    async def start(self) -> dict[str, Any]:
        await self.inbox.put({"type": "http.request", "body": b"", "more_body": False})
        self.task = asyncio.create_task(get_asgi_application()(self.scope, self.inbox.get, self.outbox.put))
        return await asyncio.wait_for(self.outbox.get(), 10)

    async def body(self) -> str:
        message = await asyncio.wait_for(self.outbox.get(), 10)
        return message.get("body", b"").decode()

    async def frame(self) -> str:
        """The next SSE frame (events and comments end with a blank line)."""
        while "\n\n" not in self.buffer:
            self.buffer += await self.body()
        frame, self.buffer = self.buffer.split("\n\n", 1)
        return frame

    async def event(self) -> tuple[str, str]:
        while True:
            frame = await self.frame()
            fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line and line[0] != ":")
            if "event" in fields:
                return fields["event"], fields["data"]

    async def disconnect(self) -> None:
        await self.inbox.put({"type": "http.disconnect"})
        await asyncio.wait_for(self.task, 10)


async def session_cookie(user: Any) -> str:
    def login() -> str:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    return await sync_to_async(login)()


async def test_the_stream_sends_only_the_callers_events_with_keep_alives_and_leaves_its_groups_on_disconnect(desk):
    layer = get_channel_layer()
    alpha, beta = desk["alpha"].pk, desk["beta"].pk
    sse = SseClient("/api/v1/events/stream", "keepalive_s=1", await session_cookie(desk["ann"]))
    start = await sse.start()
    assert start["status"] == 200 and (b"Content-Type", b"text/event-stream") in start["headers"]
    name, data = await sse.event()
    assert name == "ready" and f'"sub_accounts":[{alpha},{desk["gamma"].pk}]' in data

    await layer.group_send(f"account.{beta}", {"type": "pms.event", "event": "fill", "data": {"sub": "beta"}})
    await layer.group_send("risk", {"type": "pms.event", "event": "circuit_breaker",
                                    "data": {"scope": "sub_account", "key": beta, "state": "halted"}})
    await layer.group_send("risk", {"type": "pms.event", "event": "risk_alert", "data": {"kind": "external_fill"}})
    await layer.group_send(f"account.{alpha}", {"type": "pms.event", "event": "fill", "data": {"sub": "alpha"},
                                                "ts": 1})
    await layer.group_send("risk", {"type": "pms.event", "event": "circuit_breaker",
                                    "data": {"scope": "sub_account", "key": alpha, "state": "halted"}})

    assert await sse.event() == ("fill", '{"data":{"sub":"alpha"},"ts":1}')
    name, data = await sse.event()
    assert name == "circuit_breaker" and f'"key":{alpha}' in data
    assert await sse.frame() == ": keep-alive"  # nothing else arrived: beta's and the house's events were dropped

    await sse.disconnect()
    assert await layer.group_send(f"account.{alpha}", {"type": "pms.event", "event": "fill", "data": {}}) is None
    members = await layer.connection(layer.consistent_hash(f"account.{alpha}")).zcard(
        layer._group_key(f"account.{alpha}"))
    assert members == 0


async def test_the_stream_ends_after_max_s(desk):
    sse = SseClient("/api/v1/events/stream", "keepalive_s=1&max_s=1", await session_cookie(desk["bob"]))
    await sse.start()
    assert (await sse.event())[0] == "ready"
    assert (await sse.event())[0] == "end"
    await sse.disconnect()


async def test_the_stream_refuses_anonymous_callers_bad_keys_and_bad_bounds(desk):
    anonymous = SseClient("/api/v1/events/stream")
    start = await anonymous.start()
    assert start["status"] in (401, 403) and "log in or send an API key" in await anonymous.body()

    bad_key = SseClient("/api/v1/events/stream")
    bad_key.headers.append((b"x-api-key", b"pms_nope_nope"))
    assert (await bad_key.start())["status"] in (401, 403)
    assert "unknown, expired or revoked" in await bad_key.body()

    bounds = SseClient("/api/v1/events/stream", "keepalive_s=0", await session_cookie(desk["ann"]))
    assert (await bounds.start())["status"] == 400
    assert "keepalive_s: must be between 1 and 60 seconds, got 0" in await bounds.body()
