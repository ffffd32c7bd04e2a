"""Indicators from TA-Lib over bar series: known values, the live buffer equal to the vectorised pass, order flow."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from algos.strategies.base import Bar, TradePrint
from algos.strategies.indicators.buffer import BarBuffer
from algos.strategies.indicators.orderflow import OrderFlowImbalance
from algos.strategies.indicators.ta import IndicatorParams, indicators_compute

D = Decimal


def bars_from(closes: list[float], *, spread: float = 1.0, volume: float = 10.0) -> list[Bar]:
    return [Bar("BTCUSDT", "5m", i * 300_000, i * 300_000 + 299_999, D(str(c)), D(str(c + spread)),
                D(str(c - spread)), D(str(c)), D(str(volume))) for i, c in enumerate(closes)]


def test_a_rising_series_has_rsi_100_and_its_smas_are_the_plain_means():
    closes = [100.0 + i for i in range(80)]
    series = indicators_compute(high=[c + 1 for c in closes], low=[c - 1 for c in closes], close=closes,
                                volume=[10.0] * 80)
    last = series.at(79)
    assert last.rsi == pytest.approx(100.0)
    assert last.sma == pytest.approx(sum(closes[-50:]) / 50)
    assert last.bb_middle == pytest.approx(sum(closes[-20:]) / 20)
    assert last.macd > 0 and last.ema_fast > last.ema_slow
    assert last.plus_di > last.minus_di


def test_atr_of_bars_with_a_constant_true_range_is_that_range():
    closes = [100.0] * 40
    series = indicators_compute(high=[102.0] * 40, low=[98.0] * 40, close=closes, volume=[1.0] * 40)
    assert series.at(39).atr == pytest.approx(4.0)
    assert series.at(39).atr_ratio == pytest.approx(1.0) or math.isnan(series.at(39).atr_ratio)


def test_vwap_is_the_volume_weighted_typical_price_over_its_window():
    params = IndicatorParams(vwap_window=2)
    series = indicators_compute(high=[11.0, 21.0], low=[9.0, 19.0], close=[10.0, 20.0], volume=[1.0, 3.0],
                                params=params)
    assert series.at(1).vwap == pytest.approx((10 * 1 + 20 * 3) / 4)


def test_warm_up_is_nan_and_first_ready_marks_the_first_complete_bar():
    closes = [100.0 + (i % 7) for i in range(200)]
    series = indicators_compute(high=[c + 1 for c in closes], low=[c - 1 for c in closes], close=closes,
                                volume=[5.0] * 200)
    assert not series.at(0).ready
    assert series.at(series.first_ready).ready and not series.at(series.first_ready - 1).ready
    assert series.first_ready <= IndicatorParams().warmup()


def test_bad_series_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="same length"):
        indicators_compute(high=[1.0], low=[1.0, 2.0], close=[1.0], volume=[1.0])
    with pytest.raises(ValueError, match="finite and positive"):
        indicators_compute(high=[1.0], low=[1.0], close=[-1.0], volume=[1.0])


def test_the_live_buffer_gives_the_vectorised_values_at_each_bar():
    closes = [100 + 5 * math.sin(i / 9) + i * 0.05 for i in range(180)]
    bars = bars_from(closes)
    series = indicators_compute(high=[float(b.high) for b in bars], low=[float(b.low) for b in bars],
                                close=closes, volume=[10.0] * 180)
    buffer = BarBuffer()
    for bar in bars:
        buffer.append(bar)
    live = buffer.latest()
    assert live is not None
    assert live.rsi == pytest.approx(series.at(179).rsi, rel=1e-9)
    assert live.adx == pytest.approx(series.at(179).adx, rel=1e-9)


def test_the_buffer_refuses_a_bar_that_is_not_after_the_last():
    buffer = BarBuffer()
    bar = bars_from([100.0])[0]
    buffer.append(bar)
    with pytest.raises(ValueError, match="not after"):
        buffer.append(bar)
    assert buffer.count == 1


def test_order_flow_imbalance_weighs_aggressive_buys_against_sells_in_its_window():
    flow = OrderFlowImbalance(window_ms=1000)
    flow.add(TradePrint("BTCUSDT", D(100), D(3), buyer_is_maker=False, ts_ms=0))  # aggressive buy
    assert flow.add(TradePrint("BTCUSDT", D(100), D(1), buyer_is_maker=True, ts_ms=500)) == D("0.5")  # (3-1)/4
    assert flow.imbalance(1000) == D(-1)  # the buy left the window
    assert flow.imbalance(1500) == D(0)


def test_order_flow_refuses_an_older_trade():
    flow = OrderFlowImbalance()
    flow.add(TradePrint("BTCUSDT", D(100), D(1), buyer_is_maker=False, ts_ms=10))
    with pytest.raises(ValueError, match="older"):
        flow.add(TradePrint("BTCUSDT", D(100), D(1), buyer_is_maker=False, ts_ms=5))
