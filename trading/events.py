"""Live events on the channel layer (DESIGN §6): `{type, data, ts}` to a group, after commit."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from core.clock import SYSTEM_CLOCK, Clock

logger = logging.getLogger(__name__)

Publisher = Callable[[str, str, dict[str, Any]], None]
_EVENT_IDS = itertools.count(1)
_PROCESS = os.urandom(6).hex()


def _new_process_token() -> None:  # forked workers (Celery) must not repeat their parent's ids
    global _PROCESS
    _PROCESS = os.urandom(6).hex()


os.register_at_fork(after_in_child=_new_process_token)


def event_id_new() -> str:
    """Unique across processes: every socket of a web process that receives one event knows it is the same one
    (trading.web.shared_render renders once for all of them)."""
    return f"{_PROCESS}:{next(_EVENT_IDS)}"


def plain(value: Any) -> Any:
    """Data that crosses a process boundary: Decimal and datetimes as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def event_publish(group: str, event_type: str, data: dict[str, Any], *, clock: Clock = SYSTEM_CLOCK) -> None:
    """Best effort: a missing or unreachable channel layer must never fail a booking (degrade, don't crash)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "pms.event", "event": event_type, "data": plain(data), "ts": clock.now_ms(),
               "id": event_id_new()}
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # Redis down: pages resync on reconnect
        logger.warning("event %s to %s not delivered", event_type, group, exc_info=True)


def account_group(sub_account_id: int) -> str:
    return f"account.{sub_account_id}"


class EventOutbox:
    """Events from the engine's loop and its database thread, sent by one task on the loop.

    Publishing never blocks the trading path: a full outbox drops the event (pages resync from a
    snapshot on their next connect or version gap), and a channel-layer failure is logged, not raised.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, clock: Clock = SYSTEM_CLOCK, size: int = 10_000) -> None:
        self._loop = loop
        self._clock = clock
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def publish(self, group: str, event_type: str, data: dict[str, Any]) -> None:
        message = {"type": "pms.event", "event": event_type, "data": plain(data), "ts": self._clock.now_ms(),
                   "id": event_id_new()}
        self._loop.call_soon_threadsafe(self._put, group, message)

    def _put(self, group: str, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait((group, message))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self._queue.get()
            if layer is None:
                continue
            try:
                await layer.group_send(group, message)
            except Exception:  # Redis down: keep trading, pages show disconnected and resync later
                logger.warning("event %s to %s not delivered", message["event"], group, exc_info=True)
