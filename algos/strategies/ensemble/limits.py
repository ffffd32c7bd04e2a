"""The ensemble's own limits on new entries: open positions (one per asset), daily loss, drawdown, trades per hour.

Exits are never refused here: a limit stops the strategy adding risk, not reducing it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

HUNDRED = Decimal(100)
DAY_MS, HOUR_MS = 86_400_000, 3_600_000


@dataclass(frozen=True, slots=True)
class LimitParams:
    max_open_positions: int = 2
    max_daily_loss_pct: Decimal = Decimal(5)
    max_drawdown_pct: Decimal = Decimal(8)
    max_trades_per_hour: int = 20


class EntryGuard:
    """Fed the equity and each entry with their times; says why a new entry is refused (None: allowed)."""

    def __init__(self, params: LimitParams = LimitParams()) -> None:
        self.params = params
        self.day: int | None = None
        self.day_open = Decimal(0)
        self.peak = Decimal(0)
        self._entries: deque[int] = deque()

    def record_equity(self, now_ms: int, equity: Decimal) -> None:
        day = now_ms // DAY_MS
        if day != self.day:
            self.day, self.day_open = day, equity
        if equity > self.peak:
            self.peak = equity

    def note_entry(self, now_ms: int) -> None:
        self._entries.append(now_ms)

    def entries_last_hour(self, now_ms: int) -> int:
        entries = self._entries
        while entries and entries[0] <= now_ms - HOUR_MS:
            entries.popleft()
        return len(entries)

    def refusal(self, *, now_ms: int, symbol: str, equity: Decimal, open_symbols: Collection[str]) -> str | None:
        params = self.params
        if symbol in open_symbols:
            return f"{symbol} already has a position (one per asset)"
        if len(open_symbols) >= params.max_open_positions:
            return f"{len(open_symbols)} positions open (max {params.max_open_positions})"
        if self.day_open > 0:
            loss_pct = (self.day_open - equity) / self.day_open * HUNDRED
            if loss_pct >= params.max_daily_loss_pct:
                return f"daily loss {loss_pct:.2f} % reached the limit {params.max_daily_loss_pct} %"
        if self.peak > 0:
            drawdown_pct = (self.peak - equity) / self.peak * HUNDRED
            if drawdown_pct >= params.max_drawdown_pct:
                return f"drawdown {drawdown_pct:.2f} % reached the limit {params.max_drawdown_pct} %"
        entries = self.entries_last_hour(now_ms)
        if entries >= params.max_trades_per_hour:
            return f"{entries} entries in the last hour (max {params.max_trades_per_hour})"
        return None
