"""The in-process venue over simexchange's matching core: backtests with a virtual clock, no sockets."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from simexchange.core.engine import MatchingEngine
from simexchange.core.errors import ExchangeError
from simexchange.core.events import AccountUpdate, OrderTradeUpdate
from simexchange.core.orders import OrderView
from simexchange.core.params import NewOrderRequest, typed_new_order, typed_order_ref
from trading.domain.instruments import InstrumentRules
from trading.domain.types import OrderType, Side
from trading.venues import ccxt_parse as binance  # Binance's wire vocabulary; no ccxt inside
from trading.venues.base import (
    Accepted,
    AccountEvent,
    LeverageTier,
    Mark,
    OrderEvent,
    OrderRequest,
    Quote,
    Rejected,
    UserEvent,
    VenueBalance,
    VenueLimits,
    VenueOrder,
    VenuePosition,
    VenueTrade,
    WriteOutcome,
)

UNKNOWN_ORDER_CODES = (-2011, -2013)


_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
# Enum member -> its text, by dict: an enum's .value is a Python-level property, read for every order.
_SIDE_TEXT = {side: side.value for side in Side}
_TYPE_TEXT = {order_type: order_type.value for order_type in OrderType}


def venue_order(view: OrderView) -> VenueOrder:
    side = _SIDES.get(view.side) or Side(view.side.lower())
    return VenueOrder(
        client_order_id=view.client_order_id, exchange_order_id=str(view.order_id), symbol=view.symbol,
        side=side, order_type=binance.order_type(view.orig_type),
        status=binance.order_status(view.status, filled=view.executed_qty, quantity=view.orig_qty),
        quantity=view.orig_qty, filled_quantity=view.executed_qty,
        average_price=view.avg_price or None, price=view.price or None, reduce_only=view.reduce_only,
        updated_ms=view.update_time_ms)


def order_params(request: OrderRequest) -> dict[str, object]:
    params: dict[str, object] = {
        "symbol": request.symbol, "side": request.side.value.upper(), "type": request.order_type.value.upper(),
        "quantity": f"{request.quantity:f}", "newClientOrderId": request.client_order_id,
        "newOrderRespType": "RESULT"}
    if request.price is not None:
        params["price"] = f"{request.price:f}"
    if request.order_type is OrderType.LIMIT:
        params["timeInForce"] = (request.time_in_force or "GTC").__str__()
    if request.reduce_only:
        params["reduceOnly"] = "true"
    return params


class UserEventQueue:
    """The venue's stream: a deque with asyncio.Queue's few calls used here (backtests put and drain it per event)."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque[UserEvent] = deque()
        self._waiters: list[asyncio.Future[None]] = []

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, event: UserEvent) -> None:
        self._items.append(event)
        if self._waiters:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._waiters.clear()

    def take_all(self) -> list[UserEvent]:
        events = list(self._items)
        self._items.clear()
        return events

    async def get(self) -> UserEvent:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self._items.popleft()


def typed_request(engine: MatchingEngine, request: OrderRequest) -> NewOrderRequest | None:
    """The request the engine would parse from order_params(request), built without the text; None when only
    the parser can say (malformed values, an error to report)."""
    return typed_new_order(
        engine.books, symbol=request.symbol, side=_SIDE_TEXT[request.side], order_type=_TYPE_TEXT[request.order_type],
        quantity=request.quantity, price=request.price,
        time_in_force=str(request.time_in_force or "GTC") if request.order_type is OrderType.LIMIT else None,
        reduce_only=request.reduce_only, client_order_id=request.client_order_id)


