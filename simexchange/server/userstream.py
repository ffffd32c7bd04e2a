"""User-data delivery: per-account private websockets, with the drop/duplicate/reorder faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from simexchange.server.connections import Connection
from simexchange.server.faults import FaultInjector
from simexchange.server.listenkeys import ListenKey

REORDER_HOLD_S = 1.0  # a held-back event is released after this long if no later event overtakes it


@dataclass(slots=True)
class _Held:
    text: str
    held_at: float


class UserStreams:
    """account id -> its private connections; `deliver` renders nothing, it routes rendered payloads."""

    def __init__(self, faults: FaultInjector, now_ms: Callable[[], int]) -> None:
        self._faults = faults
        self._now_ms = now_ms
        self._conns: dict[int, set[Connection]] = {}
        self._held: dict[int, _Held] = {}
        self.delivered = 0
        self.dropped = 0

    def attach(self, conn: Connection) -> None:
        if conn.account_id is not None:
            self._conns.setdefault(conn.account_id, set()).add(conn)

    def detach(self, conn: Connection) -> None:
        if conn.account_id is None:
            return
        conns = self._conns.get(conn.account_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._conns[conn.account_id]

    def connections(self, account_id: int | None = None) -> list[Connection]:
        if account_id is not None:
            return list(self._conns.get(account_id, ()))
        return [c for conns in self._conns.values() for c in conns]

    def deliver(self, account_id: int, event_type: str, payload: dict[str, object]) -> None:
        """Send one user-data event to the account's live streams, through the user-data faults."""
        path = "/private"
        if self._faults.take("ud_drop", path=path, account=account_id, event=event_type) is not None:
            self.dropped += 1
            return
        text = orjson.dumps(payload).decode()
        copies = 2 if self._faults.take("ud_duplicate", path=path, account=account_id, event=event_type) else 1
        held = self._held.pop(account_id, None)
        if held is None and self._faults.take("ud_reorder", path=path, account=account_id, event=event_type):
            self._held[account_id] = _Held(text, time.monotonic())
            return
        for _ in range(copies):
            self._send(account_id, text)
        if held is not None:
            self._send(account_id, held.text)

    def release_held(self, *, force: bool = False) -> None:
        """Send held-back events whose hold time is over (called by the housekeeping loop)."""
        now = time.monotonic()
        for account_id, held in list(self._held.items()):
            if force or now - held.held_at >= REORDER_HOLD_S:
                del self._held[account_id]
                self._send(account_id, held.text)

    def listen_key_expired(self, entry: ListenKey) -> None:
        """Push listenKeyExpired to the key's connections; they then receive nothing more."""
        payload = {"e": "listenKeyExpired", "E": self._now_ms(), "listenKey": entry.key}
        text = orjson.dumps(payload).decode()
        for conn in self.connections(entry.account_id):
            if conn.listen_key == entry.key:
                self._wrap_and_queue(conn, text)
                conn.listen_key = None

    def _send(self, account_id: int, text: str) -> None:
        for conn in self.connections(account_id):
            if conn.listen_key is not None:
                self._wrap_and_queue(conn, text)
                self.delivered += 1

    @staticmethod
    def _wrap_and_queue(conn: Connection, text: str) -> None:
        if conn.combined and conn.listen_key is not None:
            text = '{"stream":"' + conn.listen_key + '","data":' + text + "}"
        if not conn.enqueue_nowait(text):
            conn.close_soon()  # a private stream that cannot keep up is dropped, like Binance does
