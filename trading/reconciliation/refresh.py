"""The engine's side of a reconciliation: reload the positions a sweep changed behind it (DESIGN §4).

Every position change is a booked fill, so "what changed" is "fills the engine did not book itself". The engine
LISTENs on `pms_reconciled` (sent by the sweep inside its booking transaction) and also polls as a fallback;
either way it reads the fills booked since it last looked, skips those it booked or already took in (their
trade keys are in the router's recent keys), reloads those fills' positions from PostgreSQL into the
OrderManager's book and tells the listeners (the risk engine) of each fill once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import psycopg
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection
from django.db.models import Max

from core.money import ZERO
from trading.domain.orders import OrderStatus
from trading.domain.positions import Position, PositionChange, PositionChangeKind
from trading.domain.records import FillBooked
from trading.domain.types import Side
from trading.engine.journal_pg import journaled
from trading.engine.order_manager import OrderManager
from trading.models import Fill, Order, VirtualPosition
from trading.reconciliation.notify import RECONCILED_CHANNEL

logger = logging.getLogger(__name__)
# Fill ids are taken at insert and become visible at commit, so a slow transaction can commit a lower id after a
# higher one was read: each look re-reads this many ids below the highest seen (keys, not rows, are compared).
ID_OVERLAP = 2_000
QUOTE_ASSET = "USDT"


class SeenKeys(Protocol):
    def __contains__(self, key: str) -> bool: ...

    def add(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _FillRow:
    fill_id: int
    trade_key: str
    sub_account_id: int
    symbol: str
    side: str
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal


def _fill_keys_after(after_id: int) -> list[tuple[int, str]]:
    if not connection.in_atomic_block:
        close_old_connections()  # a PostgreSQL restart broke the engine's connection: the next query reconnects
    return list(Fill.objects.filter(id__gt=after_id).order_by("id").values_list("id", "trade_key"))


def _fills_and_positions(fill_ids: list[int]) -> tuple[list[_FillRow], dict[tuple[int, str], Position]]:
    rows = [_FillRow(*values) for values in Fill.objects.filter(id__in=fill_ids).order_by("id").values_list(
        "id", "trade_key", "sub_account_id", "symbol", "side", "quantity", "fee", "fee_asset", "realized_pnl")]
    positions: dict[tuple[int, str], Position] = {}
    for sub_account_id, symbol in {(row.sub_account_id, row.symbol) for row in rows}:
        position = VirtualPosition.objects.filter(sub_account_id=sub_account_id, symbol=symbol).first()
        positions[(sub_account_id, symbol)] = position.to_domain() if position else Position(symbol)
    return rows, positions


TERMINAL = [status.value for status in OrderStatus if status.is_terminal]


def _finished_of(client_order_ids: list[str]) -> list[Order]:
    """The rows of these orders that are finished in the database."""
    return list(Order.objects.filter(client_order_id__in=client_order_ids, status__in=TERMINAL))


def _max_fill_id() -> int:
    return int(Fill.objects.aggregate(last=Max("id"))["last"] or 0)


def _change_kind(before: Decimal, after: Decimal) -> PositionChangeKind:
    if before == 0:
        return PositionChangeKind.OPENED
    if after == 0:
        return PositionChangeKind.CLOSED
    if (before > 0) != (after > 0):
        return PositionChangeKind.FLIPPED
    return PositionChangeKind.ADDED if abs(after) > abs(before) else PositionChangeKind.REDUCED


def fills_as_booked(rows: list[_FillRow], positions: dict[tuple[int, str], Position]) -> list[FillBooked]:
    """The fills as the engine would have seen them booked: each with the position it left (walked back from
    the current one), its realized PnL and its quote-asset fee."""
    booked: list[FillBooked] = []
    after_by_key = {key: position.quantity for key, position in positions.items()}
    for row in reversed(rows):
        key = (row.sub_account_id, row.symbol)
        after = after_by_key[key]
        before = after - (row.quantity if row.side == Side.BUY else -row.quantity)
        after_by_key[key] = before
        fee = row.fee if row.fee_asset == QUOTE_ASSET else ZERO
        current = positions[key]
        position = current if after == current.quantity else Position(row.symbol, after, current.average_entry)
        booked.append(FillBooked(row.fill_id, row.sub_account_id, position,
                                 PositionChange(_change_kind(before, after), row.realized_pnl, fee, before, after)))
    return list(reversed(booked))


class ReconciledRefresh:
    """Runs in the engine's loop; `start()` once the books are loaded, then `run()` supervised."""

    def __init__(self, *, manager: OrderManager, seen: SeenKeys, listeners: list[Callable[[FillBooked], None]],
                 database_url: str, poll_interval_s: float = 5.0) -> None:
        self.manager, self.seen, self.listeners = manager, seen, listeners
        self.database_url = database_url
        self.poll_interval_s = poll_interval_s
        self.high_water = 0
        self.reloads = 0
        self.orders_settled = 0

    async def start(self) -> None:
        """Everything booked before now is in the books the engine just loaded: none of it is news."""
        self.high_water = await sync_to_async(_max_fill_id)()
        for _, trade_key in await sync_to_async(_fill_keys_after)(max(0, self.high_water - ID_OVERLAP)):
            self.seen.add(trade_key)

    async def run(self) -> None:
        """LISTEN, with a poll every `poll_interval_s` as the fallback (a lost connection is restarted by the
        supervisor; the poll covers notifications sent while nobody listened)."""
        async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as listener:
            await listener.execute(f"LISTEN {RECONCILED_CHANNEL}")
            while True:
                await self.refresh()
                async for _ in listener.notifies(timeout=self.poll_interval_s, stop_after=1):
                    pass

    async def refresh(self) -> list[FillBooked]:
        """Take in the fills booked by someone else since the last look (returned), then the orders a sweep
        finished behind the engine."""
        booked = await self._fills()
        await self._orders()
        return booked

    async def _orders(self) -> None:
        """An order the order sync resolved (absent on the exchange: filled, cancelled, never arrived) is
        terminal in the database while the live set still holds it: working exposure for the risk check, an algo
        waiting for it. Its fills came in first (above), so its owner is told it is done with everything booked."""
        live = list(self.manager.live)
        if not live:
            return
        for row in await sync_to_async(_finished_of)(live):
            if self.manager.settle_reconciled(journaled(row)):
                self.orders_settled += 1
                logger.info("order finished by a reconciliation taken off the live set", extra={
                    "client_order_id": row.client_order_id, "status": row.status})

    async def _fills(self) -> list[FillBooked]:
        keys = await sync_to_async(_fill_keys_after)(max(0, self.high_water - ID_OVERLAP))
        await asyncio.sleep(0)  # the engine's own booking, committed just before this read, notes its keys first
        version = self.manager.positions.version
        fresh = [fill_id for fill_id, trade_key in keys if trade_key not in self.seen]
        if keys:
            self.high_water = max(self.high_water, keys[-1][0])
        if not fresh:
            return []
        rows, positions = await sync_to_async(_fills_and_positions)(fresh)
        reloaded = self.manager.positions_reload(
            [(sub_account_id, symbol, position.quantity) for (sub_account_id, symbol), position in positions.items()],
            read_at_version=version)
        booked = fills_as_booked(rows, positions)
        for row in rows:
            self.seen.add(row.trade_key)
        self.reloads += 1
        logger.info("positions reloaded after a reconciliation", extra={
            "fills": len(rows), "positions": [f"{sub}:{symbol}" for sub, symbol in reloaded]})
        for listener in self.listeners:
            for fill in booked:
                try:
                    listener(fill)
                except Exception:  # one listener's bug must not stop the others hearing of the fill
                    logger.exception("reconciled-fill listener failed", extra={"trade_key": rows[0].trade_key})
        return booked
