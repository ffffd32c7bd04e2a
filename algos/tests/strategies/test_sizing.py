"""Sizing by the seed's numbers: 2 % x confidence (0.5x at 65 % .. 1.5x at 95 %) x volatility x session."""

from __future__ import annotations

from decimal import Decimal

import pytest

from algos.strategies.ensemble.sizing import SizingError, confidence_scale, position_size
from algos.strategies.indicators.regime import VolatilityLevel
from algos.strategies.indicators.session import TradingSession
from trading.domain.instruments import InstrumentRules

D = Decimal
BTC = InstrumentRules("BTCUSDT", tick_size=D("0.1"), step_size=D("0.001"), min_qty=D("0.001"), max_qty=D(1000),
                      min_notional=D(100))


@pytest.mark.parametrize(("confidence", "scale"), [
    ("0.65", "0.5"), ("0.80", "1.0"), ("0.95", "1.5"), ("0.99", "1.5"), ("0.725", "0.75"), ("0.64", "0")])
def test_confidence_scale_is_linear_from_65_to_95_percent(confidence, scale):
    assert confidence_scale(D(confidence)) == D(scale)


def test_high_volatility_in_the_overlap_at_80_percent():
    # 2 % x 1.0 x 0.7 x 1.5 = 2.1 % of 10,000 = 210 USDT margin; x5 leverage = 1,050 USDT at 50,000 -> 0.021 BTC
    size = position_size(equity=D(10000), price=D(50000), confidence=D("0.80"), volatility=VolatilityLevel.HIGH,
                         session=TradingSession.LONDON_NY_OVERLAP, rules=BTC, leverage=D(5))
    assert size.fraction == D("0.021")
    assert size.notional == D(1050)
    assert size.quantity == D("0.021")


def test_low_volatility_in_asia_at_95_percent():
    # 2 % x 1.5 x 1.2 x 0.5 = 1.8 % of 10,000 = 180 USDT at 60,000 -> 0.003 BTC (rounded down)
    size = position_size(equity=D(10000), price=D(60000), confidence=D("0.95"), volatility=VolatilityLevel.LOW,
                         session=TradingSession.ASIAN, rules=BTC)
    assert size.fraction == D("0.018")
    assert size.quantity == D("0.003")


def test_ny_and_london_size_alike_at_normal_volatility():
    sizes = [position_size(equity=D(10000), price=D(50000), confidence=D("0.65"), volatility=VolatilityLevel.NORMAL,
                           session=session, rules=BTC, leverage=D(10)).quantity
             for session in (TradingSession.NY, TradingSession.LONDON)]
    assert sizes == [D("0.020"), D("0.020")]  # 1 % of 10,000 x10 = 1,000 USDT


def test_a_size_below_the_minimum_order_is_zero_with_the_reason():
    size = position_size(equity=D(1000), price=D(50000), confidence=D("0.65"), volatility=VolatilityLevel.HIGH,
                         session=TradingSession.ASIAN, rules=BTC)
    assert size.quantity == 0 and "minimum" in size.reason


def test_confidence_below_the_minimum_gives_no_trade():
    size = position_size(equity=D(10000), price=D(50000), confidence=D("0.6"), volatility=VolatilityLevel.NORMAL,
                         session=TradingSession.NY, rules=BTC)
    assert size.quantity == 0 and "below" in size.reason


@pytest.mark.parametrize("bad", [{"equity": D(-1)}, {"price": D(0)}, {"confidence": D("1.2")}])
def test_bad_inputs_are_refused(bad):
    arguments = {"equity": D(10000), "price": D(50000), "confidence": D("0.8"), "volatility": VolatilityLevel.NORMAL,
                 "session": TradingSession.NY, "rules": BTC, **bad}
    with pytest.raises(SizingError):
        position_size(**arguments)
