"""Market regime from one indicator snapshot: trending up or down, ranging, volatile or choppy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from algos.strategies.indicators.ta import IndicatorSnapshot


class Regime(StrEnum):
    TRENDING_UP = "TRENDING_UP"
    TRENDING_DOWN = "TRENDING_DOWN"
    RANGING = "RANGING"
    VOLATILE = "VOLATILE"
    CHOPPY = "CHOPPY"


class VolatilityLevel(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class RegimeThresholds:
    volatile_atr_ratio: float = 1.5  # ATR at 1.5x its own average: the market is volatile, whatever the trend
    trend_adx: float = 25.0  # ADX at or above: a trend, its direction from +DI against -DI
    ranging_adx: float = 20.0  # ADX below, with calm volatility: a range
    ranging_max_atr_ratio: float = 1.2
    high_volatility_ratio: float = 1.3  # sizing: ATR ratio at or above is high volatility
    low_volatility_ratio: float = 0.8  # and at or below is low


DEFAULT_THRESHOLDS = RegimeThresholds()


def regime_detect(*, adx: float, plus_di: float, minus_di: float, atr_ratio: float,
                  thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> Regime:
    """In this order: VOLATILE (ATR ratio), TRENDING_UP/DOWN (ADX and DI), RANGING (low ADX, calm), else CHOPPY.
    Missing inputs (NaN during warm-up) give CHOPPY: no regime to lean on."""
    if any(math.isnan(value) for value in (adx, plus_di, minus_di, atr_ratio)):
        return Regime.CHOPPY
    if atr_ratio >= thresholds.volatile_atr_ratio:
        return Regime.VOLATILE
    if adx >= thresholds.trend_adx and plus_di != minus_di:
        return Regime.TRENDING_UP if plus_di > minus_di else Regime.TRENDING_DOWN
    if adx < thresholds.ranging_adx and atr_ratio <= thresholds.ranging_max_atr_ratio:
        return Regime.RANGING
    return Regime.CHOPPY


def regime_of(snapshot: IndicatorSnapshot, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> Regime:
    return regime_detect(adx=snapshot.adx, plus_di=snapshot.plus_di, minus_di=snapshot.minus_di,
                         atr_ratio=snapshot.atr_ratio, thresholds=thresholds)


def volatility_level(atr_ratio: float, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> VolatilityLevel:
    if math.isnan(atr_ratio):
        return VolatilityLevel.NORMAL
    if atr_ratio >= thresholds.high_volatility_ratio:
        return VolatilityLevel.HIGH
    if atr_ratio <= thresholds.low_volatility_ratio:
        return VolatilityLevel.LOW
    return VolatilityLevel.NORMAL
