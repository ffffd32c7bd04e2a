"""One websocket client: its subscriptions and a bounded outbound queue drained by a sender task."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger(__name__)

QUEUE_SIZE = 20000
SLOW_CONSUMER_TIMEOUT_S = 10.0
_ids = itertools.count(1)


class Connection:
    """A websocket connection; `enqueue` applies backpressure and drops a client that stays stuck."""

    def __init__(self, ws: web.WebSocketResponse, path: str, *, combined: bool, account_id: int | None = None,
                 on_sent: Callable[[str], None] | None = None):
        self.id = next(_ids)
        self.ws = ws
        self.path = path
        self.combined = combined
        self.account_id = account_id
        self.listen_key: str | None = None
        self.subscriptions: list[str] = []
        self.sent = 0
        self.opened_at = time.monotonic()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.closed = False
        self._on_sent = on_sent  # the latency trace's hook (market streams)

    def start(self) -> None:
        self._sender = asyncio.create_task(self._drain(), name=f"ws-sender-{self.id}")

    async def enqueue(self, text: str) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(self._queue.put(text), SLOW_CONSUMER_TIMEOUT_S)
            except TimeoutError:
                log.warning("websocket %s too slow; closing it", self.id)
                await self.close()

    def enqueue_nowait(self, text: str) -> bool:
        """Queue without waiting (control replies); False when the queue is full or the socket closed."""
        if self.closed:
            return False
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def _drain(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                try:
                    if text is None or self.ws.closed:
                        break
                    await self.ws.send_str(text)
                    self.sent += 1
                    if self._on_sent is not None:
                        self._on_sent(text)
                finally:
                    self._queue.task_done()
        except (ConnectionError, RuntimeError):
            pass
        finally:
            self.closed = True

    def close_soon(self) -> None:
        """Close from synchronous code (the task is kept so it is not garbage-collected)."""
        if self._closer is None:
            self.closed = True
            self._closer = asyncio.get_running_loop().create_task(self.close(), name=f"ws-close-{self.id}")

    async def close(self, code: int = 1000, message: bytes = b"") -> None:
        """Close the socket now (pending messages are discarded)."""
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=message)
        await self.stop_sender()

    async def stop_sender(self) -> None:
        self.closed = True
        sender = self._sender
        if sender is not None and not sender.done():
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
