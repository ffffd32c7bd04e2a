"""A bounded buffer of one symbol's closed bars of one timeframe, with indicators on demand (the live path)."""

from __future__ import annotations

from collections import deque

from algos.strategies.base import Bar
from algos.strategies.indicators.ta import IndicatorParams, IndicatorSnapshot, indicators_compute

DEFAULT_CAPACITY = 500  # ample for every indicator's warm-up and for EMA/Wilder smoothing to settle


class BarBuffer:
    """Closed bars in order; a bar older than the last one (or a repeat) is refused, so a replay glitch shows."""

    def __init__(self, params: IndicatorParams | None = None, capacity: int = DEFAULT_CAPACITY) -> None:
        params = params or IndicatorParams()
        if capacity < params.warmup():
            raise ValueError(f"capacity {capacity} is below the indicators' warm-up of {params.warmup()} bars")
        self.params = params
        self.high: deque[float] = deque(maxlen=capacity)
        self.low: deque[float] = deque(maxlen=capacity)
        self.close: deque[float] = deque(maxlen=capacity)
        self.volume: deque[float] = deque(maxlen=capacity)
        self.last_open_ms: int | None = None
        self.count = 0  # bars appended in all

    def append(self, bar: Bar) -> None:
        if self.last_open_ms is not None and bar.open_time_ms <= self.last_open_ms:
            raise ValueError(f"{bar.symbol} {bar.timeframe} bar at {bar.open_time_ms} is not after the last one "
                             f"({self.last_open_ms})")
        self.last_open_ms = bar.open_time_ms
        self.high.append(float(bar.high))
        self.low.append(float(bar.low))
        self.close.append(float(bar.close))
        self.volume.append(float(bar.volume))
        self.count += 1

    def latest(self) -> IndicatorSnapshot | None:
        """The indicators at the last bar (None before any bar)."""
        if not self.close:
            return None
        series = indicators_compute(high=list(self.high), low=list(self.low), close=list(self.close),
                                    volume=list(self.volume), params=self.params)
        return series.at(len(series) - 1)
