"""The Journal port (PostgreSQL live, memory in backtests) and its in-memory implementation."""

from __future__ import annotations

import itertools
from collections import deque
from decimal import Decimal
from typing import Any, Protocol

from core.errors import AppError, NotFound
from trading.domain.instruments import InstrumentRules
from trading.domain.orders import OrderState, OrderUpdate, apply_order_update
from trading.domain.positions import Fill, Position, apply_fill
from trading.domain.records import FillBooked, FillReport, JournaledOrder, OrderIntent, SubAccountInfo
from trading.domain.validation import check_intent, new_client_order_id


class Journal(Protocol):
    """Where the engine's facts are made durable. Every write is atomic and idempotent."""

    async def sub_accounts(self) -> list[SubAccountInfo]: ...

    async def instruments(self) -> list[InstrumentRules]: ...

    async def order_open(self, intent: OrderIntent, *, reference_price: Decimal | None) -> JournaledOrder:
        """Validate and commit the order as pending_submit; raises AppError and writes nothing when refused."""
        ...

    async def order_update(self, client_order_id: str, update: OrderUpdate, *, exchange_order_id: str | None = None,
                           reject_reason: str = "") -> JournaledOrder | None:
        """Fold a report into the order; None when it changed nothing (stale or duplicate)."""
        ...

    async def order_update_many(self, updates: list[tuple[str, OrderUpdate, str | None]]) -> list[JournaledOrder]:
        """A burst of reports in one transaction; unknown client ids are skipped. Returns the changed orders."""
        ...

    async def fill_book(self, report: FillReport) -> FillBooked | None:
        """Book once by trade key; None for a duplicate."""
        ...

    async def fill_book_many(self, reports: list[FillReport]) -> list[FillBooked | None]:
        """A burst of fills in one transaction, each exactly once."""
        ...

    async def live_orders(self) -> list[JournaledOrder]: ...

    async def positions(self) -> list[tuple[int, Position]]: ...


class MemoryJournal:
    """The backtest journal: the same rules as PostgreSQL, kept in dictionaries."""

    def __init__(self, sub_accounts: list[SubAccountInfo], instruments: list[InstrumentRules], *,
                 history_kept: int | None = None) -> None:
        self._subs = {sub.sub_account_id: sub for sub in sub_accounts}
        self._rules = {rules.symbol: rules for rules in instruments}
        self.orders: dict[str, JournaledOrder] = {}
        self.fills: dict[str, FillReport] = {}
        self.positions_by_key: dict[tuple[int, str], Position] = {}
        self._fill_ids = itertools.count(1)
        # None keeps every order and fill (reports read them). A benchmark of millions of orders keeps the
        # live orders and only the latest `history_kept` terminal orders and fills, so memory stays flat; a
        # duplicate fill is still caught within that window, as the FillRouter's recent keys do live.
        self.history_kept = history_kept
        self._terminal: deque[str] = deque()
        self._fill_keys: deque[str] = deque()

    async def sub_accounts(self) -> list[SubAccountInfo]:
        return list(self._subs.values())

    async def instruments(self) -> list[InstrumentRules]:
        return list(self._rules.values())

    async def order_open(self, intent: OrderIntent, *, reference_price: Decimal | None) -> JournaledOrder:
        sub_account = self._subs.get(intent.sub_account_id)
        check_intent(intent, sub_account, self._rules.get(intent.symbol), reference_price)
        assert sub_account is not None  # noqa: S101 - check_intent raised otherwise
        client_order_id = new_client_order_id(intent, sub_account)
        if client_order_id in self.orders:
            raise AppError(f"client order id {client_order_id} is already used")
        order = JournaledOrder(
            client_order_id=client_order_id, sub_account_id=intent.sub_account_id, symbol=intent.symbol,
            side=intent.side, order_type=intent.order_type, quantity=intent.quantity, price=intent.price,
            time_in_force=intent.time_in_force, reduce_only=intent.reduce_only, origin=intent.origin,
            algo_run_id=intent.algo_run_id)
        self.orders[client_order_id] = order
        return order

    async def order_update(self, client_order_id: str, update: OrderUpdate, *, exchange_order_id: str | None = None,
                           reject_reason: str = "") -> JournaledOrder | None:
        order = self.orders.get(client_order_id)
        if order is None:
            raise NotFound(f"no order with client id {client_order_id}")
        if order.status.is_terminal and (order.exchange_order_id or not exchange_order_id):
            return None  # what apply_order_update says first: a terminal order absorbs every report (stream echoes)
        state = OrderState(order.status, order.quantity, order.filled_quantity, order.average_price)
        new_state, changed = apply_order_update(state, update)
        if exchange_order_id and not order.exchange_order_id:
            changed = True
        if not changed:
            return None
        # The constructor, not dataclasses.replace: this runs on every report of every backtest order.
        order = JournaledOrder(
            order.client_order_id, order.sub_account_id, order.symbol, order.side, order.order_type, order.quantity,
            order.price, order.time_in_force, order.reduce_only, order.origin, order.algo_run_id, new_state.status,
            new_state.filled_quantity, new_state.average_price, order.exchange_order_id or exchange_order_id)
        self.orders[client_order_id] = order
        if self.history_kept is not None and new_state.status.is_terminal and not state.status.is_terminal:
            self._forget_oldest(self._terminal, client_order_id, self.orders)
        return order

    def _forget_oldest(self, kept: deque[str], key: str, table: dict[str, Any]) -> None:
        kept.append(key)
        if len(kept) > (self.history_kept or 0):
            table.pop(kept.popleft(), None)

    async def order_update_many(self, updates: list[tuple[str, OrderUpdate, str | None]]) -> list[JournaledOrder]:
        changed: dict[str, JournaledOrder] = {}
        for client_order_id, update, exchange_order_id in updates:
            if client_order_id not in self.orders:
                continue
            order = await self.order_update(client_order_id, update, exchange_order_id=exchange_order_id)
            if order is not None:
                changed[client_order_id] = order
        return list(changed.values())

    async def fill_book(self, report: FillReport) -> FillBooked | None:
        if report.trade_key in self.fills:
            return None
        key = (report.sub_account_id, report.symbol)
        position = self.positions_by_key.get(key, Position(report.symbol))
        fee = report.fee if report.fee_asset == report.quote_asset else Decimal(0)
        position, change = apply_fill(position, Fill(report.trade_key, report.symbol, report.side, report.price,
                                                     report.quantity, fee, report.is_maker))
        self.fills[report.trade_key] = report
        if self.history_kept is not None:
            self._forget_oldest(self._fill_keys, report.trade_key, self.fills)
        self.positions_by_key[key] = position
        return FillBooked(next(self._fill_ids), report.sub_account_id, position, change)

    async def fill_book_many(self, reports: list[FillReport]) -> list[FillBooked | None]:
        return [await self.fill_book(report) for report in reports]

    async def live_orders(self) -> list[JournaledOrder]:
        return [order for order in self.orders.values() if not order.status.is_terminal]

    async def positions(self) -> list[tuple[int, Position]]:
        return [(sub_id, position) for (sub_id, _), position in self.positions_by_key.items()]


