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
import itertools
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
from trading.web.shared_render import SHARED, VERSION_MARK, stamp

logger = logging.getLogger(__name__)
MIN_INTERVAL_S = 0.1  # at most 10 updates per second per panel
TICK_S = 0.5
OVERVIEW_SERIALS = itertools.count(1)
RETRY_S = 1.0
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
        self.symbol: str | None = None
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
        self.dirty: dict[str, float] = {}  # panel -> a render must have started after this moment to show it
        self.last_sent: dict[str, float] = {}
        self.sent_html: dict[str, str] = {}  # as last sent, unstamped
        self.inflight: set[str] = set()  # panels being rendered for this socket
        self.batches: set[asyncio.Task[None]] = set()
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
        tasks = [*getattr(self, "tasks", []), *getattr(self, "batches", ())]
        for task in tasks:
            task.cancel()
        for task in tasks:
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
        """A `{type, event, data, ts, id}` event from the engine (trading.events): mark the panels it changes."""
        self.mark(self.panels_for(str(message.get("event", ""))), SHARED.event_seen(message.get("id")))

    def panels_for(self, event: str) -> tuple[str, ...]:
        return panels.panels_for_event(self.page, event)

    def render_panel(self, name: str, version: int | str, snapshot: bool,
                     shared: dict[str, Any] | None = None) -> str:
        """Runs in a worker thread (database access). The socket checked the grant (connect, full refresh)."""
        return panels.panel_html(page=self.page, panel=name, user=self.user, sub_account_id=self.sub_account_id,
                                 version=version, snapshot=snapshot, symbol=self.symbol, granted=True,
                                 shared=shared)

    def mark(self, names: tuple[str, ...] | list[str], fresh_after: float) -> None:
        for name in names:
            self.dirty[name] = max(self.dirty.get(name, fresh_after), fresh_after)
        if names:
            self.wake.set()

    async def send_snapshot(self) -> None:
        now = SHARED.now()
        html = await asyncio.gather(*(self._render(name, fresh_after=now, snapshot=True) for name in self.panel_names))
        await self.send(text_data="\n".join(self._stamped(self.panel_names, html)))

    def _stamped(self, names: tuple[str, ...] | list[str], html: list[str]) -> list[str]:
        """Each socket numbers its own panels: the page asks for a snapshot when it sees a gap."""
        stamped = []
        now = time.monotonic()
        for name, fragment in zip(names, html, strict=True):
            self.versions[name] += 1
            self.last_sent[name] = now
            self.sent_html[name] = fragment
            stamped.append(stamp(fragment, self.versions[name]))
        return stamped

    async def _render(self, name: str, *, fresh_after: float, snapshot: bool = False) -> str:
        if name not in panels.VIEWER_INDEPENDENT.get(self.page, ()):
            key: tuple[Any, ...] = (self.page, name, self.sub_account_id, self.symbol, snapshot, self.user.pk)
        else:
            key = (self.page, name, self.sub_account_id, self.symbol, snapshot)
        shared = None
        if self.page == "account" and name in panels.OVERVIEW_PANELS and self.sub_account_id is not None:
            sub_account_id = self.sub_account_id
            serial, shared = await SHARED.render(
                (self.page, "overview", sub_account_id), fresh_after,
                lambda: (next(OVERVIEW_SERIALS), panels.live_overview_context(sub_account_id=sub_account_id)))
            key = (*key, serial)  # HTML is shared only by sockets that got the same figures
        return await SHARED.render(key, fresh_after, lambda: self.render_panel(name, VERSION_MARK, snapshot, shared))

    async def _flusher(self) -> None:
        """Starts a render of each dirty panel as soon as its interval allows and sends each the moment it is
        ready: a panel held back by its interval, or a slow one, never delays another. A panel is never rendered
        twice at once for one socket, so its versions reach the page in order."""
        timeout: float | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)
            self.wake.clear()
            now = time.monotonic()
            due = [name for name in self.panel_names if name in self.dirty and name not in self.inflight
                   and now - self.last_sent.get(name, 0) >= MIN_INTERVAL_S]
            if due:
                self.inflight.update(due)
                batch = asyncio.create_task(self._render_and_send(due))
                self.batches.add(batch)
                batch.add_done_callback(self.batches.discard)
            waiting = [name for name in self.dirty if name not in self.inflight]
            timeout = None
            if waiting:  # sent too recently: come back when the earliest may go
                now = time.monotonic()
                timeout = max(min(MIN_INTERVAL_S - (now - self.last_sent.get(n, 0)) for n in waiting), 0.005)

    async def _render_and_send(self, due: list[str]) -> None:
        pending = {asyncio.ensure_future(self._render(name, fresh_after=self.dirty.pop(name))): name for name in due}
        failed: list[str] = []
        try:
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                ready: list[tuple[str, str]] = []
                for task in done:
                    name = pending.pop(task)
                    if task.exception() is not None:  # a database hiccup: keep the socket, try again shortly
                        logger.warning("live panel %s not rendered", name, exc_info=task.exception())
                        failed.append(name)
                    else:
                        ready.append((name, task.result()))
                if ready:
                    names = [name for name, _ in ready]
                    # a panel that looks the same is not sent (the pages have less to swap); the status panel
                    # always is: it is the page's sign that the socket is alive
                    changed = [(name, html) for name, html in ready
                               if name == "status" or self.sent_html.get(name) != html]
                    if changed:
                        await self.send(text_data="\n".join(self._stamped([name for name, _ in changed],
                                                                          [html for _, html in changed])))
                    self.inflight.difference_update(names)
                    self.wake.set()  # a panel marked while it was rendering goes again
        finally:  # the socket closed: the shared renders go on for the others
            for task in pending:
                task.cancel()
        if failed:
            await asyncio.sleep(RETRY_S)
            self.inflight.difference_update(failed)
            self.mark(failed, SHARED.now())

    async def _ticker(self) -> None:
        started = time.monotonic()
        last_tick: dict[str, float] = {}
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            full = now - started >= panels.FULL_REFRESH_S
            if full:
                started = now
                try:  # grants may have been withdrawn since the socket opened
                    await database_sync_to_async(self._groups)()
                except NotFound:
                    await self.close(code=CLOSE_NOT_FOUND)
                    return
            names = [name for name in self.panel_names
                     if full or now - last_tick.get(name, 0) >= self.tick_panels.get(name, float("inf"))]
            for name in names:
                last_tick[name] = now
            # a timer refresh may reuse a render another socket started within the last tick
            self.mark(names, SHARED.now() - TICK_S)


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
