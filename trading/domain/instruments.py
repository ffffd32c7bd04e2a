"""Instrument trading rules and order validation that says why an order is refused."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO, is_multiple_of, notional

from .types import OrderType


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """The exchange filters of one symbol (Binance PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE)."""

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    min_price: Decimal = ZERO
    max_price: Decimal = ZERO  # 0: no upper bound
    price_band_up: Decimal = Decimal("1.05")  # a limit price at most mark x up
    price_band_down: Decimal = Decimal("0.95")  # and at least mark x down
    base_asset: str = ""
    quote_asset: str = "USDT"

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{self.symbol}: {name} must be positive")
        if self.min_qty < 0 or self.max_qty <= 0 or self.min_notional < 0:
            raise ValueError(f"{self.symbol}: quantity and notional limits must not be negative")


def order_rejection_reason(
    rules: InstrumentRules,
    *,
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal | None,
    reference_price: Decimal | None = None,
    reduce_only: bool = False,
) -> str | None:
    """Why this order breaks the instrument's rules, or None when it passes.

    `reference_price` (mark or mid) prices market orders for the notional check and bounds limit
    prices to the percent-price band; without it those two checks are skipped, not guessed.
    """
    reason = _quantity_reason(rules, quantity)
    if reason is None and order_type is OrderType.LIMIT:
        reason = _limit_price_reason(rules, price, reference_price)
    elif reason is None and price is not None:
        reason = "a market order takes no price"
    if reason is None and not reduce_only:
        reason = _notional_reason(rules, quantity, price if price is not None else reference_price)
    return reason


def _quantity_reason(rules: InstrumentRules, quantity: Decimal) -> str | None:
    if not quantity.is_finite() or quantity <= 0:
        return f"quantity must be positive, got {quantity}"
    if not is_multiple_of(quantity, rules.step_size):
        return f"quantity {quantity} is not a multiple of the step size {rules.step_size} for {rules.symbol}"
    if quantity < rules.min_qty:
        return f"quantity {quantity} is below the minimum {rules.min_qty} for {rules.symbol}"
    if quantity > rules.max_qty:
        return f"quantity {quantity} is above the maximum {rules.max_qty} for {rules.symbol}"
    return None


def _limit_price_reason(rules: InstrumentRules, price: Decimal | None, reference: Decimal | None) -> str | None:
    if price is None:
        return "a limit order needs a price"
    if not price.is_finite() or price <= 0:
        return f"price must be positive, got {price}"
    if not is_multiple_of(price, rules.tick_size):
        return f"price {price} is not on the tick size {rules.tick_size} for {rules.symbol}"
    if price < rules.min_price or (rules.max_price > 0 and price > rules.max_price):
        return f"price {price} is outside {rules.min_price}..{rules.max_price} for {rules.symbol}"
    if reference is not None and reference > 0:
        high, low = reference * rules.price_band_up, reference * rules.price_band_down
        if not low <= price <= high:
            return f"price {price} is outside the band {low:.8g}..{high:.8g} around the mark {reference}"
    return None


def _notional_reason(rules: InstrumentRules, quantity: Decimal, price: Decimal | None) -> str | None:
    if price is None:
        return None
    value = notional(price, quantity)
    if value < rules.min_notional:
        return (f"order value {value:.8g} {rules.quote_asset} is below the minimum {rules.min_notional} "
                f"for {rules.symbol}")
    return None
