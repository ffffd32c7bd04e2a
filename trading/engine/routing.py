"""Fill routing: user-data events → the owning sub-account's books, exactly once."""

from __future__ import annotations

import logging
from collections import OrderedDict
from decimal import Decimal

from core.clock import SYSTEM_CLOCK, Clock, ms_to_datetime
from core.errors import NotFound, VenueUnavailable
from trading.domain.client_ids import client_id_parse
from trading.domain.records import FillReport
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


class FillRouter:
    """Routes by the client id's sub-account code without a lookup; anything else goes to the house."""

    def __init__(self, *, journal: Journal, manager: OrderManager, venue: Venue, sub_account_codes: dict[str, int],
                 house_sub_account_id: int, clock: Clock = SYSTEM_CLOCK, publish: EventSink = discard_events) -> None:
        self.journal, self.manager, self.venue, self.clock = journal, manager, venue, clock
        self.codes = sub_account_codes
        self.house_id = house_sub_account_id
        self.publish = publish
        self.recent = RecentKeys()
        self.last_event_ms = 0
        self.exchange_positions: dict[str, VenuePosition] = {}

    async def handle(self, event: UserEvent) -> None:
        if isinstance(event, OrderEvent):
            await self._on_order_event(event)
        elif isinstance(event, AccountEvent):
            for position in event.positions:
                self.exchange_positions[position.symbol] = position
        elif isinstance(event, StreamInterrupted):
            METRICS.stream_reconnects.inc()
            self.manager.pause(f"user-data stream lost ({event.reason}); reconnecting")
            self.publish("engine", "engine_state", {"stream": "disconnected", "reason": event.reason})
        elif isinstance(event, StreamResumed):
            await self.recover(since_ms=event.since_ms or self.last_event_ms)
            self.manager.resume()
            self.publish("engine", "engine_state", {"stream": "connected"})
        self.last_event_ms = max(self.last_event_ms, getattr(event, "event_ms", 0))

    async def _on_order_event(self, event: OrderEvent) -> None:
        if event.trade is not None:
            await self.book(event.trade)
        order = event.order
        if client_id_parse(order.client_order_id) is None:
            return  # not ours: only its fills matter, and they went to the house
        try:
            await self.manager.apply(order.client_order_id, update_from(order),
                                     exchange_order_id=order.exchange_order_id)
        except NotFound:
            logger.warning("event for an order this database never placed", extra={
                "client_order_id": order.client_order_id})

    async def book(self, trade: VenueTrade) -> bool:
        """Book one execution; False when it was already booked."""
        if trade.trade_key in self.recent:
            METRICS.fills_duplicate.inc()
            return False
        parsed = client_id_parse(trade.client_order_id)
        owner = self.codes.get(parsed.sub_account_code) if parsed else None
        external = owner is None
        report = FillReport(
            trade_key=trade.trade_key, sub_account_id=self.house_id if owner is None else owner,
            symbol=trade.symbol, side=trade.side, price=trade.price, quantity=trade.quantity,
            executed_at=ms_to_datetime(trade.time_ms), fee=trade.fee, fee_asset=trade.fee_asset,
            is_maker=trade.is_maker, client_order_id=trade.client_order_id)
        booked = await self.journal.fill_book(report)
        self.recent.add(trade.trade_key)
        if booked is None:
            METRICS.fills_duplicate.inc()
            return False
        METRICS.fills_booked.inc()
        self.manager.on_fill(report, booked.position.quantity)
        if external:
            METRICS.external_fills.inc()
            logger.warning("external fill booked to the house sub-account", extra={
                "client_order_id": trade.client_order_id, "trade_key": trade.trade_key})
            self.publish("risk", "risk_alert", {
                "kind": "external_fill", "message": (f"a {trade.side.value} of {trade.quantity} {trade.symbol} at "
                                                     f"{trade.price} by {trade.client_order_id or 'unknown'} was not "
                                                     "placed by PMS; booked to the house sub-account"),
                "trade_key": trade.trade_key})
        return True

    async def recover(self, *, since_ms: int) -> None:
        """Gap reconciliation before new orders: trades since the gap, then every live order's state."""
        symbols = {live.order.symbol for live in self.manager.live.values()}
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
        for position in await self.venue.positions():
            self.exchange_positions[position.symbol] = position
        self._check_net()

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
