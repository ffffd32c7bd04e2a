"""The live socket: snapshot on connect, versioned updates on events, grants enforced, bad input ignored."""

from __future__ import annotations

import re

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter, get_default_application
from channels.testing import WebsocketCommunicator

from trading.web.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def versions(html: str) -> dict[str, int]:
    return {name: int(v) for name, v in re.findall(r'data-panel="([\w-]+)" data-version="(\d+)"', html)}


async def connect(user, path: str) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_a_socket_opens_with_a_snapshot_of_every_panel_then_sends_versioned_updates(desk):
    communicator, connected, _ = await connect(desk["ann"], f"/ws/account/{desk['alpha'].pk}/")
    try:
        assert connected
        snapshot = await communicator.receive_from(timeout=5)
        assert set(versions(snapshot)) == {"status", "summary", "positions", "orders", "algos", "fills", "ledger",
                                           "equity"}
        assert snapshot.count('data-snapshot="1"') == 8 and 'hx-swap-oob="true"' in snapshot

        await get_channel_layer().group_send(f"account.{desk['alpha'].pk}", {
            "type": "pms.event", "event": "order_updated", "data": {}, "ts": 0})
        update = ""
        while "panel-orders" not in update:
            update = await communicator.receive_from(timeout=5)
        assert versions(update)["orders"] == 2 and "data-snapshot" not in update
    finally:
        await communicator.disconnect()


async def test_a_resync_request_sends_a_fresh_snapshot_and_garbage_is_ignored(desk):
    communicator, _, _ = await connect(desk["ann"], "/ws/desk/")
    try:
        await communicator.receive_from(timeout=5)
        await communicator.send_to(text_data="{not json")
        await communicator.send_to(text_data='{"type": "resync"}')
        again = ""
        while "data-snapshot" not in again:
            again = await communicator.receive_from(timeout=5)
        assert 'data-sub-account="alpha"' in again and 'data-sub-account="beta"' not in again
    finally:
        await communicator.disconnect()


async def test_a_sub_account_outside_the_grants_is_refused(desk):
    _, connected, code = await connect(desk["ann"], f"/ws/account/{desk['beta'].pk}/")

    assert not connected and code == 4404


async def test_an_anonymous_socket_or_a_foreign_origin_is_refused(desk):
    from django.contrib.auth.models import AnonymousUser

    _, connected, code = await connect(AnonymousUser(), "/ws/desk/")
    foreign = WebsocketCommunicator(get_default_application(), "/ws/desk/", headers=[(b"origin", b"http://evil.example"),
                                                                       (b"host", b"127.0.0.1")])
    foreign_connected, _ = await foreign.connect()

    assert not connected and code == 4401
    assert not foreign_connected


async def test_two_sockets_on_one_sub_account_share_each_render_and_number_their_own_versions(desk, monkeypatch):
    from trading.web import panels

    rendered: list[str] = []
    original = panels.panel_html

    def counting(**kwargs):
        rendered.append(kwargs["panel"])
        return original(**kwargs)

    monkeypatch.setattr(panels, "panel_html", counting)
    first, _, _ = await connect(desk["ann"], f"/ws/account/{desk['alpha'].pk}/")
    second, _, _ = await connect(desk["ann"], f"/ws/account/{desk['alpha'].pk}/")
    try:
        await first.receive_from(timeout=5)
        await second.receive_from(timeout=5)
        rendered.clear()

        await get_channel_layer().group_send(f"account.{desk['alpha'].pk}", {
            "type": "pms.event", "event": "order_updated", "data": {}, "ts": 0, "id": "test:1"})
        updates = []
        for communicator in (first, second):
            update = ""
            while "panel-orders" not in update:
                update = await communicator.receive_from(timeout=5)
            updates.append(update)

        assert [versions(update)["orders"] for update in updates] == [2, 2]
        assert rendered.count("orders") == 1  # once for both sockets
    finally:
        await first.disconnect()
        await second.disconnect()


async def test_an_unchanged_panel_is_not_sent_again_and_the_next_change_keeps_the_versions_contiguous(desk):
    import asyncio

    from asgiref.sync import sync_to_async

    from trading.tests.api.test_reads import make_order

    communicator, _, _ = await connect(desk["ann"], f"/ws/account/{desk['alpha'].pk}/")
    group = f"account.{desk['alpha'].pk}"
    event = {"type": "pms.event", "event": "order_updated", "data": {}, "ts": 0}

    async def next_orders_update() -> str:
        while "panel-orders" not in (message := await communicator.receive_from(timeout=5)):
            pass
        return message

    try:
        await communicator.receive_from(timeout=5)
        await get_channel_layer().group_send(group, {**event, "id": "t:1"})
        assert versions(await next_orders_update())["orders"] == 2  # no longer a snapshot: sent

        await get_channel_layer().group_send(group, {**event, "id": "t:2"})
        await asyncio.sleep(0.5)  # rendered, the same HTML: not sent
        await sync_to_async(make_order)(desk["alpha"], 1)
        await get_channel_layer().group_send(group, {**event, "id": "t:3"})
        changed = await next_orders_update()

        assert versions(changed)["orders"] == 3 and f"PMS{desk['alpha'].code}_LMT_1" in changed
    finally:
        await communicator.disconnect()