class InProcessVenue:
    """Calls the matching core directly. Its answers are always definite: no ambiguity in a backtest.

    Places and cancels skip Binance's wire text (formatting here, parsing there) whenever the typed request
    is exactly what the text would parse to; anything else goes the wire way, as the HTTP server's requests
    do. `typed = False` sends everything the wire way (the tests compare both).
    """

    typed = True

    def __init__(self, engine: MatchingEngine, account_id: int) -> None:
        self.engine = engine
        self.account_id = account_id
        self._events = UserEventQueue()
        # The last order event's snapshot and its translation: a place or cancel answers with the snapshot
        # its own event carried, translated once.
        self._last_view: OrderView | None = None
        self._last_order: VenueOrder | None = None
        engine.events.subscribe(self._on_event, account_id=account_id)
        # This venue is the engine's consumer and never drains its bus: keep no copy of every event there.
        engine.events.stop_queueing()

    def _on_event(self, event: OrderTradeUpdate | AccountUpdate) -> None:
        if isinstance(event, OrderTradeUpdate):
            self._events.put_nowait(self._order_event(event))
        else:
            self._events.put_nowait(AccountEvent(event.reason, tuple(
                VenueBalance(b.asset, b.wallet_balance, b.cross_wallet_balance) for b in event.balances), tuple(
                VenuePosition(p.symbol, p.position_amt, p.entry_price, unrealized_pnl=p.unrealized_pnl)
                for p in event.positions), event.event_time_ms))

    def _order_event(self, event: OrderTradeUpdate) -> OrderEvent:
        order = venue_order(event.order)
        self._last_view, self._last_order = event.order, order
        trade = None
        if event.execution_type == "TRADE":
            trade = VenueTrade(
                trade_key=f"{order.symbol}:{event.trade_id}", symbol=order.symbol,
                client_order_id=order.client_order_id, exchange_order_id=order.exchange_order_id, side=order.side,
                price=event.last_filled_price, quantity=event.last_filled_qty, fee=event.commission,
                fee_asset=event.commission_asset or "USDT", is_maker=event.is_maker,
                realized_pnl=event.realized_profit, time_ms=event.transaction_time_ms)
        return OrderEvent(order, event.execution_type, trade, event.event_time_ms)

    async def instruments(self) -> list[InstrumentRules]:
        return [InstrumentRules(symbol=s.symbol, tick_size=s.tick_size, step_size=s.step_size, min_qty=s.min_qty,
                                max_qty=s.max_qty, min_notional=s.min_notional, min_price=s.min_price,
                                max_price=s.max_price, price_band_up=s.multiplier_up,
                                price_band_down=s.multiplier_down, base_asset=s.base_asset,
                                quote_asset=s.quote_asset) for s in self.engine.symbols]

    async def limits(self) -> VenueLimits:
        return VenueLimits()

    def _write(self, call: object) -> WriteOutcome:
        try:
            return Accepted(venue_order(call()))  # type: ignore[operator]
        except ExchangeError as error:
            return Rejected(error.msg, error.code)

    def _answer(self, view: OrderView) -> VenueOrder:
        if view is self._last_view and self._last_order is not None:
            return self._last_order
        return venue_order(view)

    async def place(self, request: OrderRequest) -> WriteOutcome:
        typed = typed_request(self.engine, request) if self.typed else None
        try:
            if typed is not None:
                return Accepted(self._answer(self.engine.new_order_typed(self.account_id, typed)))
            return Accepted(self._answer(self.engine.new_order(self.account_id, order_params(request))))
        except ExchangeError as error:
            return Rejected(error.msg, error.code)

    async def place_batch(self, requests: Sequence[OrderRequest]) -> list[WriteOutcome]:
        return [await self.place(request) for request in requests]

    async def amend(self, *, symbol: str, client_order_id: str, side: Side, quantity: Decimal,
                    price: Decimal) -> WriteOutcome:
        return self._write(lambda: self.engine.modify_order(self.account_id, {
            "symbol": symbol, "origClientOrderId": client_order_id, "side": side.value.upper(),
            "quantity": f"{quantity:f}", "price": f"{price:f}"}))

    async def cancel(self, *, symbol: str, client_order_id: str) -> WriteOutcome:
        engine = self.engine
        ref = typed_order_ref(engine.books, symbol=symbol, orig_client_order_id=client_order_id) if self.typed else None
        try:
            if ref is not None:
                return Accepted(self._answer(engine.cancel_order_typed(self.account_id, ref)))
            return Accepted(self._answer(engine.cancel_order(self.account_id, {
                "symbol": symbol, "origClientOrderId": client_order_id})))
        except ExchangeError as error:
            return Rejected(error.msg, error.code)

    async def cancel_batch(self, *, symbol: str, client_order_ids: Sequence[str]) -> list[WriteOutcome]:
        return [await self.cancel(symbol=symbol, client_order_id=cid) for cid in client_order_ids]

    async def fetch_order(self, *, symbol: str, client_order_id: str) -> VenueOrder | None:
        try:
            return venue_order(self.engine.query_order(self.account_id, {
                "symbol": symbol, "origClientOrderId": client_order_id}))
        except ExchangeError as error:
            if error.code in UNKNOWN_ORDER_CODES:
                return None
            raise

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        return [venue_order(view) for view in self.engine.open_orders(self.account_id, symbol)]

    async def fetch_quote(self, symbol: str) -> Quote | None:
        quote = self.engine.market(symbol).quote
        if quote is None:
            return None
        return Quote(symbol, quote.bid_price, quote.bid_qty, quote.ask_price, quote.ask_qty, quote.event_time_ms)

    async def positions(self) -> list[VenuePosition]:
        return [VenuePosition(p.symbol, p.position_amt, p.entry_price, p.mark_price, p.unrealized_pnl)
                for p in self.engine.positions(self.account_id, active_only=True)]

    async def balances(self) -> list[VenueBalance]:
        account = self.engine.account(self.account_id)
        return [VenueBalance("USDT", account.wallet_balance, account.available_balance)]

    async def leverage_brackets(self) -> dict[str, list[LeverageTier]]:
        return {symbol: [LeverageTier(t.notional_floor, t.notional_cap, t.initial_leverage, t.maint_margin_ratio,
                                      t.cum) for t in table]
                for symbol, table in self.engine.leverage_brackets().items()}

    async def trades_since(self, *, symbol: str, since_ms: int) -> list[VenueTrade]:
        trades = []
        for trade in self.engine.user_trades(self.account_id, {"symbol": symbol, "startTime": since_ms,
                                                               "limit": 1000}):
            view = self.engine.query_order(self.account_id, {"symbol": symbol, "orderId": trade.order_id})
            trades.append(VenueTrade(
                trade_key=f"{symbol}:{trade.trade_id}", symbol=symbol, client_order_id=view.client_order_id,
                exchange_order_id=str(trade.order_id), side=Side(trade.side.lower()), price=trade.price,
                quantity=trade.qty, fee=trade.commission, fee_asset=trade.commission_asset,
                is_maker=trade.maker, realized_pnl=trade.realized_pnl, time_ms=trade.time_ms))
        return trades

    async def watch_quotes(self, symbols: Sequence[str]) -> AsyncIterator[Quote | Mark]:
        """Backtests feed quotes from the replay into the algos directly; nothing streams here."""
        if False:  # pragma: no cover - an async generator that yields nothing
            yield Quote("", Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0)

    async def watch_user_events(self) -> AsyncIterator[UserEvent]:
        while True:
            yield await self._events.get()

    def drain_user_events(self) -> list[UserEvent]:
        """Backtests process events synchronously after each market step."""
        return self._events.take_all()

    async def close(self) -> None:
        return None
