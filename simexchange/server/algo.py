"""Conditional (algo) orders: stored per account, triggered against mark or last price, ALGO_UPDATE events.

The matching core has no algo orders yet, so they live here at the server edge: a triggered algo order
becomes an ordinary MARKET or LIMIT order through `MatchingEngine.new_order` (client id = clientAlgoId).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from simexchange.core import ExchangeError, MatchingEngine, OrderView
from simexchange.core.errors import would_immediately_trigger

ZERO = Decimal(0)
STOP_TYPES = frozenset({"STOP", "STOP_MARKET"})
TAKE_PROFIT_TYPES = frozenset({"TAKE_PROFIT", "TAKE_PROFIT_MARKET"})
TRAILING = "TRAILING_STOP_MARKET"
LIMIT_TYPES = frozenset({"STOP", "TAKE_PROFIT"})
ALGO_TYPES = STOP_TYPES | TAKE_PROFIT_TYPES | {TRAILING}
OPEN_STATUSES = frozenset({"NEW"})
FINAL_ORDER_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"})


@dataclass(slots=True)
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    account_id: int
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal
    trigger_price: Decimal
    working_type: str
    reduce_only: bool
    close_position: bool
    price_protect: bool
    callback_rate: Decimal
    activate_price: Decimal
    stp_mode: str
    create_time_ms: int
    update_time_ms: int
    status: str = "NEW"
    trigger_time_ms: int = 0
    actual_order_id: str = ""
    actual_qty: Decimal = ZERO
    actual_price: Decimal = ZERO
    reject_reason: str = ""
    activated: bool = False
    extreme: Decimal = ZERO  # trailing stops: best price since activation

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


Publish = Callable[[AlgoOrder], None]


def crossed(order: AlgoOrder, price: Decimal) -> bool:
    """Has `price` reached the trigger? Stops trigger on adverse moves, take-profits on favourable ones."""
    buy = order.side == "BUY"
    if order.order_type in STOP_TYPES:
        return price >= order.trigger_price if buy else price <= order.trigger_price
    if order.order_type in TAKE_PROFIT_TYPES:
        return price <= order.trigger_price if buy else price >= order.trigger_price
    return _trailing_crossed(order, price)


def _trailing_crossed(order: AlgoOrder, price: Decimal) -> bool:
    buy = order.side == "BUY"
    if not order.activated:
        reached = not order.activate_price or (price <= order.activate_price if buy else price >= order.activate_price)
        if not reached:
            return False
        order.activated, order.extreme = True, price
    order.extreme = min(order.extreme, price) if buy else max(order.extreme, price)
    rate = order.callback_rate / 100
    return price >= order.extreme * (1 + rate) if buy else price <= order.extreme * (1 - rate)


class AlgoBook:
    """Open and finished algo orders of every account; `on_price` triggers the ones a price reaches."""

    def __init__(self, engine: MatchingEngine, publish: Publish, clock: Callable[[], int]) -> None:
        self._engine = engine
        self._publish = publish
        self._clock = clock
        self._ids = itertools.count(1_000_000_000)
        self.orders: dict[int, AlgoOrder] = {}
        self._open_by_symbol: dict[str, dict[int, AlgoOrder]] = {}  # the hot path checks only these
        self._by_actual: dict[int, AlgoOrder] = {}

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, order: AlgoOrder) -> None:
        price = self.reference_price(order.symbol, order.working_type)
        if order.order_type != TRAILING and price is not None and crossed(order, price):
            raise would_immediately_trigger()
        self.orders[order.algo_id] = order
        self._open_by_symbol.setdefault(order.symbol, {})[order.algo_id] = order
        self._publish(order)

    def _closed(self, order: AlgoOrder) -> None:
        self._open_by_symbol.get(order.symbol, {}).pop(order.algo_id, None)

    def find(self, account_id: int, algo_id: int | None, client_algo_id: str | None) -> AlgoOrder | None:
        if algo_id is not None:
            by_id = self.orders.get(algo_id)
            return by_id if by_id is not None and by_id.account_id == account_id else None
        matches = [o for o in self.orders.values() if o.account_id == account_id and o.client_algo_id == client_algo_id]
        candidates = [o for o in matches if o.is_open] or matches
        return candidates[-1] if candidates else None

    def open_for(self, account_id: int, symbol: str | None = None) -> list[AlgoOrder]:
        symbols = [symbol] if symbol is not None else list(self._open_by_symbol)
        return [
            o for name in symbols for o in self._open_by_symbol.get(name, {}).values() if o.account_id == account_id
        ]

    def all_for(self, account_id: int, symbol: str) -> list[AlgoOrder]:
        return [o for o in self.orders.values() if o.account_id == account_id and o.symbol == symbol]

    def cancel(self, order: AlgoOrder) -> None:
        self._closed(order)
        order.status = "CANCELED"
        order.update_time_ms = self._clock()
        self._publish(order)

    def reference_price(self, symbol: str, working_type: str) -> Decimal | None:
        market = self._engine.market(symbol)
        if working_type == "MARK_PRICE":
            return market.mark_price
        if market.last_price is not None:
            return market.last_price
        quote = market.quote
        return (quote.bid_price + quote.ask_price) / 2 if quote is not None else None

    def on_price(self, symbol: str) -> None:
        """Check the symbol's open algo orders after a market event moved its prices."""
        open_orders = self._open_by_symbol.get(symbol)
        if not open_orders:
            return
        for order in list(open_orders.values()):
            price = self.reference_price(symbol, order.working_type)
            if price is not None and crossed(order, price):
                self._trigger(order)

    def on_order_update(self, view: OrderView) -> None:
        """A triggered order changed: when it is final, its algo order is FINISHED."""
        order = self._by_actual.get(view.order_id)
        if order is None or view.status not in FINAL_ORDER_STATUSES or order.status == "FINISHED":
            return
        del self._by_actual[view.order_id]
        self._finish(order, view)

    def _trigger(self, order: AlgoOrder) -> None:
        self._closed(order)
        now = self._clock()
        order.status, order.trigger_time_ms, order.update_time_ms = "TRIGGERING", now, now
        self._publish(order)
        try:
            view = self._engine.new_order(order.account_id, self._order_params(order))
        except ExchangeError as err:
            order.status, order.reject_reason, order.update_time_ms = "CANCELED", err.msg, self._clock()
            self._publish(order)
            return
        order.status, order.actual_order_id, order.update_time_ms = "TRIGGERED", str(view.order_id), self._clock()
        self._publish(order)
        if view.status in FINAL_ORDER_STATUSES:
            self._finish(order, view)
        else:
            self._by_actual[view.order_id] = order

    def _finish(self, order: AlgoOrder, view: OrderView) -> None:
        order.status, order.update_time_ms = "FINISHED", self._clock()
        order.actual_qty, order.actual_price = view.executed_qty, view.avg_price
        self._publish(order)

    def _order_params(self, order: AlgoOrder) -> dict[str, object]:
        quantity = order.quantity
        if order.close_position:
            quantity = abs(self._engine.positions(order.account_id, order.symbol)[0].position_amt)
        params: dict[str, object] = {
            "symbol": order.symbol,
            "side": order.side,
            "type": "LIMIT" if order.order_type in LIMIT_TYPES else "MARKET",
            "quantity": str(quantity),
            "newClientOrderId": order.client_algo_id,
            "newOrderRespType": "RESULT",
        }
        if order.reduce_only or order.close_position:
            params["reduceOnly"] = "true"
        if order.order_type in LIMIT_TYPES:
            params["price"] = str(order.price)
            params["timeInForce"] = order.time_in_force
        return params
