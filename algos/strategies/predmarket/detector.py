"""The lag detector: the UP probability implied by exchange momentum against the window market's price.

fair = P(close > strike) from the latest exchange price, with the recent momentum as drift; edge = fair - implied
(for UP; the negative for DOWN). An edge of at least 0.5 percentage points is a signal.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from algos.strategies.predmarket.venue import WindowMarket, WindowQuote, up_probability

EDGE_THRESHOLD = 0.005


@dataclass(frozen=True, slots=True)
class LagSignal:
    market_id: str
    outcome: str  # "up" or "down"
    fair: float
    implied: float
    edge: float  # in probability (0.012 = 1.2 points)
    momentum: float  # log return over the lookback


class Momentum:
    """Log return of the exchange price over the last `lookback_ms`."""

    def __init__(self, lookback_ms: int = 60_000) -> None:
        if lookback_ms <= 0:
            raise ValueError(f"lookback_ms must be positive, got {lookback_ms}")
        self.lookback_ms = lookback_ms
        self._prices: deque[tuple[int, float]] = deque()

    def add(self, price: Decimal, ts_ms: int) -> float:
        self._prices.append((ts_ms, float(price)))
        while len(self._prices) > 1 and self._prices[1][0] <= ts_ms - self.lookback_ms:
            self._prices.popleft()
        return self.value

    @property
    def value(self) -> float:
        if len(self._prices) < 2:
            return 0.0
        return math.log(self._prices[-1][1] / self._prices[0][1])

    @property
    def span_ms(self) -> int:
        return self._prices[-1][0] - self._prices[0][0] if len(self._prices) > 1 else 0


def lag_signal(*, market: WindowMarket, quote: WindowQuote, price: Decimal, momentum: Momentum, now_ms: int,
               volatility_per_sqrt_ms: float, threshold: float = EDGE_THRESHOLD,
               momentum_weight: float = 1.0) -> LagSignal | None:
    """A signal when the exchange says UP (or DOWN) is more likely than the market prices it, by the threshold."""
    if now_ms >= market.end_ms:
        return None
    drift = momentum.value / momentum.span_ms * momentum_weight if momentum.span_ms else 0.0
    fair = up_probability(price=float(price), strike=float(market.strike), remaining_ms=market.end_ms - now_ms,
                          volatility_per_sqrt_ms=volatility_per_sqrt_ms, drift_per_ms=drift)
    implied = float(quote.up_price)
    if fair - implied >= threshold:
        return LagSignal(market.market_id, "up", fair, implied, fair - implied, momentum.value)
    if implied - fair >= threshold:
        return LagSignal(market.market_id, "down", fair, implied, implied - fair, momentum.value)
    return None
