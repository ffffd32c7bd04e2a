"""Up/down window markets behind a small venue interface, and a simulated venue whose prices lag the exchange.

A window market asks: will the symbol close its window (start_ms..end_ms) above the price it opened at (the
strike)? Its UP share trades at the market's implied probability (0..1); a share pays 1 if UP wins, else 0.
There is no live prediction-market access here: SimulatedWindowVenue prices each window from the exchange price
seen `lag_ms` ago, the lag the detector looks for. A real client implements WindowVenue the same way.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

ZERO, ONE = Decimal(0), Decimal(1)
CENT = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class WindowMarket:
    market_id: str
    symbol: str
    start_ms: int
    end_ms: int
    strike: Decimal


@dataclass(frozen=True, slots=True)
class WindowQuote:
    market_id: str
    up_price: Decimal  # the implied probability that UP wins
    ts_ms: int


@dataclass(frozen=True, slots=True)
class WindowBet:
    market_id: str
    outcome: str  # "up" or "down"
    stake: Decimal  # paid
    price: Decimal  # per share
    shares: Decimal


class WindowVenue(Protocol):
    def market_at(self, symbol: str, now_ms: int) -> WindowMarket | None: ...

    def quote(self, market_id: str, now_ms: int) -> WindowQuote | None: ...

    def buy(self, market_id: str, outcome: str, stake: Decimal, now_ms: int) -> WindowBet: ...


def up_probability(*, price: float, strike: float, remaining_ms: float, volatility_per_sqrt_ms: float,
                   drift_per_ms: float = 0.0) -> float:
    """P(close > strike) for a driftless (or drifting) log-normal walk over the remaining time."""
    if remaining_ms <= 0 or volatility_per_sqrt_ms <= 0:
        return 1.0 if price > strike else 0.0
    spread = volatility_per_sqrt_ms * math.sqrt(remaining_ms)
    z = (math.log(price / strike) + drift_per_ms * remaining_ms) / spread
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


class SimulatedWindowVenue:
    """Windows of `window_ms` aligned to the epoch; each prices UP from the exchange price `lag_ms` ago plus
    seeded noise; bets settle at the window's last observed price."""

    def __init__(self, *, symbol: str, window_ms: int = 900_000, lag_ms: int = 30_000,
                 volatility_per_sqrt_ms: float = 0.0005 / math.sqrt(60_000), noise: float = 0.0, seed: int = 0) -> None:
        if window_ms <= 0 or lag_ms < 0:
            raise ValueError("window_ms must be positive and lag_ms not negative")
        self.symbol, self.window_ms, self.lag_ms = symbol, window_ms, lag_ms
        self.volatility = volatility_per_sqrt_ms
        self.noise = noise
        self._random = random.Random(seed)  # noqa: S311 - simulated market noise, reproducible by seed
        self._prices: deque[tuple[int, Decimal]] = deque()
        self._strikes: dict[int, Decimal] = {}
        self.bets: list[WindowBet] = []

    def observe(self, price: Decimal, ts_ms: int) -> None:
        """The exchange price the venue's traders see (late by lag_ms when they price)."""
        if self._prices and ts_ms < self._prices[-1][0]:
            raise ValueError(f"price at {ts_ms} is older than the last one")
        self._prices.append((ts_ms, price))
        start = ts_ms - ts_ms % self.window_ms
        self._strikes.setdefault(start, price)
        while len(self._prices) > 2 and self._prices[1][0] <= ts_ms - self.lag_ms - self.window_ms:
            self._prices.popleft()

    def _price_at(self, ts_ms: int) -> Decimal | None:
        seen = None
        for at, price in self._prices:
            if at > ts_ms:
                break
            seen = price
        return seen

    def market_at(self, symbol: str, now_ms: int) -> WindowMarket | None:
        start = now_ms - now_ms % self.window_ms
        strike = self._strikes.get(start)
        if symbol != self.symbol or strike is None:
            return None
        return WindowMarket(f"{symbol}-{start}", symbol, start, start + self.window_ms, strike)

    def quote(self, market_id: str, now_ms: int) -> WindowQuote | None:
        market = self.market_at(self.symbol, now_ms)
        lagged = self._price_at(now_ms - self.lag_ms)
        if market is None or market.market_id != market_id or lagged is None:
            return None
        probability = up_probability(price=float(lagged), strike=float(market.strike),
                                     remaining_ms=market.end_ms - now_ms, volatility_per_sqrt_ms=self.volatility)
        if self.noise:
            probability += self._random.gauss(0.0, self.noise)
        probability = min(0.99, max(0.01, probability))
        return WindowQuote(market_id, Decimal(str(probability)).quantize(CENT, ROUND_HALF_EVEN), now_ms)

    def buy(self, market_id: str, outcome: str, stake: Decimal, now_ms: int) -> WindowBet:
        if outcome not in ("up", "down"):
            raise ValueError(f"outcome must be 'up' or 'down', got {outcome!r}")
        if stake <= 0:
            raise ValueError(f"stake must be positive, got {stake}")
        quote = self.quote(market_id, now_ms)
        if quote is None:
            raise ValueError(f"market {market_id} is not open at {now_ms}")
        price = quote.up_price if outcome == "up" else ONE - quote.up_price
        bet = WindowBet(market_id, outcome, stake, price, stake / price)
        self.bets.append(bet)
        return bet

    def settle(self, bet: WindowBet, *, close: Decimal, strike: Decimal) -> Decimal:
        """The bet's PnL: shares x 1 - stake when its outcome won, -stake otherwise."""
        won = (close > strike) == (bet.outcome == "up")
        return (bet.shares - bet.stake) if won else -bet.stake
