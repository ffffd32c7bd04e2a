"""One symbol's resting orders in price-time priority, with the latest market state beside them."""

from __future__ import annotations

from bisect import insort
from decimal import Decimal

from simexchange.core.marketdata_state import MarketState
from simexchange.core.orders import Order, buy_priority, sell_priority
from simexchange.core.symbols import SymbolSpec

NO_BUY = Decimal("-Infinity")  # best resting buy when there is none: no ask is ever at or below it
NO_SELL = Decimal("Infinity")


class SymbolBook:
    """Resting orders of every account for one symbol.

    `best_buy` / `best_sell` are kept current so the quote path is two comparisons.
    """

    __slots__ = ("best_buy", "best_sell", "buys", "market", "sells", "spec")

    def __init__(self, spec: SymbolSpec) -> None:
        self.spec = spec
        self.buys: list[Order] = []  # best first
        self.sells: list[Order] = []
        self.best_buy = NO_BUY
        self.best_sell = NO_SELL
        self.market = MarketState()

    def add(self, order: Order) -> None:
        """Rest an order in price-time priority."""
        if order.is_buy:
            insort(self.buys, order, key=buy_priority)
            self.best_buy = self.buys[0].price
        else:
            insort(self.sells, order, key=sell_priority)
            self.best_sell = self.sells[0].price

    def remove(self, order: Order) -> None:
        """Take an order off the book (no-op if it is not resting)."""
        side = self.buys if order.is_buy else self.sells
        for index, resting in enumerate(side):
            if resting is order:
                del side[index]
                break
        self._refresh_best()

    def _refresh_best(self) -> None:
        self.best_buy = self.buys[0].price if self.buys else NO_BUY
        self.best_sell = self.sells[0].price if self.sells else NO_SELL

    def crossing_buys(self, price: Decimal) -> list[Order]:
        """Resting buys priced at or above `price`, in priority order (a copy: fills remove orders)."""
        taken = []
        for order in self.buys:
            if order.price < price:
                break
            taken.append(order)
        return taken

    def crossing_sells(self, price: Decimal) -> list[Order]:
        """Resting sells priced at or below `price`, in priority order (a copy)."""
        taken = []
        for order in self.sells:
            if order.price > price:
                break
            taken.append(order)
        return taken
