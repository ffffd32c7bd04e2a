"""exchangeInfo filters applied to an order: PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE."""

from __future__ import annotations

from decimal import Decimal

from simexchange.core import errors
from simexchange.core.orders import BUY, LIMIT
from simexchange.core.symbols import SymbolSpec

ZERO = Decimal(0)


def check_price(spec: SymbolSpec, price: Decimal) -> None:
    """PRICE_FILTER: within [minPrice, maxPrice] and on the tick grid."""
    if price < spec.min_price or price > spec.max_price or (price - spec.min_price) % spec.tick_size:
        raise errors.filter_failure("PRICE_FILTER")


def check_quantity(spec: SymbolSpec, order_type: str, quantity: Decimal) -> None:
    """LOT_SIZE for LIMIT orders, MARKET_LOT_SIZE for MARKET orders."""
    if order_type == LIMIT:
        name, low, high, step = "LOT_SIZE", spec.min_qty, spec.max_qty, spec.step_size
    else:
        name, low, high, step = "MARKET_LOT_SIZE", spec.market_min_qty, spec.market_max_qty, spec.market_step_size
    if quantity <= ZERO or quantity < low or quantity > high or (quantity - low) % step:
        raise errors.filter_failure(name)


def check_percent_price(spec: SymbolSpec, side: str, price: Decimal, mark: Decimal | None) -> None:
    """PERCENT_PRICE against the mark: a buy at most mark x up, a sell at least mark x down."""
    if mark is None:
        return
    if side == BUY and price > mark * spec.multiplier_up:
        raise errors.filter_failure("PERCENT_PRICE")
    if side != BUY and price < mark * spec.multiplier_down:
        raise errors.filter_failure("PERCENT_PRICE")


def check_market_band(spec: SymbolSpec, side: str, touch: Decimal, mark: Decimal | None) -> None:
    """A MARKET order is refused (-4131) when the price it would take is outside the PERCENT_PRICE band."""
    if mark is None:
        return
    if (side == BUY and touch > mark * spec.multiplier_up) or (side != BUY and touch < mark * spec.multiplier_down):
        raise errors.market_price_outside_percent_price()


def check_notional(spec: SymbolSpec, price: Decimal, quantity: Decimal, reduce_only: bool) -> None:
    """MIN_NOTIONAL (-4164), waived for reduce-only orders as Binance's message says."""
    if not reduce_only and price * quantity < spec.min_notional:
        raise errors.notional_too_small(spec.min_notional)


def round_qty_down(quantity: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of `step` not above `quantity`."""
    return quantity - quantity % step
