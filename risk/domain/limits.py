"""Risk limits per sub-account and across sub-accounts, and the validation that says what to fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

MAX_PRICE_BAND_PCT = Decimal(50)  # a band wider than ±50 % of the mark guards nothing


@dataclass(frozen=True, slots=True)
class SubAccountLimits:
    """None means "no limit". Notionals are in the quote asset (USDT)."""

    max_position_notional: Decimal | None = None  # per symbol, worst case with working orders
    max_total_notional: Decimal | None = None  # Σ |position| x mark over symbols
    max_leverage: Decimal | None = None  # total notional / margin balance
    max_open_orders: int | None = None
    max_orders_per_minute: int | None = None
    max_order_notional: Decimal | None = None
    max_daily_loss: Decimal | None = None  # equity below the day's opening equity by this much
    max_drawdown_pct: Decimal | None = None  # equity below its peak by this percentage
    rapid_drawdown_pct: Decimal | None = None  # equity down this percentage within the rapid window
    allowed_symbols: frozenset[str] = field(default_factory=frozenset)  # empty: every symbol
    price_band_pct: Decimal | None = None  # a limit price within ± this percentage of the mark

    def allows_symbol(self, symbol: str) -> bool:
        return not self.allowed_symbols or symbol in self.allowed_symbols


@dataclass(frozen=True, slots=True)
class GlobalLimits:
    """Limits over the whole desk: what the one exchange account may carry."""

    max_symbol_net_notional: Decimal | None = None  # |Σ sub-account quantities| x mark, per symbol
    max_total_notional: Decimal | None = None  # Σ over sub-accounts and symbols of |quantity| x mark
    per_symbol_net_notional: dict[str, Decimal] = field(default_factory=dict)  # overrides per symbol


NO_LIMITS = SubAccountLimits()
NO_GLOBAL_LIMITS = GlobalLimits()

_POSITIVE = ("max_position_notional", "max_total_notional", "max_leverage", "max_order_notional",
             "max_daily_loss")
_PERCENT = ("max_drawdown_pct", "rapid_drawdown_pct")
_COUNTS = ("max_open_orders", "max_orders_per_minute")


def limit_errors(limits: SubAccountLimits, *, known_symbols: Iterable[str] | None = None) -> dict[str, str]:
    """field -> what is wrong with it and what to change; empty when the limits are valid."""
    errors: dict[str, str] = {}
    for name in _POSITIVE:
        value = getattr(limits, name)
        if value is not None and (not value.is_finite() or value <= 0):
            errors[name] = f"must be a positive amount (got {value}); leave it empty for no limit"
    for name in _COUNTS:
        count = getattr(limits, name)
        if count is not None and count <= 0:
            errors[name] = f"must be at least 1 (got {count}); leave it empty for no limit"
    for name in _PERCENT:
        pct = getattr(limits, name)
        if pct is not None and (not pct.is_finite() or not 0 < pct <= 100):
            errors[name] = f"must be a percentage above 0 and at most 100 (got {pct})"
    band = limits.price_band_pct
    if band is not None and (not band.is_finite() or not 0 < band <= MAX_PRICE_BAND_PCT):
        errors["price_band_pct"] = f"must be above 0 and at most {MAX_PRICE_BAND_PCT} % (got {band})"
    _relation_errors(limits, errors)
    if known_symbols is not None:
        unknown = sorted(set(limits.allowed_symbols) - set(known_symbols))
        if unknown:
            errors["allowed_symbols"] = f"unknown symbol(s): {', '.join(unknown)}; add the instrument first"
    return errors


def _relation_errors(limits: SubAccountLimits, errors: dict[str, str]) -> None:
    """Limits that contradict each other (a max below another max it must contain)."""
    if limits.max_leverage is not None and limits.max_leverage > 125 and "max_leverage" not in errors:
        errors["max_leverage"] = f"Binance allows at most 125x (got {limits.max_leverage})"
    if (limits.max_position_notional is not None and limits.max_total_notional is not None
            and "max_position_notional" not in errors and "max_total_notional" not in errors
            and limits.max_position_notional > limits.max_total_notional):
        errors["max_position_notional"] = (f"{limits.max_position_notional} is above the max total notional "
                                           f"{limits.max_total_notional}; lower it or raise the total")
    if (limits.max_order_notional is not None and limits.max_position_notional is not None
            and "max_order_notional" not in errors and "max_position_notional" not in errors
            and limits.max_order_notional > limits.max_position_notional):
        errors["max_order_notional"] = (f"{limits.max_order_notional} is above the max position notional "
                                        f"{limits.max_position_notional}; lower it or raise the position limit")


def global_limit_errors(limits: GlobalLimits, *, known_symbols: Iterable[str] | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("max_symbol_net_notional", "max_total_notional"):
        value = getattr(limits, name)
        if value is not None and (not value.is_finite() or value <= 0):
            errors[name] = f"must be a positive amount (got {value}); leave it empty for no limit"
    bad = {symbol: value for symbol, value in limits.per_symbol_net_notional.items()
           if not value.is_finite() or value <= 0}
    if bad:
        errors["per_symbol_net_notional"] = "must be positive amounts: " + ", ".join(
            f"{symbol}={value}" for symbol, value in sorted(bad.items()))
    if known_symbols is not None:
        unknown = sorted(set(limits.per_symbol_net_notional) - set(known_symbols))
        if unknown:
            errors["per_symbol_net_notional"] = f"unknown symbol(s): {', '.join(unknown)}; add the instrument first"
    return errors


def money(value: Decimal) -> str:
    """An amount as operators read it: thousands separated, at most two decimals."""
    # explicit rounding: the thread's decimal context is shared (a library may change its rounding mode)
    exponent = Decimal(1) if value == value.to_integral_value() else Decimal("0.01")
    rounded = value.quantize(exponent, rounding=ROUND_HALF_EVEN)
    return f"{rounded:,}"
