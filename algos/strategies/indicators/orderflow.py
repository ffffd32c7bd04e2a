"""Order-flow imbalance: aggressive buying against aggressive selling over a sliding time window of trades."""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from algos.strategies.base import TradePrint

ZERO = Decimal(0)


class OrderFlowImbalance:
    """(buy volume - sell volume) / total volume over the last `window_ms`, in [-1, 1]; 0 with no trades.

    A print whose buyer is the maker was a sell by the aggressor (Binance's `m` flag)."""

    def __init__(self, window_ms: int = 60_000) -> None:
        if window_ms <= 0:
            raise ValueError(f"window_ms must be positive, got {window_ms}")
        self.window_ms = window_ms
        self._prints: deque[tuple[int, Decimal]] = deque()  # (time, signed quantity)
        self.buy_volume = ZERO
        self.sell_volume = ZERO

    def add(self, trade: TradePrint) -> Decimal:
        if trade.quantity <= 0:
            raise ValueError(f"a trade's quantity must be positive, got {trade.quantity}")
        if self._prints and trade.ts_ms < self._prints[-1][0]:
            raise ValueError(f"trade at {trade.ts_ms} is older than the last one ({self._prints[-1][0]})")
        signed = -trade.quantity if trade.buyer_is_maker else trade.quantity
        self._prints.append((trade.ts_ms, signed))
        if signed > 0:
            self.buy_volume += signed
        else:
            self.sell_volume -= signed
        return self.imbalance(trade.ts_ms)

    def imbalance(self, now_ms: int) -> Decimal:
        self._expire(now_ms)
        total = self.buy_volume + self.sell_volume
        return ZERO if total == 0 else (self.buy_volume - self.sell_volume) / total

    def _expire(self, now_ms: int) -> None:
        edge = now_ms - self.window_ms
        prints = self._prints
        while prints and prints[0][0] <= edge:
            _, signed = prints.popleft()
            if signed > 0:
                self.buy_volume -= signed
            else:
                self.sell_volume += signed
