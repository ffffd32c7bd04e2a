"""Notional and leverage brackets (GET /fapi/v1/leverageBracket) and the maintenance margin they imply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

D = Decimal


@dataclass(frozen=True, slots=True)
class Bracket:
    """One tier: positions with notional in [notional_floor, notional_cap) use these rates."""

    bracket: int
    initial_leverage: int
    notional_cap: Decimal
    notional_floor: Decimal
    maint_margin_ratio: Decimal
    cum: Decimal


def _table(rows: Sequence[tuple[int, int, str, str, str, str]]) -> tuple[Bracket, ...]:
    return tuple(Bracket(n, lev, D(cap), D(floor), D(mmr), D(cum)) for n, lev, cap, floor, mmr, cum in rows)


# BTCUSDT: a captured reply of Binance's GET /fapi/v1/leverageBracket (2021-22), stored in the public
# repository boolean404/heikin-ashi-trading-bot, json/fapiPrivate_get_leverage_bracket.py.
BTCUSDT_BRACKETS = _table(
    (
        (1, 125, "50000", "0", "0.004", "0"),
        (2, 100, "250000", "50000", "0.005", "50"),
        (3, 50, "3000000", "250000", "0.01", "1300"),
        (4, 20, "20000000", "3000000", "0.025", "46300"),
        (5, 10, "40000000", "20000000", "0.05", "546300"),
        (6, 5, "100000000", "40000000", "0.1", "2546300"),
        (7, 4, "120000000", "100000000", "0.125", "5046300"),
        (8, 3, "200000000", "120000000", "0.15", "8046300"),
        (9, 2, "300000000", "200000000", "0.25", "28046300"),
        (10, 1, "500000000", "300000000", "0.5", "103046300"),
    )
)

# ETHUSDT: Binance's published 2021 tier table (binance.com "Leverage & Margin" page). Not checked
# against a capture; every cum equals the previous cum + floor x (mmr - previous mmr), as Binance's does.
ETHUSDT_BRACKETS = _table(
    (
        (1, 100, "10000", "0", "0.005", "0"),
        (2, 75, "100000", "10000", "0.0065", "15"),
        (3, 50, "500000", "100000", "0.01", "365"),
        (4, 25, "1000000", "500000", "0.02", "5365"),
        (5, 10, "2000000", "1000000", "0.05", "35365"),
        (6, 5, "5000000", "2000000", "0.1", "135365"),
        (7, 4, "10000000", "5000000", "0.125", "260365"),
        (8, 3, "20000000", "10000000", "0.15", "510365"),
        (9, 2, "50000000", "20000000", "0.25", "2510365"),
        (10, 1, "100000000", "50000000", "0.5", "15010365"),
    )
)

# Symbols without their own table (SOLUSDT by default) share ETHUSDT's tiers.
DEFAULT_BRACKETS: dict[str, tuple[Bracket, ...]] = {
    "BTCUSDT": BTCUSDT_BRACKETS,
    "ETHUSDT": ETHUSDT_BRACKETS,
    "SOLUSDT": ETHUSDT_BRACKETS,
}


def bracket_for_notional(brackets: Sequence[Bracket], notional: Decimal) -> Bracket:
    """The tier whose [floor, cap) holds |notional|; the last tier beyond the top cap."""
    size = abs(notional)
    for tier in brackets:
        if size < tier.notional_cap:
            return tier
    return brackets[-1]


def maintenance_margin(brackets: Sequence[Bracket], notional: Decimal) -> Decimal:
    """Binance's formula: |notional| x maintMarginRatio - cum of the position's tier."""
    if not notional:
        return D(0)
    tier = bracket_for_notional(brackets, notional)
    return abs(notional) * tier.maint_margin_ratio - tier.cum


def max_leverage(brackets: Sequence[Bracket]) -> int:
    """The highest leverage the table allows (its first tier's)."""
    return brackets[0].initial_leverage


def max_notional_for_leverage(brackets: Sequence[Bracket], leverage: int) -> Decimal:
    """The largest position notional allowed at `leverage` (the cap of the last tier that permits it)."""
    cap = D(0)
    for tier in brackets:
        if tier.initial_leverage >= leverage:
            cap = tier.notional_cap
    return cap
