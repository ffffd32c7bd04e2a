"""Example strategy file: long when the fast SMA of closed 1-minute bars crosses above the slow one, flat below."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from algos.strategies.base import Bar, BaseStrategy, Signal, Signals, StrategyContext, StrategyInfo
from trading.domain.types import Side


class SmaCross(BaseStrategy):
    info = StrategyInfo("sma_cross", "1", {"fast": 5, "slow": 20, "quantity": "0.002", "timeframe": "1m"})

    def __init__(self, symbols: Sequence[str] = (), **parameters: Any) -> None:
        super().__init__(symbols, **parameters)
        self.fast, self.slow = int(parameters.get("fast", 5)), int(parameters.get("slow", 20))
        if not 0 < self.fast < self.slow:
            raise ValueError(f"fast must be below slow, got fast={self.fast} slow={self.slow}")
        self.quantity = Decimal(str(parameters.get("quantity", "0.002")))
        self.timeframe = str(parameters.get("timeframe", "1m"))
        self.closes: dict[str, deque[Decimal]] = {}

    def timeframes(self) -> tuple[str, ...]:
        return (self.timeframe,)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> Signals:
        closes = self.closes.setdefault(bar.symbol, deque(maxlen=self.slow))
        closes.append(bar.close)
        if len(closes) < self.slow:
            return ()
        fast = sum(list(closes)[-self.fast:], Decimal(0)) / self.fast
        slow = sum(closes, Decimal(0)) / self.slow
        held = ctx.positions.get(bar.symbol, Decimal(0))
        if fast > slow and held <= 0:
            return [Signal(bar.symbol, Side.BUY, self.quantity, reason=f"SMA{self.fast} {fast:.2f} > SMA{self.slow}")]
        if fast < slow and held > 0:
            return [Signal(bar.symbol, Side.SELL, held, reduce_only=True,
                           reason=f"SMA{self.fast} below SMA{self.slow}")]
        return ()
