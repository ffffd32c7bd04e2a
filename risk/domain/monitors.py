"""Post-trade monitors: concentration and a 1-day historical VaR (drawdown lives with the breakers)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Concentration:
    symbol: str | None
    share_of_gross: Decimal  # largest position notional / Σ notional, 0..1
    share_of_equity: Decimal  # largest position notional / margin balance (Infinity without balance)


def concentration(notionals: Mapping[str, Decimal], margin_balance: Decimal) -> Concentration:
    """How much of the book one symbol is. notionals: symbol -> |position| x mark."""
    gross = sum((abs(value) for value in notionals.values()), ZERO)
    if not gross:
        return Concentration(None, ZERO, ZERO)
    symbol, largest = max(((s, abs(v)) for s, v in notionals.items()), key=lambda item: (item[1], item[0]))
    equity_share = largest / margin_balance if margin_balance > 0 else Decimal("Infinity")
    return Concentration(symbol, largest / gross, equity_share)


def daily_returns(closes: Sequence[Decimal]) -> list[Decimal]:
    """Simple returns between consecutive daily closes (oldest first)."""
    return [(b - a) / a for a, b in itertools.pairwise(closes) if a > 0]


def daily_returns_by_day(closes: Sequence[tuple[int, Decimal]]) -> list[Decimal]:
    """1-day returns from (day number, close) pairs, oldest first: only between consecutive days, so a gap in
    the history (the engine was down) never passes for one day's move."""
    return [(b - a) / a for (day_a, a), (day_b, b) in itertools.pairwise(closes) if day_b == day_a + 1 and a > 0]


@dataclass(frozen=True, slots=True)
class VarEstimate:
    value: Decimal  # loss (positive) not exceeded on `confidence` of the observed days
    confidence: Decimal
    observations: int


def historical_var(exposures: Mapping[str, Decimal], returns: Mapping[str, Sequence[Decimal]],
                   confidence: Decimal = Decimal("0.99")) -> VarEstimate | None:
    """1-day historical VaR of signed exposures (quantity x mark) replayed over the days every symbol has.

    The days are aligned from the most recent backwards; None when a held symbol has no history.
    """
    held = {symbol: value for symbol, value in exposures.items() if value}
    if not held:
        return VarEstimate(ZERO, confidence, 0)
    if any(not returns.get(symbol) for symbol in held):
        return None
    days = min(len(returns[symbol]) for symbol in held)
    pnls = sorted(sum((held[s] * returns[s][len(returns[s]) - days + i] for s in held), ZERO) for i in range(days))
    # The loss at the (1 - confidence) quantile: the k-th worst day, k = ceil(days x (1 - confidence)).
    k = max(1, int((Decimal(days) * (1 - confidence)).to_integral_value(rounding=ROUND_CEILING)))
    return VarEstimate(max(ZERO, -pnls[k - 1]), confidence, days)
