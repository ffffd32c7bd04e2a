"""Market stream names and the hub that fans stream payloads out to subscribed websockets."""

from __future__ import annotations

import re
from collections.abc import Iterable

from simexchange.server.connections import Connection

# Per-symbol stream kinds we publish; Binance accepts subscriptions to streams that never send
# anything, and so do we for well-formed names of other kinds (depth, kline) — they stay silent.
SYMBOL_STREAM_RE = re.compile(
    r"^[a-z0-9]{1,20}@(bookTicker|trade|aggTrade|ticker|miniTicker|markPrice(@1s)?|depth\d{0,2}(@\d+ms)?"
    r"|kline_\w{2,3}|forceOrder)$"
)
ALL_STREAMS = frozenset(
    {"!bookTicker", "!markPrice@arr", "!markPrice@arr@1s", "!ticker@arr", "!miniTicker@arr", "!forceOrder@arr"}
)
MAX_STREAMS_PER_CONNECTION = 200


def is_valid_stream(name: str) -> bool:
    return name in ALL_STREAMS or SYMBOL_STREAM_RE.match(name) is not None


def envelope(stream: str, data_json: str) -> str:
    """The combined-stream wrapper, built without re-serialising the payload."""
    return '{"stream":"' + stream + '","data":' + data_json + "}"


class StreamHub:
    """stream name -> subscribed connections."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Connection]] = {}
        self.published = 0

    def subscribe(self, conn: Connection, names: Iterable[str]) -> None:
        for name in names:
            if name not in conn.subscriptions:
                conn.subscriptions.append(name)
            self._subs.setdefault(name, set()).add(conn)

    def unsubscribe(self, conn: Connection, names: Iterable[str]) -> None:
        for name in names:
            if name in conn.subscriptions:
                conn.subscriptions.remove(name)
            subs = self._subs.get(name)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._subs[name]

    def drop(self, conn: Connection) -> None:
        self.unsubscribe(conn, list(conn.subscriptions))

    def has_subscribers(self, name: str) -> bool:
        return bool(self._subs.get(name))

    def connections(self) -> set[Connection]:
        out: set[Connection] = set()
        for subs in self._subs.values():
            out |= subs
        return out

    async def publish(self, stream: str, data_json: str) -> None:
        subs = self._subs.get(stream)
        if not subs:
            return
        self.published += 1
        wrapped: str | None = None
        for conn in list(subs):
            if conn.combined:
                if wrapped is None:
                    wrapped = envelope(stream, data_json)
                await conn.enqueue(wrapped)
            else:
                await conn.enqueue(data_json)
