"""The five sub-strategies' votes and the regime over a whole indicator series at once (numpy), for backtests:
the same rules as substrategies.py and regime.py, bar for bar the same floats, so a preloaded run decides exactly
as a live one; per bar only the adaptive weighting, the combination and the exits remain in Python."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from algos.strategies.ensemble.combine import Vote
from algos.strategies.ensemble.substrategies import BREAKOUT, MEAN_REVERSION, MOMENTUM, NAMES, TREND, VWAP
from algos.strategies.indicators.regime import DEFAULT_THRESHOLDS, Regime, RegimeThresholds
from algos.strategies.indicators.ta import IndicatorSeries

REGIME_CODES = (Regime.CHOPPY, Regime.VOLATILE, Regime.TRENDING_UP, Regime.TRENDING_DOWN, Regime.RANGING)


@dataclass(frozen=True)
class SeriesVotes:
    regimes: list[Regime]
    # Per bar, the votes of the sub-strategies that took a side, in NAMES order (one that did not would add
    # nothing but its weight, which votes_combine is given as a total); None: nobody voted (the combination is NONE).
    votes: list[tuple[Vote, ...] | None]


def _previous(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([np.nan], values[:-1]))


def _clip(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.minimum(np.maximum(values, low), high)


def regimes_compute(series: IndicatorSeries, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS) -> list[Regime]:
    """regime_detect at every bar, in its order: VOLATILE, TRENDING_UP/DOWN, RANGING, else (or NaN) CHOPPY."""
    column = series.columns
    adx, plus, minus, ratio = (np.asarray(column[name], dtype=np.float64)
                               for name in ("adx", "plus_di", "minus_di", "atr_ratio"))
    with np.errstate(invalid="ignore"):
        missing = np.isnan(adx) | np.isnan(plus) | np.isnan(minus) | np.isnan(ratio)
        volatile = ratio >= thresholds.volatile_atr_ratio
        trending = (adx >= thresholds.trend_adx) & (plus != minus)
        ranging = (adx < thresholds.ranging_adx) & (ratio <= thresholds.ranging_max_atr_ratio)
        codes = np.select([missing, volatile, trending & (plus > minus), trending, ranging], [0, 1, 2, 3, 4], 0)
    return [REGIME_CODES[code] for code in codes.tolist()]


def _directions(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    return np.where(up, 1, np.where(down, -1, 0))


def votes_compute(series: IndicatorSeries) -> list[tuple[Vote, ...] | None]:
    """votes_at(now=bar i, before=bar i-1) for every bar, as the sub-strategies in substrategies.py decide, without
    the votes of no direction."""
    c = {name: np.asarray(series.columns[name], dtype=np.float64) for name in (
        "close", "ema_fast", "ema_slow", "sma", "adx", "rsi", "bb_lower", "bb_upper", "macd_hist", "atr", "vwap")}
    close, adx, rsi, hist, atr, vwap = c["close"], c["adx"], c["rsi"], c["macd_hist"], c["atr"], c["vwap"]
    lower, upper = c["bb_lower"], c["bb_upper"]
    before_close, before_hist, before_adx = _previous(close), _previous(hist), _previous(adx)
    with np.errstate(invalid="ignore", divide="ignore"):
        trend = _directions((c["ema_fast"] > c["ema_slow"]) & (close > c["sma"]),
                            (c["ema_fast"] < c["ema_slow"]) & (close < c["sma"]))
        trend_confidence = _clip(0.55 + adx / 100, 0.55, 0.95)
        revert_up, revert_down = (rsi < 30) & (close <= lower), (rsi > 70) & (close >= upper)
        revert = _directions(revert_up, revert_down & ~revert_up)
        revert_confidence = np.where(revert > 0, _clip(0.65 + (30 - rsi) / 50, 0.65, 0.95),
                                     _clip(0.65 + (rsi - 70) / 50, 0.65, 0.95))
        momentum = _directions((hist > 0) & (hist > before_hist), (hist < 0) & (hist < before_hist))
        strength = np.where(atr > 0, np.abs(hist) / atr, 0.0)
        momentum_confidence = _clip(0.6 + strength, 0.6, 0.9)
        rising = adx > before_adx
        breakout = _directions(rising & (close > upper) & (before_close <= _previous(upper)),
                               rising & (close < lower) & (before_close >= _previous(lower)))
        before_vwap = _previous(vwap)
        vwap_up = (before_close <= before_vwap) & (before_vwap < close) & (rsi > 50)
        vwap_down = (before_close >= before_vwap) & (before_vwap > close) & (rsi < 50)
        vwap_direction = _directions(vwap_up, vwap_down & ~vwap_up)
        distance = np.where(atr > 0, np.abs(close - vwap) / atr, 0.0)
        vwap_confidence = _clip(0.6 + distance / 5, 0.6, 0.85)
    directions = np.stack([trend, revert, momentum, breakout, vwap_direction])
    confidences = np.stack([trend_confidence, revert_confidence, momentum_confidence,
                            np.full(len(close), 0.8), vwap_confidence])
    confidences = np.where(directions != 0, confidences, 0.0)
    order = (TREND, MEAN_REVERSION, MOMENTUM, BREAKOUT, VWAP)
    assert set(order) == set(NAMES)  # noqa: S101 - the rules above are the five sub-strategies
    any_vote = np.any(directions != 0, axis=0).tolist()
    direction_rows, confidence_rows = directions.T.tolist(), confidences.T.tolist()
    return [tuple(Vote(name, direction, confidence) for name, direction, confidence in zip(order, d, f, strict=True)
                  if direction)
            if voted else None
            for voted, d, f in zip(any_vote, direction_rows, confidence_rows, strict=True)]


def series_votes(series: IndicatorSeries) -> SeriesVotes:
    return SeriesVotes(regimes_compute(series), votes_compute(series))
