"""Fill routing: user-data events → the owning sub-account's books, exactly once."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from decimal import Decimal

from core.clock import SYSTEM_CLOCK, Clock, ms_to_datetime
from core.errors import VenueUnavailable
from trading.domain.client_ids import client_id_is_ours, client_id_parse
from trading.domain.orders import OrderUpdate
from trading.domain.records import FillBooked, FillReport
from trading.engine.hooks import EventSink, discard_events
from trading.engine.journal import Journal
from trading.engine.metrics import METRICS
from trading.engine.order_manager import OrderManager, update_from
from trading.venues.base import (
    AccountEvent,
    OrderEvent,
    StreamInterrupted,
    StreamResumed,
    UserEvent,
    Venue,
    VenuePosition,
    VenueTrade,
)

logger = logging.getLogger(__name__)
GAP_MARGIN_MS = 5_000  # trades are fetched from a little before the last event we saw


class RecentKeys:
    """A bounded set of recently booked trade keys: duplicates are skipped without a database trip."""

    def __init__(self, size: int = 50_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)


def order_events_split(events: list[UserEvent]) -> tuple[list[VenueTrade], list[tuple[str, OrderUpdate, str | None]]]:
    """The executions among the events, and the order updates of our own orders (others': only fills matter)."""
    trades: list[VenueTrade] = []
    updates: list[tuple[str, OrderUpdate, str | None]] = []
    for event in events:
        if isinstance(event, OrderEvent):
            if event.trade is not None:
                trades.append(event.trade)
            order = event.order
            if client_id_is_ours(order.client_order_id):
                updates.append((order.client_order_id, update_from(order), order.exchange_order_id))
    return trades, updates


class FillRouter:
    """Routes by the client id's sub-account code without a lookup; anything else goes to the house."""

    def __init__(self, *, journal: Journal, manager: OrderManager, venue: Venue, sub_account_codes: dict[str, int],
                 house_sub_account_id: int, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events,
                 fill_listeners: list[Callable[[FillBooked], None]] | None = None,
                 on_recovered: Callable[[], Awaitable[object]] | None = None) -> None:
        self.journal, self.manager, self.venue, self.clock = journal, manager, venue, clock
        self.fill_listeners = fill_listeners if fill_listeners is not None else []  # e.g. the risk engine
        self.on_recovered = on_recovered  # e.g. start the sweeps' debounce: they need not redo this recovery
        self.codes = sub_account_codes
        self.house_id = house_sub_account_id
        self.publish = publish
        self.recent = RecentKeys()
        self.last_event_ms = 0
        self.exchange_positions: dict[str, VenuePosition] = {}
        self.traded_symbols: set[str] = set()

    async def handle(self, event: UserEvent) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: list[UserEvent]) -> None:
        """Events in arrival order; the fills among them are booked together in one transaction first."""
        trades, updates = order_events_split(events)
        await self.book_many(trades)
        if updates:
            await self.manager.apply_many(updates)
        for event in events:
            if isinstance(event, AccountEvent):
                for position in event.positions:
                    self._exchange_reported(position)
            elif isinstance(event, StreamInterrupted):
                METRICS.stream_reconnects.inc()
                self.manager.pause(f"user-data stream lost ({event.reason}); reconnecting")
                self.publish("engine", "engine_state", {"stream": "disconnected", "reason": event.reason})
            elif isinstance(event, StreamResumed):
                await self.recover(since_ms=event.since_ms or self.last_event_ms)
                self.manager.resume()
                self.publish("engine", "engine_state", {"stream": "connected"})
            self.last_event_ms = max(self.last_event_ms, event.event_ms)

    async def book(self, trade: VenueTrade) -> bool:
        """Book one execution; False when it was already booked."""
        return (await self.book_many([trade])) == 1

    async def book_many(self, trades: list[VenueTrade]) -> int:
        """Book executions exactly once; returns how many were new."""
        fresh: dict[str, VenueTrade] = {}
        for trade in trades:
            if trade.trade_key in self.recent or trade.trade_key in fresh:
                METRICS.fills_duplicate.inc()
            else:
                fresh[trade.trade_key] = trade
        if not fresh:
            return 0
        reports = [self._report(trade) for trade in fresh.values()]
        results = await self.journal.fill_book_many(reports)
        booked_count = 0
        for report, booked in zip(reports, results, strict=True):
            self.recent.add(report.trade_key)
            if booked is None:
                METRICS.fills_duplicate.inc()
                continue
            booked_count += 1
            METRICS.fills_booked.inc()
            self.manager.on_fill(report, booked.position.quantity)
            for listener in self.fill_listeners:
                listener(booked)
            if self._owner(report.client_order_id) is None:
                self._alert_external(report)
        return booked_count

    def _owner(self, client_order_id: str) -> int | None:
        """The sub-account a client id routes to, read off its prefix; None for anyone else's order."""
        parsed = client_id_parse(client_order_id)
        return self.codes.get(parsed.sub_account_code) if parsed else None

    def _report(self, trade: VenueTrade) -> FillReport:
        owner = self._owner(trade.client_order_id)
        return FillReport(
            trade_key=trade.trade_key, sub_account_id=self.house_id if owner is None else owner,
            symbol=trade.symbol, side=trade.side, price=trade.price, quantity=trade.quantity,
            executed_at=ms_to_datetime(trade.time_ms), fee=trade.fee, fee_asset=trade.fee_asset,
            is_maker=trade.is_maker, client_order_id=trade.client_order_id)

    def _alert_external(self, report: FillReport) -> None:
        METRICS.external_fills.inc()
        logger.warning("external fill booked to the house sub-account", extra={
            "client_order_id": report.client_order_id, "trade_key": report.trade_key})
        self.publish("risk", "risk_alert", {
            "kind": "external_fill", "trade_key": report.trade_key,
            "message": (f"a {report.side.value} of {report.quantity} {report.symbol} at {report.price} by "
                        f"{report.client_order_id or 'unknown'} was not placed by PMS; booked to the house "
                        "sub-account")})

    async def recover(self, *, since_ms: int) -> None:
        """Gap reconciliation before new orders: trades since the gap, then every live order's state."""
        # Any symbol we may have traded: live orders, orders that just ended (their fills may be the lost
        # events), open positions, and every instrument the desk trades.
        symbols = set(self.traded_symbols) | {live.order.symbol for live in self.manager.live.values()}
        symbols |= {order.symbol for order in self.manager.recently_finished()}
        symbols |= {symbol for symbol, quantity in self.manager.positions.net.items() if quantity != 0}
        symbols |= {symbol for (_, symbol), quantity in self.manager.positions.by_sub.items() if quantity != 0}
        for symbol in sorted(symbols):
            for trade in await self.venue.trades_since(symbol=symbol, since_ms=max(0, since_ms - GAP_MARGIN_MS)):
                await self.book(trade)
        for client_order_id, live in list(self.manager.live.items()):
            try:
                venue_order = await self.venue.fetch_order(symbol=live.order.symbol, client_order_id=client_order_id)
            except VenueUnavailable:
                logger.warning("order state unknown after the gap", extra={"client_order_id": client_order_id})
                continue
            if venue_order is not None:
                await self.manager.apply(client_order_id, update_from(venue_order),
                                         exchange_order_id=venue_order.exchange_order_id)
            else:  # sent just before a crash, or never sent: resolved by query once the window has passed
                self.manager.resolve_later(client_order_id)
        reported = {position.symbol: position for position in await self.venue.positions()}
        for symbol in set(self.exchange_positions) - set(reported):  # only open positions are listed
            reported[symbol] = VenuePosition(symbol, Decimal(0), Decimal(0))
        for position in reported.values():
            self._exchange_reported(position)
        self._check_net()
        if self.on_recovered is not None:
            await self.on_recovered()

    def _exchange_reported(self, position: VenuePosition) -> None:
        self.exchange_positions[position.symbol] = position
        self.manager.exchange_positions[position.symbol] = position.quantity

    def _check_net(self) -> None:
        """Σ virtual = exchange, per symbol; a difference is left to the position sync, but shown now."""
        symbols = set(self.exchange_positions) | set(self.manager.positions.net)
        for symbol in symbols:
            exchange = self.exchange_positions.get(symbol)
            exchange_quantity = exchange.quantity if exchange else Decimal(0)
            virtual = self.manager.positions.net.get(symbol, Decimal(0))
            if exchange_quantity != virtual:
                self.publish("risk", "risk_alert", {
                    "kind": "position_mismatch", "symbol": symbol, "exchange": exchange_quantity,
                    "virtual": virtual, "message": f"{symbol}: exchange {exchange_quantity} vs Σ virtual {virtual}"})
