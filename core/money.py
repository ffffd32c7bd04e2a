"""Decimal money at the edges: parse exchange numbers, round to tick and step, check notional."""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from enum import Enum

ZERO = Decimal(0)
EXACT_PRECISION = 80  # enough for any DecimalField(38, 18) amount divided by any tick
_EXACT = Context(prec=EXACT_PRECISION)
_NOT_A_DECADE = Decimal(0)
_DECADES: dict[Decimal, Decimal] = {}  # tick or step -> the power of ten it equals, or _NOT_A_DECADE


class Rounding(Enum):
    NEAREST = ROUND_HALF_EVEN
    DOWN = ROUND_FLOOR  # towards lower prices: passive for a buy
    UP = ROUND_CEILING  # towards higher prices: passive for a sell


def to_decimal(value: str | int | float | Decimal) -> Decimal:
    """Exact Decimal from an exchange string, an int, or a float as printed (never its binary value)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError("a bool is not a number")
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise TypeError(f"cannot make money of {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _check_increment(increment: Decimal) -> None:
    if increment <= 0:
        raise ValueError(f"increment must be positive, got {increment}")


def _decade(increment: Decimal) -> Decimal:
    """The power of ten an increment equals (0.10 -> 0.1), or _NOT_A_DECADE (0.25, 5). Cached: ticks and steps
    are few, and rounding to them runs on every quote."""
    decade = _DECADES.get(increment)
    if decade is None:
        normal = increment.normalize(_EXACT)
        decade = normal if normal.as_tuple().digits == (1,) else _NOT_A_DECADE
        if len(_DECADES) < 1024:
            _DECADES[increment] = decade
    return decade


def round_to_tick(price: Decimal, tick_size: Decimal, rounding: Rounding = Rounding.NEAREST) -> Decimal:
    """Price on the tick grid, with the tick's exponent (so 100.10 prints as the exchange writes it)."""
    _check_increment(tick_size)
    decade = _decade(tick_size)
    if decade is not _NOT_A_DECADE:  # a power of ten: quantizing to it is the rounding (the same result)
        return price.quantize(decade, rounding=rounding.value, context=_EXACT).quantize(tick_size, context=_EXACT)
    with localcontext() as exact:  # 28 digits could round a 38-digit amount the wrong way
        exact.prec = EXACT_PRECISION
        ticks = (price / tick_size).to_integral_value(rounding=rounding.value)
        return (ticks * tick_size).quantize(tick_size)


def round_down_to_step(quantity: Decimal, step_size: Decimal) -> Decimal:
    """Quantity rounded towards zero to the step: never trade more than asked."""
    _check_increment(step_size)
    decade = _decade(step_size)
    if decade is not _NOT_A_DECADE:
        return quantity.quantize(decade, rounding=ROUND_DOWN, context=_EXACT).quantize(step_size, context=_EXACT)
    with localcontext() as exact:
        exact.prec = EXACT_PRECISION
        steps = (quantity / step_size).to_integral_value(rounding=ROUND_DOWN)
        return (steps * step_size).quantize(step_size)


def is_multiple_of(value: Decimal, increment: Decimal) -> bool:
    _check_increment(increment)
    return value % increment == 0


def notional(price: Decimal, quantity: Decimal) -> Decimal:
    return abs(price * quantity)


def meets_min_notional(price: Decimal, quantity: Decimal, min_notional: Decimal) -> bool:
    return notional(price, quantity) >= min_notional
