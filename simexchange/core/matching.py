"""How orders meet the market: takers walk the quote and the depth model; resting makers fill at their limit."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from simexchange.core.book import SymbolBook
from simexchange.core.filters import round_qty_down
from simexchange.core.ledger import Ledger
from simexchange.core.orders import LIMIT, ZERO, Order
from simexchange.marketdata import BookTicker


def touch(quote: BookTicker | None, is_buy: bool) -> Decimal | None:
    """The price a taker meets first: the ask for a buy, the bid for a sell (None without a usable quote)."""
    if quote is None:
        return None
    price = quote.ask_price if is_buy else quote.bid_price
    return price if price > 0 else None


def levels(book: SymbolBook, is_buy: bool) -> Iterator[tuple[Decimal, Decimal]]:
    """(price, size) of the liquidity a taker walks: the L1 quote, then the depth model's levels."""
    quote = book.market.quote
    start = touch(quote, is_buy)
    if quote is None or start is None:
        return
    spec = book.spec
    displayed = round_qty_down(quote.ask_qty if is_buy else quote.bid_qty, spec.step_size)
    if displayed > 0:
        yield start, displayed
    depth = spec.depth
    level_qty = depth.level_qty if depth.level_qty is not None else displayed
    if level_qty <= 0:
        level_qty = spec.min_qty
    step = spec.tick_size * depth.level_step_ticks * (1 if is_buy else -1)
    for k in range(1, depth.max_levels + 1):
        price = start + step * k
        if price <= 0:
            return
        yield price, level_qty


def _within_limit(order: Order, price: Decimal) -> bool:
    if order.order_type != LIMIT:
        return True
    return price <= order.price if order.is_buy else price >= order.price


def fillable(book: SymbolBook, order: Order) -> Decimal:
    """How much of `order` could fill right now as a taker (for FOK), capped at its quantity."""
    total = ZERO
    for price, size in levels(book, order.is_buy):
        if not _within_limit(order, price) or total >= order.orig_qty:
            break
        total += size
    return min(total, order.orig_qty)


def take(ledger: Ledger, book: SymbolBook, order: Order) -> None:
    """Fill an incoming order as taker, level by level, while its limit allows and quantity remains."""
    for price, size in levels(book, order.is_buy):
        if not order.is_open or not _within_limit(order, price):
            return
        qty = min(size, ledger.reduce_only_cap(order))
        if qty <= 0:
            return
        ledger.fill(order, qty, price, maker=False)


def crosses(book: SymbolBook, order: Order) -> bool:
    """Would this LIMIT order take liquidity at its price?"""
    price = touch(book.market.quote, order.is_buy)
    return price is not None and _within_limit(order, price)


def _fill_makers(ledger: Ledger, orders: list[Order], price: Decimal, size: Decimal) -> None:
    """Fill resting orders that the market reached at `price`: through-priced ones fully, at-price ones from `size`."""
    available = size
    touched = []
    for order in orders:
        through = order.price > price if order.is_buy else order.price < price
        qty = ledger.reduce_only_cap(order)
        if not through:
            qty = min(qty, available)
        if qty > 0:
            ledger.fill(order, qty, order.price, maker=True)
            touched.append(order)
            if not through:
                available -= qty
    for order in touched:
        ledger.expire_stale_reduce_only(ledger.accounts[order.account_id], order.symbol)


def fill_on_quote(ledger: Ledger, book: SymbolBook, quote: BookTicker) -> None:
    """Resting buys at or above the new ask and resting sells at or below the new bid fill as makers."""
    step = book.spec.step_size
    if 0 < quote.ask_price <= book.best_buy:
        _fill_makers(ledger, book.crossing_buys(quote.ask_price), quote.ask_price, round_qty_down(quote.ask_qty, step))
    if quote.bid_price >= book.best_sell and quote.bid_price > 0:
        _fill_makers(ledger, book.crossing_sells(quote.bid_price), quote.bid_price, round_qty_down(quote.bid_qty, step))


def fill_on_trade(ledger: Ledger, book: SymbolBook, price: Decimal, qty: Decimal) -> None:
    """A print at or through a resting order's price fills it (through: fully; at: up to the printed size)."""
    size = round_qty_down(qty, book.spec.step_size)
    if price <= book.best_buy:
        _fill_makers(ledger, book.crossing_buys(price), price, size)
    if price >= book.best_sell:
        _fill_makers(ledger, book.crossing_sells(price), price, size)
