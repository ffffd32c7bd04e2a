"""The backtests' vectorised votes and regimes are the live rules' exact results at every bar."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from algos.strategies.ensemble.substrategies import votes_at
from algos.strategies.ensemble.vectorised import series_votes
from algos.strategies.indicators.regime import regime_of
from algos.strategies.indicators.ta import IndicatorSeries, indicators_compute

KLINES = Path("/work/shared/data/binance-usdm-klines/BTCUSDT-5m.csv")


def random_walk(count: int, seed: int) -> IndicatorSeries:
    rng = random.Random(seed)
    close, high, low, volume = [], [], [], []
    price = 100.0
    for _ in range(count):
        price *= math.exp(rng.gauss(0, 0.004))
        close.append(price)
        high.append(price * (1 + abs(rng.gauss(0, 0.002))))
        low.append(price * (1 - abs(rng.gauss(0, 0.002))))
        volume.append(rng.uniform(0, 50))
    return indicators_compute(high=high, low=low, close=close, volume=volume)


def assert_same_as_the_rules(series: IndicatorSeries) -> int:
    found = series_votes(series)
    checked = 0
    for index in range(series.first_ready + 1, len(series)):
        now, before = series.at(index), series.at(index - 1)
        votes = votes_at(now, before, checked=True)
        expected = tuple(vote for vote in votes if vote.direction) or None
        assert found.votes[index] == expected, index
        assert found.regimes[index] == regime_of(now), index
        checked += 1
    return checked


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_votes_and_regimes_match_the_sub_strategies_bar_for_bar_on_a_random_walk(seed):
    assert assert_same_as_the_rules(random_walk(1500, seed)) > 1000


@pytest.mark.skipif(not KLINES.exists(), reason="../shared/data BTCUSDT-5m klines are not on this machine")
def test_votes_and_regimes_match_the_sub_strategies_bar_for_bar_on_recorded_klines():
    from algos.strategies.backtest.data import bars_load

    bars = bars_load(KLINES)
    series = indicators_compute(high=[float(b.high) for b in bars], low=[float(b.low) for b in bars],
                                close=[float(b.close) for b in bars], volume=[float(b.volume) for b in bars])
    assert assert_same_as_the_rules(series) > 8000
