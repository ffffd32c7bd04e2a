"""TA-Lib indicators over a bar series, computed vectorised in one pass (floats inside; decisions leave as Decimal).

A backtest computes each series once for the whole data; a live strategy recomputes over its bounded buffer of
recent bars on each close (TA-Lib over a few hundred points is microseconds). Both read the same snapshot type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import talib  # the Python wheel bundles the C library

NAN = float("nan")


@dataclass(frozen=True, slots=True)
class IndicatorParams:
    rsi_period: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_period: int = 20
    bb_deviations: float = 2.0
    atr_period: int = 14
    atr_average_period: int = 50  # ATR against its own average: the volatility ratio
    adx_period: int = 14
    ema_fast: int = 9
    ema_slow: int = 21
    sma_period: int = 50
    vwap_window: int = 20  # rolling VWAP over this many bars (TA-Lib has no VWAP; its SUM does the windows)

    def warmup(self) -> int:
        """Bars before every indicator has a value (ADX needs about twice its period)."""
        return max(self.macd_slow + self.macd_signal, self.bb_period, 2 * self.adx_period,
                   self.atr_period + self.atr_average_period, self.sma_period, self.vwap_window) + 1


@dataclass(frozen=True, slots=True)
class IndicatorSnapshot:
    """Every indicator at one bar; NaN while an indicator is warming up."""

    close: float
    volume: float
    rsi: float
    macd: float
    macd_signal: float
    macd_hist: float
    bb_upper: float
    bb_middle: float
    bb_lower: float
    atr: float
    atr_ratio: float  # ATR / its average over atr_average_period bars
    adx: float
    plus_di: float
    minus_di: float
    ema_fast: float
    ema_slow: float
    sma: float
    vwap: float

    @property
    def ready(self) -> bool:
        return not any(math.isnan(getattr(self, f.name)) for f in fields(self))

    @property
    def atr_pct(self) -> float:
        return self.atr / self.close * 100 if self.close else NAN

    @property
    def bb_width_pct(self) -> float:
        return (self.bb_upper - self.bb_lower) / self.bb_middle * 100 if self.bb_middle else NAN


SNAPSHOT_FIELDS = tuple(f.name for f in fields(IndicatorSnapshot))


class IndicatorSeries:
    """Each indicator as a Python list of floats over the whole series (lists: indexing a numpy array per bar
    costs more than the decision it feeds)."""

    def __init__(self, columns: dict[str, list[float]]) -> None:
        missing = set(SNAPSHOT_FIELDS) - set(columns)
        if missing:
            raise ValueError(f"indicator columns missing: {sorted(missing)}")
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"indicator columns of different lengths: {sorted(lengths)}")
        self.columns = columns
        self.length = lengths.pop() if lengths else 0
        finite = np.all(np.isfinite(np.array([columns[name] for name in SNAPSHOT_FIELDS], dtype=np.float64)), axis=0)
        ready = np.flatnonzero(finite) if self.length else np.array([], dtype=np.int64)
        self.first_ready = int(ready[0]) if len(ready) else self.length  # the first bar with every indicator
        self._ordered = [columns[name] for name in SNAPSHOT_FIELDS]
        self._cache: dict[int, IndicatorSnapshot] = {}

    def __len__(self) -> int:
        return self.length

    def at(self, index: int) -> IndicatorSnapshot:
        """The snapshot at a bar (kept: the next bar reads it again as its previous one)."""
        cached = self._cache.get(index)
        if cached is None:
            if len(self._cache) > 4:
                self._cache.clear()
            cached = self._cache[index] = IndicatorSnapshot(*[column[index] for column in self._ordered])
        return cached


def _array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def indicators_compute(*, high: Sequence[float] | np.ndarray, low: Sequence[float] | np.ndarray,
                       close: Sequence[float] | np.ndarray, volume: Sequence[float] | np.ndarray,
                       params: IndicatorParams = IndicatorParams()) -> IndicatorSeries:
    """Every indicator over the series, each one TA-Lib call (or two)."""
    h, lo, c, v = _array(high), _array(low), _array(close), _array(volume)
    if not len(h) == len(lo) == len(c) == len(v):
        raise ValueError("high, low, close and volume must have the same length")
    if len(c) and (not np.all(np.isfinite(c)) or np.any(c <= 0)):
        raise ValueError("close prices must be finite and positive")
    macd, macd_signal, macd_hist = talib.MACD(c, fastperiod=params.macd_fast, slowperiod=params.macd_slow,
                                              signalperiod=params.macd_signal)
    upper, middle, lower = talib.BBANDS(c, timeperiod=params.bb_period, nbdevup=params.bb_deviations,
                                        nbdevdn=params.bb_deviations, matype=talib.MA_Type.SMA)
    atr = talib.ATR(h, lo, c, timeperiod=params.atr_period)
    with np.errstate(divide="ignore", invalid="ignore"):
        atr_ratio = atr / talib.SMA(atr, timeperiod=params.atr_average_period)
        typical = (h + lo + c) / 3.0
        vwap = talib.SUM(typical * v, timeperiod=params.vwap_window) / talib.SUM(v, timeperiod=params.vwap_window)
    vwap = np.where(np.isfinite(vwap), vwap, talib.SMA(typical, timeperiod=params.vwap_window))  # no volume: SMA
    columns = {
        "close": c, "volume": v, "rsi": talib.RSI(c, timeperiod=params.rsi_period),
        "macd": macd, "macd_signal": macd_signal, "macd_hist": macd_hist,
        "bb_upper": upper, "bb_middle": middle, "bb_lower": lower, "atr": atr, "atr_ratio": atr_ratio,
        "adx": talib.ADX(h, lo, c, timeperiod=params.adx_period),
        "plus_di": talib.PLUS_DI(h, lo, c, timeperiod=params.adx_period),
        "minus_di": talib.MINUS_DI(h, lo, c, timeperiod=params.adx_period),
        "ema_fast": talib.EMA(c, timeperiod=params.ema_fast), "ema_slow": talib.EMA(c, timeperiod=params.ema_slow),
        "sma": talib.SMA(c, timeperiod=params.sma_period), "vwap": vwap,
    }
    return IndicatorSeries({name: np.asarray(values, dtype=np.float64).tolist() for name, values in columns.items()})
