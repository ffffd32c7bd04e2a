"""Closed bars of any timeframe aggregated from ticks (live) — pure, fed the time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from algos.strategies.base import Bar

ZERO = Decimal(0)
_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_TIMEFRAME = re.compile(r"^(\d{1,4})([smhd])\Z")


def timeframe_ms(timeframe: str) -> int:
    """"15m" -> 900000; a clear error for anything else."""
    match = _TIMEFRAME.match(timeframe)
    if match is None or int(match[1]) == 0:
        raise ValueError(f"timeframe must look like 30s, 1m, 5m, 15m, 1h, 4h or 1d, got {timeframe!r}")
    return int(match[1]) * _UNITS[match[2]]


@dataclass(slots=True)
class _Open:
    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO


class BarAggregator:
    """Bars per (symbol, timeframe) from prices. A bar closes when a price of a later window arrives or when
    the clock passes its end (`close_due`), so a quiet market still closes its bars on time. Windows are
    aligned on the epoch, as Binance's klines are; a window with no price has no bar."""

    def __init__(self, symbols: tuple[str, ...], timeframes: tuple[str, ...]) -> None:
        self.frames = {timeframe: timeframe_ms(timeframe) for timeframe in timeframes}
        self.symbols = symbols
        self._open: dict[tuple[str, str], _Open] = {}

    def on_price(self, symbol: str, price: Decimal, ts_ms: int, volume: Decimal = ZERO) -> list[Bar]:
        closed: list[Bar] = []
        for timeframe, length in self.frames.items():
            start = ts_ms - ts_ms % length
            key = (symbol, timeframe)
            current = self._open.get(key)
            if current is not None and start > current.open_time_ms:
                closed.append(self._close(symbol, timeframe, current))
                current = None
            if current is None or start < current.open_time_ms:  # a late price of an older window is ignored
                if current is None:
                    self._open[key] = _Open(start, price, price, price, price, volume)
                continue
            current.high, current.low = max(current.high, price), min(current.low, price)
            current.close = price
            current.volume += volume
        return closed

    def close_due(self, now_ms: int) -> list[Bar]:
        """Bars whose window has ended by `now_ms`."""
        closed = []
        for (symbol, timeframe), current in list(self._open.items()):
            if now_ms >= current.open_time_ms + self.frames[timeframe]:
                closed.append(self._close(symbol, timeframe, current))
        return closed

    def _close(self, symbol: str, timeframe: str, current: _Open) -> Bar:
        del self._open[(symbol, timeframe)]
        return Bar(symbol, timeframe, current.open_time_ms, current.open_time_ms + self.frames[timeframe] - 1,
                   current.open, current.high, current.low, current.close, current.volume)
