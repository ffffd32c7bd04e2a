"""Live pages over a websocket: a full snapshot on connect, then versioned out-of-band panel updates.

The consumer joins only the groups of sub-accounts granted to the user. An event marks panels dirty; a
flusher re-renders dirty panels from the database (the same partials as the page) at most every 100 ms
per panel. A timer re-renders price-driven panels and, every few seconds, everything, so a message the
channel layer dropped leaves a panel wrong for seconds at most. The page checks each panel's version and
asks for a snapshot ({"type": "resync"}) when it sees a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from core.errors import NotFound
from trading.events import account_group
from trading.selectors import subaccount_get_visible, subaccount_list_visible
from trading.web import panels

logger = logging.getLogger(__name__)
MIN_INTERVAL_S = 0.1  # at most 10 updates per second per panel
CLOSE_UNAUTHENTICATED, CLOSE_NOT_FOUND = 4401, 4404


class LivePageConsumer(AsyncWebsocketConsumer):
    page = "desk"
    panel_names: tuple[str, ...] = ()  # default: panels.PAGE_PANELS[page]
    tick_panels: dict[str, float] = panels.TICK_PANELS

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.sub_account_id: int | None = kwargs.get("sub_account_id")
        try:
            groups = await database_sync_to_async(self._groups)()
        except NotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.panel_names = self.panel_names or panels.PAGE_PANELS[self.page]
        self.versions: dict[str, int] = dict.fromkeys(self.panel_names, 0)
        self.dirty: set[str] = set()
        self.last_sent: dict[str, float] = {}
        self.wake = asyncio.Event()
        await self.accept()
        await self.send_snapshot()
        self.tasks = [asyncio.create_task(self._flusher()), asyncio.create_task(self._ticker())]

    def _groups(self) -> list[str]:
        if self.page == "account":
            assert self.sub_account_id is not None  # noqa: S101 - the URL carries it
            return [account_group(subaccount_get_visible(user=self.user, sub_account_id=self.sub_account_id).pk),
                    "engine", "risk"]
        if self.page == "desk":
            ids = subaccount_list_visible(user=self.user).values_list("pk", flat=True)
            return [account_group(pk) for pk in ids] + ["engine", "risk"]
        return ["engine"]

    async def disconnect(self, code: int) -> None:
        for task in getattr(self, "tasks", []):
            task.cancel()
        for task in getattr(self, "tasks", []):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The page sends {"type": "resync"} after a version gap; anything else is ignored, never fatal."""
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "resync":
            await self.send_snapshot()

    async def pms_event(self, message: dict[str, Any]) -> None:
        """A `{type, data, ts}` event from the engine (trading.events): mark the panels it changes."""
        self.mark(self.panels_for(str(message.get("event", ""))))

    def panels_for(self, event: str) -> tuple[str, ...]:
        return panels.panels_for_event(self.page, event)

    def render_panel(self, name: str, version: int, snapshot: bool) -> str:
        """Runs in a worker thread (database access)."""
        return panels.panel_html(page=self.page, panel=name, user=self.user, sub_account_id=self.sub_account_id,
                                 version=version, snapshot=snapshot)

    def mark(self, names: tuple[str, ...] | list[str]) -> None:
        if names:
            self.dirty.update(names)
            self.wake.set()

    async def send_snapshot(self) -> None:
        html = [await self._render(name, snapshot=True) for name in self.panel_names]
        await self.send(text_data="\n".join(html))

    async def _render(self, name: str, *, snapshot: bool = False) -> str:
        self.versions[name] += 1
        self.last_sent[name] = time.monotonic()
        return await database_sync_to_async(self.render_panel)(name, self.versions[name], snapshot)

    async def _flusher(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            now = time.monotonic()
            due = [name for name in self.dirty if now - self.last_sent.get(name, 0) >= MIN_INTERVAL_S]
            for name in due:
                self.dirty.discard(name)
                await self.send(text_data=await self._render(name))
            if self.dirty:  # some panels were sent too recently: come back when the earliest may go
                wait = min(MIN_INTERVAL_S - (now - self.last_sent.get(n, 0)) for n in self.dirty)
                await asyncio.sleep(max(wait, 0.01))
                self.wake.set()

    async def _ticker(self) -> None:
        started = time.monotonic()
        last_tick: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            full = now - started >= panels.FULL_REFRESH_S
            if full:
                started = now
            names = [name for name in self.panel_names
                     if full or now - last_tick.get(name, 0) >= self.tick_panels.get(name, float("inf"))]
            for name in names:
                last_tick[name] = now
            self.mark(names)


class DeskConsumer(LivePageConsumer):
    page = "desk"


class AccountConsumer(LivePageConsumer):
    page = "account"


class MarketConsumer(LivePageConsumer):
    """Quotes for everyone; the chart's sub-account (?sub_account=&symbol=) only within the caller's grants."""

    page = "market"

    def _groups(self) -> list[str]:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.symbol = (query.get("symbol") or [None])[0]
        raw = (query.get("sub_account") or [""])[0]
        if raw:
            if not raw.isdigit():
                raise NotFound(f"sub-account {raw!r} does not exist")
            self.sub_account_id = subaccount_get_visible(user=self.user, sub_account_id=int(raw)).pk
            return [account_group(self.sub_account_id), "engine"]
        return ["engine"]

    def render_panel(self, name: str, version: int, snapshot: bool) -> str:
        return panels.panel_html(page=self.page, panel=name, user=self.user, sub_account_id=self.sub_account_id,
                                 version=version, snapshot=snapshot, symbol=self.symbol)
