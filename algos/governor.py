"""The desk-wide reprice budget: every chase (and scalper layer) draws from one token bucket.

Per-chase coalescing bounds what one chase asks for; the account's order budget bounds the desk. With many
chases the sum of their reprices can exceed what the exchange allows (-1015), and then the budget refuses
replacements after their cancels went out. Drawing a token before a reprice keeps the desk under its rate: a
chase without a token holds its latest target and is woken when the next token is due. Time is the injected
clock's, so a backtest behaves as live.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RepriceGovernor:
    rate_per_s: float
    burst: int
    tokens: float = field(init=False)
    last_ms: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError(f"a reprice budget needs a positive rate and burst, got {self.rate_per_s}/s, "
                             f"{self.burst}")
        self.tokens = float(self.burst)

    def _refill(self, now_ms: int) -> None:
        if self.last_ms is not None and now_ms > self.last_ms:
            self.tokens = min(float(self.burst), self.tokens + (now_ms - self.last_ms) * self.rate_per_s / 1000)
        if self.last_ms is None or now_ms > self.last_ms:
            self.last_ms = now_ms

    def available(self, now_ms: int) -> bool:
        self._refill(now_ms)
        return self.tokens >= 1

    def take(self, now_ms: int) -> None:
        self._refill(now_ms)
        self.tokens -= 1

    def next_at(self, now_ms: int) -> int:
        """When the next whole token is due (now if one is there)."""
        self._refill(now_ms)
        missing = 1 - self.tokens
        return now_ms if missing <= 0 else now_ms + int(missing * 1000 / self.rate_per_s) + 1
