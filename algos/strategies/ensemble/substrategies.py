"""The five sub-strategies and their adaptive weights. Each reads the indicators at this bar and the last one."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from algos.strategies.ensemble.combine import Vote
from algos.strategies.indicators.regime import Regime
from algos.strategies.indicators.ta import IndicatorSnapshot

TREND, MEAN_REVERSION, MOMENTUM, BREAKOUT, VWAP = "trend", "mean_reversion", "momentum", "breakout", "vwap"
NAMES = (TREND, MEAN_REVERSION, MOMENTUM, BREAKOUT, VWAP)


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def trend(now: IndicatorSnapshot, before: IndicatorSnapshot) -> Vote:
    """EMA fast over slow with price on the same side of the SMA, stronger with ADX."""
    if now.ema_fast > now.ema_slow and now.close > now.sma:
        direction = 1
    elif now.ema_fast < now.ema_slow and now.close < now.sma:
        direction = -1
    else:
        return Vote(TREND, 0, 0.0)
    return Vote(TREND, direction, _clip(0.55 + now.adx / 100, 0.55, 0.95))


def mean_reversion(now: IndicatorSnapshot, before: IndicatorSnapshot) -> Vote:
    """RSI stretched with the close outside its Bollinger band: expect the way back."""
    if now.rsi < 30 and now.close <= now.bb_lower:
        return Vote(MEAN_REVERSION, 1, _clip(0.65 + (30 - now.rsi) / 50, 0.65, 0.95))
    if now.rsi > 70 and now.close >= now.bb_upper:
        return Vote(MEAN_REVERSION, -1, _clip(0.65 + (now.rsi - 70) / 50, 0.65, 0.95))
    return Vote(MEAN_REVERSION, 0, 0.0)


def momentum(now: IndicatorSnapshot, before: IndicatorSnapshot) -> Vote:
    """MACD above its signal with a growing histogram (or below with a falling one)."""
    if now.macd_hist > 0 and now.macd_hist > before.macd_hist:
        direction = 1
    elif now.macd_hist < 0 and now.macd_hist < before.macd_hist:
        direction = -1
    else:
        return Vote(MOMENTUM, 0, 0.0)
    strength = abs(now.macd_hist) / now.atr if now.atr > 0 else 0.0
    return Vote(MOMENTUM, direction, _clip(0.6 + strength, 0.6, 0.9))


def breakout(now: IndicatorSnapshot, before: IndicatorSnapshot) -> Vote:
    """A close through the band it was inside on the last bar, with ADX rising."""
    if now.adx <= before.adx:
        return Vote(BREAKOUT, 0, 0.0)
    if now.close > now.bb_upper and before.close <= before.bb_upper:
        return Vote(BREAKOUT, 1, 0.8)
    if now.close < now.bb_lower and before.close >= before.bb_lower:
        return Vote(BREAKOUT, -1, 0.8)
    return Vote(BREAKOUT, 0, 0.0)


def vwap(now: IndicatorSnapshot, before: IndicatorSnapshot) -> Vote:
    """Price crossing its rolling VWAP with RSI on the same side of 50."""
    if before.close <= before.vwap < now.close and now.rsi > 50:
        direction = 1
    elif before.close >= before.vwap > now.close and now.rsi < 50:
        direction = -1
    else:
        return Vote(VWAP, 0, 0.0)
    distance = abs(now.close - now.vwap) / now.atr if now.atr > 0 else 0.0
    return Vote(VWAP, direction, _clip(0.6 + distance / 5, 0.6, 0.85))


SUB_STRATEGIES: tuple[Callable[[IndicatorSnapshot, IndicatorSnapshot], Vote], ...] = (
    trend, mean_reversion, momentum, breakout, vwap)


def votes_at(now: IndicatorSnapshot, before: IndicatorSnapshot | None, *, checked: bool = False) -> list[Vote]:
    """Every sub-strategy's vote; none while the indicators warm up (`checked`: the caller knows both are ready)."""
    if not checked and (before is None or not now.ready or not before.ready or math.isnan(before.macd_hist)):
        return []
    assert before is not None  # noqa: S101 - checked by the caller
    return [rule(now, before) for rule in SUB_STRATEGIES]


# How much each regime trusts each sub-strategy: trend-followers in trends, reversion in ranges.
REGIME_WEIGHTS: dict[Regime, dict[str, float]] = {
    Regime.TRENDING_UP: {TREND: 1.5, MOMENTUM: 1.3, BREAKOUT: 1.2, MEAN_REVERSION: 0.5, VWAP: 1.0},
    Regime.TRENDING_DOWN: {TREND: 1.5, MOMENTUM: 1.3, BREAKOUT: 1.2, MEAN_REVERSION: 0.5, VWAP: 1.0},
    Regime.RANGING: {TREND: 0.5, MOMENTUM: 0.8, BREAKOUT: 0.7, MEAN_REVERSION: 1.5, VWAP: 1.2},
    Regime.VOLATILE: {TREND: 0.8, MOMENTUM: 0.8, BREAKOUT: 1.0, MEAN_REVERSION: 0.6, VWAP: 0.8},
    Regime.CHOPPY: {TREND: 0.6, MOMENTUM: 0.6, BREAKOUT: 0.5, MEAN_REVERSION: 1.0, VWAP: 1.0},
}


@dataclass
class AdaptiveWeights:
    """Performance weights moved by each closed trade (x(1 + rate) for a win, x(1 - rate) for a loss, for the
    sub-strategies that voted for it), bounded; the regime's trust multiplies them when voting."""

    rate: float = 0.05
    low: float = 0.25
    high: float = 3.0
    performance: dict[str, float] = field(default_factory=lambda: dict.fromkeys(NAMES, 1.0))

    def for_regime(self, regime: Regime) -> dict[str, float]:
        trust = REGIME_WEIGHTS[regime]
        return {name: self.performance[name] * trust[name] for name in NAMES}

    def learn(self, voters: Iterable[str], won: bool) -> None:
        factor = 1 + self.rate if won else 1 - self.rate
        for name in voters:
            if name in self.performance:
                self.performance[name] = _clip(self.performance[name] * factor, self.low, self.high)
