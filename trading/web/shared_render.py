"""One render of a live panel for every open page that shows it.

Twenty pages on one sub-account used to re-render the same seven panels twenty times after each fill, one
after another on the single database thread: the last page saw its fill seconds late. Panels whose HTML
does not depend on the viewer (grants are checked when the socket connects and again on every full
refresh) are rendered once per change and the HTML is shared; each socket stamps its own version.

Freshness is decided without clocks from other machines: an event is "seen" when the first socket in this
process receives it (the engine publishes after its commit), and a render started after that moment
reflects the change. A render already under way or finished after the moment is reused.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.db import database_sync_to_async

VERSION_MARK = "__pms_version__"  # rendered in place of the version; each socket substitutes its own
SEEN_EVENTS_KEPT = 4096
T = TypeVar("T")
RENDERS_KEPT = 2048
# Renders are mostly Python (templates, ORM) under one GIL: a few threads overlap the database round trips,
# more would only interleave CPU work so that every panel of a change arrives late instead of the first early.
RENDER_THREADS = 3


def stamp(html: str, version: int) -> str:
    return html.replace(VERSION_MARK, str(version), 1)


@dataclass(slots=True)
class _Render:
    started: float
    task: asyncio.Task[Any]


class SharedRenders:
    """Single-flight rendering keyed by what the HTML depends on (page, panel, sub-account, symbol, viewer)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._renders: dict[Hashable, _Render] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.started = 0  # renders actually run (the rest were shared)
        self._pool = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="panel-render")

    def event_seen(self, event_id: object) -> float:
        """When this process first received the event; a render started after it shows the event's change."""
        now = self._clock()
        if not isinstance(event_id, str) or not event_id:
            return now
        seen = self._seen.setdefault(event_id, now)
        if len(self._seen) > SEEN_EVENTS_KEPT:
            self._seen.popitem(last=False)
        return seen

    def now(self) -> float:
        return self._clock()

    async def render(self, key: Hashable, fresh_after: float, render: Callable[[], T]) -> T:
        """The result of `render` (HTML, or figures several panels share), run at most once per change."""
        loop = asyncio.get_running_loop()
        entry = self._renders.get(key)
        if entry is None or entry.started < fresh_after or entry.task.get_loop() is not loop:
            task = loop.create_task(database_sync_to_async(render, thread_sensitive=False, executor=self._pool)())
            entry = _Render(self._clock(), task)
            self.started += 1
            self._renders[key] = entry
            entry.task.add_done_callback(functools.partial(self._forget_failed, key))
            if len(self._renders) > RENDERS_KEPT:
                self._renders.pop(next(iter(self._renders)))
        # shield: a socket that closes while waiting must not cancel the render the others wait for
        result: T = await asyncio.shield(entry.task)
        return result

    def _forget_failed(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if (task.cancelled() or task.exception() is not None) and (entry := self._renders.get(key)) is not None \
                and entry.task is task:
            del self._renders[key]


SHARED = SharedRenders()
