"""Regime rules on hand-made indicator values: VOLATILE first, then trends by ADX 25 and DI, ranges, choppy."""

from __future__ import annotations

import math

from algos.strategies.indicators.regime import Regime, VolatilityLevel, regime_detect, volatility_level


def test_adx_at_25_with_plus_di_on_top_is_trending_up():
    assert regime_detect(adx=25.0, plus_di=30.0, minus_di=12.0, atr_ratio=1.0) is Regime.TRENDING_UP


def test_adx_at_30_with_minus_di_on_top_is_trending_down():
    assert regime_detect(adx=30.0, plus_di=10.0, minus_di=28.0, atr_ratio=1.1) is Regime.TRENDING_DOWN


def test_atr_at_one_and_a_half_its_average_is_volatile_even_in_a_trend():
    assert regime_detect(adx=40.0, plus_di=35.0, minus_di=10.0, atr_ratio=1.5) is Regime.VOLATILE


def test_low_adx_and_calm_volatility_is_ranging():
    assert regime_detect(adx=15.0, plus_di=20.0, minus_di=18.0, atr_ratio=0.9) is Regime.RANGING


def test_adx_between_20_and_25_is_choppy():
    assert regime_detect(adx=22.0, plus_di=25.0, minus_di=15.0, atr_ratio=1.0) is Regime.CHOPPY


def test_low_adx_with_rising_volatility_is_choppy_not_ranging():
    assert regime_detect(adx=15.0, plus_di=20.0, minus_di=18.0, atr_ratio=1.3) is Regime.CHOPPY


def test_warming_up_indicators_give_choppy():
    assert regime_detect(adx=math.nan, plus_di=1.0, minus_di=2.0, atr_ratio=1.0) is Regime.CHOPPY


def test_volatility_levels_for_sizing():
    assert volatility_level(1.3) is VolatilityLevel.HIGH
    assert volatility_level(0.8) is VolatilityLevel.LOW
    assert volatility_level(1.0) is VolatilityLevel.NORMAL
    assert volatility_level(math.nan) is VolatilityLevel.NORMAL
