"""Number formatting shared by the renderers: Binance's fixed-point strings at each symbol's precision."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simexchange.core.orders import OrderView
from simexchange.core.symbols import SymbolSpec

Json = dict[str, Any]
Specs = Mapping[str, SymbolSpec]
MONEY_PLACES = 8


def specs_by_symbol(specs: Iterable[SymbolSpec]) -> dict[str, SymbolSpec]:
    """Index symbol specs by name, as the renderers expect."""
    return {spec.symbol: spec for spec in specs}


def fixed(value: Decimal, places: int) -> str:
    """Fixed-point text with `places` decimals, never exponent notation ("0E-8" would break parsers)."""
    return format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")


def plain(value: Decimal) -> str:
    """The shortest fixed-point text for a configured number (tick sizes, caps): "0.10" stays "0.10"."""
    return format(value, "f")


def number(value: Decimal) -> int | float:
    # leverageBracket is the one reply where Binance sends JSON numbers rather than strings.
    return int(value) if value == value.to_integral_value() else float(value)


def price_text(value: Decimal, spec: SymbolSpec) -> str:
    """A price at the symbol's pricePrecision."""
    return fixed(value, spec.price_precision)


def qty_text(value: Decimal, spec: SymbolSpec) -> str:
    """A quantity at the symbol's quantityPrecision."""
    return fixed(value, spec.quantity_precision)


def money_text(value: Decimal) -> str:
    """A USDT amount with 8 decimals."""
    return fixed(value, MONEY_PLACES)


def avg_text(view: OrderView, spec: SymbolSpec) -> str:
    """An order's average price (at least 5 decimals, as Binance shows it)."""
    return fixed(view.avg_price, max(spec.price_precision, 5))


def quote_text(value: Decimal, spec: SymbolSpec) -> str:
    """A quote amount exactly (price decimals + quantity decimals)."""
    return fixed(value, spec.price_precision + spec.quantity_precision)
